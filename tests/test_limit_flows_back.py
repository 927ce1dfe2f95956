"""LIMIT flows back to every source (issue 12): once the local step has its rows, a fragment still
streaming stops, and its statement at the source is cancelled and its connection returned."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from tests.conftest import PG_DSN, pg_admin, pg_run

ROWS = 2_000_000


@pytest.fixture(scope="module")
def limited(pg_schema: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    pg_run(
        f'CREATE TABLE "{pg_schema}".flow_big AS SELECT g AS id, g % 100 AS kind, md5(g::text) AS payload '
        f"FROM generate_series(1, {ROWS}) g",
        f'ANALYZE "{pg_schema}".flow_big',
    )
    root = tmp_path_factory.mktemp("limited")
    pq.write_table(
        pa.table({"kind": pa.array(range(100), pa.int32()), "name": [f"k{k}" for k in range(100)]}),
        root / "small.parquet",
    )
    fed = fedquery.connect(
        {
            "settings": {"parallel_reads": 1},
            "departments": {
                "db": {"sources": {"pg": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema}}},
                "files": {"sources": {"pq": {"kind": "parquet", "url": str(root)}}},
            },
        }
    )
    yield fed
    fed.close()
    pg_run(f'DROP TABLE "{pg_schema}".flow_big')


def _active_reads(pg_schema: str) -> int:
    admin = pg_admin()
    try:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fedquery' AND state = 'active' "
                "AND position($1 in query) > 0",
                (pg_schema,),
            )
            return int(cur.fetchone()[0])
    finally:
        admin.close()


def test_a_limit_over_a_join_stops_the_big_read_and_cancels_it(limited, pg_schema: str) -> None:  # type: ignore[no-untyped-def]
    sql = "SELECT b.id, s.name FROM db.flow_big AS b JOIN files.small AS s ON s.kind = b.kind LIMIT 10"
    result = limited.sql(sql)
    rows = result.fetchall()
    assert len(rows) == 10 and all(name == f"k{id_ % 100}" for id_, name in rows)  # any 10 joined rows will do
    big = next(s for s in result.stats if s.department == "db")
    assert big.rows < ROWS // 2, big  # the rest of the table never crossed the wire ...
    assert _active_reads(pg_schema) == 0  # ... its statement was cancelled ...
    pool = limited.catalog.connector("db", "pg").pool
    assert pool.open == len(pool._idle)  # ... and its connection went back to the pool
    assert result.plan.hash == limited.explain(sql).hash
    # The same query without a LIMIT reads the whole table (what the cut saved) and still answers.
    count = limited.sql("SELECT count(*) FROM db.flow_big AS b JOIN files.small AS s ON s.kind = b.kind").fetchall()
    assert count == [(ROWS,)]


def test_an_ordered_limit_still_reads_everything_it_needs(limited) -> None:  # type: ignore[no-untyped-def]
    # ORDER BY needs every row: nothing is cut short (the top-N machinery is the tool there).
    sql = (
        "SELECT b.id, s.name FROM db.flow_big AS b JOIN files.small AS s ON s.kind = b.kind "
        "ORDER BY b.id DESC LIMIT 3"
    )
    assert limited.sql(sql).fetchall() == [(ROWS - i, f"k{(ROWS - i) % 100}") for i in range(3)]


def test_a_limit_of_zero_and_a_failing_source_are_typed(limited, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    zero = "SELECT b.id FROM db.flow_big AS b JOIN files.small AS s ON s.kind = b.kind LIMIT 0"
    assert limited.sql(zero).fetchall() == []
    with pytest.raises(fedquery.errors.FedQueryError, match="no_such_column"):
        limited.sql("SELECT b.no_such_column FROM db.flow_big AS b JOIN files.small AS s ON s.kind = b.kind LIMIT 5")
