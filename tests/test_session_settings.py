"""Remote sessions are normalised: pushed SQL means what DuckDB means whatever the server's defaults.

A PostgreSQL role whose defaults are TimeZone America/New_York and DateStyle 'SQL, DMY' would
turn a pushed ``CAST(ts AS DATE)`` or a comparison of timestamptz values into New York dates;
fedquery opens every session with TimeZone UTC (as the oracle DuckDB here), DateStyle ISO and
full float precision, and EXPLAIN says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pytest

import fedquery
from tests.conftest import PG_DSN, assert_same_rows, pg_run

NOTES = "(1, 'a\\b', 1), (2, 'ab', NULL), (3, 'a\\\\b', 3)"
ROWS = "(1, '2020-01-01 02:00:00+00', 0.1), (2, '2020-01-01 06:00:00+00', 1.5), (3, '2019-12-31 23:30:00+00', NULL)"


@pytest.fixture(scope="module")
def new_york() -> Iterator[tuple[Any, Any]]:
    name = f"fq_tz_{uuid.uuid4().hex[:10]}"
    pg_run(
        f'CREATE ROLE "{name}" LOGIN',
        f"ALTER ROLE \"{name}\" SET TimeZone = 'America/New_York'",
        f"ALTER ROLE \"{name}\" SET DateStyle = 'SQL, DMY'",
        # string literals and NULL comparisons that read otherwise than in DuckDB
        f'ALTER ROLE "{name}" SET standard_conforming_strings = off',
        f'ALTER ROLE "{name}" SET transform_null_equals = on',
        f'CREATE SCHEMA "{name}"',
        f'CREATE TABLE "{name}".events (id INT PRIMARY KEY, ts TIMESTAMPTZ, r REAL)',
        f'INSERT INTO "{name}".events VALUES {ROWS}',
        f'CREATE TABLE "{name}".notes (id INT PRIMARY KEY, note TEXT, v INT)',
        f"INSERT INTO \"{name}\".notes VALUES {NOTES}",
        f'GRANT USAGE ON SCHEMA "{name}" TO "{name}"',
        f'GRANT SELECT ON ALL TABLES IN SCHEMA "{name}" TO "{name}"',
    )
    parts = urlsplit(PG_DSN)
    url = urlunsplit(parts._replace(netloc=f"{name}@{parts.hostname}:{parts.port or 5432}"))
    fed = fedquery.connect(
        {"departments": {"pg": {"sources": {"db": {"kind": "postgres", "url": url, "schema": name}}}}}
    )
    oracle = duckdb.connect()
    oracle.execute("SET TimeZone = 'UTC'")
    oracle.execute("CREATE SCHEMA pg")
    oracle.execute("CREATE TABLE pg.events (id INT, ts TIMESTAMPTZ, r REAL)")
    oracle.execute(f"INSERT INTO pg.events VALUES {ROWS}")
    oracle.execute("CREATE TABLE pg.notes (id INT, note VARCHAR, v INT)")
    oracle.execute(f"INSERT INTO pg.notes VALUES {NOTES}")
    yield fed, oracle
    fed.close()
    oracle.close()
    pg_run(f'DROP SCHEMA "{name}" CASCADE', f'DROP OWNED BY "{name}"', f'DROP ROLE "{name}"')


QUERIES = [
    "SELECT id, CAST(ts AS DATE) AS d FROM pg.events ORDER BY id",
    "SELECT id FROM pg.events WHERE ts < TIMESTAMPTZ '2020-01-01 03:00:00+00' ORDER BY id",
    "SELECT CAST(ts AS DATE) AS d, count(*) FROM pg.events GROUP BY 1 ORDER BY 1",
    "SELECT id, extract(hour FROM ts) AS h, extract(day FROM ts) AS dd FROM pg.events ORDER BY id",
    # standard_conforming_strings off would read 'a\\b' as 'ab'; transform_null_equals makes = NULL an IS NULL
    "SELECT id FROM pg.notes WHERE note = 'a\\b' ORDER BY id",
    "SELECT id, note || '\\' AS n FROM pg.notes ORDER BY id",
    "SELECT id FROM pg.notes WHERE v = NULL OR id = 3 ORDER BY id",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_a_new_york_role_answers_in_utc(new_york: tuple[Any, Any], sql: str) -> None:
    fed, oracle = new_york
    expected = oracle.sql(sql).fetchall()
    for strategy in ("none", "filters", "full", "auto"):
        assert_same_rows(fed.sql(sql, pushdown=strategy).fetchall(), expected, ordered=True)


def test_explain_shows_the_session_settings(new_york: tuple[Any, Any]) -> None:
    fed, _ = new_york
    plan = fed.explain(QUERIES[0])
    assert "session: TimeZone=UTC, DateStyle=ISO" in str(plan)
    assert plan.to_dict()["fragments"][0]["session"]["TimeZone"] == "UTC"
