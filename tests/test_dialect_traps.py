"""Where PostgreSQL or MariaDB would answer differently from DuckDB, the planner must not push the unsafe form.

The same rows live in PostgreSQL, MariaDB and a DuckDB oracle. Each query's data is chosen
so that pushing the unsafe form returns different rows: MySQL's case/accent-insensitive,
PAD SPACE collation; CHAR padding; integer division; the scale of DECIMAL division; NULL
ordering; LIKE case sensitivity; date arithmetic and EXTRACT; implicit casts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

import fedquery
from tests.conftest import PG_DSN, assert_same_rows, mysql_admin, mysql_url, pg_admin

ROWS = [
    (1, "abc", "ab", 7, 2, Decimal("1.00"), None, dt.date(2020, 1, 31)),
    (2, "ABC", "ab ", 5, 3, Decimal("2.00"), 3, dt.date(2020, 2, 29)),
    (3, "abc ", "AB", 9, 4, Decimal("0.10"), 1, dt.date(2019, 12, 31)),
    (4, "àbc", "x", -7, 2, Decimal("10.00"), None, dt.date(2020, 3, 1)),
    (5, "abd", None, 1, 3, Decimal("3.33"), 2, dt.date(2021, 6, 15)),
    (6, "a\\%c", "ß", 3, 2, Decimal("1.50"), 4, dt.date(2020, 1, 1)),
    (7, "a%c", "ǅx", 6, 5, Decimal("2.50"), None, dt.date(2020, 1, 2)),
    (8, "straße", "ÀÉ", 8, 3, Decimal("0.50"), 1, dt.date(2020, 1, 3)),
]
DDL = (
    "CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(10), code CHAR(5), a INT, b INT, "
    "x DECIMAL(10,2), v INT NULL, d DATE)"
)


@pytest.fixture(scope="module")
def trap_fed(pg_schema: str, mysql_database: str):  # type: ignore[no-untyped-def]
    pg = pg_admin()
    with pg.cursor() as cur:
        cur.execute(DDL.format(t=f'"{pg_schema}".traps'))
        for row in ROWS:
            cur.execute(f'INSERT INTO "{pg_schema}".traps VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', row)
    pg.close()
    my = mysql_admin()
    with my.cursor() as cur:
        cur.execute(DDL.format(t=f"`{mysql_database}`.traps"))
        cur.executemany(f"INSERT INTO `{mysql_database}`.traps VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", ROWS)
    my.close()
    config = {
        "departments": {
            "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "schemas": [pg_schema]}}},
            "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(mysql_database)}}},
        }
    }
    fed = fedquery.connect(config)
    yield fed
    fed.close()


@pytest.fixture(scope="module")
def trap_oracle():  # type: ignore[no-untyped-def]
    con = duckdb.connect()
    con.execute(DDL.format(t="traps").replace("CHAR(5)", "VARCHAR"))
    # CHAR(n) values have no significant trailing spaces: the oracle holds them trimmed.
    con.executemany(
        "INSERT INTO traps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(r[0], r[1], None if r[2] is None else r[2].rstrip(" "), *r[3:]) for r in ROWS],
    )
    yield con
    con.close()


TRAPS = [
    ("collation: = is case, accent and trailing-space sensitive", "SELECT id FROM {t} WHERE name = 'abc'", False),
    ("collation: IN", "SELECT id FROM {t} WHERE name IN ('ABC', 'abd')", False),
    ("collation: < compares bytes, trailing space counts", "SELECT id FROM {t} WHERE name > 'abc'", False),
    ("collation: BETWEEN", "SELECT id FROM {t} WHERE name BETWEEN 'ABC' AND 'abc'", False),
    ("collation: GROUP BY", "SELECT name, count(*) FROM {t} GROUP BY name", False),
    ("collation: DISTINCT", "SELECT DISTINCT name FROM {t}", False),
    ("collation: COUNT(DISTINCT)", "SELECT count(DISTINCT name) FROM {t}", False),
    ("collation: MIN/MAX", "SELECT min(name), max(name) FROM {t}", False),
    ("collation: ORDER BY", "SELECT id FROM {t} ORDER BY name, id", True),
    ("collation: ORDER BY + LIMIT", "SELECT id FROM {t} ORDER BY name LIMIT 2", True),
    ("collation: self-join on text", "SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.name = b.name", False),
    ("LIKE is case sensitive", "SELECT id FROM {t} WHERE name LIKE 'a%'", False),
    ("LIKE on padded CHAR", "SELECT id FROM {t} WHERE code LIKE 'ab'", False),
    ("CHAR padding: values come back unpadded", "SELECT id, code, length(code) FROM {t}", False),
    ("CHAR padding: equality", "SELECT id FROM {t} WHERE code = 'ab'", False),
    ("CHAR padding: a literal with trailing blanks", "SELECT id FROM {t} WHERE code = 'ab ' OR code IN ('x  ')", False),
    ("CHAR padding: CASE over char and varchar", "SELECT id, CASE WHEN a > 2 THEN name ELSE code END FROM {t}", False),
    ("CHAR padding: COALESCE and UNION", "SELECT coalesce(code, name) FROM {t} UNION SELECT name FROM {t}", False),
    ("CHAR padding: ordering against blanks", "SELECT id FROM {t} WHERE code < 'ab ' AND code >= 'a'", False),
    ("integer division", "SELECT id, a / b FROM {t}", False),
    ("integer division in a filter", "SELECT id FROM {t} WHERE a / b > 2", False),
    ("scale of DECIMAL division", "SELECT id, x / 3 FROM {t}", False),
    ("AVG of DECIMAL", "SELECT avg(x), sum(x) FROM {t}", False),
    ("NULLs sort last ascending", "SELECT id, v FROM {t} ORDER BY v, id", True),
    ("NULLs sort last descending", "SELECT id, v FROM {t} ORDER BY v DESC, id", True),
    ("NULL ordering with LIMIT", "SELECT id FROM {t} ORDER BY v DESC LIMIT 2", True),
    ("date arithmetic", "SELECT id FROM {t} WHERE d + INTERVAL 1 MONTH > DATE '2020-03-01'", False),
    ("month-end arithmetic", "SELECT id, d + INTERVAL 1 MONTH FROM {t}", False),
    ("EXTRACT", "SELECT id, extract(year FROM d), extract(month FROM d) FROM {t}", False),
    ("EXTRACT day of week", "SELECT id, extract(dow FROM d), extract(doy FROM d) FROM {t}", False),
    ("implicit cast of a string literal", "SELECT id FROM {t} WHERE a = '07'", False),
    ("implicit cast in IN", "SELECT id FROM {t} WHERE a IN ('5', '09')", False),
    ("text concatenation with NULL", "SELECT id, name || code FROM {t}", False),
    # Expressions the servers compute differently from DuckDB (connectors.remote.semantic_reason).
    ("LIKE: backslash is no escape character", "SELECT id FROM {t} WHERE name LIKE 'a\\%c'", False),
    ("LIKE: _ is one character", "SELECT id FROM {t} WHERE name LIKE '_bc' OR name LIKE 'stra_e'", False),
    ("LIKE: backslash in a pattern column", "SELECT a.id FROM {t} a, {t} b WHERE a.name LIKE b.name", False),
    ("SUBSTRING with a negative start", "SELECT id, substring(name, -2, 2) FROM {t}", False),
    ("SUBSTRING with start 0", "SELECT id, substring(name, 0, 2) FROM {t}", False),
    ("upper/lower of non-ASCII text", "SELECT id, upper(name), lower(name) FROM {t}", False),
    ("% of a double", "SELECT id, CAST(a AS DOUBLE) % 2 FROM {t}", False),
    ("a double cast to text", "SELECT id, CAST(CAST(a AS DOUBLE) AS VARCHAR) FROM {t}", False),
    ("COUNT(DISTINCT) of several columns", "SELECT count(DISTINCT (v, b)) FROM {t}", False),
    ("GROUP BY ROLLUP", "SELECT b, count(*) FROM {t} GROUP BY ROLLUP (b)", False),
    ("aggregate FILTER", "SELECT count(*) FILTER (WHERE a > 2), sum(b) FILTER (WHERE v IS NULL) FROM {t}", False),
    # Entries of connectors/pushdown.py kept local, each named by its entry's ``trap``.
    ("SQRT and LN of negative numbers", "SELECT id, sqrt(CAST(a AS DOUBLE)), ln(CAST(a AS DOUBLE)) FROM {t}", False),
    ("floating-point overflow", "SELECT id, CAST(a AS DOUBLE) * 1e308 FROM {t}", False),
    ("ROUND of floating-point ties", "SELECT id, round(CAST(a AS DOUBLE) / 2) FROM {t}", False),
    ("date plus a number", "SELECT id, d + 1 FROM {t}", False),
    ("date minus a date", "SELECT id, d - DATE '2020-01-01' FROM {t}", False),
    (
        "a text literal MySQL converts its own way",  # MySQL reads 'nan' and 'inf' AS DOUBLE as 0
        "SELECT id FROM {t} WHERE CAST(a AS DOUBLE) < CAST('nan' AS DOUBLE) AND a < CAST('inf' AS DOUBLE) "
        "AND d <> CAST('2020-01-01 00:00:00' AS DATE)",
        False,
    ),
]


@pytest.mark.parametrize("department", ["pg", "my"])
@pytest.mark.parametrize(("title", "sql", "ordered"), TRAPS, ids=[t[0] for t in TRAPS])
def test_trap(trap_fed, trap_oracle, department: str, title: str, sql: str, ordered: bool) -> None:  # type: ignore[no-untyped-def]
    got = trap_fed.sql(sql.format(t=f"{department}.traps")).fetchall()
    expected = trap_oracle.sql(sql.format(t="traps")).fetchall()
    assert_same_rows(got, expected, ordered=ordered)


def test_mysql_text_filters_are_pushed_as_binary_comparisons(trap_fed) -> None:  # type: ignore[no-untyped-def]
    plan = trap_fed.explain("SELECT id FROM my.traps WHERE name = 'abc' AND name LIKE 'a%'")
    (fragment,) = plan.fragments
    assert "CAST(`traps`.`name` AS BINARY) = CAST('abc' AS BINARY)" in fragment.sql
    assert "LIKE CAST('a%' AS BINARY)" in fragment.sql


def test_mysql_text_grouping_is_not_pushed(trap_fed) -> None:  # type: ignore[no-untyped-def]
    plan = trap_fed.explain("SELECT name, count(*) FROM my.traps GROUP BY name")
    assert all("GROUP BY" not in f.sql for f in plan.fragments)
    assert any("collation" in n for n in plan.notes)
    # numbers group fine there
    plan = trap_fed.explain("SELECT a, count(*) FROM my.traps GROUP BY a")
    assert "GROUP BY" in plan.fragments[0].sql


def test_postgres_integer_division_is_rendered_as_float_division(trap_fed) -> None:  # type: ignore[no-untyped-def]
    plan = trap_fed.explain("SELECT a / b FROM pg.traps")
    assert "DOUBLE PRECISION" in plan.fragments[0].sql
    # a divisor that may be zero gives DuckDB's ±Infinity/NaN, not PostgreSQL's error (test_expression_fidelity.py)
    assert "CASE" in plan.fragments[0].sql


def test_postgres_descending_order_says_nulls_last(trap_fed) -> None:  # type: ignore[no-untyped-def]
    plan = trap_fed.explain("SELECT id FROM pg.traps ORDER BY v DESC LIMIT 2")
    assert "NULLS LAST" in plan.fragments[0].sql and "LIMIT 2" in plan.fragments[0].sql
