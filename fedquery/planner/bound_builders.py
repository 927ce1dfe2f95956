"""Cap the values the local SQL builds inside one function call.

DuckDB's memory limit does not cover a list or string built inside a function call
(``range(200000000)`` reached 14 GB at a 500 MB limit) and it checks interrupts only
between vectors, so the watchdog of :mod:`fedquery.memory` cannot stop such a call. So
each builder whose output size follows from its arguments (``range``/``generate_series``,
``repeat``, ``lpad``/``rpad``, ``list_resize``/``array_resize``, ``to_base``, ``bitstring``,
``bar``, ``printf``/``format`` widths) is bounded here:

- arguments that are literals: checked now, refused with a ResourceError (phase planning);
- other arguments: the size argument becomes ``CASE WHEN size > cap THEN error(...) ELSE
  size END``, so DuckDB fails the query before it allocates (a ResourceError too).

A list that is only turned into rows (``unnest(range(...))`` with no column in its
arguments) is built once and may take an eighth of the budget. Any other value may be
built per row, or copied per row by a join, so it may take ``memory_limit / (2 × 2048 ×
threads)``: a vector of 2,048 such values on every thread stays within half the budget
(30 KB at 500 MB and 4 threads).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.errors import ResourceError, format_size
from fedquery.memory import BUILDER_MARKER, parse_size

if TYPE_CHECKING:
    from fedquery.planner.context import PlanContext

#: DuckDB's vector: a function call builds this many values at once
VECTOR = 2048
#: bytes one element of a generated list takes (value and validity, with slack for copies)
LIST_ELEMENT = 16
_WIDTH = re.compile(r"\d+")


def bound_builders(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Bound the builders of the query by ``[settings] memory_limit`` (see :func:`bound`).

    It runs before anything is placed or typed: typing a fragment runs it in DuckDB over
    empty tables, where a builder of literals is still evaluated; and a guard travels with
    its builder, to a DuckDB-file source (in this process) as to the local SQL. Where the
    guard's ``error()`` cannot be pushed, the builder stays local, guarded.
    """
    settings = context.catalog.config.settings
    return bound(expression, parse_size(settings.memory_limit), settings.threads or os.cpu_count() or 1)


def bound(expression: exp.Expr, limit: int, threads: int) -> exp.Expr:
    """Refuse literal builders past their cap; guard the others at run time.

    >>> import sqlglot
    >>> bound(sqlglot.parse_one("SELECT repeat(s, n) FROM t", read="duckdb"), 500_000_000, 4).sql("duckdb")
    "SELECT REPEAT(s, CASE WHEN LENGTH(s) * n > 30517 THEN ERROR('fedquery: value past the memory budget: \
REPEAT() would build a value of more than 30.5KB') ELSE n END) FROM t"
    >>> bound(sqlglot.parse_one("SELECT unnest(range(200000000))", read="duckdb"), 500_000_000, 4)
    Traceback (most recent call last):
    ...
    fedquery.errors.ResourceError: RANGE() would build a value of 3.2GB, more than the 62.5MB one value may \
take (memory_limit 500MB, while planning)
    >>> bound(sqlglot.parse_one("SELECT range(a.id) FROM a", read="duckdb"), 500_000_000, 4).sql("duckdb")
    "SELECT RANGE(0, CASE WHEN CAST((a.id) - (0) AS DOUBLE) * 16 > 30517 THEN ERROR('fedquery: value past the \
memory budget: RANGE() would build a value of more than 30.5KB') ELSE a.id END) FROM a"
    """
    caps = (limit // 8, max(4096, limit // (2 * VECTOR * threads)))
    for node in list(expression.find_all(exp.GenerateSeries, exp.Repeat, exp.Pad, exp.Anonymous, exp.Format)):
        _bound_one(node, limit, caps)
    return expression


def _bound_one(node: exp.Expr, limit: int, caps: tuple[int, int]) -> None:
    sizing = _sizing(node)
    if sizing is None:
        return
    argument, size = sizing
    constant = not any(isinstance(n, (exp.Column, exp.Query)) for arg in node.iter_expressions() for n in arg.walk())
    once = constant and isinstance(node.parent, exp.Explode)
    cap = caps[0] if once else caps[1]
    name = _name(node)
    if isinstance(size, int):
        if size > cap:
            raise ResourceError(
                f"{name}() would build a value of {format_size(size)}, more than the {format_size(cap)} "
                f"one value may take",
                limit=limit,
                phase="planning",
            )
        return
    if size is None or argument is None:
        return  # not bounded by its arguments' text (documented: the watchdog only)
    message = f"{BUILDER_MARKER} {name}() would build a value of more than {format_size(cap)}"
    error = exp.Anonymous(this="error", expressions=[exp.Literal.string(message)])
    check = exp.GT(this=size, expression=exp.Literal.number(cap))
    guarded = exp.Case(ifs=[exp.If(this=check, true=error)], default=argument.copy())
    argument.replace(guarded)


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper()
    return node.sql("duckdb").split("(", 1)[0]


def _sizing(node: exp.Expr) -> tuple[exp.Expr | None, int | exp.Expr | None] | None:
    """The argument that sets the size, and the size in bytes: an int when it follows from
    literals, an expression of the arguments, or None when it cannot be told from the text."""
    if isinstance(node, exp.GenerateSeries):
        if isinstance(node.parent, exp.Table):
            return None  # a table function streams its rows (and only catalog tables reach FROM)
        values = [_number(node.args.get(k)) for k in ("start", "end", "step")]
        start, end, step = values[0], values[1], values[2] if node.args.get("step") else 1
        if start is not None and end is not None and step is not None and step != 0:
            count = max(0, int((end - start) / step) + (0 if node.args.get("is_end_exclusive", True) else 1))
            return None, count * LIST_ELEMENT
        return _by_series(node)
    if isinstance(node, exp.Repeat):
        this, times = node.this, node.args.get("times")
        if times is None:
            return None
        literal_times, literal_this = _number(times), this.name if _is_string(this) else None
        if literal_times is not None and literal_this is not None:
            return times, int(literal_times) * len(literal_this.encode())
        return times, exp.Mul(this=exp.Length(this=this.copy()), expression=times.copy())
    if isinstance(node, exp.Pad):
        return _by_argument(node.args.get("expression"), 4)
    if isinstance(node, exp.Format):
        return _by_format(node.this)
    if isinstance(node, exp.Anonymous):
        name, args = str(node.this).lower(), node.expressions
        positions = {"list_resize": (1, LIST_ELEMENT), "array_resize": (1, LIST_ELEMENT), "to_base": (2, 1)}
        positions |= {"bitstring": (1, 1), "bar": (3, 3)}
        if name in positions and len(args) > positions[name][0]:
            index, factor = positions[name]
            return _by_argument(args[index], factor)
        if name in ("printf", "format") and args:
            return _by_format(args[0])
    return None


def _by_series(node: exp.Expr) -> tuple[exp.Expr | None, exp.Expr | None]:
    """A numeric series computed from columns: its element count, guarded on its end. A temporal
    one (an interval step, a date or timestamp bound) is not told from the text."""
    start, end, step = (node.args.get(k) for k in ("start", "end", "step"))
    if end is None or any(_temporal(a) for a in (start, end, step) if a is not None):
        return None, None
    span = exp.Sub(this=exp.paren(end.copy()), expression=exp.paren((start or exp.Literal.number(0)).copy()))
    count = exp.Div(this=span, expression=exp.paren(step.copy())) if step is not None else span
    return end, exp.Mul(this=_double(count), expression=exp.Literal.number(LIST_ELEMENT))


def _double(size: exp.Expr) -> exp.Expr:
    """In DOUBLE, so that the size check itself cannot overflow an INTEGER."""
    return exp.cast(size.copy(), exp.DataType.Type.DOUBLE)


def _temporal(node: exp.Expr) -> bool:
    if isinstance(node, (exp.Interval, exp.Literal)) and not (isinstance(node, exp.Literal) and node.is_number):
        return True
    if isinstance(node, exp.Neg):
        return _temporal(node.this)
    return isinstance(node, exp.Cast) and not node.to.is_type(*exp.DataType.NUMERIC_TYPES)


def _by_argument(argument: exp.Expr | None, factor: int) -> tuple[exp.Expr | None, int | exp.Expr | None] | None:
    if argument is None:
        return None
    literal = _number(argument)
    if literal is not None:
        return argument, int(literal) * factor
    size = argument.copy() if factor == 1 else exp.Mul(this=_double(argument), expression=exp.Literal.number(factor))
    return argument, size


def _by_format(template: exp.Expr) -> tuple[exp.Expr | None, int | exp.Expr | None]:
    """A printf/format template: its widths and precisions as written (a computed template: not told)."""
    if not _is_string(template):
        return None, None
    widths = [int(w) for w in _WIDTH.findall(template.name)]
    return None, max(widths, default=0)


def _is_string(node: exp.Expr) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _number(node: exp.Expr | None) -> float | None:
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    return None
