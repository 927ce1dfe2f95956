"""Enums keep their source's order: PostgreSQL enums and MySQL ENUM columns arrive as DuckDB ENUMs.

The oracle holds the same ENUM type. ORDER BY, MIN/MAX and grouping follow the declaration order
(PostgreSQL's ``enumsortorder``: a label added ``BEFORE`` another sorts there) under every strategy;
comparing an enum with text compares the label's text in byte order, as DuckDB does, also at the
servers (PostgreSQL raises for a literal that is no label, MySQL folds case: both are rendered
away); MIN/MAX of a MySQL ENUM (text order there) stay local.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

import fedquery
from tests.conftest import PG_DSN, assert_same_rows, mysql_admin, mysql_url, pg_admin

#: declaration order; 'meh' is added later BEFORE 'ok' at PostgreSQL (sort order differs from creation order)
LABELS = ["sad", "meh", "ok", "happy", "Zebra", "éclair"]
ROWS = [(1, "sad"), (2, "ok"), (3, "happy"), (4, None), (5, "Zebra"), (6, "meh"), (7, "éclair"), (8, "happy")]
STRATEGIES = ["none", "filters", "full", "auto"]
QUERIES = [
    ("SELECT id, m FROM {t} ORDER BY m, id", True),
    ("SELECT id FROM {t} ORDER BY m DESC, id LIMIT 3", True),
    ("SELECT min(m), max(m) FROM {t}", False),
    ("SELECT m, count(*) FROM {t} GROUP BY m ORDER BY m", True),
    ("SELECT DISTINCT m FROM {t} ORDER BY m", True),
    ("SELECT id FROM {t} WHERE m < 'ok'", False),
    ("SELECT id FROM {t} WHERE m BETWEEN 'a' AND 'p'", False),
    ("SELECT id FROM {t} WHERE m = 'happy'", False),
    ("SELECT id FROM {t} WHERE m = 'HAPPY'", False),
    ("SELECT id FROM {t} WHERE m IN ('sad', 'Zebra', 'zebra')", False),
    ("SELECT id FROM {t} WHERE m LIKE 'h%'", False),
    ("SELECT id FROM {t} WHERE m <> 'ok' ORDER BY m, id", True),
    ("SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.m = b.m", False),
    ("SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.m < b.m", False),
    ("SELECT id FROM {t} WHERE m > (SELECT min(m) FROM {t}) ORDER BY id", True),
    ("SELECT id, m FROM {t} WHERE m > 'Zebra' ORDER BY m DESC, id", True),
    # bad input: a literal that is no label matches nothing (PostgreSQL would raise if sent as is)
    ("SELECT id FROM {t} WHERE m = 'nope'", False),
    ("SELECT id FROM {t} WHERE m IN ('nope', 'sad')", False),
    ("SELECT id FROM {t} WHERE m < 'nope' ORDER BY id", True),
]


@pytest.fixture(scope="module")
def enum_fed(pg_schema: str, mysql_database: str):  # type: ignore[no-untyped-def]
    pg = pg_admin()
    with pg.cursor() as cur:
        declared = ", ".join(f"'{label}'" for label in LABELS if label != "meh")
        cur.execute(f'CREATE TYPE "{pg_schema}".mood AS ENUM ({declared})')
        cur.execute(f"ALTER TYPE \"{pg_schema}\".mood ADD VALUE 'meh' BEFORE 'ok'")
        cur.execute(f'CREATE TABLE "{pg_schema}".feelings (id INT, m "{pg_schema}".mood)')
        for row in ROWS:
            cur.execute(f'INSERT INTO "{pg_schema}".feelings VALUES ($1, CAST($2 AS "{pg_schema}".mood))', row)
    pg.close()
    my = mysql_admin()
    with my.cursor() as cur:
        labels = ", ".join(f"'{label}'" for label in LABELS)
        cur.execute(f"CREATE TABLE `{mysql_database}`.feelings (id INT, m ENUM({labels})) CHARACTER SET utf8mb4")
        cur.executemany(f"INSERT INTO `{mysql_database}`.feelings VALUES (%s, %s)", ROWS)
    my.close()
    config = {
        "departments": {
            "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "schemas": [pg_schema]}}},
            "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(mysql_database)}}},
        }
    }
    fed = fedquery.connect(config)
    oracle = duckdb.connect()
    oracle.execute(f"CREATE TYPE mood AS ENUM ({', '.join(repr(label) for label in LABELS)})")
    oracle.execute("CREATE TABLE feelings (id INT, m mood)")
    oracle.executemany("INSERT INTO feelings VALUES (?, ?)", ROWS)
    yield fed, oracle
    fed.close()
    oracle.close()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("department", ["pg", "my"])
@pytest.mark.parametrize(("sql", "ordered"), QUERIES, ids=[q[0] for q in QUERIES])
def test_enum_matches_duckdb(enum_fed: Any, department: str, strategy: str, sql: str, ordered: bool) -> None:
    fed, oracle = enum_fed
    got = fed.sql(sql.format(t=f"{department}.feelings"), pushdown=strategy).fetchall()
    expected = oracle.sql(sql.format(t="feelings")).fetchall()
    assert_same_rows(got, expected, ordered=ordered)


def test_enum_arrives_as_duckdb_enum_with_declaration_order(enum_fed: Any) -> None:
    fed, _ = enum_fed
    for department, strategy in [(d, s) for d in ("pg", "my") for s in STRATEGIES]:
        table = fed.sql(f"SELECT m FROM {department}.feelings ORDER BY id", pushdown=strategy).arrow()
        field = table.schema.field("m")
        # DuckDB hands an ENUM out as a dictionary whose values are the labels in declaration order
        assert str(field.type).startswith("dictionary"), field.type
        assert table.column("m").chunk(0).dictionary.to_pylist() == LABELS


def test_postgres_orders_enums_itself_and_compares_text_as_duckdb(enum_fed: Any) -> None:
    fed, _ = enum_fed
    plan = fed.explain("SELECT id FROM pg.feelings ORDER BY m LIMIT 3", pushdown="full")
    assert "ORDER BY" in plan.fragments[0].sql and "LIMIT 3" in plan.fragments[0].sql
    plan = fed.explain("SELECT id FROM pg.feelings WHERE m < 'ok'", pushdown="full")
    assert 'CAST("feelings"."m" AS TEXT) COLLATE "C" < \'ok\'' in plan.fragments[0].sql, plan.fragments[0].sql
    plan = fed.explain("SELECT min(m) FROM pg.feelings", pushdown="full")
    assert "MIN(" in plan.fragments[0].sql


def test_mysql_enum_min_max_stay_local(enum_fed: Any) -> None:
    fed, _ = enum_fed
    plan = fed.explain("SELECT min(m), max(m) FROM my.feelings", pushdown="full")
    assert all("MIN(" not in f.sql for f in plan.fragments)
    assert any("MIN/MAX of a MySQL ENUM" in n for n in plan.notes), plan.notes
    plan = fed.explain("SELECT id FROM my.feelings ORDER BY m LIMIT 3", pushdown="full")
    assert "ORDER BY" in plan.fragments[0].sql  # MySQL sorts an ENUM by its index, as DuckDB
