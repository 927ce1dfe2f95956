"""Bad input gets a typed error that names what is wrong; nothing crashes."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from fedquery.errors import (
    BindError,
    ConfigError,
    FedQueryError,
    ParseError,
    ReadOnlyError,
    SourceError,
    SourceUnavailableError,
    UnknownColumnError,
    UnknownDepartmentError,
    UnknownTableError,
)


def test_malformed_sql_names_the_position(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError) as info:
        tpch_fed.sql("SELECT o_orderkey FROM sales.orders WHERE (")
    assert info.value.line == 1 and info.value.column is not None
    assert "line 1" in str(info.value)


@pytest.mark.parametrize("sql", ["", "   ", "SELECT FROM WHERE", "SELECT 'unterminated FROM sales.orders"])
def test_empty_and_garbage_sql(tpch_fed, sql: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError):
        tpch_fed.sql(sql)


def test_unknown_department_suggests(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownDepartmentError) as info:
        tpch_fed.sql("SELECT * FROM sale.orders")
    assert "'sale'" in str(info.value) and "Did you mean 'sales'" in str(info.value)


def test_unknown_table_suggests(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownTableError) as info:
        tpch_fed.sql("SELECT *\nFROM sales.order")
    assert "Did you mean 'sales.orders'" in str(info.value)
    assert info.value.department == "sales"
    assert (info.value.line, info.value.column) == (2, 6)  # where "sales.order" starts


def test_table_without_department(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownTableError) as info:
        tpch_fed.sql("SELECT * FROM orders")
    assert "department" in str(info.value) and "sales.orders" in str(info.value)


def test_unknown_column_suggests(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnknownColumnError) as info:
        tpch_fed.sql("SELECT o_orderky FROM sales.orders")
    assert "o_orderky" in str(info.value) and "o_orderkey" in str(info.value)
    assert (info.value.line, info.value.column) == (1, 8) and "line 1, column 8" in str(info.value)


def test_table_functions_are_refused(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BindError):
        tpch_fed.sql("SELECT * FROM read_csv('/etc/passwd')")


WRITES = [
    "DROP TABLE sales.orders",
    "CREATE TABLE x AS SELECT 1",
    "CREATE VIEW v AS SELECT * FROM sales.orders",
    "INSERT INTO sales.orders VALUES (1)",
    "UPDATE sales.orders SET o_totalprice = 0",
    "DELETE FROM sales.orders",
    "MERGE INTO sales.orders USING sales.lineitem ON o_orderkey = l_orderkey WHEN MATCHED THEN DELETE",
    "TRUNCATE sales.orders",
    "ALTER TABLE sales.orders ADD COLUMN x INT",
    "PRAGMA database_list",
    "ATTACH 'other.db' AS other",
    "DETACH other",
    "COPY sales.orders TO '/tmp/x.csv'",
    "SET memory_limit = '100GB'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "CALL pragma_version()",
    "USE sales",
    "BEGIN TRANSACTION",
    "CHECKPOINT",
    "SELECT * INTO newtable FROM sales.orders",
    "SELECT 1; DROP TABLE sales.orders",
    "SELECT 1; SELECT 2",
    "WITH d AS (DELETE FROM sales.orders RETURNING *) SELECT * FROM d",
    "WITH x AS (SELECT 1) INSERT INTO sales.orders SELECT * FROM x",
    "SHOW USERS",  # DESCRIBE and SHOW TABLES are answered from the catalog (tests/test_introspection.py)
    "SUMMARIZE sales.orders",
    "SELECT * FROM sales.orders FOR UPDATE",
]


@pytest.mark.parametrize("sql", WRITES)
def test_writes_and_commands_are_refused(tpch_fed, sql: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((ReadOnlyError, ParseError)) as info:
        tpch_fed.sql(sql)
    assert isinstance(info.value, FedQueryError)


def test_statement_after_semicolon_is_named(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReadOnlyError) as info:
        tpch_fed.sql("SELECT 1; DROP TABLE sales.orders")
    assert "2" in str(info.value) and "DROP" in str(info.value)


def test_delete_inside_cte_is_named(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ReadOnlyError) as info:
        tpch_fed.sql("WITH d AS (DELETE FROM sales.orders RETURNING *) SELECT * FROM d")
    assert "DELETE" in str(info.value) and "CTE" in str(info.value)


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fedquery.toml"
    path.write_text(body)
    return path


def test_missing_file_names_source(tmp_path: Path) -> None:
    fed = fedquery.connect(
        _config(tmp_path, '[departments.dwp.sources.claims]\nkind = "parquet"\nurl = "nope.parquet"\n')
    )
    with pytest.raises(SourceUnavailableError) as info:
        fed.sql("SELECT * FROM dwp.claims")
    assert info.value.department == "dwp" and info.value.source == "claims"
    assert "nope.parquet" in str(info.value)


def test_missing_sqlite_and_duckdb_files(tmp_path: Path) -> None:
    fed = fedquery.connect(
        _config(
            tmp_path,
            '[departments.a.sources.s]\nkind = "sqlite"\npath = "missing.db"\n'
            '[departments.b.sources.d]\nkind = "duckdb"\npath = "missing.duckdb"\n',
        )
    )
    with pytest.raises(SourceUnavailableError, match="missing.db"):
        fed.sql("SELECT * FROM a.t")
    with pytest.raises(SourceUnavailableError, match="missing.duckdb"):
        fed.sql("SELECT * FROM b.t")
    assert not (tmp_path / "missing.duckdb").exists(), "read-only open must not create the file"


def test_corrupt_parquet_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "claims.parquet").write_bytes(b"PAR1 this is not parquet at all PAR1")
    fed = fedquery.connect(_config(tmp_path, '[departments.dwp.sources.claims]\nkind = "parquet"\nurl = "data"\n'))
    with pytest.raises(SourceError) as info:
        fed.sql("SELECT * FROM dwp.claims")
    assert info.value.department == "dwp" and info.value.source == "claims"


def test_truncated_parquet_fails_the_query_mid_stream(tmp_path: Path) -> None:
    import random

    table = pa.table({"id": list(range(200_000)), "v": [str(i) * 3 for i in range(200_000)]})
    good = tmp_path / "good.parquet"
    pq.write_table(table, good, row_group_size=10_000, compression="zstd")
    data = good.read_bytes()
    (tmp_path / "d").mkdir()
    # Keep the footer but damage the middle: early row groups read, later ones fail to decompress.
    damaged = bytearray(data)
    middle = len(data) // 2
    rng = random.Random(1)
    damaged[middle : middle + 20000] = bytes(rng.randrange(256) for _ in range(20000))
    (tmp_path / "d" / "t.parquet").write_bytes(bytes(damaged))
    fed = fedquery.connect(_config(tmp_path, '[departments.x.sources.files]\nkind = "parquet"\nurl = "d"\n'))
    with pytest.raises(SourceError) as info:
        fed.sql("SELECT count(*), sum(id), sum(length(v)) FROM x.t").fetchall()
    assert info.value.source == "files"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("this is = not [toml", "not valid TOML"),
        ("[departments]\n", r"no \[departments"),
        ("[departments.dwp.sources.claims]\nurl = 'x'\n", "has no 'kind'"),
        ("[departments.dwp.sources.claims]\nkind = 'oracle'\n", "unknown source kind 'oracle'"),
        ("[departments.'bad name'.sources.c]\nkind = 'csv'\n", "must be a SQL identifier"),
        (
            "[departments.dwp.sources.c]\nkind = 'csv'\nurl = '${ENV:FEDQUERY_TEST_UNSET_VAR}'\n",
            "FEDQUERY_TEST_UNSET_VAR",
        ),
        ("[settings]\nmemory_limt = '1GB'\n[departments.d.sources.c]\nkind='csv'\n", "unknown setting"),
        ("[settings]\nthreads = 0\n[departments.d.sources.c]\nkind='csv'\n", "positive integer"),
        ("[surprise]\n", "unknown top-level key"),
    ],
)
def test_bad_config(tmp_path: Path, body: str, message: str) -> None:
    os.environ.pop("FEDQUERY_TEST_UNSET_VAR", None)
    with pytest.raises(ConfigError, match=message):
        fed = fedquery.connect(_config(tmp_path, body))
        fed.tables()


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        fedquery.connect(tmp_path / "nope.toml")


def test_duplicate_table_names_in_a_department(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        pq.write_table(pa.table({"x": [1]}), tmp_path / d / "people.parquet")
    fed = fedquery.connect(
        _config(
            tmp_path,
            '[departments.dwp.sources.a]\nkind = "parquet"\nurl = "a"\n'
            '[departments.dwp.sources.b]\nkind = "parquet"\nurl = "b"\n',
        )
    )
    with pytest.raises(ConfigError) as info:
        fed.sql("SELECT * FROM dwp.people")
    assert "'a'" in str(info.value) and "'b'" in str(info.value) and "dwp.people" in str(info.value)


def test_bad_csv_column_type(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="notatype"):  # refused at load, before any query
        fedquery.connect(
            _config(
                tmp_path,
                '[departments.d.sources.c]\nkind = "csv"\nurl = "."\n'
                '[departments.d.sources.c.tables.t]\npath = "t.csv"\ncolumns = { a = "notatype" }\n',
            )
        )
