"""MySQL/MariaDB values and comparisons as DuckDB would see them.

TINYINT(1) is read as BOOLEAN (as DuckDB's mysql scanner does), so ``= TRUE`` must also match a
stored 2; a FLOAT compared with 3.14 is a float comparison in DuckDB but a double one at the server;
zero and partial dates are NULL (and ``IS NULL`` on them must agree); BIT(n) reads as its bits and
spatial types as WKT (the text PostgreSQL gives for its own). Checked against the real server
under every strategy.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import duckdb
import pytest

import fedquery
from tests.conftest import assert_same_rows, mysql_admin, mysql_url

ROWS = [  # id, flag, f, d, b (bits as text), pt (WKT)
    (1, 2, 3.14, None, "1010", "POINT(1 2)"),
    (2, 1, 0.1, dt.date(2020, 1, 1), "0000", None),
    (3, 0, -2.5, None, "0001", "POINT(-1.5 0)"),
    (4, None, None, dt.date(2021, 6, 30), None, None),
]


@pytest.fixture(scope="module")
def maria() -> Iterator[tuple[Any, Any]]:
    name = f"fq_mytypes_{uuid.uuid4().hex[:10]}"
    con = mysql_admin()
    with con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute("SET SESSION sql_mode = ''")  # zero dates, as old applications store them
        cur.execute(
            f"CREATE TABLE `{name}`.t (id INT PRIMARY KEY, flag TINYINT(1), f FLOAT, d DATE NOT NULL, "
            "b BIT(4), pt POINT NULL)"
        )
        cur.execute(
            f"INSERT INTO `{name}`.t VALUES (1, 2, 3.14, '0000-00-00', b'1010', ST_GeomFromText('POINT(1 2)')), "
            "(2, 1, 0.1, '2020-01-01', b'0000', NULL), (3, 0, -2.5, '2020-00-15', b'0001', "
            "ST_GeomFromText('POINT(-1.5 0)')), (4, NULL, NULL, '2021-06-30', NULL, NULL)"
        )
    fed = fedquery.connect({"departments": {"my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}}}})
    oracle = duckdb.connect()
    oracle.execute("CREATE SCHEMA my")
    oracle.execute("CREATE TABLE my.t (id INT, flag BOOLEAN, f FLOAT, d DATE, b VARCHAR, pt VARCHAR)")
    oracle.executemany(
        "INSERT INTO my.t VALUES (?, ?, ?, ?, ?, ?)", [(i, None if g is None else bool(g), *r) for i, g, *r in ROWS]
    )
    yield fed, oracle
    fed.close()
    with con.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")
    con.close()


QUERIES = [
    ("TINYINT(1) = TRUE matches 2", "SELECT id FROM my.t WHERE flag = TRUE ORDER BY id"),
    ("TINYINT(1) IN", "SELECT id FROM my.t WHERE flag IN (TRUE) ORDER BY id"),
    ("TINYINT(1) <> FALSE", "SELECT id FROM my.t WHERE flag <> FALSE ORDER BY id"),
    ("values of TINYINT(1)", "SELECT id, flag FROM my.t ORDER BY id"),
    ("FLOAT = 3.14", "SELECT id FROM my.t WHERE f = 3.14 ORDER BY id"),
    ("FLOAT in a range", "SELECT id FROM my.t WHERE f BETWEEN 0.1 AND 3.14 ORDER BY id"),
    ("zero and partial dates are NULL", "SELECT id, d FROM my.t ORDER BY id"),
    ("IS NULL on a NOT NULL date", "SELECT id FROM my.t WHERE d IS NULL ORDER BY id"),
    ("BIT(n) as its bits", "SELECT id, b FROM my.t ORDER BY id"),
    ("POINT as WKT", "SELECT id, pt FROM my.t ORDER BY id"),
]


@pytest.mark.parametrize(("title", "sql"), QUERIES, ids=[q[0] for q in QUERIES])
def test_mysql_values_match_the_oracle(maria: tuple[Any, Any], title: str, sql: str) -> None:
    fed, oracle = maria
    expected = oracle.sql(sql).fetchall()
    for strategy in ("none", "filters", "full", "auto"):
        got = fed.sql(sql, pushdown=strategy).fetchall()
        if "f " in sql:
            assert [r[0] for r in got] == [r[0] for r in expected], strategy
        else:
            assert_same_rows(got, expected, ordered=True)
