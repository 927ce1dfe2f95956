"""Write Arrow results as table, vertical, csv, tsv, json, ndjson, markdown or parquet, batch by batch.

Every format streams from a ``RecordBatchReader``: nothing holds the whole
result (the table format keeps its first and last rows, ``max_rows`` in all, and
counts the rest; see :mod:`fedquery.boxtable`). ``vertical`` prints one field per
line, a record at a time (as MySQL's ``\\G``).

What reaches a terminal is made safe: control characters (C0, DEL, C1), line
and paragraph separators and bidirectional overrides in data, names and
messages are shown as visible escapes (``\\x1b``, ``\\u202e``), so data cannot
move the cursor, retitle the window or reorder what is shown. The table and
markdown formats always escape (a newline inside a cell shows as ``\\n``);
CSV and TSV escape only when written to a terminal, and are exact to a file or
a pipe; JSON and NDJSON escape by themselves; Parquet is never written to a
terminal.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pyarrow is imported where rows are written: the CLI starts without it
    import pyarrow as pa

FORMATS = ("table", "vertical", "csv", "tsv", "json", "ndjson", "markdown", "parquet")

# C0 controls but tab and newline, DEL, C1 controls, Arabic letter mark, LRM/RLM, line and paragraph
# separators, bidi embeddings/overrides and isolates.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_TEXT = re.compile(f"[{_UNSAFE}]")
_UNSAFE_CELL = re.compile(f"[\t\n{_UNSAFE}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def safe(text: str, *, multiline: bool = True) -> str:
    """``text`` with its terminal-controlling characters shown as escapes.

    ``multiline`` keeps newlines and tabs (messages, EXPLAIN); otherwise they are escaped too (cells).

    >>> safe("a\\x1b[2Jb\\u202ec")
    'a\\\\x1b[2Jb\\\\u202ec'
    >>> safe("two\\nlines"), safe("two\\nlines", multiline=False)
    ('two\\nlines', 'two\\\\nlines')
    """
    pattern = _UNSAFE_TEXT if multiline else _UNSAFE_CELL
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def write(
    table: pa.Table,
    fmt: str,
    out: IO[bytes],
    *,
    max_rows: int | None = None,
    terminal: bool = False,
    width: int | None = None,
    wrap: bool = False,
) -> None:
    """Write a whole table (see :func:`write_stream`)."""
    write_stream(table.to_reader(), fmt, out, max_rows=max_rows, terminal=terminal, width=width, wrap=wrap)


def write_stream(
    reader: pa.RecordBatchReader,
    fmt: str,
    out: IO[bytes],
    *,
    max_rows: int | None = None,
    terminal: bool = False,
    width: int | None = None,
    wrap: bool = False,
) -> int:
    """Write ``reader`` to ``out`` batch by batch; returns the number of rows.

    ``terminal``: ``out`` is a terminal, so CSV/TSV escape control characters as the table does.
    ``max_rows`` limits the rows shown by the table, vertical and markdown formats (the rest are counted;
    the table shows the first and the last rows). ``width``: the table fits this many terminal cells;
    ``wrap``: its long values continue on further lines instead of being cut.
    """
    if fmt == "parquet":
        return _parquet(reader, out)
    if fmt in ("csv", "tsv"):
        return _csv(reader, out, "\t" if fmt == "tsv" else ",", terminal)
    if fmt == "json":
        return _json(reader, out)
    if fmt == "ndjson":
        rows = 0
        for names, row in _records(reader):
            out.write((json.dumps(dict(zip(names, row)), default=_json_value) + "\n").encode("utf-8"))
            rows += 1
        return rows
    if fmt == "markdown":
        return _markdown(reader, out, max_rows)
    if fmt == "table":
        return _table(reader, out, max_rows, width, wrap)
    if fmt == "vertical":
        return _vertical(reader, out, max_rows)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render(table: pa.Table, fmt: str, *, max_rows: int | None = None, width: int | None = None) -> str:
    """A whole (small) table as text."""
    buffer = io.BytesIO()
    write(table, fmt, buffer, max_rows=max_rows, width=width)
    return buffer.getvalue().decode("utf-8")


def rows_table(rows: list[dict[str, Any]]) -> pa.Table:
    """A list of dicts (as the API returns) as an Arrow table for output."""
    import pyarrow as pa

    if not rows:
        return pa.table({})
    return pa.table({k: [str(r[k]) if isinstance(r[k], list) else r[k] for r in rows] for k in rows[0]})


# -- writers ----------------------------------------------------------------------------------------
def _table(reader: pa.RecordBatchReader, out: IO[bytes], max_rows: int | None, width: int | None, wrap: bool) -> int:
    """The box table: the first ``max_rows // 2`` rows (rounded up) and the last rows, the rest counted."""
    from fedquery import boxtable
    from fedquery.typenames import is_numeric, sql_type

    schema = reader.schema
    first = None if max_rows is None else (max_rows + 1) // 2
    last = 0 if max_rows is None else max_rows - (first or 0)
    head: list[pa.RecordBatch] = []
    kept = 0
    tail: list[pa.RecordBatch] = []  # the last ``last`` rows seen after the head, as slices (no copies)
    in_tail = 0
    total = 0
    for batch in reader:
        total += batch.num_rows
        if first is None or kept < first:
            take = batch.num_rows if first is None else min(batch.num_rows, first - kept)
            head.append(batch.slice(0, take))
            kept += take
            batch = batch.slice(take)
        if last and batch.num_rows:
            tail.append(batch.slice(max(0, batch.num_rows - last)))
            in_tail += tail[-1].num_rows
            while tail and in_tail - tail[0].num_rows >= last:
                in_tail -= tail.pop(0).num_rows
    tail_rows = [r for b in tail for r in _batch_rows(b)][-last:] if last else []
    text = boxtable.box(
        schema.names,
        [sql_type(f.type) for f in schema],
        [is_numeric(f.type) for f in schema],
        [[_cell(v) for v in r] for b in head for r in _batch_rows(b)],
        [[_cell(v) for v in r] for r in tail_rows],
        total,
        width=width,
        wrap=wrap,
    )
    out.write(text.encode("utf-8"))
    return total


def _vertical(reader: pa.RecordBatchReader, out: IO[bytes], max_rows: int | None) -> int:
    """One field per line, names right-aligned, a numbered rule before each record."""
    from fedquery.boxtable import width_of

    names = [safe(n, multiline=False) for n in reader.schema.names]
    label = max((width_of(n) for n in names), default=0)
    rows = 0
    for batch in reader:
        shown = batch if max_rows is None else batch.slice(0, max(0, max_rows - rows))
        for row in _batch_rows(shown):
            rows += 1
            lines = [f"{'*' * 27} {rows}. row {'*' * 27}"]
            lines += [" " * (label - width_of(n)) + f"{n}: {_cell(v)}" for n, v in zip(names, row)]
            out.write(("\n".join(lines) + "\n").encode("utf-8"))
        rows += batch.num_rows - shown.num_rows
    shown_rows = rows if max_rows is None else min(rows, max_rows)
    footer = f"{rows} row{'s' if rows != 1 else ''}" + (f" ({shown_rows} shown)" if shown_rows < rows else "")
    out.write((footer + "\n").encode("utf-8"))
    return rows


def _csv(reader: pa.RecordBatchReader, out: IO[bytes], delimiter: str, terminal: bool) -> int:
    import pyarrow.csv as pacsv

    schema = _plain_schema(reader.schema)
    rows = 0
    buffer = io.BytesIO()
    header = True
    from fedquery.pyvalues import as_text_where_out_of_range

    for batch in reader:
        batch = as_text_where_out_of_range(batch.cast(schema))  # DuckDB's text for 'infinity' and years > 9999
        pacsv.write_csv(batch, buffer, write_options=pacsv.WriteOptions(delimiter=delimiter, include_header=header))
        header = False
        _flush(buffer, out, terminal)
        rows += batch.num_rows
    if header:  # no batch at all: still the header line
        pacsv.write_csv(schema.empty_table(), buffer, write_options=pacsv.WriteOptions(delimiter=delimiter))
        _flush(buffer, out, terminal)
    return rows


def _flush(buffer: io.BytesIO, out: IO[bytes], terminal: bool) -> None:
    data = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    if terminal:
        data = safe(data.decode("utf-8")).encode("utf-8")
    out.write(data)


def _json(reader: pa.RecordBatchReader, out: IO[bytes]) -> int:
    rows = 0
    for names, row in _records(reader):
        text = json.dumps(dict(zip(names, row)), default=_json_value, indent=2).replace("\n", "\n  ")
        out.write((("[\n  " if rows == 0 else ",\n  ") + text).encode("utf-8"))
        rows += 1
    out.write(b"\n]\n" if rows else b"[]\n")
    return rows


def _markdown(reader: pa.RecordBatchReader, out: IO[bytes], max_rows: int | None) -> int:
    names = [_md(safe(n, multiline=False)) for n in reader.schema.names]
    out.write(("| " + " | ".join(names) + " |\n| " + " | ".join("---" for _ in names) + " |\n").encode("utf-8"))
    rows = 0
    for batch in reader:
        shown = batch if max_rows is None else batch.slice(0, max(0, max_rows - rows))
        lines = ("| " + " | ".join(_md(_cell(v)) for v in r) + " |\n" for r in _batch_rows(shown))
        out.write("".join(lines).encode("utf-8"))
        rows += batch.num_rows
    return rows


def _parquet(reader: pa.RecordBatchReader, out: IO[bytes]) -> int:
    import pyarrow.parquet as pq

    schema = _plain_schema(reader.schema)
    rows = 0
    with pq.ParquetWriter(_Sink(out), schema) as writer:
        for batch in reader:
            writer.write_batch(batch.cast(schema))
            rows += batch.num_rows
    return rows


class _Sink:
    """A write-only stream that knows its position (the Parquet writer asks; pipes cannot tell)."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        self.closed = True


# -- values -----------------------------------------------------------------------------------------
def _records(reader: pa.RecordBatchReader) -> Iterable[tuple[list[str], tuple[Any, ...]]]:
    names = reader.schema.names
    for batch in reader:
        for row in _batch_rows(batch):
            yield names, row


def _batch_rows(batch: pa.RecordBatch) -> list[tuple[Any, ...]]:
    from fedquery.pyvalues import display_values

    columns = [display_values(c) for c in batch.columns]
    return list(zip(*columns)) if columns else []


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _cell(value: Any) -> str:
    from fedquery.boxtable import cell_text

    return cell_text(value)


def _json_value(value: Any) -> Any:
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value) if value.as_tuple().exponent != 0 else int(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def _plain_schema(schema: pa.Schema) -> pa.Schema:
    """View types replaced, which some writers cannot take yet."""
    import pyarrow as pa

    fields = []
    for f in schema:
        if pa.types.is_string_view(f.type):
            f = f.with_type(pa.string())
        elif pa.types.is_binary_view(f.type):
            f = f.with_type(pa.binary())
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)
