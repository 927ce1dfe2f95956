"""Notebook display: HTML tables with types and NULLs, list-like records, pandas as DuckDB gives it.

Everything here is imported lazily by the objects that display themselves (Result, Plan, the
lists from ``tables()`` / ``statistics()`` / ``res.stats``); pandas only by :func:`to_pandas`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from fedquery.pyvalues import display_values

#: rows an HTML table shows before it says how many more there are
HTML_ROW_CAP = 50
_NULL = '<span style="color:#888">NULL</span>'


def type_name(arrow: pa.DataType) -> str:
    """A column's type as DuckDB names it (``VARCHAR``, ``DECIMAL(10,2)``, ``DATE``, ...).

    >>> type_name(pa.decimal128(10, 2)), type_name(pa.string()), type_name(pa.timestamp("us", tz="UTC"))
    ('DECIMAL(10,2)', 'VARCHAR', 'TIMESTAMP WITH TIME ZONE')
    """
    from connectors.types import sql_type

    if pa.types.is_decimal(arrow):
        return f"DECIMAL({arrow.precision},{arrow.scale})"
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow) or pa.types.is_string_view(arrow):
        return "VARCHAR"
    if pa.types.is_timestamp(arrow):
        return "TIMESTAMP WITH TIME ZONE" if arrow.tz else "TIMESTAMP"
    if pa.types.is_binary(arrow) or pa.types.is_large_binary(arrow):
        return "BLOB"
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return f"{type_name(arrow.value_type)}[]"
    text = sql_type(arrow).sql("duckdb")
    return {"INT": "INTEGER", "UNKNOWN": str(arrow).upper()}.get(text, text)


def html_table(table: pa.Table, *, cap: int = HTML_ROW_CAP, title: str = "") -> str:
    """``table`` as HTML: names and types in the header, NULL for nulls, values escaped, row count."""
    head = "".join(
        f'<th style="text-align:left">{html.escape(f.name)}<br><span style="font-weight:normal;color:#888">'
        f"{html.escape(type_name(f.type))}</span></th>"
        for f in table.schema
    )
    shown = table.slice(0, cap)
    right = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
             for f in table.schema]  # fmt: skip
    body = "".join(
        "<tr>" + "".join(_cell(v, r) for v, r in zip(row, right)) + "</tr>"
        for row in zip(*(display_values(c) for c in shown.columns))
    )
    n = table.num_rows
    more = f"; first {cap} shown, {n - cap:,} more rows not shown" if n > cap else ""
    rows = f"{n:,} row{'s' if n != 1 else ''}"
    caption = f"{html.escape(title)}{' — ' if title else ''}{rows} × {table.num_columns} columns{more}"
    return f"<div><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table><p>{caption}</p></div>"


def _cell(value: Any, right: bool) -> str:
    align = ' style="text-align:right"' if right else ""
    return f"<td{align}>{_NULL if value is None else html.escape(str(value))}</td>"


def records_html(rows: Iterable[dict[str, Any]], title: str) -> str:
    """A list of records (dicts) as an HTML table; nested values shown compactly."""
    rows = list(rows)
    names = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f'<th style="text-align:left">{html.escape(n)}</th>' for n in names)
    body = "".join("<tr>" + "".join(_cell(_compact(r.get(n)), False) for n in names) + "</tr>" for r in rows)
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f"<div><p><b>{html.escape(title)}</b> ({len(rows)})</p>{table}</div>"


def _compact(value: Any) -> Any:
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return ", ".join(f"{a} {b}" for a, b in value)  # (column, type) pairs
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    return value


class Listing(list):  # type: ignore[type-arg]
    """A list (every list operation, equality and JSON as before) that also displays as an HTML table."""

    def __init__(self, items: Iterable[Any] = (), *, title: str = "") -> None:
        super().__init__(items)
        self.title = title

    def _repr_html_(self) -> str:
        return records_html((item if isinstance(item, dict) else item.to_dict() for item in self), self.title)


def to_pandas(table: pa.Table, *, decimals: str = "float") -> Any:
    """``table`` as a pandas DataFrame typed as DuckDB's ``.df()`` types it.

    Dates become ``datetime64``, decimals ``float64`` (``decimals="object"`` keeps ``Decimal``
    values), intervals ``timedelta64``, integer and boolean columns holding NULLs the nullable
    ``Int64``/``boolean`` dtypes (so the values are not turned into floats).
    """
    if decimals not in ("float", "object"):
        from fedquery.errors import InterfaceError

        raise InterfaceError(f"decimals must be 'float' or 'object', not {decimals!r}")
    try:
        import pandas as pd
    except ImportError:
        from fedquery.errors import ConnectorNotInstalledError

        raise ConnectorNotInstalledError("Result.df() needs pandas: pip install 'fedquery[notebook]'") from None
    columns: dict[str, pa.ChunkedArray] = {}
    intervals = []
    for field, column in zip(table.schema, table.columns):
        kind = field.type
        if pa.types.is_decimal(kind) and decimals == "float":
            # Through the decimal text: the nearest double, as DuckDB gives (a direct cast can be an ulp off).
            column = column.cast(pa.string()).cast(pa.float64())
        elif pa.types.is_date(kind):
            column = column.cast(pa.timestamp("us"))
        elif pa.types.is_interval(kind):
            intervals.append(field.name)
        columns[field.name] = column
    frame = pa.table(list(columns.values()), names=table.column_names).to_pandas()
    for field, column in zip(table.schema, table.columns):
        if column.null_count and (pa.types.is_integer(field.type) or pa.types.is_boolean(field.type)):
            dtype = "boolean" if pa.types.is_boolean(field.type) else _nullable_int(field.type)
            frame[field.name] = pd.array(column.to_pylist(), dtype=dtype)
        elif pa.types.is_boolean(field.type):
            frame[field.name] = frame[field.name].astype(bool)
    for name in intervals:
        # DuckDB counts a month as 30 days when it turns an interval into a timedelta.
        values = [None if v is None else pd.Timedelta(days=v.months * 30 + v.days, microseconds=v.nanoseconds // 1000)
                  for v in table.column(name).to_pylist()]  # fmt: skip
        frame[name] = pd.Series(values, dtype="timedelta64[us]", index=frame.index)
    return frame


def _nullable_int(kind: pa.DataType) -> str:
    unsigned = pa.types.is_unsigned_integer(kind)
    return f"{'U' if unsigned else ''}Int{kind.bit_width}"
