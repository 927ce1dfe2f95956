"""The catalog is the only namespace: no query reads a relation the catalog does not expose.

Attack corpus: a one-part name that a source would resolve itself (its system catalogs, a table
the config does not expose), used in every position of a query, with a CTE of the same name
defined somewhere it is NOT in scope (which once made the planner take the name for a CTE and
push it bare). Every attempt, under every pushdown strategy and against the real PostgreSQL and
MariaDB, must end in a typed error naming the relation, and no canary value may come back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from sqlglot import exp

import fedquery
from fedquery.errors import CatalogEscapeError, FedQueryError, SourceError, UnknownTableError
from fedquery.planner import PASSES, plan
from fedquery.planner.render import render
from tests.conftest import PG_DSN, mysql_admin, mysql_url, own_schema_and_database, pg_admin

CANARY = "CANARY-7f3e9b"
STRATEGIES = ("none", "filters", "full", "auto")

#: relations each source would resolve by itself, by department
TARGETS = {
    "pg": ["hidden", "pg_shadow", "pg_authid", "pg_settings", "pg_stat_activity", "pg_hba_file_rules", "pg_roles"],
    "my": ["hidden", "user", "processlist", "tables"],
    "lite": ["hidden", "sqlite_master", "sqlite_schema", "sqlite_temp_master"],
    "duck": ["hidden", "duckdb_settings", "sqlite_master", "pg_tables", "information_schema_tables"],
}

#: {d}: the department; {x}: the relation; each template defines a CTE named {x} out of scope
POSITIONS = {
    "from": "SELECT * FROM {x} WHERE 1 = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "join": "SELECT u.* FROM {d}.people p JOIN {x} u ON p.id = 1 WHERE p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "comma join": "SELECT * FROM {d}.people p, {x} WHERE p.id IN (WITH {x} AS (SELECT 1 AS c) SELECT c FROM {x})",
    "exists": "SELECT p.id FROM {d}.people p WHERE EXISTS (SELECT 1 FROM {x}) "
    "AND p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "in subquery": "SELECT p.id FROM {d}.people p WHERE p.name IN (SELECT CAST(1 AS TEXT) FROM {x}) "
    "AND p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "derived table": "SELECT * FROM {d}.people p, (SELECT * FROM {x}) s "
    "WHERE p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "set operation": "(WITH {x} AS (SELECT 1 AS c) SELECT c FROM {x}) UNION ALL SELECT 1 FROM {x}",
    "set operation with table": "SELECT name FROM {d}.people UNION ALL SELECT * FROM {x} "
    "UNION ALL (WITH {x} AS (SELECT 'a' AS c) SELECT c FROM {x})",
    "nested cte": "WITH a AS (SELECT * FROM {x}) SELECT * FROM {d}.people p, a "
    "WHERE p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "cte defined later": "WITH a AS (SELECT * FROM {x}), {x} AS (SELECT 1 AS c) SELECT * FROM a, {d}.people",
    "cte in inner scope": "WITH a AS (SELECT p.id FROM {d}.people p) "
    "SELECT * FROM a, (WITH {x} AS (SELECT 1 AS c) SELECT c FROM {x}) s, {x}",
    "correlated": "SELECT (SELECT count(*) FROM {x} WHERE p.id = 1) AS n FROM {d}.people p "
    "WHERE p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "lateral": "SELECT * FROM {d}.people p, LATERAL (SELECT * FROM {x} WHERE p.id = 1) s "
    "WHERE p.id = (WITH {x} AS (SELECT 1 AS c) SELECT 1)",
    "no cte": "SELECT * FROM {d}.people p JOIN {x} u ON p.id = 1",
    "quoted": 'SELECT u.* FROM {d}.people p JOIN "{x}" u ON p.id = 1 WHERE p.id = (WITH "{x}" AS (SELECT 1) SELECT 1)',
}


@pytest.fixture(scope="module")
def escape_fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with own_schema_and_database("fq_escape") as name:
        yield from _escape_fed(name, tmp_path_factory)


def _escape_fed(pg_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    mysql_database = pg_schema
    pg = pg_admin()
    with pg.cursor() as cur:
        cur.execute(f'CREATE TABLE "{pg_schema}".people (id INT PRIMARY KEY, name TEXT)')
        cur.execute(f"INSERT INTO \"{pg_schema}\".people VALUES (1, 'a'), (2, 'b')")
        cur.execute(f'CREATE TABLE "{pg_schema}".hidden (secret TEXT)')
        cur.execute(f"INSERT INTO \"{pg_schema}\".hidden VALUES ('{CANARY}')")
    pg.close()
    my = mysql_admin()
    with my.cursor() as cur:
        cur.execute(f"CREATE TABLE `{mysql_database}`.people (id INT PRIMARY KEY, name VARCHAR(10))")
        cur.execute(f"INSERT INTO `{mysql_database}`.people VALUES (1, 'a'), (2, 'b')")
        cur.execute(f"CREATE TABLE `{mysql_database}`.hidden (secret VARCHAR(40))")
        cur.execute(f"INSERT INTO `{mysql_database}`.hidden VALUES ('{CANARY}')")
    my.close()
    root = tmp_path_factory.mktemp("escape")
    lite = sqlite3.connect(root / "lite.db")
    lite.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
    lite.execute("INSERT INTO people VALUES (1, 'a'), (2, 'b')")
    lite.execute("CREATE TABLE hidden (secret TEXT)")
    lite.execute("INSERT INTO hidden VALUES (?)", (CANARY,))
    lite.commit()
    lite.close()
    duck = duckdb.connect(str(root / "duck.duckdb"))
    duck.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
    duck.execute("INSERT INTO people VALUES (1, 'a'), (2, 'b')")
    duck.execute("CREATE TABLE hidden (secret TEXT)")
    duck.execute("INSERT INTO hidden VALUES (?)", [CANARY])
    duck.close()
    only_people = {"people": {}}
    config = {
        "departments": {
            "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "tables": only_people}}},
            "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(mysql_database), "tables": only_people}}},
            "lite": {"sources": {"db": {"kind": "sqlite", "path": str(root / "lite.db"), "tables": only_people}}},
            "duck": {"sources": {"db": {"kind": "duckdb", "path": str(root / "duck.duckdb"), "tables": only_people}}},
        }
    }
    fed = fedquery.connect(config)
    yield fed
    fed.close()


ATTEMPTS = [(d, x, p) for d, targets in TARGETS.items() for x in targets for p in POSITIONS]


@pytest.mark.parametrize("department", list(TARGETS))
def test_no_relation_outside_the_catalog_can_be_read(escape_fed: Any, department: str) -> None:
    tried = 0
    for x in TARGETS[department]:
        for position, template in POSITIONS.items():
            sql = template.format(d=department, x=x)
            for strategy in STRATEGIES:
                tried += 1
                with pytest.raises(FedQueryError) as caught:
                    rows = escape_fed.sql(sql, pushdown=strategy).fetchall()
                    pytest.fail(f"{position} / {strategy}: {sql!r} returned {rows!r}")
                error = caught.value
                assert CANARY not in str(error)
                assert isinstance(error, (UnknownTableError, CatalogEscapeError)), (position, strategy, error)
                assert x in str(error), (position, strategy, str(error))
    assert tried == len(TARGETS[department]) * len(POSITIONS) * len(STRATEGIES)


def test_the_attack_corpus_is_large() -> None:
    # The figure quoted in the closing note: attempts per run, over every strategy.
    assert len(ATTEMPTS) * len(STRATEGIES) >= 1000


@pytest.mark.parametrize("department", list(TARGETS))
def test_exposed_tables_are_exactly_the_listed_ones(escape_fed: Any, department: str) -> None:
    assert [t["table"] for t in escape_fed.tables(department)] == [f"{department}.people"]
    with pytest.raises(UnknownTableError, match="hidden"):
        escape_fed.sql(f"SELECT * FROM {department}.hidden")
    # Legitimate CTEs keep working, in scope: shadowing, chains, nested WITH, recursion.
    sql = (
        f"WITH people AS (SELECT id, name FROM {department}.people WHERE id = 1), "
        "twice AS (SELECT id * 2 AS id FROM people) "
        "SELECT (SELECT id FROM twice) AS t, "
        "(SELECT n FROM (WITH people AS (SELECT 40 AS n) SELECT n + 2 AS n FROM people) s) AS inner_n, "
        "(WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r WHERE k < 4) SELECT sum(k) FROM r) AS rs, "
        "name FROM people"
    )
    for strategy in STRATEGIES:
        assert escape_fed.sql(sql, pushdown=strategy).fetchall() == [(2, 42, 10, "a")]


def test_discover_adds_the_rest(tmp_path: Path) -> None:
    lite = sqlite3.connect(tmp_path / "lite.db")
    lite.execute("CREATE TABLE persons (id INTEGER)")
    lite.execute("CREATE TABLE other (id INTEGER)")
    lite.commit()
    lite.close()
    source = {"kind": "sqlite", "path": str(tmp_path / "lite.db"), "tables": {"people": {"table": "persons"}}}
    with fedquery.connect({"departments": {"d": {"sources": {"s": source}}}}) as fed:
        assert [t["table"] for t in fed.tables()] == ["d.people"]
    with fedquery.connect({"departments": {"d": {"sources": {"s": {**source, "discover": True}}}}}) as fed:
        assert sorted(t["table"] for t in fed.tables()) == ["d.other", "d.people"]
    missing = {**source, "tables": {"people": {"table": "nope"}}}
    with fedquery.connect({"departments": {"d": {"sources": {"s": missing}}}}) as fed:
        (row,) = fed.tables()  # reported beside the others, never silently dropped
        assert row["table"] is None and "people" in row["error"]
        with pytest.raises(SourceError, match="people"):
            fed.sql("SELECT * FROM d.people")


def test_postgres_schemas_limit_discovery(pg_schema: str) -> None:
    pg = pg_admin()
    with pg.cursor() as cur:
        cur.execute(f'CREATE TABLE "{pg_schema}".exposed_here (id INT)')
    pg.close()
    source = {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "schemas": [pg_schema]}
    with fedquery.connect({"departments": {"pg": {"sources": {"db": source}}}}) as fed:
        schemas = {t["table"].split(".")[1] if t["table"].count(".") == 2 else pg_schema for t in fed.tables()}
        assert schemas == {pg_schema}
        with pytest.raises(FedQueryError, match="pg_class"):
            fed.sql("SELECT * FROM pg.pg_catalog.pg_class")


def test_the_last_gate_refuses_what_the_planner_did_not_tag(escape_fed: Any) -> None:
    """Even if a planner pass put a bare relation into a fragment, it never leaves fedquery."""

    def smuggle(expression: exp.Expr, *, context: Any) -> exp.Expr:
        for fragment in context.fragments:
            fragment.expression.join(exp.to_table("pg_shadow"), on="TRUE", copy=False)
        return expression

    passes = tuple(p for p in PASSES if p is not render) + (smuggle, render)
    with pytest.raises(CatalogEscapeError, match="pg_shadow") as caught:
        plan("SELECT id FROM pg.people", escape_fed.catalog, passes, pushdown="full")
    assert caught.value.department == "pg"


def test_the_local_step_names_only_fragments(escape_fed: Any) -> None:
    def smuggle(expression: exp.Expr, *, context: Any) -> exp.Expr:
        assert isinstance(expression, exp.Select)
        return expression.join(exp.to_table("duckdb_settings"), on="TRUE", copy=False)

    passes = tuple(p for p in PASSES if p is not render) + (smuggle, render)
    with pytest.raises(CatalogEscapeError, match="duckdb_settings"):
        plan("SELECT id FROM lite.people", escape_fed.catalog, passes)


def test_arrow_tables_of_files_respect_tables_too(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": [1]}), tmp_path / "people.parquet")
    pq.write_table(pa.table({"secret": [CANARY]}), tmp_path / "hidden.parquet")
    source = {"kind": "parquet", "url": str(tmp_path), "tables": {"people": {"path": "people.parquet"}}}
    with fedquery.connect({"departments": {"f": {"sources": {"s": source}}}}) as fed:
        assert [t["table"] for t in fed.tables()] == ["f.people"]
        with pytest.raises(UnknownTableError):
            fed.sql("SELECT * FROM f.hidden")


@pytest.mark.parametrize("department", ["pg", "my", "lite"])
def test_casts_are_allowlisted(escape_fed: Any, department: str) -> None:
    for strategy in STRATEGIES:
        # TRY_CAST keeps DuckDB's meaning (NULL where the text is no number), never a failing CAST.
        sql = f"SELECT TRY_CAST(name AS INTEGER) AS n FROM {department}.people ORDER BY id"
        assert escape_fed.sql(sql, pushdown=strategy).fetchall() == [(None,), (None,)]
        # A cast to an object-identifier type would look names up in the source's catalogs: kept local.
        probe = f"SELECT CAST(name AS regclass) AS r FROM {department}.people"
        assert all("regclass" not in f.sql.lower() for f in escape_fed.explain(probe, pushdown=strategy).fragments)
        with pytest.raises(FedQueryError):
            escape_fed.sql(probe, pushdown=strategy).fetchall()


@pytest.mark.parametrize("function", ["current_setting('temp_directory')", "getvariable('x')", "CURRENT_SETTING('a')"])
def test_environment_functions_are_refused(escape_fed: Any, function: str) -> None:
    from fedquery.errors import ReadOnlyError

    for sql in (
        f"SELECT {function}",
        f"SELECT {function} FROM duck.people",
        f"SELECT id FROM pg.people WHERE {function} = 'x'",
    ):
        with pytest.raises(ReadOnlyError, match="environment"):
            escape_fed.sql(sql)
