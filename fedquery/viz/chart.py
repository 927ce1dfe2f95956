"""A chart of any result, with defaults chosen from its Arrow types.

Time on the x axis draws a line, a category beside a measure draws bars, two
measures a scatter, one measure a histogram; a second category colours the
marks. A result too large to draw point by point is aggregated (bars, lines,
histograms) or sampled (scatters) first, and the chart's subtitle says so:
nothing is cut silently.

>>> import pyarrow as pa
>>> t = pa.table({"region": ["London", "Midlands"], "claims": [12, 7]})
>>> choose(t.schema)
Choice(kind='bar', x='region', y='claims', color=None)
"""

from __future__ import annotations

import datetime as dt
import decimal
import random
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from fedquery.errors import ChartError, suggest
from fedquery.viz import KINDS, require

#: above this many rows a chart is drawn from an aggregate or a sample (Altair refuses more by default)
MAX_POINTS = 5000
#: bars beyond this many categories are unreadable: the largest are drawn, and the subtitle says how many
MAX_BARS = 60
HISTOGRAM_BINS = 30
WIDTH, HEIGHT = 640, 360


class Choice(NamedTuple):
    """What to draw: the mark and the columns on each channel (None: not used)."""

    kind: str
    x: str | None
    y: str | None
    color: str | None


@dataclass
class Prepared:
    """The rows to draw and the note that says how they were derived from the result ('' if as they are)."""

    table: pa.Table
    note: str
    binned: bool = False  # histogram bins computed here (bin_start, bin_end, count)
    aggregated: bool = False  # y already summed per x (and colour)


def role(data_type: pa.DataType) -> str:
    """``temporal``, ``measure`` or ``category``: how a column of this type is drawn.

    >>> role(pa.date32()), role(pa.decimal128(10, 2)), role(pa.string()), role(pa.bool_())
    ('temporal', 'measure', 'category', 'category')
    """
    if pa.types.is_temporal(data_type) and not pa.types.is_duration(data_type):
        return "temporal"
    if pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type):
        return "measure"
    if pa.types.is_duration(data_type):
        return "measure"
    return "category"


def choose(
    schema: pa.Schema, kind: str | None = None, x: str | None = None, y: str | None = None, color: str | None = None
) -> Choice:
    """Fill in what the caller left out from the columns' types; names and kind are checked (ChartError)."""
    if kind is not None and kind not in KINDS:
        raise ChartError(f"unknown chart kind {kind!r} (one of {', '.join(KINDS)}).{suggest(kind, KINDS)}")
    for channel, name in (("x", x), ("y", y), ("color", color)):
        if name is not None and name not in schema.names:
            columns = ", ".join(schema.names)
            hint = suggest(name, schema.names)
            raise ChartError(f"unknown column {name!r} for {channel} (columns: {columns}).{hint}")
    if not schema.names:
        raise ChartError("the result has no columns to chart")
    roles = {f.name: role(f.type) for f in schema}
    taken = {n for n in (x, y, color) if n}

    def first(wanted: str, skip: set[str] = taken) -> str | None:
        return next((n for n, r in roles.items() if r == wanted and n not in skip), None)

    if kind is None:
        kind = _default_kind(roles, x, y)
    if kind == "histogram":
        x = x or first("measure") or first("temporal") or schema.names[0]
        return Choice(kind, x, None, color or first("category", taken | {x}))
    if kind == "scatter":
        x = x or first("measure")
        y = y or first("measure", taken | {x} if x else taken)
        if x is None or y is None:
            raise ChartError("a scatter needs two numeric columns: name them with x= and y=")
        return Choice(kind, x, y, color or first("category", taken | {x, y}))
    if kind in ("line", "area"):
        x = x or first("temporal") or first("category") or first("measure")
    else:  # bar
        x = x or first("category") or first("temporal")
    y = y or first("measure", taken | {x} if x else taken)
    if x is None:
        raise ChartError(f"a {kind} chart needs a column for x: name it with x=")
    used = {n for n in (x, y) if n}
    return Choice(kind, x, y, color or first("category", taken | used))


def _default_kind(roles: dict[str, str], x: str | None, y: str | None) -> str:
    kinds = list(roles.values())
    if (x and roles[x] == "temporal") or (x is None and "temporal" in kinds and "measure" in kinds):
        return "line"
    if x and y and roles[x] == "measure" and roles[y] == "measure":
        return "scatter"
    if (x and roles[x] == "category") or (x is None and "category" in kinds):
        return "bar"
    if kinds.count("measure") >= 2 or (x and roles[x] == "measure" and y):
        return "scatter"
    return "histogram"


def prepare(table: pa.Table, choice: Choice, max_points: int = MAX_POINTS) -> Prepared:
    """The rows to draw: the result itself when small, else an aggregate or a sample with a note saying so."""
    rows = table.num_rows
    columns = [c for c in dict.fromkeys((choice.x, choice.y, choice.color)) if c]
    table = table.select(columns)
    if choice.kind == "histogram":
        if rows <= max_points:
            return Prepared(table, "")
        return Prepared(_bins(table, choice), f"binned from {rows:,} rows", binned=True)
    if choice.kind == "scatter":
        if rows <= max_points:
            return Prepared(table, "")
        picked = sorted(random.Random(0).sample(range(rows), max_points))
        return Prepared(table.take(pa.array(picked)), f"a random sample of {max_points:,} of {rows:,} rows")
    keys = [c for c in (choice.x, choice.color) if c]
    note, aggregated = "", False
    if not _unique(table, keys):  # several rows per mark: summed (a no-op aggregate is not done, nor noted)
        table = table.group_by(keys, use_threads=False).aggregate([(choice.y, "sum")])
        table = table.rename_columns([choice.y if n == f"{choice.y}_sum" else n for n in table.column_names])
        aggregated = True
        if rows > max_points:
            note = f"sum of {choice.y} per {' and '.join(keys)}, aggregated from {rows:,} rows"
    if choice.kind == "bar":
        categories = pc.unique(table[choice.x])  # type: ignore[index]
        if len(categories) > MAX_BARS:
            totals = table.group_by([choice.x]).aggregate([(choice.y, "sum")])
            top = totals.sort_by([(f"{choice.y}_sum", "descending")]).slice(0, MAX_BARS)[choice.x]
            table = table.filter(pc.is_in(table[choice.x], top))  # type: ignore[index]
            shown = f"the {MAX_BARS} largest of {len(categories):,} {choice.x} values shown"
            note = f"{note}; {shown}" if note else shown
    elif table.num_rows > max_points:
        step = -(-table.num_rows // max_points)
        total = table.num_rows
        table = table.sort_by([(choice.x, "ascending")]).take(pa.array(range(0, total, step)))  # type: ignore[list-item]
        drawn = f"one in {step} of {total:,} points drawn"
        note = f"{note}; {drawn}" if note else drawn
    return Prepared(table, note, aggregated=aggregated)


def _counted(table: pa.Table, choice: Choice) -> tuple[pa.Table, Choice]:
    """Bars or lines of categories alone: the rows per x (and colour), counted here, exactly, whatever the size."""
    keys = [c for c in (choice.x, choice.color) if c]
    name = next(n for n in ("rows", "row_count", "_rows") if n not in keys)
    counted = table.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    counted = counted.rename_columns([name if n == "count_all" else n for n in counted.column_names])
    return counted, choice._replace(y=name)


def _unique(table: pa.Table, keys: list[str]) -> bool:
    return table.group_by(keys, use_threads=False).aggregate([]).num_rows == table.num_rows


def _bins(table: pa.Table, choice: Choice) -> pa.Table:
    """Equal-width bins over x (and colour), counted here so that millions of rows become 30 bars."""
    assert choice.x is not None
    values = table[choice.x]
    if not pa.types.is_floating(values.type):
        values = pc.cast(values, pa.float64())
    low, high = pc.min_max(values).values()
    low_v, high_v = float(low.as_py() or 0.0), float(high.as_py() or 0.0)
    width = (high_v - low_v) / HISTOGRAM_BINS or 1.0
    index = pc.min_element_wise(pc.floor(pc.divide(pc.subtract(values, low_v), width)), HISTOGRAM_BINS - 1)
    binned = pa.table({"bin": index} | ({choice.color: table[choice.color]} if choice.color else {}))
    keys = ["bin"] + ([choice.color] if choice.color else [])
    counted = binned.filter(pc.is_valid(binned["bin"])).group_by(keys).aggregate([("bin", "count")])
    start = pc.add(pc.multiply(counted["bin"], width), low_v)
    out = {"bin_start": start, "bin_end": pc.add(start, width), "count": counted["bin_count"]}
    if choice.color:
        out[choice.color] = counted[choice.color]
    return pa.table(out)


def chart(
    table: pa.Table,
    kind: str | None = None,
    x: str | None = None,
    y: str | None = None,
    color: str | None = None,
    title: str | None = None,
    *,
    max_points: int = MAX_POINTS,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Any:
    """An Altair chart of ``table``; see the module docstring for the defaults."""
    alt = require("altair")
    choice = choose(table.schema, kind, x, y, color)
    if choice.y is None and choice.kind not in ("scatter", "histogram"):
        table, choice = _counted(table, choice)
    prepared = prepare(table, choice, max_points)
    types = {f.name: _TYPE[role(f.type)] for f in table.schema}
    data = alt.Data(values=_records(prepared.table))
    base = alt.Chart(data)
    encoding: dict[str, Any] = {}
    if choice.kind == "histogram" and prepared.binned:
        mark = base.mark_bar()
        encoding["x"] = alt.X("bin_start:Q", bin="binned", title=choice.x)
        encoding["x2"] = alt.X2("bin_end:Q")
        encoding["y"] = alt.Y("count:Q", title="rows")
    elif choice.kind == "histogram":
        mark = base.mark_bar()
        encoding["x"] = alt.X(f"{choice.x}:Q", bin=alt.Bin(maxbins=HISTOGRAM_BINS))
        encoding["y"] = alt.Y("count():Q", title="rows")
    else:
        mark = {
            "bar": base.mark_bar,
            "line": base.mark_line,
            "area": base.mark_area,
            "scatter": base.mark_point,
        }[choice.kind]()
        x_type = types[choice.x]  # type: ignore[index]
        if choice.kind == "bar" and x_type == "quantitative":
            x_type = "ordinal"
        x_options: dict[str, Any] = {"sort": "-y"} if choice.kind == "bar" and choice.y and x_type == "nominal" else {}
        encoding["x"] = alt.X(f"{choice.x}:{_CODE[x_type]}", **x_options)
        y_title = f"{choice.y} (sum)" if prepared.aggregated else choice.y
        encoding["y"] = alt.Y(f"{choice.y}:Q", title=y_title)
    if choice.color:
        encoding["color"] = alt.Color(f"{choice.color}:{_CODE[types[choice.color]]}")
    if not (choice.kind == "histogram" and not prepared.binned):  # a bin's tooltip is Vega-Lite's own
        drawn = {f.name: _CODE[_TYPE[role(f.type)]] for f in prepared.table.schema}
        encoding["tooltip"] = [alt.Tooltip(f"{name}:{code}") for name, code in drawn.items()]
    # "fit" sizes the whole picture (axes, legend, titles) to width x height: exported files have that size
    autosize = alt.AutoSizeParams(type="fit", contains="padding")
    result = mark.encode(**encoding).properties(width=width, height=height, autosize=autosize)
    if title or prepared.note:
        result = result.properties(title=alt.TitleParams(text=title or "", subtitle=prepared.note or alt.Undefined))
    return result


_TYPE = {"temporal": "temporal", "measure": "quantitative", "category": "nominal"}
_CODE = {"temporal": "T", "quantitative": "Q", "nominal": "N", "ordinal": "O"}


def _records(table: pa.Table) -> list[dict[str, Any]]:
    """JSON-ready rows: dates as ISO text, decimals as floats (Vega-Lite reads both)."""
    names = table.column_names
    columns = [[_json(v) for v in column.to_pylist()] for column in table.columns]
    return [dict(zip(names, row)) for row in zip(*columns)]


def _json(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    return value
