"""SQLite's two readers: plain scans in C through ADBC, everything else through Python's sqlite3.

The ADBC driver types a column by the first rows it reads, so a column NULL there, or a DECIMAL
column whose first values are whole numbers (SQLite stores them as INTEGER), would fail or change
type later; fedquery sends a typed first row before the scan. Both readers must give the oracle's
rows, and a value of another type in a column (SQLite keeps any value in any column) is a typed
error naming the column under both, never a truncated number.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.errors import ConfigError, SourceError

pytest.importorskip("adbc_driver_sqlite")  # the test extra installs it; without it only sqlite3 reads

#: (id, k, i, f, price, s, d, flag): the first rows are NULL in every column but id, then edge values
ROWS: list[tuple[Any, ...]] = [(n, None, None, None, None, None, None, None) for n in range(1, 11)] + [
    (11, 1, 4, 1.5, Decimal("4"), "plain", "2024-02-29", 1),
    (12, 1, -(2**62), float("inf"), Decimal("3.25"), "naïve ß", "1970-01-01", 0),
    (13, 2, 2**62, -0.0, Decimal("-99999.99"), "", "9999-12-31", 1),
    (14, 2, 0, float("-inf"), Decimal("0.10"), "trailing ", "0001-01-01", None),
    (15, 3, 7, 1e-300, Decimal("12345.67"), "日本語", None, 0),
] + [(n, n % 4, n * 3, n / 7, Decimal(n) / 100, f"r{n}", "2000-01-01", n % 2) for n in range(16, 400)]
DDL = "id INTEGER, k INTEGER, i INTEGER, f REAL, price DECIMAL(7,2), s TEXT, d DATE, flag BOOLEAN"
ORACLE_DDL = "id INTEGER, k INTEGER, i BIGINT, f DOUBLE, price DECIMAL(7,2), s VARCHAR, d DATE, flag BOOLEAN"

QUERIES = [
    "SELECT * FROM {t} ORDER BY id",
    "SELECT id, price, d FROM {t} WHERE price > 1 OR d IS NULL ORDER BY id",
    "SELECT id, i + 1 AS j, s FROM {t} WHERE flag ORDER BY id",
    "SELECT id, f FROM {t} WHERE id > 10 ORDER BY id LIMIT 4",
    "SELECT k, count(*) AS n, sum(i) AS total, max(price) AS top FROM {t} GROUP BY k ORDER BY k NULLS LAST",
    "SELECT a.id, b.s FROM {t} a JOIN {t} b ON a.id = b.k ORDER BY 1, 2",
]


def _sqlite_file(path: Path, rows: list[tuple[Any, ...]], ddl: str = DDL) -> Path:
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE t ({ddl})")
    stored = [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * len(rows[0]))})", stored)
    con.commit()
    con.close()
    return path


def _federation(path: Path, **options: Any) -> fedquery.Federation:
    """A federation of the file; every plain scan read through ADBC unless ``adbc_min_rows`` says else."""
    source = {"kind": "sqlite", "path": str(path), "batch_size": 4, "adbc_min_rows": 0, **options}
    return fedquery.connect({"departments": {"lite": {"sources": {"db": source}}}})


def _drivers(fed: fedquery.Federation) -> set[str]:
    return set(fed.catalog.connector("lite", "db").drivers.values())


@pytest.fixture(scope="module")
def edge_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sqlite_file(tmp_path_factory.mktemp("sqlite_reader") / "edge.db", ROWS)


@pytest.fixture(scope="module")
def oracle() -> Any:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({ORACLE_DDL})")
    columns = [c.split()[0] for c in ORACLE_DDL.split(", ")]
    rows = pa.table({name: [row[i] for row in ROWS] for i, name in enumerate(columns)})  # noqa: F841 (read by DuckDB)
    con.execute("INSERT INTO t SELECT * FROM rows")
    yield con
    con.close()


@pytest.mark.parametrize("sql", QUERIES)
@pytest.mark.parametrize("driver", ["auto", "sqlite3"])
def test_both_readers_give_the_oracles_rows(edge_file: Path, oracle: Any, sql: str, driver: str) -> None:
    expected = oracle.sql(sql.format(t="t")).fetchall()
    with _federation(edge_file, driver=driver) as fed:
        assert fed.sql(sql.format(t="lite.t"), pushdown="filters").fetchall() == expected
        assert _drivers(fed) == {"adbc" if driver == "auto" else "sqlite3"}  # under filters: plain scans only
        assert fed.sql(sql.format(t="lite.t"), pushdown="auto").fetchall() == expected


def test_plain_scans_are_read_through_adbc_the_rest_through_sqlite3(edge_file: Path) -> None:
    with _federation(edge_file) as fed:
        fed.sql("SELECT id, price, d FROM lite.t WHERE price > 1", pushdown="full").fetchall()
        assert _drivers(fed) == {"adbc"}
    with _federation(edge_file, adbc_min_rows=2000) as fed:  # the default
        fed.sql("SELECT id, price, d FROM lite.t WHERE price > 1 LIMIT 3", pushdown="full").fetchall()
        assert _drivers(fed) == {"sqlite3"}  # a few rows: no statement to wrap, no second connection
        fed.sql("SELECT id, price, d FROM lite.t", pushdown="full").fetchall()
        assert _drivers(fed) == {"sqlite3"}  # 399 rows by the source's count
    with _federation(edge_file, adbc_min_rows=5) as fed:
        fed.sql("SELECT id, price, d FROM lite.t WHERE price > 1 LIMIT 5", pushdown="full").fetchall()
        assert _drivers(fed) == {"adbc"}
    with _federation(edge_file) as fed:
        fed.sql("SELECT k, sum(i) AS total FROM lite.t GROUP BY k", pushdown="full").fetchall()
        assert _drivers(fed) == {"sqlite3"}  # an aggregate (and the exact integer SUM's Python halves)
    with _federation(edge_file, driver="sqlite3") as fed:
        fed.sql("SELECT id FROM lite.t", pushdown="full").fetchall()
        assert _drivers(fed) == {"sqlite3"}


def test_the_typed_first_row_is_never_an_answer(edge_file: Path) -> None:
    with _federation(edge_file) as fed:
        assert fed.sql("SELECT count(*) FROM (SELECT id FROM lite.t) x", pushdown="filters").fetchall() == [
            (len(ROWS),)
        ]
        rows = fed.sql("SELECT id, s, f FROM lite.t WHERE id <= 3", pushdown="filters").fetchall()
        assert sorted(rows) == [(1, None, None), (2, None, None), (3, None, None)]
        assert _drivers(fed) == {"adbc"}


@pytest.mark.parametrize(
    ("value", "column", "declared"),
    [(1.5, "i", "int64"), ("x", "f", "double"), ("4,5", "price", "decimal128(7, 2)")],
)
@pytest.mark.parametrize("driver", ["auto", "sqlite3"])
def test_a_value_of_another_type_is_a_typed_error(
    tmp_path: Path, value: Any, column: str, declared: str, driver: str
) -> None:
    rows = [(1, 1, 1, 1.0, 1.0, "a", "2020-01-01", 1), (2, 1, 2, 2.0, 2.0, "b", "2020-01-02", 0)]
    path = _sqlite_file(tmp_path / "mixed.db", rows)
    con = sqlite3.connect(path)
    con.execute(f"UPDATE t SET {column} = ? WHERE id = 2", (value,))  # SQLite keeps it as it is
    con.commit()
    con.close()
    with _federation(path, driver=driver) as fed:
        with pytest.raises(SourceError) as caught:
            fed.sql(f"SELECT id, {column} FROM lite.t", pushdown="filters").fetchall()
    assert f"column '{column}'" in str(caught.value) and declared.split("(")[0] in str(caught.value)
    config = tmp_path / "fed.toml"
    config.write_text(
        f'[departments.lite.sources.db]\nkind = "sqlite"\npath = "{path}"\ndriver = "{driver}"\n', encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["-c", str(config), "query", f"SELECT id, {column} FROM lite.t"])
    assert result.exit_code == 4, result.output
    assert f"column '{column}'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("key", "value"), [("driver", "adbc"), ("adbc_min_rows", -1), ("adbc_min_rows", "many")])
def test_the_reader_options_are_checked(edge_file: Path, key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        _federation(edge_file, **{key: value}).sql("SELECT 1 FROM lite.t").fetchall()


def test_a_plain_scan_stops_at_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER, s TEXT)")
    con.execute(
        "INSERT INTO t WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 2000000) "
        "SELECT n, printf('%020d', n) FROM r"
    )
    con.commit()
    con.close()
    with _federation(path, batch_size=1024) as fed:
        with pytest.raises(fedquery.QueryTimeoutError):
            fed.sql("SELECT id, s FROM lite.t WHERE s <> 'x'", pushdown="filters", timeout=0.05).fetchall()
        assert fed.sql("SELECT count(*) FROM lite.t WHERE id % 2 = 0", pushdown="filters").fetchall() == [(1_000_000,)]


def test_a_table_gone_since_planning_is_a_source_error(tmp_path: Path) -> None:
    rows = [(n, n % 3, n, n / 2, n / 100, f"r{n}", "2020-01-01", n % 2) for n in range(100)]
    path = _sqlite_file(tmp_path / "gone.db", rows)
    with _federation(path) as fed:
        plan = fed.explain("SELECT id, s FROM lite.t WHERE id >= 0", pushdown="filters")
        con = sqlite3.connect(path)
        con.execute("ALTER TABLE t RENAME TO t_old")
        con.commit()
        con.close()
        with pytest.raises(SourceError, match="no such table"):
            fed.catalog.connector("lite", "db").scan(plan.fragments[0]).read_all()
        assert _drivers(fed) == {"adbc"}


def _ranged(path: Path, parts: int = 3, batch_size: int = 64) -> fedquery.Federation:
    source = {"kind": "sqlite", "path": str(path), "batch_size": batch_size, "adbc_min_rows": 0}
    return fedquery.connect(
        {
            "settings": {"parallel_reads": parts, "parallel_min_rows": 10, "parallel_min_bytes": 0},
            "departments": {"lite": {"sources": {"db": source}}},
        }
    )


def _stats(result: fedquery.Result) -> Any:
    (stats,) = result.stats
    return stats


def test_rowid_ranges_give_the_oracles_rows(edge_file: Path, oracle: Any) -> None:
    sql = "SELECT id, i, f, price, s, d, flag FROM {t} WHERE id <> 17"
    expected = sorted(oracle.sql(sql.format(t="t")).fetchall(), key=repr)
    with _ranged(edge_file) as fed:
        result = fed.sql(sql.format(t="lite.t"), pushdown="auto")
        assert sorted(result.fetchall(), key=repr) == expected
        assert _stats(result).ranges == 3 and _drivers(fed) == {"adbc"}
        assert "read as 3 ranges" in str(fed.explain(sql.format(t="lite.t"), analyze=True))


def test_no_writer_commits_while_the_ranges_are_read(tmp_path: Path) -> None:
    rows = [(n, n % 3, n, n / 2, n / 100, f"r{n}", "2020-01-01", n % 2) for n in range(3000)]
    path = _sqlite_file(tmp_path / "locked.db", rows)
    # Each range fits in the driver's first batch: its statement has ended by the time scan_ranges
    # returns, and only the guard's read transaction keeps writers out until the last range is read.
    with _ranged(path, batch_size=100_000) as fed:
        plan = fed.explain("SELECT id, s FROM lite.t", pushdown="auto")
        (fragment,) = plan.fragments
        assert fragment.ranges == 3
        readers = fed.catalog.connector("lite", "db").scan_ranges(fragment, 3)
        assert len(readers) == 3
        writer = sqlite3.connect(path, timeout=0.05)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            writer.execute("DELETE FROM t WHERE id < 10")
            writer.commit()
        writer.rollback()
        assert sum(r.read_all().num_rows for r in readers) == 3000  # all from one state of the file
        writer.execute("DELETE FROM t WHERE id < 10")  # the last range released the read transaction
        writer.commit()
        writer.close()


@pytest.mark.parametrize(
    ("ddl", "setup", "ranges"),
    [
        ("id INTEGER PRIMARY KEY, s TEXT) WITHOUT ROWID", "", 1),  # no rowid to cut
        ("id INTEGER, s TEXT)", "PRAGMA journal_mode = WAL", 1),  # writers do not wait for readers
        ("rowid INTEGER, _rowid_ INTEGER, oid INTEGER, id INTEGER, s TEXT)", "", 1),  # every rowid name taken
        ("rowid INTEGER, s TEXT)", "", 3),  # a column shadows the name: ranges are cut on _rowid_
    ],
)
def test_how_many_ranges_a_file_is_read_as(tmp_path: Path, ddl: str, setup: str, ranges: int) -> None:
    path = tmp_path / "once.db"
    con = sqlite3.connect(path)
    if setup:
        con.execute(setup)
    con.execute(f"CREATE TABLE t ({ddl}")
    width = ddl.split(")")[0].count(",") + 1
    values = [tuple(range(-n, -n + width - 1)) + (f"r{n}",) for n in range(900)]
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' * width)})", values)
    con.commit()
    con.close()
    with _ranged(path) as fed:
        result = fed.sql("SELECT * FROM lite.t", pushdown="auto")
        assert sorted(result.fetchall()) == sorted(values)
        assert _stats(result).ranges == ranges
