"""Expressions the servers compute differently from DuckDB on edge values are never pushed in the unsafe form.

Each query is chosen so that pushing it as written answers differently (or fails) at the real server:
division and modulo by zero (PostgreSQL raises; DuckDB does not), EXTRACT(YEAR) of a BC date
(PostgreSQL has no year 0), square roots and logarithms outside their domain (PostgreSQL raises;
DuckDB gives NaN or -inf), DuckDB's ``len(list)`` (no such function for PostgreSQL arrays), MySQL's
date arithmetic (``date - date`` and ``date + 1`` are YYYYMMDD numbers there) and MySQL's casts of
invalid text to DATE (NULL there, an error in DuckDB). The oracle is one DuckDB holding the same rows;
an error in both is an agreement.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

import fedquery
from tests.conftest import PG_DSN, mysql_admin, mysql_url, own_schema_and_database, pg_run

PG_ROWS = (
    "(1, 7, 0, 3.5, DATE '0044-03-15 BC', '{1,2,3}'), (2, 5, 2, -3.5, DATE '2020-02-29', '{}'), "
    "(3, -7, 3, 0.0, DATE '0001-01-01 BC', NULL), (4, 9, NULL, 2.0, DATE '1999-12-31', '{4}')"
)
MY_ROWS = [
    (1, "2020-01-31", "2020-03-01", "2020-13-01"),
    (2, "2019-12-31", "2020-01-01", "2021-02-28"),
    (3, None, "2021-01-01", None),
]


@pytest.fixture(scope="module")
def fidelity() -> Iterator[tuple[Any, Any]]:
    with own_schema_and_database("fq_fid") as name:
        pg_run(
            f'CREATE TABLE "{name}".m (id INT PRIMARY KEY, a INT, b INT, x DOUBLE PRECISION, d DATE, arr INT[])',
            f'INSERT INTO "{name}".m VALUES {PG_ROWS}',
        )
        my = mysql_admin()
        with my.cursor() as cur:
            cur.execute(f"CREATE TABLE `{name}`.dates (id INT PRIMARY KEY, d DATE, d2 DATE, s VARCHAR(10))")
            cur.executemany(f"INSERT INTO `{name}`.dates VALUES (%s, %s, %s, %s)", MY_ROWS)
        my.close()
        fed = fedquery.connect(
            {
                "departments": {
                    "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}}},
                    "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
                }
            }
        )
        oracle = duckdb.connect()
        oracle.execute("CREATE SCHEMA pg; CREATE SCHEMA my")
        oracle.execute("CREATE TABLE pg.m (id INT, a INT, b INT, x DOUBLE, d DATE, arr INT[])")
        duck_rows = PG_ROWS.replace(" BC", " (BC)").replace("'{", "[").replace("}'", "]")  # DuckDB's spelling
        oracle.execute(f"INSERT INTO pg.m VALUES {duck_rows}")
        oracle.execute("CREATE TABLE my.dates (id INT, d DATE, d2 DATE, s VARCHAR)")
        oracle.executemany("INSERT INTO my.dates VALUES (?, ?, ?, ?)", MY_ROWS)
        yield fed, oracle
        fed.close()
        oracle.close()


QUERIES = [
    "SELECT id, a / b FROM pg.m",
    "SELECT id FROM pg.m WHERE a / b > 1",
    "SELECT id, a // b, a % b FROM pg.m",
    "SELECT id, x / b FROM pg.m",
    "SELECT sum(a / b) FROM pg.m",
    "SELECT id, a / 2, a % 2 FROM pg.m",
    "SELECT id, extract(year FROM d), year(d) FROM pg.m",
    "SELECT id FROM pg.m WHERE extract(year FROM d) < 1",
    "SELECT extract(year FROM d) AS y, count(*) FROM pg.m GROUP BY 1",
    "SELECT id, sqrt(x) FROM pg.m",
    "SELECT id, ln(x), log10(x) FROM pg.m",
    "SELECT id, len(arr) FROM pg.m",
    "SELECT id FROM pg.m WHERE len(arr) > 0",
    "SELECT id, d2 - d FROM my.dates",
    "SELECT id, d2 + 1, d - 1 FROM my.dates",
    "SELECT id FROM my.dates WHERE d2 - d > 20",
    "SELECT id, CAST(s AS DATE) FROM my.dates",
    "SELECT id, TRY_CAST(s AS DATE) FROM my.dates",
]


def _answer(run: Any) -> Any:
    try:
        return sorted((tuple(_plain(v) for v in row) for row in run()), key=repr)
    except Exception as exc:  # noqa: BLE001 - an error is an answer too: both must fail
        return type(exc).__name__


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else round(value, 9)
    return value


@pytest.mark.parametrize("sql", QUERIES)
def test_edge_values_give_duckdbs_answer(fidelity: tuple[Any, Any], sql: str) -> None:
    fed, oracle = fidelity
    expected = _answer(lambda: oracle.sql(sql).fetchall())
    for strategy in ("filters", "full", "auto"):
        got = _answer(lambda strategy=strategy: fed.sql(sql, pushdown=strategy).fetchall())
        if isinstance(expected, str):  # DuckDB refuses it: fedquery must fail too, with its own typed error
            assert isinstance(got, str), (strategy, got)
        else:
            assert got == expected, (strategy, got, expected)
