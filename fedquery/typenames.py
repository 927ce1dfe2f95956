"""SQL type names for Arrow types, as DuckDB spells them (``bigint``, ``varchar``, ``decimal(12,2)``).

What an analyst reads under a column header or in ``fedquery tables`` is the type
they would write in SQL, not Arrow's name for its memory layout (``date32[day]``).

>>> import pyarrow as pa
>>> sql_type(pa.int64()), sql_type(pa.date32()), sql_type(pa.decimal128(12, 2)), sql_type(pa.string())
('bigint', 'date', 'decimal(12,2)', 'varchar')
>>> sql_type(pa.list_(pa.timestamp("us", tz="UTC"))), sql_type(pa.struct([("a", pa.int32())]))
('timestamp with time zone[]', 'struct(a integer)')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

_SIMPLE = {
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "integer",
    "int64": "bigint",
    "uint8": "utinyint",
    "uint16": "usmallint",
    "uint32": "uinteger",
    "uint64": "ubigint",
    "halffloat": "float",
    "float": "float",
    "double": "double",
    "bool": "boolean",
    "string": "varchar",
    "large_string": "varchar",
    "string_view": "varchar",
    "binary": "blob",
    "large_binary": "blob",
    "binary_view": "blob",
    "date32[day]": "date",
    "date64[ms]": "date",
    "null": "null",
    "month_day_nano_interval": "interval",
}
_TIMESTAMP_UNITS = {"s": "timestamp_s", "ms": "timestamp_ms", "us": "timestamp", "ns": "timestamp_ns"}


def sql_type(arrow_type: pa.DataType) -> str:
    """The DuckDB spelling of ``arrow_type`` (lower case, as DuckDB's box renderer prints it)."""
    import pyarrow as pa

    t = arrow_type
    if pa.types.is_dictionary(t):
        return sql_type(t.value_type)
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp with time zone" if t.tz else _TIMESTAMP_UNITS.get(t.unit, "timestamp")
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_duration(t):
        return "interval"
    if pa.types.is_fixed_size_list(t):
        return f"{sql_type(t.value_type)}[{t.list_size}]"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
        return f"{sql_type(t.value_type)}[]"
    if pa.types.is_struct(t):
        return "struct(" + ", ".join(f"{f.name} {sql_type(f.type)}" for f in t) + ")"
    if pa.types.is_map(t):
        return f"map({sql_type(t.key_type)}, {sql_type(t.item_type)})"
    if pa.types.is_fixed_size_binary(t):
        return "blob"
    return _SIMPLE.get(str(t), str(t))


def is_numeric(arrow_type: pa.DataType) -> bool:
    """Right-aligned in a terminal table: integers, floats and decimals."""
    import pyarrow as pa

    t = arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
