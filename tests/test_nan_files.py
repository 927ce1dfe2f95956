"""NaN in floating-point columns of files means what it means in a DuckDB table.

DuckDB orders NaN above every other value (+inf included) and makes NaN equal to NaN; Arrow's
compute functions follow IEEE (every comparison with NaN is false but ``!=``). A filter translated
to Arrow, or a Parquet reader that prunes row groups by min/max statistics (which exclude NaN by the
Parquet specification), can therefore lose the NaN rows. The oracle here is a DuckDB *table* holding
the same values, never a view over the same files, since DuckDB's own Parquet reader prunes NaN rows
by those statistics unless told a file may hold NaN.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fedquery
from tests.conftest import assert_same_rows

STRATEGIES = ("none", "filters", "full", "auto")
N = 3000


def _table() -> pa.Table:
    # NaN in every 50th row; row groups of 500 rows so that min/max pruning has something to prune
    values = [float("nan") if i % 50 == 0 else (float("inf") if i == 7 else i * 1.5) for i in range(N)]
    values[11] = None  # type: ignore[call-overload]
    return pa.table({"id": pa.array(range(N), pa.int64()), "p": pa.array(values, pa.float64())})


@pytest.fixture(scope="module")
def nan_federation(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root: Path = tmp_path_factory.mktemp("nan")
    table = _table()
    (root / "pq").mkdir()
    (root / "csv").mkdir()
    pq.write_table(table, root / "pq" / "readings.parquet", row_group_size=500)
    pacsv.write_csv(table, root / "csv" / "readings.csv")
    fed = fedquery.connect(
        {
            "departments": {
                "pq": {"sources": {"files": {"kind": "parquet", "url": str(root / "pq")}}},
                "csv": {"sources": {"files": {"kind": "csv", "url": str(root / "csv")}}},
            }
        }
    )
    oracle = duckdb.connect()
    oracle.register("source", table)
    oracle.execute("CREATE TABLE readings AS SELECT * FROM source")
    oracle.unregister("source")
    yield fed, oracle
    fed.close()
    oracle.close()


QUERIES = [
    "SELECT id FROM {t} WHERE p > 100",
    "SELECT id FROM {t} WHERE p >= 4000",
    "SELECT id FROM {t} WHERE 100 < p",
    "SELECT id FROM {t} WHERE p < 30",
    "SELECT id FROM {t} WHERE p <= 30",
    "SELECT id FROM {t} WHERE p <> 3",
    "SELECT id FROM {t} WHERE NOT (p > 100)",
    "SELECT id FROM {t} WHERE p BETWEEN 1 AND 5000",
    "SELECT id FROM {t} WHERE p NOT BETWEEN 1 AND 5000",
    "SELECT id FROM {t} WHERE p IN (1.5, 3.0)",
    "SELECT id FROM {t} WHERE p = 'NaN'::DOUBLE",
    "SELECT id FROM {t} WHERE isnan(p)",
    "SELECT id FROM {t} WHERE p > 'inf'::DOUBLE",
    "SELECT count(*), max(p), min(p), count(DISTINCT p) FROM {t}",
    "SELECT count(*) FROM {t} WHERE p > 4400",
    "SELECT id, p FROM {t} ORDER BY p DESC NULLS LAST, id LIMIT 5",
]


@pytest.mark.parametrize("department", ["pq", "csv"])
@pytest.mark.parametrize("query", QUERIES)
def test_nan_filters_and_aggregates_match_a_duckdb_table(nan_federation, department: str, query: str) -> None:  # type: ignore[no-untyped-def]
    fed, oracle = nan_federation
    expected = oracle.sql(query.format(t="readings")).fetchall()
    ordered = "ORDER BY" in query
    for strategy in STRATEGIES:
        got = fed.sql(query.format(t=f"{department}.readings"), pushdown=strategy).fetchall()
        assert_same_rows(got, expected, ordered=ordered)


def test_greater_than_keeps_the_nan_rows(nan_federation) -> None:  # type: ignore[no-untyped-def]
    """The case itself, spelled out: 60 NaN rows are above 100 in DuckDB."""
    fed, _ = nan_federation
    got = fed.sql("SELECT count(*) FROM pq.readings WHERE p > 100 AND isnan(p)", pushdown="filters").fetchall()
    assert got == [(N // 50,)]
