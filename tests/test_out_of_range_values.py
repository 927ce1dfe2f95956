"""Dates Python cannot hold (±infinity, years after 9999, years BC) come back as DuckDB's client gives them.

Arrow's conversion to ``datetime`` raises ``OverflowError`` for them; DuckDB's Python client gives
``date.max``/``date.min`` for ±infinity and its own text for the rest, and its text formats print
``infinity``. fedquery's results, DB-API cursor and every output format do the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

import fedquery
from fedquery import formats
from tests.conftest import PG_DSN, pg_run

VALUES = (
    "SELECT 1 AS id, DATE 'infinity' AS d, TIMESTAMP '-infinity' AS ts, TIMESTAMPTZ 'infinity' AS tz "
    "UNION ALL SELECT 2, DATE '10000-01-01', TIMESTAMP '0044-03-15 (BC) 10:00:00', "
    "TIMESTAMPTZ '2020-01-01 10:00:00+00' "
    "UNION ALL SELECT 3, DATE '2020-02-29', TIMESTAMP '2020-02-29 12:00:00', NULL "
    "UNION ALL SELECT 4, NULL, NULL, TIMESTAMPTZ '-infinity'"
)


@pytest.fixture(scope="module")
def edge_dates(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path: Path = tmp_path_factory.mktemp("dates") / "dates.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(f"CREATE TABLE days AS {VALUES}")
    fed = fedquery.connect({"departments": {"d": {"sources": {"s": {"kind": "duckdb", "url": str(path)}}}}})
    oracle = duckdb.connect()
    oracle.execute("SET TimeZone = 'UTC'")
    oracle.execute(f"CREATE TABLE days AS {VALUES}")
    yield fed, oracle
    fed.close()
    oracle.close()


def test_fetchall_gives_what_duckdb_gives(edge_dates) -> None:  # type: ignore[no-untyped-def]
    fed, oracle = edge_dates
    sql = "SELECT id, d, ts, tz FROM {} ORDER BY id"
    expected = oracle.sql(sql.format("days")).fetchall()
    assert expected[1][1] == "10000-01-01"  # the oracle itself: DuckDB's text for a year Python lacks
    for strategy in ("none", "filters", "auto"):
        assert fed.sql(sql.format("d.days"), pushdown=strategy).fetchall() == expected


def test_the_dbapi_cursor_gives_the_same(edge_dates) -> None:  # type: ignore[no-untyped-def]
    fed, oracle = edge_dates
    cursor = fed.cursor()
    cursor.execute("SELECT id, d, ts FROM d.days ORDER BY id")
    assert cursor.fetchone() == oracle.sql("SELECT id, d, ts FROM days ORDER BY id").fetchall()[0]
    assert cursor.fetchall() == oracle.sql("SELECT id, d, ts FROM days ORDER BY id").fetchall()[1:]


@pytest.mark.parametrize("fmt", ["table", "vertical", "csv", "tsv", "json", "markdown"])
def test_every_text_format_prints_duckdbs_text(edge_dates, fmt: str) -> None:  # type: ignore[no-untyped-def]
    fed, _ = edge_dates
    text = formats.render(fed.sql("SELECT id, d, ts, tz FROM d.days ORDER BY id").arrow(), fmt)
    for value in ("infinity", "-infinity", "10000-01-01", "0044-03-15 (BC) 10:00:00", "2020-02-29"):
        assert value in text, (fmt, value, text)
    if fmt == "json":
        assert json.loads(text)[0]["d"] == "infinity"


def test_postgres_infinity_dates_arrive_as_duckdbs(pg_schema: str) -> None:
    pg_run(
        f'CREATE TABLE "{pg_schema}".spans (id INT, d DATE, ts TIMESTAMP)',
        f"INSERT INTO \"{pg_schema}\".spans VALUES (1, 'infinity', '-infinity'), (2, '2020-01-01', "
        "'2020-01-01 00:00:00'), (3, '5874897-12-31', '20000-01-01 00:00:00')",
    )
    config = {"departments": {"pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema}}}}}
    oracle = duckdb.connect()
    expected = oracle.sql(
        "SELECT * FROM (VALUES (1, DATE 'infinity', TIMESTAMP '-infinity'), (2, DATE '2020-01-01', "
        "TIMESTAMP '2020-01-01 00:00:00'), (3, DATE '5874897-12-31', TIMESTAMP '20000-01-01 00:00:00')) t ORDER BY 1"
    ).fetchall()
    with fedquery.connect(config) as fed:
        for strategy in ("filters", "auto"):
            assert fed.sql("SELECT id, d, ts FROM pg.spans ORDER BY id", pushdown=strategy).fetchall() == expected
        text = formats.render(fed.sql("SELECT d FROM pg.spans WHERE id = 1").arrow(), "csv")
    assert "infinity" in text
