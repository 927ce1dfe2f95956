"""Mapping between SQL types (as sqlglot parses them) and Arrow types."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

T = exp.DataType.Type

_SIMPLE: dict[Any, pa.DataType] = {
    T.BOOLEAN: pa.bool_(),
    T.TINYINT: pa.int8(),
    T.SMALLINT: pa.int16(),
    T.INT: pa.int32(),
    T.BIGINT: pa.int64(),
    T.UTINYINT: pa.uint8(),
    T.USMALLINT: pa.uint16(),
    T.UINT: pa.uint32(),
    T.UBIGINT: pa.uint64(),
    T.FLOAT: pa.float32(),
    T.DOUBLE: pa.float64(),
    T.VARCHAR: pa.string(),
    T.CHAR: pa.string(),
    T.TEXT: pa.string(),
    T.NCHAR: pa.string(),
    T.NVARCHAR: pa.string(),
    T.UUID: pa.string(),
    T.JSON: pa.string(),
    T.DATE: pa.date32(),
    T.DATETIME: pa.timestamp("us"),
    T.TIMESTAMP: pa.timestamp("us"),
    T.TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    T.TIMESTAMPNTZ: pa.timestamp("us"),  # sqlglot's reading of DuckDB's "timestamp" (a CSV column type)
    T.TIME: pa.time64("us"),
    T.BLOB: pa.binary(),
    T.VARBINARY: pa.binary(),
    T.BINARY: pa.binary(),
    T.INTERVAL: pa.month_day_nano_interval(),
}


def arrow_type(sql_type: str | exp.DataType, dialect: str = "duckdb") -> pa.DataType:
    """The Arrow type for a SQL type name.

    >>> arrow_type("decimal(15,2)")
    Decimal128Type(decimal128(15, 2))
    """
    try:
        dtype = sql_type if isinstance(sql_type, exp.DataType) else exp.DataType.build(sql_type, dialect=dialect)
    except Exception as exc:  # sqlglot raises several kinds here
        raise ValueError(f"unknown SQL type {sql_type!r}") from exc
    return _from_datatype(dtype)


def _from_datatype(dtype: exp.DataType) -> pa.DataType:
    if dtype.this in (T.DECIMAL, T.BIGDECIMAL):
        params = [int(p.this.this) if isinstance(p.this, exp.Literal) else int(p.name) for p in dtype.expressions]
        precision, scale = (params + [18, 3])[:2] if params else (18, 3)
        if len(params) == 1:
            scale = 0
        # DuckDB has no decimal wider than 38 digits: wider ones are DOUBLE, as DuckDB's own
        # postgres and mysql scanners read them.
        return pa.decimal128(precision, scale) if precision <= 38 else pa.float64()
    if dtype.this in (T.INT128, T.UINT128):
        return pa.decimal128(38, 0)
    if dtype.this in _SIMPLE:
        return _SIMPLE[dtype.this]
    raise ValueError(f"no Arrow type for SQL type {dtype.sql()!r}")


def sql_type(arrow: pa.DataType) -> exp.DataType:
    """The sqlglot DataType for an Arrow type (used for binding and typing)."""
    if pa.types.is_decimal(arrow):
        return exp.DataType.build(f"DECIMAL({arrow.precision}, {arrow.scale})")
    if pa.types.is_dictionary(arrow):
        return sql_type(arrow.value_type)
    for sql, arr in _SIMPLE.items():
        if arr == arrow and sql not in (T.CHAR, T.TEXT, T.NCHAR, T.NVARCHAR, T.UUID, T.JSON, T.DATETIME, T.BINARY):
            return exp.DataType.build(sql)
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow):
        return exp.DataType.build("VARCHAR")
    if pa.types.is_timestamp(arrow):
        return exp.DataType.build("TIMESTAMPTZ" if arrow.tz else "TIMESTAMP")
    if pa.types.is_date(arrow):
        return exp.DataType.build("DATE")
    if pa.types.is_large_binary(arrow) or pa.types.is_binary(arrow):
        return exp.DataType.build("BLOB")
    if pa.types.is_time(arrow):
        return exp.DataType.build("TIME")
    return exp.DataType.build("UNKNOWN")


def parse_value(text: str | None, arrow: pa.DataType | None) -> Any:
    """A value given as text (by a server's statistics) as a Python value of ``arrow``, or None.

    >>> parse_value("1995-03-15", pa.date32())
    datetime.date(1995, 3, 15)
    >>> parse_value("12.50", pa.decimal128(15, 2))
    Decimal('12.50')
    >>> parse_value("abc", pa.int64()) is None
    True
    """
    if text is None or arrow is None:
        return None
    try:
        return pa.array([text], pa.string()).cast(arrow)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def parse_pg_array(text: str | None) -> list[str]:
    """The elements of a PostgreSQL array literal, as text.

    >>> parse_pg_array('{1,2,"a, b","say \\\\"hi\\\\""}')
    ['1', '2', 'a, b', 'say "hi"']
    """
    if not text or len(text) < 2 or text[0] != "{" or text[-1] != "}":
        return []
    out: list[str] = []
    body, i, current, quoted = text[1:-1], 0, [], False
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            current.append(body[i + 1])
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if body:
        out.append("".join(current))
    return out


def date_plus_number(node: exp.Expr) -> bool:
    """``d + 1`` / ``d - 1`` on a DATE or TIMESTAMP (DuckDB: a date; MySQL and SQLite: not a date)."""
    operands = list(node.iter_expressions())
    temporal = any(o.type is not None and o.type.is_type(*exp.DataType.TEMPORAL_TYPES) for o in operands)
    return temporal and not any(isinstance(o, exp.Interval) for o in operands)
