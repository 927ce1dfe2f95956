"""PostgreSQL collations: comparisons pushed only where they mean what DuckDB means (byte order, exact).

A column under a nondeterministic ICU collation matches 'APPLE' for ``= 'apple'`` at the server (and
so would a join, GROUP BY, DISTINCT or COUNT(DISTINCT)); an ICU collation sorts 'B' after 'a'.
Those comparisons stay local; the answers equal the oracle's.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

import fedquery
from tests.conftest import PG_DSN, assert_same_rows, pg_run

VALUES = [(1, "apple"), (2, "APPLE"), (3, "Apple"), (4, "banana"), (5, "Banana"), (6, "cherry"), (7, None)]


@pytest.fixture(scope="module")
def icu() -> Iterator[tuple[Any, Any]]:
    name = f"fq_icu_{uuid.uuid4().hex[:10]}"
    rows = ", ".join(f"({i}, {'NULL' if v is None else repr(v)})" for i, v in VALUES)
    pg_run(
        f'CREATE SCHEMA "{name}"',
        f"CREATE COLLATION \"{name}\".ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
        f'CREATE TABLE "{name}".fruit (id INT PRIMARY KEY, name TEXT COLLATE "{name}".ci, '
        'label TEXT COLLATE "en-x-icu", plain TEXT COLLATE "C")',
        f'INSERT INTO "{name}".fruit SELECT id, name, name, name FROM (VALUES {rows}) AS v(id, name)',
    )
    fed = fedquery.connect(
        {"departments": {"pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}}}}}
    )
    oracle = duckdb.connect()
    oracle.execute("CREATE SCHEMA pg")
    oracle.execute("CREATE TABLE pg.fruit (id INT, name TEXT, label TEXT, plain TEXT)")
    oracle.executemany("INSERT INTO pg.fruit VALUES (?, ?, ?, ?)", [(i, v, v, v) for i, v in VALUES])
    yield fed, oracle
    fed.close()
    oracle.close()
    pg_run(f'DROP SCHEMA "{name}" CASCADE')


QUERIES = [
    ("=", "SELECT id FROM pg.fruit WHERE name = 'apple'", False),
    ("IN", "SELECT id FROM pg.fruit WHERE name IN ('BANANA', 'cherry')", False),
    ("<>", "SELECT id FROM pg.fruit WHERE name <> 'apple'", False),
    ("LIKE", "SELECT id FROM pg.fruit WHERE name LIKE 'a%'", False),
    ("GROUP BY", "SELECT name, count(*) FROM pg.fruit GROUP BY name", False),
    ("DISTINCT", "SELECT DISTINCT name FROM pg.fruit", False),
    ("COUNT(DISTINCT)", "SELECT count(DISTINCT name) FROM pg.fruit", False),
    ("self-join", "SELECT a.id, b.id FROM pg.fruit a JOIN pg.fruit b ON a.name = b.name", False),
    ("UNION", "SELECT name FROM pg.fruit UNION SELECT plain FROM pg.fruit", False),
    ("ORDER BY an ICU column", "SELECT id FROM pg.fruit ORDER BY label, id", True),
    (
        "ORDER BY the alias of an ICU column",
        "SELECT label AS l, id FROM pg.fruit ORDER BY l NULLS LAST, id LIMIT 3",
        True,
    ),
    ("MIN/MAX", "SELECT min(label), max(label) FROM pg.fruit", False),
    # NULLIF and a simple CASE compare with no operator of their own (seed 4009449 found it for MySQL)
    ("NULLIF", "SELECT id, nullif(name, 'apple') FROM pg.fruit", False),
    ("simple CASE", "SELECT id, CASE name WHEN 'apple' THEN 1 WHEN 'BANANA' THEN 2 ELSE 0 END FROM pg.fruit", False),
    ("GREATEST/LEAST", "SELECT id, greatest(label, 'b'), least(label, 'B') FROM pg.fruit", False),
    ("a C column is pushed and right", "SELECT id FROM pg.fruit WHERE plain = 'apple' ORDER BY plain, id", True),
]


@pytest.mark.parametrize(("title", "sql", "ordered"), QUERIES, ids=[q[0] for q in QUERIES])
def test_collations_match_the_oracle(icu: tuple[Any, Any], title: str, sql: str, ordered: bool) -> None:
    fed, oracle = icu
    expected = oracle.sql(sql).fetchall()
    for strategy in ("filters", "full", "auto"):
        assert_same_rows(fed.sql(sql, pushdown=strategy).fetchall(), expected, ordered=ordered)


def test_the_reason_is_in_explain(icu: tuple[Any, Any]) -> None:
    fed, _ = icu
    plan = fed.explain("SELECT id FROM pg.fruit WHERE name = 'apple'")
    assert "'apple'" not in plan.fragments[0].sql
    assert any("nondeterministic collation" in n for n in plan.notes)
    plan = fed.explain("SELECT id FROM pg.fruit WHERE plain = 'apple'")
    assert "'apple'" in plan.fragments[0].sql  # byte-order columns keep their filters at the source
