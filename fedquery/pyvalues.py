"""Python values of result columns, as DuckDB's own Python client gives them.

Arrow converts dates and timestamps to ``datetime`` objects, which cannot hold DuckDB's ``infinity``,
years after 9999 or years BC: ``to_pylist()`` raises ``OverflowError`` there. DuckDB's client gives
``date.max``/``date.min`` (and ``datetime.max``/``min``) for ``±infinity`` and DuckDB's text
(``'10000-01-01'``, ``'0044-03-15 (BC)'``) for the others; fedquery gives the same, and the text
formats print DuckDB's text (``infinity``) for such a column.

>>> import pyarrow as pa
>>> column_values(pa.array([0, 2932897, 2147483647], pa.date32()))
[datetime.date(1970, 1, 1), '10000-01-01', datetime.date(9999, 12, 31)]
>>> display_values(pa.array([0, 2147483647], pa.date32()))
['1970-01-01', 'infinity']
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

#: Python's date range in days and in seconds since 1970-01-01
_DAYS = (-719_162, 2_932_896)
_SECONDS = (-62_135_596_800, 253_402_300_799)
_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def column_values(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The column's values as Python objects (DuckDB's choice where Python's types cannot hold one)."""
    if not out_of_range(array):
        return array.to_pylist()  # type: ignore[no-any-return]
    return _through_duckdb(array, text=False)


def display_values(array: pa.Array | pa.ChunkedArray) -> list[Any]:
    """The column's values for display: a column holding a date Python cannot hold is DuckDB's text."""
    if not out_of_range(array):
        return array.to_pylist()  # type: ignore[no-any-return]
    return _through_duckdb(array, text=True)


def as_text_where_out_of_range(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with each temporal column that holds an out-of-range value cast to DuckDB's text."""
    wide = [out_of_range(column) for column in batch.columns]
    if not any(wide):
        return batch
    arrays = [
        pa.array(_through_duckdb(column, text=True), pa.string()) if outside else column
        for column, outside in zip(batch.columns, wide)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def out_of_range(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether a date or timestamp column holds a value outside Python's years 1 to 9999."""
    typ = array.type
    if pa.types.is_date32(typ):
        low, high, ints = _DAYS[0], _DAYS[1], pa.int32()
    elif pa.types.is_date64(typ):
        low, high, ints = _SECONDS[0] * 1000, _SECONDS[1] * 1000, pa.int64()
    elif pa.types.is_timestamp(typ):
        scale = _PER_SECOND[typ.unit]
        low, high, ints = _SECONDS[0] * scale, (_SECONDS[1] + 1) * scale - 1, pa.int64()
    else:
        return False
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    for chunk in chunks:
        if len(chunk) == chunk.null_count:
            continue
        bounds = pc.min_max(chunk.view(ints))
        if bounds["min"].as_py() < low or bounds["max"].as_py() > high:
            return True
    return False


def _through_duckdb(array: pa.Array | pa.ChunkedArray, *, text: bool) -> list[Any]:
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")  # timestamptz values keep the UTC offset Arrow gives them
        con.register("_column", pa.table({"v": array}))
        sql = "SELECT CAST(v AS VARCHAR) FROM _column" if text else "SELECT v FROM _column"
        return [row[0] for row in con.execute(sql).fetchall()]
    finally:
        con.close()
