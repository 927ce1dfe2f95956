"""Write Arrow results as table, csv, tsv, json, ndjson, markdown or parquet."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import IO, Any

import pyarrow as pa
import pyarrow.csv as pacsv

FORMATS = ("table", "csv", "tsv", "json", "ndjson", "markdown", "parquet")


def write(table: pa.Table, fmt: str, out: IO[bytes], *, max_rows: int | None = None) -> None:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(_plain(table), buffer)
        out.write(buffer.getvalue())
        return
    text = render(table, fmt, max_rows=max_rows)
    out.write(text.encode("utf-8"))


def render(table: pa.Table, fmt: str, *, max_rows: int | None = None) -> str:
    if fmt in ("csv", "tsv"):
        buffer = io.BytesIO()
        options = pacsv.WriteOptions(delimiter="\t" if fmt == "tsv" else ",")
        pacsv.write_csv(_plain(table), buffer, write_options=options)
        return buffer.getvalue().decode("utf-8")
    rows = _rows(table)
    if fmt == "json":
        return json.dumps([dict(zip(table.column_names, r)) for r in rows], default=_json_value, indent=2) + "\n"
    if fmt == "ndjson":
        return "".join(json.dumps(dict(zip(table.column_names, r)), default=_json_value) + "\n" for r in rows)
    shown = rows if max_rows is None else rows[:max_rows]
    cells = [[_cell(v) for v in r] for r in shown]
    if fmt == "markdown":
        header = "| " + " | ".join(table.column_names) + " |"
        rule = "| " + " | ".join("---" for _ in table.column_names) + " |"
        body = ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells]
        return "\n".join([header, rule, *body]) + "\n"
    if fmt == "table":
        return _text_table(table.column_names, cells, len(rows))
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    """A list of dicts (as the API returns) as an Arrow table for output."""
    if not rows:
        return pa.table({})
    return pa.table({k: [str(r[k]) if isinstance(r[k], list) else r[k] for r in rows] for k in rows[0]})


def _text_table(names: list[str], cells: list[list[str]], total: int) -> str:
    widths = [len(n) for n in names]
    for row in cells:
        widths = [max(w, min(len(c), 60)) for w, c in zip(widths, row)]

    def line(values: list[str]) -> str:
        return "│ " + " │ ".join(_fit(v, w) for v, w in zip(values, widths)) + " │"

    top = "┌─" + "─┬─".join("─" * w for w in widths) + "─┐"
    mid = "├─" + "─┼─".join("─" * w for w in widths) + "─┤"
    bottom = "└─" + "─┴─".join("─" * w for w in widths) + "─┘"
    out = [top, line(names), mid, *[line(r) for r in cells], bottom]
    footer = f"{total} row{'s' if total != 1 else ''}"
    if len(cells) < total:
        footer += f" ({len(cells)} shown)"
    return "\n".join(out) + "\n" + footer + "\n"


def _fit(value: str, width: int) -> str:
    return value.ljust(width) if len(value) <= width else value[: width - 1] + "…"


def _rows(table: pa.Table) -> list[tuple[Any, ...]]:
    columns = [c.to_pylist() for c in table.columns]
    return list(zip(*columns)) if columns else []


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e15 else repr(value)
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value) if value.as_tuple().exponent != 0 else int(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def _plain(table: pa.Table) -> pa.Table:
    """Replace view types, which some writers cannot take yet."""
    fields = []
    for f in table.schema:
        if pa.types.is_string_view(f.type):
            f = f.with_type(pa.string())
        elif pa.types.is_binary_view(f.type):
            f = f.with_type(pa.binary())
        fields.append(f)
    return table.cast(pa.schema(fields))
