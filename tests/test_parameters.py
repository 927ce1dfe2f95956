"""Query parameters: bound as literals by sqlglot, pushed like literals, hostile values at real servers."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

import fedquery
from fedquery.errors import ParameterError, ParameterValueError
from tests.conftest import PG_DSN, assert_same_rows, mysql_admin, mysql_url, own_schema_and_database, pg_admin

HOSTILE = [
    "'",
    "''",
    "\\",
    "\\'",
    "'); DROP TABLE notes; --",
    "' OR '1'='1",
    "Zoë 🚀 中文 \u202e",
    "$1 ? :name %s {0}",
    "line\nbreak\ttab\r",
    "\\x00 \\0 \\n",
    "%_",
]


@pytest.fixture(scope="module")
def servers() -> Iterator[Any]:
    """One table ``notes(id, note)`` holding every hostile value, in PostgreSQL and in MariaDB."""
    with own_schema_and_database("fq_params") as name:
        pg = pg_admin()
        with pg.cursor() as cur:
            cur.execute(f'CREATE TABLE "{name}".notes (id BIGINT, note TEXT)')
            for i, value in enumerate(HOSTILE):
                cur.execute(f'INSERT INTO "{name}".notes VALUES ($1, $2)', (i, value))
        pg.close()
        my = mysql_admin()
        with my.cursor() as cur:
            cur.execute(f"CREATE TABLE `{name}`.notes (id BIGINT, note TEXT) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            cur.executemany(f"INSERT INTO `{name}`.notes VALUES (%s, %s)", list(enumerate(HOSTILE)))
        my.commit()
        my.close()
        config = {
            "departments": {
                "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}}},
                "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
            }
        }
        with fedquery.connect(config) as fed:
            yield fed


@pytest.mark.parametrize("department", ["pg", "my"])
@pytest.mark.parametrize("index", range(len(HOSTILE)))
def test_hostile_strings_are_quoted_literals(servers: Any, department: str, index: int) -> None:
    value = HOSTILE[index]
    sql = f"SELECT id, note FROM {department}.notes WHERE note = ?"
    assert servers.sql(sql, params=[value]).fetchall() == [(index, value)]
    (fragment,) = servers.explain(sql, params=[value]).fragments
    # The remote SQL carries the value as one string literal of the source's dialect, in the pushed filter.
    remote = sqlglot.parse_one(fragment.sql, read=fragment.dialect)
    (where,) = [w.this for w in remote.find_all(exp.Where)]
    assert isinstance(where, exp.EQ)  # (MariaDB's filter compares CAST(... AS BINARY), as DuckDB compares)
    literals = [lit.this for lit in where.find_all(exp.Literal) if lit.is_string]
    # (MariaDB gets a literal holding a backslash in hex, _utf8mb4 X'..': it reads the same under any sql_mode)
    literals += [bytes.fromhex(h.this).decode() for h in where.find_all(exp.HexString)]
    assert literals == [value]


@pytest.mark.parametrize("department", ["pg", "my"])
def test_named_and_list_parameters_push_down(servers: Any, department: str) -> None:
    sql = f"SELECT id FROM {department}.notes WHERE note IN (:notes) AND id >= $low ORDER BY id"
    rows = servers.sql(sql, params={"notes": HOSTILE[:5], "low": 2}).fetchall()
    assert rows == [(2,), (3,), (4,)]
    (fragment,) = servers.explain(sql, params={"notes": HOSTILE[:5], "low": 2}).fragments
    assert "IN (" in fragment.sql and ">= 2" in fragment.sql


@pytest.mark.parametrize("department", ["pg", "my"])
def test_huge_integers(servers: Any, department: str) -> None:
    sql = f"SELECT count(*) FROM {department}.notes WHERE id < ?"
    assert servers.sql(sql, params=[2**70]).fetchall() == [(len(HOSTILE),)]
    assert servers.sql(sql, params=[-(2**70)]).fetchall() == [(0,)]
    assert servers.sql(sql, params=[2**63 - 1]).fetchall() == [(len(HOSTILE),)]
    with pytest.raises(ParameterValueError, match="out of range"):
        servers.sql(sql, params=[2**127])


@pytest.mark.parametrize("department", ["pg", "my"])
def test_nul_is_refused_by_name(servers: Any, department: str) -> None:
    with pytest.raises(ParameterValueError, match=r"\$what: the string contains a NUL") as info:
        servers.sql(f"SELECT id FROM {department}.notes WHERE note = $what", params={"what": "a\x00b"})
    assert info.value.parameter == "$what"


@pytest.fixture(scope="module")
def fed(demo_config: Path) -> Iterator[Any]:
    with fedquery.connect(demo_config) as federation:
        yield federation


VALUES: list[tuple[Any, str]] = [
    (None, "NULL"),
    (True, "TRUE"),
    (7, "7"),
    (-(2**70), "-1180591620717411303424"),
    (0.1, "CAST(0.1 AS DOUBLE)"),
    (float("inf"), "CAST('inf' AS DOUBLE)"),
    (decimal.Decimal("12.50"), "12.50"),
    ("it's", "'it''s'"),
    (b"\x00\xff'", "UNHEX('00ff27')"),
    (dt.date(2020, 2, 29), "CAST('2020-02-29' AS DATE)"),
    (dt.datetime(2020, 2, 29, 13, 5, 1, 250), "CAST('2020-02-29 13:05:01.000250' AS TIMESTAMP)"),
    (dt.datetime(2020, 2, 29, 13, 5, tzinfo=dt.timezone.utc), "CAST('2020-02-29 13:05:00+00:00' AS TIMESTAMPTZ)"),
    (dt.time(23, 59, 58), "CAST('23:59:58' AS TIME)"),
    (dt.timedelta(days=2, seconds=5, microseconds=7), "INTERVAL '2 days 5 seconds 7 microseconds'"),
]


@pytest.mark.parametrize(
    ("value", "literal"), VALUES, ids=[type(v).__name__ + str(i) for i, (v, _) in enumerate(VALUES)]
)
def test_type_mapping_equals_duckdb_binding(fed: Any, value: Any, literal: str) -> None:
    """Each Python type becomes the literal shown, and the value read back is what DuckDB's own binding gives."""
    import duckdb

    plan = fed.explain("SELECT ? AS v", params=[value])
    assert plan.local_sql == f'SELECT {literal} AS "v"'
    got = fed.sql("SELECT ? AS v", params=[value]).fetchall()
    table = duckdb.sql("SELECT $v AS v", params={"v": value}).to_arrow_table()  # as Arrow, as fedquery's results are
    expected = [tuple(row.values()) for row in table.to_pylist()]
    assert_same_rows(got, expected)


def test_order_is_as_written(fed: Any, demo_config: Path) -> None:
    """sqlglot keeps LIMIT before WHERE in its tree: ``?`` are still numbered in the order written."""
    sql = "SELECT claim_id FROM dwp.claims WHERE region = ? AND claim_id > ? ORDER BY claim_id LIMIT ?"
    rows = fed.sql(sql, params=["London", 100, 3]).fetchall()
    expected = fed.sql(
        "SELECT claim_id FROM dwp.claims WHERE region = 'London' AND claim_id > 100 ORDER BY claim_id LIMIT 3"
    ).fetchall()
    assert rows == expected and len(rows) == 3
    numbered = "SELECT claim_id FROM dwp.claims WHERE region = $2 AND claim_id > $1 ORDER BY claim_id LIMIT $3"
    assert fed.sql(numbered, params=[100, "London", 3]).fetchall() == expected


@pytest.mark.parametrize(
    ("sql", "params", "error", "message"),
    [
        ("SELECT ?", None, ParameterError, r"1 parameter\(s\) \(\?\) but no params"),
        ("SELECT ?, ?", [1], ParameterError, r"2 \? parameter\(s\) but 1 params"),
        ("SELECT 1", [1], ParameterError, r"0 \? parameter\(s\) but 1 params"),
        ("SELECT $2", [1, 2], ParameterError, r"param 1 of 2 is not used"),
        ("SELECT $3", [1, 2], ParameterError, r"\$3 has no value"),
        ("SELECT $name", {"nmae": 1}, ParameterError, r"\$name has no value in params. Did you mean 'nmae'"),
        ("SELECT $a", {"a": 1, "b": 2}, ParameterError, r"param 'b' is not used"),
        ("SELECT ?, $a", [1], ParameterError, r"two styles"),
        ("SELECT ?", {"a": 1}, ParameterError, r"must be named"),
        ("SELECT $a", [1], ParameterError, r"must be \? or \$1"),
        ("SELECT ?", "text", ParameterError, r"params must be a list .* not str"),
        ("SELECT ?", [object()], ParameterValueError, r"parameter 1: values of type object cannot be bound"),
        ("SELECT ?", [[1, 2]], ParameterValueError, r"only as the single item of IN"),
        ("SELECT 1 IN (?)", [[]], ParameterValueError, r"at least one value"),
        ("SELECT ?", [decimal.Decimal("NaN")], ParameterValueError, r"not a number"),
    ],
)
def test_mismatches_are_typed_and_named(fed: Any, sql: str, params: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        fed.sql(sql, params=params)


def test_a_parameter_is_never_sql(fed: Any) -> None:
    rows = fed.sql("SELECT count(*) FROM dwp.claims WHERE region = ?", params=["x' OR '1'='1"]).fetchall()
    assert rows == [(0,)]
    assert fed.sql("SELECT ?", params=["SELECT 1; DROP TABLE x"]).fetchall() == [("SELECT 1; DROP TABLE x",)]


def test_bytes_parameters_at_real_servers() -> None:
    """A bytes value is compared in the local DuckDB (UNHEX is not sent), with the oracle's answer."""
    with own_schema_and_database("fq_bytes") as name:
        pg = pg_admin()
        with pg.cursor() as cur:
            cur.execute(f'CREATE TABLE "{name}".b (id INT, v BYTEA)')
            cur.execute(f'INSERT INTO "{name}".b VALUES (1, $1), (2, $2)', (b"\x00\xff'", b"\x01"))
        pg.close()
        my = mysql_admin()
        with my.cursor() as cur:
            cur.execute(f"CREATE TABLE `{name}`.b (id INT, v VARBINARY(10))")
            cur.executemany(f"INSERT INTO `{name}`.b VALUES (%s, %s)", [(1, b"\x00\xff'"), (2, b"\x01")])
        my.commit()
        my.close()
        config = {
            "departments": {
                "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}}},
                "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
            }
        }
        with fedquery.connect(config) as fed:
            for department in ("pg", "my"):
                sql = f"SELECT id FROM {department}.b WHERE v = ?"
                assert fed.sql(sql, params=[b"\x00\xff'"]).fetchall() == [(1,)]
                assert "UNHEX('00ff27')" in fed.explain(sql, params=[b"\x00\xff'"]).local_sql
