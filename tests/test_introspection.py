"""DESCRIBE, SHOW and information_schema: answered by fedquery from the catalog, never sent to a source."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import fedquery
from fedquery.errors import ReadOnlyError, UnknownDepartmentError, UnknownTableError
from tests.conftest import assert_same_rows

#: the information_schema.columns facts compared with DuckDB's own
FACTS = (
    "table_catalog, table_schema, table_name, column_name, ordinal_position, is_nullable, data_type, "
    "numeric_precision, numeric_scale"
)


@pytest.fixture(scope="module")
def fed(demo_config: Path) -> Iterator[Any]:
    with fedquery.connect(demo_config) as federation:
        yield federation


@pytest.fixture(scope="module")
def oracle(fed: Any) -> Iterator[Any]:
    """Every demo table, as read through fedquery, in one DuckDB with one attached database per department."""
    con = duckdb.connect(":memory:")
    for department in fed.catalog.departments:
        con.execute(f"ATTACH ':memory:' AS \"{department}\"")  # test set-up, fixed names
    for table in fed.catalog.tables():
        data = fed.sql(f"SELECT * FROM {table.sql_name}").arrow()  # noqa: F841 - read by DuckDB below
        con.execute(f'CREATE TABLE "{table.department}".main."{table.name}" AS SELECT * FROM data')
    yield con
    con.close()


def test_information_schema_columns_match_duckdb(fed: Any, oracle: Any) -> None:
    query = f"SELECT {FACTS} FROM information_schema.columns"
    got = fed.sql(query).fetchall()
    expected = oracle.sql(f"{query} WHERE table_catalog IN ('dfe', 'dhsc', 'dwp', 'hmrc')").fetchall()
    assert_same_rows(got, expected)
    assert ("dwp", "main", "claims", "weekly_amount", 6, "YES", "DECIMAL(10,2)", 10, 2) in got
    assert ("dwp", "main", "claims", "start_date", 5, "YES", "DATE", None, None) in got


def test_information_schema_tables_and_joins(fed: Any, oracle: Any) -> None:
    query = (
        "SELECT t.table_catalog, t.table_name, t.table_type, count(*) AS n "
        "FROM information_schema.tables t JOIN information_schema.columns c "
        "ON c.table_catalog = t.table_catalog AND c.table_name = t.table_name "
        "WHERE t.table_catalog <> 'hmrc' GROUP BY ALL ORDER BY 1, 2"
    )
    got = fed.sql(query).fetchall()
    expected = oracle.sql(query.replace("WHERE", "WHERE t.table_catalog IN ('dfe', 'dhsc', 'dwp') AND")).fetchall()
    assert got == expected and ("dwp", "claims", "BASE TABLE", 6) in got
    schemata = fed.sql("SELECT catalog_name, schema_name FROM Information_Schema.Schemata ORDER BY 1").fetchall()
    assert schemata == [("dfe", "main"), ("dhsc", "main"), ("dwp", "main"), ("hmrc", "main")]


def test_join_with_a_department_table(fed: Any, oracle: Any) -> None:
    """information_schema joins department tables like any local relation; the department's part is pushed."""
    query = (
        "SELECT c.column_name, count(*) AS n FROM dwp.claims d "
        "JOIN information_schema.columns c ON c.table_name = 'claims' AND c.column_name = lower(d.benefit) "
        "GROUP BY 1"
    )
    rows = fed.sql("SELECT count(*) FROM dwp.claims").fetchall()
    assert rows[0][0] > 0
    swapped = query.replace("lower(d.benefit)", "CASE WHEN d.claim_id % 2 = 0 THEN 'region' ELSE 'benefit' END")
    got = fed.sql(swapped).fetchall()
    expected = oracle.sql(swapped).fetchall()
    assert_same_rows(got, expected)
    assert {r[0] for r in got} == {"region", "benefit"}
    plan = fed.explain(swapped)
    assert [f.department for f in plan.fragments] == ["dwp"]
    assert "information_schema" not in plan.fragments[0].sql and "__fq_is" not in plan.fragments[0].sql
    assert plan.to_dict()["introspection"] == ["__fq_is_columns"]


def test_describe_as_duckdb_does(fed: Any, oracle: Any) -> None:
    got = fed.sql("DESCRIBE dwp.claims").fetchall()
    assert got == oracle.sql("DESCRIBE dwp.claims").fetchall()
    assert fed.sql("DESCRIBE dwp.claims").arrow().column_names == [
        "column_name", "column_type", "null", "key", "default", "extra"
    ]  # fmt: skip
    assert fed.sql("desc DWP.Claims").fetchall() == got  # department and table found case-insensitively
    assert fed.explain("DESCRIBE dwp.claims").fragments == []  # never sent to a source


@pytest.mark.parametrize(
    "query",
    [
        "SELECT c.region, count(*) AS n, sum(c.weekly_amount) AS total, avg(i.employment_income) "
        "FROM dwp.claims c JOIN hmrc.income i ON i.person_id = c.person_id GROUP BY 1",
        "SELECT claim_id, start_date + 1 AS next_day, weekly_amount * 2 FROM dwp.claims",
        "SELECT 1 AS a UNION SELECT 2",
    ],
)
def test_describe_a_query_as_duckdb_does(fed: Any, oracle: Any, query: str) -> None:
    """Planned, never run: the types are DuckDB's for the query's local step over empty fragments."""
    described = fed.sql(f"DESCRIBE {query}").fetchall()
    expected = oracle.sql(f"DESCRIBE {query}").fetchall()
    assert [r[1:] for r in described] == [r[1:] for r in expected]  # types, nullability
    assert [r[0] for r in described] == fed.sql(query).arrow().column_names  # the names the query gives
    assert fed.explain(f"DESCRIBE {query}").fragments == []


def test_show(fed: Any, oracle: Any) -> None:
    shown = fed.sql("SHOW TABLES").fetchall()
    expected = oracle.sql(
        "SELECT database, schema, name, column_names, column_types, temporary FROM (SHOW ALL TABLES) "
        "WHERE database IN ('dfe', 'dhsc', 'dwp', 'hmrc') ORDER BY 1, 2, 3"
    ).fetchall()
    assert shown == expected
    assert fed.sql("SHOW TABLES FROM DWP").fetchall() == [r for r in expected if r[0] == "dwp"]
    assert fed.sql("show all tables").fetchall() == shown
    assert fed.sql("SHOW DEPARTMENTS").fetchall() == [("dfe",), ("dhsc",), ("dwp",), ("hmrc",)]
    assert fed.sql("SHOW DATABASES").fetchall() == fed.sql("SHOW DEPARTMENTS").fetchall()
    assert ("dwp", "main") in fed.sql("SHOW SCHEMAS").fetchall()


def test_names_are_suggested(fed: Any) -> None:
    with pytest.raises(UnknownTableError, match=r"Did you mean 'dwp.claims'\?.*line 1, column 10"):
        fed.sql("DESCRIBE dwp.claim")
    with pytest.raises(UnknownDepartmentError, match="Did you mean 'dwp'"):
        fed.sql("SHOW TABLES FROM dwpp")
    with pytest.raises(UnknownDepartmentError, match="Did you mean 'dwp'"):
        fed.sql("DESCRIBE dwpp.claims")
    with pytest.raises(UnknownTableError, match="Did you mean 'columns'"):
        fed.sql("SELECT * FROM information_schema.colums")


@pytest.mark.parametrize(
    "sql",
    ["SHOW USERS", "SUMMARIZE dwp.claims", "SHOW GRANTS", "DESCRIBE dwp.claims; DROP TABLE x", "SET x = 1"],
)
def test_everything_else_is_still_refused(fed: Any, sql: str) -> None:
    with pytest.raises(ReadOnlyError):
        fed.sql(sql)


def test_only_what_the_catalog_exposes(tmp_path: Path) -> None:
    """A table the source holds but the config does not list is in no introspection answer."""
    lite = sqlite3.connect(tmp_path / "lite.db")
    lite.execute("CREATE TABLE persons (id INTEGER, name TEXT)")
    lite.execute("CREATE TABLE secret_salaries (id INTEGER, pay REAL)")
    lite.commit()
    lite.close()
    source = {"kind": "sqlite", "path": str(tmp_path / "lite.db"), "tables": {"people": {"table": "persons"}}}
    with fedquery.connect({"departments": {"Memory": {"sources": {"s": source}}}}) as fed:
        tables = fed.sql("SELECT table_catalog, table_name FROM information_schema.tables").fetchall()
        assert tables == [("Memory", "people")]  # a department may be named like a DuckDB catalog
        columns = fed.sql("SELECT column_name FROM information_schema.columns").fetchall()
        assert columns == [("id",), ("name",)]
        assert [r[2] for r in fed.sql("SHOW TABLES").fetchall()] == ["people"]
        with pytest.raises(UnknownTableError):
            fed.sql("DESCRIBE memory.secret_salaries")


def test_introspection_shows_only_what_the_principal_may_see(demo_config: Path) -> None:
    """DESCRIBE, SHOW TABLES and information_schema go through the access rules: hana (health analyst)
    reads PPE stock and orders only; sam (support purpose) may not name fsm_eligibility.pupil_id."""
    from fedquery.errors import AccessDenied

    with fedquery.connect(demo_config, user="hana", groups=["dhsc_analysts"]) as hana:
        tables = hana.sql("SELECT table_catalog || '.' || table_name FROM information_schema.tables").fetchall()
        assert sorted(t for (t,) in tables) == ["dhsc.ppe_orders", "dhsc.ppe_stock"]
        shown = hana.sql("SHOW ALL TABLES").fetchall()
        assert sorted(f"{r[0]}.{r[2]}" for r in shown) == ["dhsc.ppe_orders", "dhsc.ppe_stock"]
        with pytest.raises(AccessDenied, match="dwp.claims"):
            hana.sql("DESCRIBE dwp.claims").fetchall()
        with pytest.raises(AccessDenied):
            hana.sql("DESCRIBE SELECT * FROM hmrc.income").fetchall()
    with fedquery.connect(demo_config, user="sam", purpose="support") as sam:
        columns = sam.sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'fsm_eligibility'"
        ).fetchall()
        assert ("pupil_id",) not in columns and ("parent_person_id",) in columns
        described = [r[0] for r in sam.sql("DESCRIBE dfe.fsm_eligibility").fetchall()]
        assert "pupil_id" not in described and "parent_person_id" in described
