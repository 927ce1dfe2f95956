"""The pushdown tables (connectors/pushdown.py) proven at the real servers, driven by the tables.

Every entry PostgreSQL's or MySQL's table marks pushable is run, through each of its examples,
at the real server on edge values (NULL, empty, padded, multibyte and case-variant text, NaN and
±Infinity where the server has them, minimum and maximum integers, negative numbers and zero
divisors, BC and far-future dates) and compared with DuckDB holding the same rows. The plan must
have sent the example whole: an entry that is wrong for some edge value fails here. Entries kept
local name the trap in tests/test_dialect_traps.py that shows why, where one exists. The README's
pushdown tables are the tables' own ``--markdown`` output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlglot
from sqlglot import exp

import fedquery
from connectors.pushdown import TABLES, MySQLPushdown, NotPushable, PostgresPushdown, Pushed, governed, markdown
from fedquery.errors import FedQueryError
from tests.conftest import PG_DSN, assert_same_rows, mysql_admin, mysql_url, pg_admin
from tests.test_dialect_traps import TRAPS

COLUMNS = "id INT, i INT, b BIGINT, a INT, n DECIMAL(10,2), f DOUBLE, t VARCHAR(20), d DATE"
#: (id, i, b, a, n, f, t, d) with SQL literals for f and d (each server spells NaN and BC its own way)
ROWS: list[tuple[Any, ...]] = [
    (1, 0, 0, 0, "0.00", "0", "", "2020-02-29"),
    (2, -(2**31), -(2**63), -1, "-99999999.99", "-1e308", "abc", "0001-01-01"),
    (3, 2**31 - 1, 2**63 - 1, 2, "99999999.99", "1e308", "ABC", "9999-12-31"),
    (4, -7, -1, 3, "-0.50", "-0.5", "abc ", "1970-01-01"),
    (5, None, None, None, None, None, None, None),
    (6, 7, 1, -2, "2.50", "2.5", "straße", "2000-01-01"),
    (7, 1, 2, 0, "1.25", "-0.0", "ǅx àbc", "1999-12-31"),
    (8, -1, 3, 5, "-1.25", "3.25", "a%c", "2021-06-15"),
    (9, 2, -3, -5, "0.01", "1", "ẞ 日本", "2024-02-29"),
]
#: Only PostgreSQL (and DuckDB) hold these: NaN, ±Infinity, a BC date.
PG_ONLY_ROWS: list[tuple[Any, ...]] = [
    (10, 3, 4, 0, "5.00", "'NaN'", "b", "0044-03-15 BC"),
    (11, -3, 5, 0, "-5.00", "'Infinity'", "B", "4713-11-24 BC"),
    (12, 4, 6, 0, "0.00", "'-Infinity'", "ab", "294276-12-31"),
]
#: Pushable entries tested elsewhere, against the same oracle.
ELSEWHERE = {"Pseudonymise": "tests/test_pseudonymise.py (both servers, against DuckDB's own HMAC)"}


def _text(value: Any, kind: str) -> str:
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''").replace("\\", "\\\\" if kind == "mysql" else "\\") + "'"


def _values(row: tuple[Any, ...], kind: str) -> str:
    id_, i, b, a, n, f, t, d = row
    ints = ", ".join("NULL" if v is None else str(v) for v in (id_, i, b, a))
    number = "NULL" if n is None else n
    double = "NULL" if f is None else (f"CAST({f} AS DOUBLE)" if kind == "duckdb" else f)
    if kind == "duckdb" and d is not None and d.endswith(" BC"):
        date = f"DATE '{d[:-3]} (BC)'"
    else:
        date = "NULL" if d is None else f"DATE '{d}'"
    return f"({ints}, {number}, {double}, {_text(t, kind)}, {date})"


@pytest.fixture(scope="module")
def edge_fed(pg_schema: str, mysql_database: str):  # type: ignore[no-untyped-def]
    pg = pg_admin()
    with pg.cursor() as cur:
        # byte-order collation: ordering on text is pushed (other collations are kept local, tested elsewhere)
        cur.execute(f'CREATE TABLE "{pg_schema}".edge ({COLUMNS.replace("DOUBLE", "DOUBLE PRECISION")})')
        cur.execute(f'ALTER TABLE "{pg_schema}".edge ALTER COLUMN t TYPE VARCHAR(20) COLLATE "C"')
        rows = ", ".join(_values(r, "postgres") for r in ROWS + PG_ONLY_ROWS)
        cur.execute(f'INSERT INTO "{pg_schema}".edge VALUES {rows}')
    pg.close()
    my = mysql_admin()
    with my.cursor() as cur:
        # the server's default (case-insensitive, PAD SPACE) collation: comparisons are rendered as binary
        cur.execute(f"CREATE TABLE `{mysql_database}`.edge ({COLUMNS}) CHARACTER SET utf8mb4")
        cur.execute(f"INSERT INTO `{mysql_database}`.edge VALUES {', '.join(_values(r, 'mysql') for r in ROWS)}")
    my.close()
    config = {
        "departments": {
            "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "schemas": [pg_schema]}}},
            "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(mysql_database)}}},
        }
    }
    fed = fedquery.connect(config)
    oracles = {}
    for department, rows in (("pg", ROWS + PG_ONLY_ROWS), ("my", ROWS)):
        con = duckdb.connect()
        con.execute(f"CREATE TABLE edge ({COLUMNS})")
        con.execute(f"INSERT INTO edge VALUES {', '.join(_values(r, 'duckdb') for r in rows)}")
        oracles[department] = con
    yield fed, oracles
    fed.close()
    for con in oracles.values():
        con.close()


def _cases() -> list[Any]:
    out = []
    for department, table in (("pg", PostgresPushdown), ("my", MySQLPushdown)):
        for name, entry in sorted(table.entries().items()):
            if isinstance(entry, Pushed):
                for example in entry.examples:
                    out.append(pytest.param(department, example, id=f"{department}-{name}-{example}"))
    return out


def _query(example: str, table: str) -> str:
    if example.upper().startswith("SELECT"):
        return example.format(t=table)
    return f"SELECT id, {example} AS v FROM {table}"


def _rows(table: Any) -> list[tuple[Any, ...]]:
    """Rows of an Arrow result, dates and timestamps as their ISO text (Python's dates have no BC years)."""
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    columns = [
        pc.cast(c, pa.string()) if pa.types.is_date(c.type) or pa.types.is_timestamp(c.type) else c
        for c in table.columns
    ]
    return list(zip(*(c.to_pylist() for c in columns))) if columns else []


def _run(run: Any, sql: str) -> tuple[list[Any] | None, str | None]:
    try:
        return run(sql), None
    except (FedQueryError, duckdb.Error) as exc:
        return None, str(exc)


@pytest.mark.parametrize(("department", "example"), _cases())
def test_pushed_entry_matches_duckdb_on_edge_values(edge_fed: Any, department: str, example: str) -> None:
    fed, oracles = edge_fed
    oracle = oracles[department]
    sql = _query(example, f"{department}.edge")
    plan = fed.explain(sql, pushdown="full")
    assert len(plan.fragments) == 1 and not plan.notes, f"{example} was not pushed whole: {plan.notes}"
    # all the computing is at the source: the local step only reads the fragment's columns
    local = sqlglot.parse_one(plan.local_sql, read="duckdb")
    assert isinstance(local, exp.Select) and all(isinstance(e.unalias(), exp.Column) for e in local.expressions)
    assert not any(local.args.get(k) for k in ("where", "group", "having", "order", "limit", "distinct", "joins"))
    ordered = "ORDER BY" in example.upper()
    expected, oracle_error = _run(lambda q: _rows(oracle.sql(q).arrow()), _query(example, "edge"))
    got, error = _run(lambda q: _rows(fed.sql(q, pushdown="full").arrow()), sql)
    if oracle_error is None:
        assert error is None, f"{example}: DuckDB answers, the source fails: {error}"
        assert_same_rows(got or [], expected or [], ordered=ordered)
        return
    # DuckDB raises for some edge row (an overflow, say): the source must too, and agree on every other row.
    assert error is not None, f"{example}: DuckDB raises ({oracle_error}), the source answers {got}"
    if example.upper().startswith("SELECT"):
        return
    ids = [r[0] for r in oracle.sql("SELECT id FROM edge ORDER BY id").fetchall()]
    for id_ in ids:
        one = f"{sql} WHERE id = {id_}"
        local = f"{_query(example, 'edge')} WHERE id = {id_}"
        expected, oracle_error = _run(lambda q: _rows(oracle.sql(q).arrow()), local)
        got, error = _run(lambda q: _rows(fed.sql(q, pushdown="full").arrow()), one)
        assert (error is None) == (oracle_error is None), f"{example}, row {id_}: {error} vs DuckDB {oracle_error}"
        if error is None:
            assert_same_rows(got or [], expected or [])


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_every_pushable_entry_has_edge_examples(kind: str) -> None:
    for name, entry in TABLES[kind].entries().items():
        if isinstance(entry, Pushed) and name not in ELSEWHERE:
            assert entry.examples, f"{kind}: {name} is pushed but has no example to prove it at the server"


def test_not_pushable_entries_name_real_traps() -> None:
    titles = {t[0] for t in TRAPS}
    for table in TABLES.values():
        for name, entry in table.entries().items():
            traps = [entry.trap] if isinstance(entry, NotPushable) else [u.trap for u in getattr(entry, "unless", ())]
            for trap in filter(None, traps):
                assert trap in titles, f"{table.dialect}.{name} names a trap that does not exist: {trap!r}"


def test_anything_not_in_a_table_is_not_pushed() -> None:
    import sqlglot

    for table in (PostgresPushdown, MySQLPushdown):
        node = sqlglot.parse_one("SELECT md5(x) FROM t", read="duckdb")
        assert table.reason(node) == f"MD5 (MD5(x)) is not in {table.dialect}'s pushdown table"
        assert governed(node.expressions[0]) and not governed(node)


def test_explain_shows_the_tables_reason(edge_fed: Any) -> None:
    fed, _ = edge_fed
    plan = fed.explain("SELECT id FROM pg.edge WHERE sqrt(f) > 1")
    assert any(PostgresPushdown.Sqrt.because in n for n in plan.notes), plan.notes
    plan = fed.explain("SELECT id FROM my.edge WHERE i / a > 1")
    assert any(MySQLPushdown.Div.because in n for n in plan.notes), plan.notes
    plan = fed.explain("SELECT id FROM pg.edge WHERE md5(t) = 'x'")
    assert any("not in PostgreSQL's pushdown table" in n for n in plan.notes), plan.notes


def test_readme_pushdown_tables_are_generated_from_the_tables() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- pushdown-tables:begin -->\n(.*?)<!-- pushdown-tables:end -->", readme, re.DOTALL)
    assert found, "README.md has no generated pushdown tables section"
    assert found.group(1) == markdown(), "README.md is stale: python -m connectors.pushdown --markdown"


def test_markdown_command_refuses_other_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    from connectors.pushdown import main

    assert main(["--html"]) == 2
    assert "usage" in capsys.readouterr().err
    assert main(["--markdown"]) == 0
    assert capsys.readouterr().out == markdown()
