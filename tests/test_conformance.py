"""Every connector passes the same conformance suite (tests/conformance.py); each supplies only its data."""

from __future__ import annotations

import sqlite3

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fedquery
from tests.conformance import PEOPLE, ConnectorConformance
from tests.conftest import PG_DSN, mysql_admin, mysql_url, pg_admin

COLUMNS = "id BIGINT, name VARCHAR(20), amount DECIMAL(10,2), born DATE, active BOOLEAN"


def _iso(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def _fed(source: dict) -> fedquery.Federation:  # type: ignore[type-arg]
    return fedquery.connect({"departments": {"conf": {"sources": {"src": source}}}})


class TestParquet(ConnectorConformance):
    kind = "parquet"

    @pytest.fixture(scope="class")
    @classmethod
    def people_fed(cls, tmp_path_factory: pytest.TempPathFactory) -> fedquery.Federation:
        root = tmp_path_factory.mktemp("parquet")
        pq.write_table(PEOPLE, root / "people.parquet", row_group_size=2)
        return _fed({"kind": "parquet", "url": str(root)})


class TestCsv(ConnectorConformance):
    kind = "csv"

    @pytest.fixture(scope="class")
    @classmethod
    def people_fed(cls, tmp_path_factory: pytest.TempPathFactory) -> fedquery.Federation:
        root = tmp_path_factory.mktemp("csv")
        pacsv.write_csv(PEOPLE, root / "people.csv")
        return _fed(
            {
                "kind": "csv",
                "url": str(root),
                "tables": {"people": {"path": "people.csv", "columns": {"amount": "decimal(10,2)"}}},
            }
        )


class TestSqlite(ConnectorConformance):
    kind = "sqlite"

    @pytest.fixture(scope="class")
    @classmethod
    def people_fed(cls, tmp_path_factory: pytest.TempPathFactory) -> fedquery.Federation:
        path = tmp_path_factory.mktemp("sqlite") / "people.db"
        con = sqlite3.connect(path)
        con.execute(f"CREATE TABLE people ({COLUMNS})")
        rows = [
            (r["id"], r["name"], None if r["amount"] is None else float(r["amount"]), _iso(r["born"]), r["active"])
            for r in PEOPLE.to_pylist()
        ]
        con.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?)", rows)
        con.commit()
        con.close()
        return _fed({"kind": "sqlite", "path": str(path)})


class TestDuckDB(ConnectorConformance):
    kind = "duckdb"

    @pytest.fixture(scope="class")
    @classmethod
    def people_fed(cls, tmp_path_factory: pytest.TempPathFactory) -> fedquery.Federation:
        path = tmp_path_factory.mktemp("duckdb") / "people.duckdb"
        con = duckdb.connect(str(path))
        con.execute(f"CREATE TABLE people ({COLUMNS})")
        con.register("src", PEOPLE)
        con.execute("INSERT INTO people SELECT * FROM src")
        con.close()
        return _fed({"kind": "duckdb", "path": str(path)})


class TestPostgres(ConnectorConformance):
    kind = "postgres"

    @pytest.fixture(scope="class")
    @classmethod
    def people_fed(cls, pg_schema: str) -> fedquery.Federation:
        con = pg_admin()
        with con.cursor() as cur:
            cur.execute(f'CREATE TABLE "{pg_schema}".people ({COLUMNS})')
            cur.adbc_ingest("people", PEOPLE, mode="append", db_schema_name=pg_schema)
        con.close()
        return _fed({"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "schemas": [pg_schema]})


class TestMySQL(ConnectorConformance):
    kind = "mysql"

    @pytest.fixture(scope="class")
    @classmethod
    def people_fed(cls, mysql_database: str) -> fedquery.Federation:
        con = mysql_admin()
        with con.cursor() as cur:
            cur.execute(f"CREATE TABLE `{mysql_database}`.people ({COLUMNS})")
            rows = [tuple(r.values()) for r in PEOPLE.to_pylist()]
            cur.executemany(f"INSERT INTO `{mysql_database}`.people VALUES (%s, %s, %s, %s, %s)", rows)
        con.close()
        return _fed({"kind": "mysql", "url": mysql_url(mysql_database)})


def test_every_builtin_kind_has_a_conformance_class() -> None:
    from connectors import BUILTIN

    covered = {cls.kind for cls in ConnectorConformance.__subclasses__()}
    assert covered == set(BUILTIN)
