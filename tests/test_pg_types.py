"""The PostgreSQL type map: every type arrives as DuckDB's scanner would give it, or fails typed.

Written out as data (the README's type map): wide NUMERIC as DOUBLE, intervals as INTERVAL,
arrays of scalars as LISTs, uuid/json as text, enums as DuckDB ENUMs, types with no DuckDB equivalent (bit, inet,
money, timetz, ...) as PostgreSQL's own text form, ±infinity dates and timestamps as DuckDB's
±infinity; NaN in a NUMERIC(p,s) column (which no DuckDB DECIMAL holds) is a typed error naming
the column. Never a crash in Arrow, never a wrong value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

import fedquery
from fedquery.errors import SourceError
from tests.conftest import PG_DSN, pg_run

COLUMNS = {
    "n": "numeric(10,2)", "wide": "numeric(50,10)", "nu": "numeric", "d": "date", "ts": "timestamp",
    "tz": "timestamptz", "iv": "interval", "u": "uuid", "j": "json", "jb": "jsonb", "e": "{schema}.mood",
    "arr": "int[]", "tarr": "text[]", "b": "bit(4)", "vb": "varbit", "t": "time", "tt": "timetz", "by": "bytea",
    "ip": "inet", "m": "money", "r": "real", "dp": "double precision", "rng": "int4range", "pt": "point",
}  # fmt: skip
ROWS = [
    "(1, 'NaN', 12345678901234567890123456789.0123456789, 'NaN', 'infinity', 'infinity', '-infinity', "
    "'1 day 02:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\":1}', '{\"b\":2}', 'happy', '{1,2,NULL}', "
    "'{a,\"b c\"}', B'1010', B'101', '12:34:56', '12:00+02', '\\xdead', '10.0.0.1', 12.5, 'NaN', 'Infinity', "
    "'[1,5)', '(1,2)')",
    "(2, 1.5, 1.5, 2.25, '2020-01-01', '2020-01-01 00:00', '2020-01-01 00:00+00', '-3 months', NULL, NULL, NULL, "
    "'sad', '{}', NULL, B'0000', NULL, '00:00', NULL, '', NULL, NULL, 0.5, -0.0, 'empty', NULL)",
]
EXPECTED = {
    "wide": (pa.float64(), [1.2345678901234568e28, 1.5]),
    "nu": (pa.float64(), "nan-then-2.25"),
    "iv": (pa.month_day_nano_interval(), [(0, 1, 7_200_000_000_000), (-3, 0, 0)]),
    "u": (pa.string(), ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", None]),
    "j": (pa.string(), ['{"a":1}', None]),
    "jb": (pa.string(), ['{"b": 2}', None]),
    # an ENUM of DuckDB (labels in declaration order; tests/test_enums.py), handed out as a dictionary
    "e": (pa.dictionary(pa.uint8(), pa.string()), ["happy", "sad"]),
    "arr": (pa.list_(pa.int32()), [[1, 2, None], []]),
    "tarr": (pa.list_(pa.string()), [["a", "b c"], None]),
    "b": (pa.string(), ["1010", "0000"]),
    "vb": (pa.string(), ["101", None]),
    "t": (pa.time64("us"), "12:34:56-then-midnight"),
    "tt": (pa.string(), ["12:00:00+02", None]),
    "by": (pa.binary(), [b"\xde\xad", b""]),
    "ip": (pa.string(), ["10.0.0.1/32", None]),
    "m": (pa.string(), ["$12.50", None]),
    "rng": (pa.string(), ["[1,5)", "empty"]),
    "pt": (pa.string(), ["(1,2)", None]),
}


@pytest.fixture(scope="module")
def typed() -> Iterator[Any]:
    schema = f"fq_types_{uuid.uuid4().hex[:10]}"
    columns = ", ".join(f"{k} {v.format(schema=schema)}" for k, v in COLUMNS.items())
    pg_run(
        f"CREATE SCHEMA {schema}",
        f"CREATE TYPE {schema}.mood AS ENUM ('sad', 'ok', 'happy')",
        f"CREATE TABLE {schema}.t (id INT PRIMARY KEY, {columns})",
        f"INSERT INTO {schema}.t VALUES {', '.join(ROWS)}",
    )
    fed = fedquery.connect(
        {"departments": {"pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": schema}}}}}
    )
    yield fed
    fed.close()
    pg_run(f"DROP SCHEMA {schema} CASCADE")


@pytest.mark.parametrize("column", list(EXPECTED))
def test_every_type_arrives_as_mapped(typed: Any, column: str) -> None:
    arrow, values = EXPECTED[column]
    for strategy in ("filters", "full"):
        got = typed.sql(f"SELECT {column} FROM pg.t ORDER BY id", pushdown=strategy).arrow().column(0)
        assert got.type == arrow, (strategy, got.type)
        if values == "nan-then-2.25":
            assert str(got[0].as_py()) == "nan" and got[1].as_py() == 2.25
        elif values == "12:34:56-then-midnight":
            assert [str(v) for v in got.to_pylist()] == ["12:34:56", "00:00:00"]
        elif column == "iv":
            assert [(v.months, v.days, v.nanoseconds) for v in got.to_pylist()] == values
        else:
            assert got.to_pylist() == values, strategy


@pytest.mark.parametrize(("column", "expected"), [("d", ["infinity", "2020-01-01"]),
                                                  ("ts", ["infinity", "2020-01-01 00:00:00"]),
                                                  ("tz", ["-infinity", "2020-01-01 00:00:00+00"])])  # fmt: skip
def test_infinite_dates_are_duckdb_infinity(typed: Any, column: str, expected: list[str]) -> None:
    for strategy in ("filters", "full"):  # read raw and spelt by the local DuckDB; pushed whole
        sql = f"SELECT CAST({column} AS VARCHAR), {column} > TIMESTAMP '2100-01-01' FROM pg.t ORDER BY id"
        rows = typed.sql(sql, pushdown=strategy).fetchall()
        assert [r[0] for r in rows] == expected
        assert [r[1] for r in rows] == [not expected[0].startswith("-"), False]


def test_nan_in_a_decimal_column_is_a_typed_error_naming_it(typed: Any) -> None:
    with pytest.raises(SourceError, match="'n' holds NaN"):
        typed.sql("SELECT n FROM pg.t").fetchall()
    assert typed.sql("SELECT n FROM pg.t WHERE id = 2", pushdown="full").fetchall()[0][0] == pytest.approx(1.5)
