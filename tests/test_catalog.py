"""Discovery: files, directories, hive partitions, database schemas, explicit and renamed tables."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from fedquery.errors import UnknownTableError


def test_directory_gives_a_table_per_file_and_subdirectory(tmp_path: Path) -> None:
    root = tmp_path / "ons"
    (root / "census").mkdir(parents=True)
    pq.write_table(pa.table({"a": [1]}), root / "population.parquet")
    pq.write_table(pa.table({"b": [1, 2]}), root / "census" / "part-0.parquet")
    pq.write_table(pa.table({"b": [3]}), root / "census" / "part-1.parquet")
    (root / "_SUCCESS").write_text("")
    (root / "notes.txt").write_text("not a table")
    fed = fedquery.connect({"departments": {"ons": {"sources": {"files": {"kind": "parquet", "url": str(root)}}}}})
    assert sorted(t["table"] for t in fed.tables()) == ["ons.census", "ons.population"]
    assert fed.sql("SELECT sum(b) FROM ons.census").fetchall() == [(6,)]


def test_duckdb_schemas_and_default_schema(tmp_path: Path) -> None:
    path = tmp_path / "hmrc.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE income (id INT, amount DECIMAL(12,2))")
    con.execute("INSERT INTO income VALUES (1, 10.50), (2, 20.25)")
    con.execute("CREATE SCHEMA archive")
    con.execute("CREATE TABLE archive.income (id INT, amount DECIMAL(12,2))")
    con.execute("INSERT INTO archive.income VALUES (1, 1.00)")
    con.execute("CREATE VIEW big_income AS SELECT * FROM income WHERE amount > 15")
    con.close()
    fed = fedquery.connect({"departments": {"hmrc": {"sources": {"db": {"kind": "duckdb", "path": str(path)}}}}})
    names = sorted(t["table"] for t in fed.tables())
    assert names == ["hmrc.archive.income", "hmrc.big_income", "hmrc.income"]
    rows = fed.sql(
        "SELECT i.id, i.amount, a.amount AS archived FROM hmrc.income i LEFT JOIN hmrc.archive.income a ON a.id = i.id "
        "ORDER BY i.id"
    ).fetchall()
    assert [(r[0], str(r[1]), None if r[2] is None else str(r[2])) for r in rows] == [
        (1, "10.50", "1.00"),
        (2, "20.25", None),
    ]
    assert fed.sql("SELECT count(*) FROM hmrc.big_income").fetchall() == [(1,)]
    with pytest.raises(UnknownTableError):
        fed.sql("SELECT * FROM hmrc.nothere.income")


def test_sqlite_rename_and_types(tmp_path: Path) -> None:
    path = tmp_path / "dhsc.db"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE tbl_ppe_ord (id INTEGER, trust TEXT, qty INTEGER, price DECIMAL(10,2), day DATE, ok BOOLEAN)"
    )
    con.execute("INSERT INTO tbl_ppe_ord VALUES (1, 'RJ1', 5, 1.10, '2020-04-01', 1), (2, NULL, NULL, NULL, NULL, 0)")
    con.commit()
    con.close()
    fed = fedquery.connect(
        {
            "departments": {
                "dhsc": {
                    "sources": {
                        "orders": {
                            "kind": "sqlite",
                            "path": str(path),
                            "tables": {"ppe_orders": {"table": "tbl_ppe_ord"}},
                        }
                    }
                }
            }
        }
    )
    assert [t["table"] for t in fed.tables()] == ["dhsc.ppe_orders"]
    table = fed.sql("SELECT * FROM dhsc.ppe_orders ORDER BY id").arrow()
    assert table.schema.field("price").type == pa.decimal128(10, 2)
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("ok").type == pa.bool_()
    assert str(table.column("price")[0]) == "1.10" and table.column("trust")[1].as_py() is None
    plan = fed.explain("SELECT trust, count(*) FROM dhsc.ppe_orders GROUP BY trust")
    assert '"tbl_ppe_ord"' in plan.fragments[0].sql and "GROUP BY" in plan.fragments[0].sql


def test_explicit_csv_table_with_glob_and_options(tmp_path: Path) -> None:
    (tmp_path / "fsm").mkdir()
    (tmp_path / "fsm" / "2019.tsv").write_text("pupil\teligible\tfrom\nU1\ttrue\t2019-09-01\nU2\tfalse\t\n")
    (tmp_path / "fsm" / "2020.tsv").write_text("pupil\teligible\tfrom\nU3\ttrue\t2020-01-06\n")
    fed = fedquery.connect(
        {
            "departments": {
                "dfe": {
                    "sources": {
                        "fsm": {
                            "kind": "csv",
                            "url": str(tmp_path / "fsm"),
                            "tables": {"fsm": {"path": "*.tsv", "delimiter": "\t", "columns": {"from": "date"}}},
                        }
                    }
                }
            }
        }
    )
    rows = fed.sql('SELECT pupil, "from" FROM dfe.fsm WHERE eligible ORDER BY pupil').fetchall()
    assert [r[0] for r in rows] == ["U1", "U3"] and str(rows[0][1]) == "2019-09-01"


def test_builtin_connectors_come_through_entry_points() -> None:
    from importlib.metadata import entry_points

    from connectors import BUILTIN, available_kinds, connector_class

    registered = {ep.name: ep.value for ep in entry_points(group="fedquery.connectors")}
    assert registered == BUILTIN  # the installed distribution registers exactly the built-ins
    assert available_kinds() == BUILTIN
    for kind in BUILTIN:
        assert connector_class(kind).kind == kind


def test_duckdb_source_is_read_only_and_locked(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    fed = fedquery.connect({"departments": {"d": {"sources": {"db": {"kind": "duckdb", "path": str(path)}}}}})
    assert fed.sql("SELECT x FROM d.t").fetchall() == [(1,)]
    cursor = fed.catalog.connector("d", "db").connection()  # type: ignore[attr-defined]
    for statement in ("CREATE TABLE u (x INT)", "SELECT * FROM read_csv('/etc/hostname')", "SET threads = 1"):
        with pytest.raises(duckdb.Error):
            cursor.execute(statement)
    fed.close()
