"""Cardinality and size estimates for fragments, from table statistics.

Textbook estimation (System R and after): a filter keeps a fraction of its table's
rows, from the column's min/max for ranges, its distinct count for equality and IN,
its null count for IS NULL, and fixed guesses where nothing is known; conjuncts
multiply (independence); an equi-join keeps ``1 / max(distinct left, distinct right)``
of the cross product; GROUP BY keeps at most the product of its keys' distinct
counts. Estimates only steer costs (which side reduces which, whether to
pre-aggregate): a bad estimate costs time, never a wrong answer.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from fedquery.planner.tree import conjuncts, from_items

if TYPE_CHECKING:
    from connectors.base import ColumnStats
    from fedquery.catalog import CatalogTable
    from fedquery.planner.context import PlanContext

#: Guesses where statistics say nothing (as PostgreSQL's DEFAULT_EQ_SEL and friends).
EQUALITY = 0.005
RANGE = 1 / 3
LIKE = 0.05
OTHER = 0.25
SUBQUERY = 0.5
GROUP_FRACTION = 0.1


def estimate_query(query: exp.Expr, context: PlanContext) -> int | None:
    """Estimated rows ``query`` returns, or None where a table's row count is unknown."""
    rows = _query(query, context)
    return None if rows is None else max(1, int(round(rows)))


#: what sending a row costs beside its values (a length word per value and per row, one call per row)
ROW_OVERHEAD_BYTES = 8
#: a DECIMAL arrives from a database as text that is parsed: it weighs as this many bytes more
DECIMAL_PARSE_BYTES = 16


def transfer_weight(schema: pa.Schema) -> int:
    """What sending one row of ``schema`` from a database costs, in bytes: its width, the per-row
    overhead, and the parsing of each DECIMAL (the partial-aggregation cost rule weighs it)."""
    decimals = sum(1 for f in schema if pa.types.is_decimal(f.type))
    return row_width(schema) + ROW_OVERHEAD_BYTES + DECIMAL_PARSE_BYTES * decimals


def row_width(schema: pa.Schema) -> int:
    """Bytes per row in Arrow, with a typical length for variable-width values."""
    width = 0
    for f in schema:
        t = f.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t):
            width += 4 + 20
        else:
            try:
                width += max(1, t.bit_width // 8)
            except ValueError:
                width += 16
    return width


# -- queries -----------------------------------------------------------------------------------------
def _query(query: exp.Expr, context: PlanContext) -> float | None:
    if isinstance(query, exp.Subquery):
        return _query(query.this, context)
    if isinstance(query, exp.SetOperation):
        left, right = _query(query.left, context), _query(query.right, context)
        if left is None or right is None:
            return None
        return left + right
    if not isinstance(query, exp.Select):
        return None
    tables = _tables(query, context)
    items = from_items(query)
    rows = 1.0
    for item in items:
        if isinstance(item, exp.Table) and item.alias_or_name in tables:
            count = tables[item.alias_or_name].estimated_rows()
            if count is None:
                return None
            rows *= max(1, count)
        elif isinstance(item, exp.Subquery):
            inner = _query(item.this, context)
            if inner is None:
                return None
            rows *= max(1.0, inner)
        else:
            return None
    # Joins first: a LEFT JOIN keeps at least every row of its left side, and a filter on its NULL-extended
    # side's column being NULL (the anti-join pattern) keeps the unmatched rows, not the column's nulls.
    unmatched: dict[str, float] = {}
    for join in query.args.get("joins") or []:
        on = join.args.get("on")
        kept = math.prod(selectivity(p, tables, context) for p in (conjuncts(on) if on is not None else []))
        right = join.this
        count = tables[right.alias_or_name].estimated_rows() if right.alias_or_name in tables else None
        if join.side == "LEFT" and join.kind in ("", "OUTER") and count:
            left = rows / max(1, count)
            # A left row is matched at most as often as its keys occur on the right (containment), and
            # matched rows are no more than the join's own rows.
            matched = min(_contained(on, right.alias_or_name, tables), rows * kept / max(1.0, left))
            inner, alone = rows * kept, left * max(0.0, 1.0 - matched)
            rows = max(1.0, inner + alone)  # the matches, and each unmatched left row once
            unmatched[right.alias_or_name] = alone / rows
        else:
            rows *= kept
    where = query.args.get("where")
    filters = conjuncts(where.this) if where is not None else []
    for predicate in list(filters):
        extended = _null_extended(predicate, unmatched)
        if extended is not None:
            rows *= extended
            filters.remove(predicate)
    rows *= conjunction_selectivity(filters, tables, context)
    group = query.args.get("group")
    if group is not None:
        groups = group_count(rows, list(group.expressions), tables)
        having = query.args.get("having")
        if having is not None:
            size = rows / max(1.0, groups)
            groups *= math.prod(_having_selectivity(p, tables, size) for p in conjuncts(having.this))
        rows = groups
    elif any(p.find(exp.AggFunc) for p in query.expressions):
        rows = 1.0
    elif query.args.get("distinct") is not None:
        rows = group_count(rows, [p.unalias() for p in query.expressions], tables)
    limit = query.args.get("limit")
    if limit is not None and isinstance(limit.expression, exp.Literal) and limit.expression.is_int:
        rows = min(rows, float(limit.expression.to_py()))
    return max(1.0, rows)


def _contained(on: exp.Expr | None, alias: str, tables: dict[str, CatalogTable]) -> float:
    """The fraction of left rows whose join keys occur on the right side ``alias``: for each equality
    ``left = right``, the right column's distinct values over the left's (at most 1; 1 where unknown)."""
    fraction = 1.0
    for predicate in conjuncts(on) if on is not None else []:
        if not isinstance(predicate, exp.EQ):
            continue
        sides = [c for c in (predicate.left, predicate.right) if isinstance(c, exp.Column)]
        inner = [c for c in sides if c.table == alias]
        outer = [c for c in sides if c.table != alias]
        if len(inner) != 1 or len(outer) != 1:
            continue
        right, left = _distinct(inner[0], tables), _distinct(outer[0], tables)
        if right is not None and left:
            fraction *= min(1.0, right / left)
    return fraction


def _null_extended(predicate: exp.Expr, unmatched: dict[str, float]) -> float | None:
    """What ``col IS [NOT] NULL`` keeps where ``col`` is of a LEFT JOIN's NULL-extended side (``unmatched``:
    alias -> the fraction of the join's rows that are unmatched left rows); None for any other predicate."""
    negated = isinstance(predicate, exp.Not)
    test = predicate.this if negated else predicate
    if not (isinstance(test, exp.Is) and isinstance(test.expression, exp.Null) and isinstance(test.this, exp.Column)):
        return None
    fraction = unmatched.get(test.this.table)
    if fraction is None:
        return None
    fraction = min(1.0, max(fraction, 1e-4))
    return 1.0 - fraction if negated else fraction


def group_count(rows: float, keys: list[exp.Expr], tables: dict[str, CatalogTable]) -> float:
    """Groups (or distinct rows) that ``rows`` rows form on ``keys``, from the keys' distinct counts."""
    product = 1.0
    for key in keys:
        distinct = _distinct(key, tables)
        product *= distinct if distinct is not None else max(1.0, rows * GROUP_FRACTION)
        if product >= rows:
            return rows
    return min(rows, product)


# -- predicates --------------------------------------------------------------------------------------
def selectivity(predicate: exp.Expr, tables: dict[str, CatalogTable], context: PlanContext | None = None) -> float:
    """The fraction of rows ``predicate`` keeps (a join condition: of the cross product).

    With ``context``, ``x IN (subquery)`` is estimated from the subquery's own estimate.
    """
    s = _selectivity(predicate, tables, context)
    return min(1.0, max(s, 1e-9))


def conjunction_selectivity(
    predicates: list[exp.Expr], tables: dict[str, CatalogTable], context: PlanContext | None = None
) -> float:
    """Conditions that all hold: independent, except a lower and an upper bound on one column.

    ``d >= a AND d < b`` keeps ``s(d >= a) + s(d < b) - 1`` of the rows, not their product
    (as PostgreSQL's clauselist_selectivity pairs range bounds).
    """
    result = 1.0
    bounds: dict[str, dict[str, float]] = {}
    for predicate in predicates:
        bound = _bound(predicate, tables)
        if bound is None:
            result *= selectivity(predicate, tables, context)
            continue
        column, side = bound
        s = selectivity(predicate, tables)
        bounds.setdefault(column, {})[side] = min(s, bounds.get(column, {}).get(side, 1.0))
    for sides in bounds.values():
        if len(sides) == 2:
            result *= max(sides["low"] + sides["high"] - 1.0, 1e-4)
        else:
            result *= next(iter(sides.values()))
    return min(1.0, max(result, 1e-9))


def _bound(p: exp.Expr, tables: dict[str, CatalogTable]) -> tuple[str, str] | None:
    """(column, "low" or "high") for a comparison of a column with a constant its min/max place."""
    if not isinstance(p, (exp.GT, exp.GTE, exp.LT, exp.LTE)) or p.args.get("negate"):
        return None
    column, value = _column_and_value(p)
    if column is None or value is None or _position(column, value, tables) is None:
        return None  # a guessed bound: the guesses multiply
    below = isinstance(p, (exp.LT, exp.LTE)) == (p.left is column)
    return column.sql(), "high" if below else "low"


def _selectivity(p: exp.Expr, tables: dict[str, CatalogTable], context: PlanContext | None = None) -> float:
    if p.args.get("negate"):  # sqlglot writes NOT LIKE / NOT IN / NOT BETWEEN as the positive form, negated
        positive = p.copy()
        positive.set("negate", None)
        return 1.0 - _selectivity(positive, tables, context)
    if isinstance(p, exp.Paren):
        return _selectivity(p.this, tables, context)
    if isinstance(p, exp.And):
        return _selectivity(p.left, tables, context) * _selectivity(p.right, tables, context)
    if isinstance(p, exp.Or):
        a, b = _selectivity(p.left, tables, context), _selectivity(p.right, tables, context)
        return a + b - a * b
    if isinstance(p, exp.Not):
        return 1.0 - _selectivity(p.this, tables, context)
    if isinstance(p, exp.In) and p.args.get("query") is not None and context is not None:
        return _in_subquery(p, tables, context)
    if p.find(exp.Subquery, exp.Select) is not None:
        return SUBQUERY
    if isinstance(p, exp.EQ) and isinstance(p.left, exp.Column) and isinstance(p.right, exp.Column):
        if p.left.table != p.right.table:
            left, right = _distinct(p.left, tables), _distinct(p.right, tables)
            known = [d for d in (left, right) if d]
            return 1.0 / max(known) if known else EQUALITY
        return EQUALITY
    if isinstance(p, (exp.EQ, exp.NEQ)):
        column, value = _column_and_value(p)
        s = EQUALITY
        if column is not None:
            stats = _stats(column, tables)
            if stats is not None and value is not None and _outside(value, stats):
                s = 0.0
            else:
                distinct = _distinct(column, tables)
                s = 1.0 / distinct if distinct else EQUALITY
        return s if isinstance(p, exp.EQ) else 1.0 - s
    if isinstance(p, exp.In) and not p.args.get("query"):
        column = p.this if isinstance(p.this, exp.Column) else None
        distinct = _distinct(column, tables) if column is not None else None
        n = len(p.expressions)
        return min(1.0, n / distinct) if distinct else min(0.5, n * EQUALITY)
    if isinstance(p, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        column, value = _column_and_value(p)
        if column is None or value is None:
            return RANGE
        below = isinstance(p, (exp.LT, exp.LTE)) == (p.left is column)
        fraction = _position(column, value, tables)
        if fraction is None:
            return RANGE
        return fraction if below else 1.0 - fraction
    if isinstance(p, exp.Between) and isinstance(p.this, exp.Column):
        low, high = _value(p.args["low"]), _value(p.args["high"])
        start = _position(p.this, low, tables) if low is not None else None
        end = _position(p.this, high, tables) if high is not None else None
        return max(0.0, end - start) if start is not None and end is not None else RANGE / 2
    if isinstance(p, exp.Is):
        column = p.this if isinstance(p.this, exp.Column) else None
        stats = _stats(column, tables) if column is not None else None
        rows = tables[column.table].estimated_rows() if column is not None and column.table in tables else None
        if stats is not None and stats.null_count is not None and rows:
            return stats.null_count / rows
        return 0.05
    if isinstance(p, (exp.Like, exp.ILike)):
        return LIKE
    if isinstance(p, exp.Boolean):
        return 1.0 if p.this else 0.0
    return OTHER


def _in_subquery(p: exp.In, tables: dict[str, CatalogTable], context: PlanContext) -> float:
    """``x IN (SELECT k ...)``: the subquery's distinct keys over the distinct values of ``x``."""
    column = p.this if isinstance(p.this, exp.Column) else None
    distinct = _distinct(column, tables) if column is not None else None
    inner = _query(p.args["query"], context)
    if inner is None or not distinct:
        return SUBQUERY
    return min(1.0, inner / distinct)


#: A HAVING condition on an aggregate never estimated below this (its tails are the least known).
HAVING_FLOOR = 1e-4


def _having_selectivity(p: exp.Expr, tables: dict[str, CatalogTable], size: float) -> float:
    """The fraction of groups of about ``size`` rows that ``AGG(column) <op> constant`` keeps.

    The column's values are taken as uniform between its min and max and independent, so a
    group's SUM is about normal with mean ``size * mean`` and variance ``size * variance``,
    its AVG with ``mean`` and ``variance / size``, its COUNT(*) about ``size`` (Poisson); MIN
    and MAX follow the order statistics. Anything else: the RANGE guess.
    """
    if not isinstance(p, (exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return EQUALITY if isinstance(p, exp.EQ) else RANGE
    agg, value = (p.left, _value(p.right)) if isinstance(p.left, exp.AggFunc) else (p.right, _value(p.left))
    if not isinstance(agg, exp.AggFunc) or not isinstance(value, decimal.Decimal):
        return RANGE
    above = isinstance(p, (exp.GT, exp.GTE)) == (p.left is agg)
    c = float(value)
    if isinstance(agg, exp.Count) and not agg.args.get("distinct") and not isinstance(agg.this, exp.Distinct):
        return _normal_tail(c, size, math.sqrt(max(size, 1.0)), above)
    column = agg.this if isinstance(agg.this, exp.Column) else None
    stats = _stats(column, tables) if column is not None else None
    low, high = (_number(stats.min), _number(stats.max)) if stats is not None else (None, None)
    if low is None or high is None or high <= low:
        return RANGE
    mean, sd = (low + high) / 2, (high - low) / math.sqrt(12)
    n = max(size, 1.0)
    if isinstance(agg, exp.Sum):
        return _normal_tail(c, n * mean, math.sqrt(n) * sd, above)
    if isinstance(agg, exp.Avg):
        return _normal_tail(c, mean, sd / math.sqrt(n), above)
    if isinstance(agg, (exp.Max, exp.Min)):
        below_c = min(1.0, max(0.0, (c - low) / (high - low)))  # one value's chance to be below c
        all_below = below_c**n if isinstance(agg, exp.Max) else 1.0 - (1.0 - below_c) ** n
        return max(HAVING_FLOOR, 1.0 - all_below if above else all_below)
    return RANGE


def _normal_tail(c: float, mean: float, sd: float, above: bool) -> float:
    """P(X > c) (or P(X < c)) for X normal(mean, sd), floored at HAVING_FLOOR."""
    if sd <= 0:
        inside = c < mean if above else c > mean
        return 1.0 if inside else HAVING_FLOOR
    z = (c - mean) / sd
    upper = 0.5 * math.erfc(z / math.sqrt(2))
    return max(HAVING_FLOOR, upper if above else 1.0 - upper)


def _column_and_value(p: exp.Binary) -> tuple[exp.Column | None, Any]:
    if isinstance(p.left, exp.Column):
        return p.left, _value(p.right)
    if isinstance(p.right, exp.Column):
        return p.right, _value(p.left)
    return None, None


def _value(node: exp.Expr) -> Any:
    """A literal's value for comparing with statistics (dates and decimals typed), or None."""
    if isinstance(node, exp.Paren):
        return _value(node.this)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        to = node.to.this
        try:
            if to == exp.DataType.Type.DATE:
                return dt.date.fromisoformat(node.this.name)
            if to in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
                return dt.datetime.fromisoformat(node.this.name)
        except ValueError:
            return None
        return None
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.name
        try:
            return decimal.Decimal(node.name)
        except decimal.InvalidOperation:
            return None
    if isinstance(node, exp.Neg):
        inner = _value(node.this)
        return -inner if isinstance(inner, decimal.Decimal) else None
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        return _shift(_value(node.this), node.expression, -1 if isinstance(node, exp.Sub) else 1)
    return None


def _shift(value: Any, interval: exp.Interval, sign: int) -> Any:
    """A date moved by a constant interval (``DATE '1995-09-01' + INTERVAL '1' MONTH``), or None."""
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        return None
    try:
        n = sign * int(interval.this.name)
    except (ValueError, AttributeError):
        return None
    unit = (interval.unit.name if interval.unit is not None else "").upper().rstrip("S")
    if unit == "DAY":
        return value + dt.timedelta(days=n)
    if unit in ("MONTH", "YEAR"):
        months = value.year * 12 + value.month - 1 + (n * 12 if unit == "YEAR" else n)
        year, month = divmod(months, 12)
        try:
            return value.replace(year=year, month=month + 1)
        except ValueError:
            return value.replace(year=year, month=month + 1, day=28)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.timezone.utc).timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal())
    return None


def _position(column: exp.Column, value: Any, tables: dict[str, CatalogTable]) -> float | None:
    """Where ``value`` falls between the column's min (0) and max (1), or None."""
    stats = _stats(column, tables)
    if stats is None:
        return None
    low, high, v = _number(stats.min), _number(stats.max), _number(value)
    if low is None or high is None or v is None or math.isclose(low, high):
        return None
    return min(1.0, max(0.0, (v - low) / (high - low)))


def _outside(value: Any, stats: ColumnStats) -> bool:
    v, low, high = _number(value), _number(stats.min), _number(stats.max)
    return v is not None and low is not None and high is not None and (v < low or v > high)


def _distinct(node: exp.Expr, tables: dict[str, CatalogTable]) -> float | None:
    if not isinstance(node, exp.Column) or node.table not in tables:
        return None
    stats = _stats(node, tables)
    if stats is not None and stats.distinct:
        return float(stats.distinct)
    if stats is not None and isinstance(stats.min, int) and isinstance(stats.max, int):
        # Integers between min and max: at most that many distinct values (and at most one per row).
        rows = tables[node.table].estimated_rows()
        span = float(stats.max - stats.min + 1)
        return min(span, float(rows)) if rows else span
    return None


def _stats(column: exp.Column, tables: dict[str, CatalogTable]) -> ColumnStats | None:
    table = tables.get(column.table)
    return _column(table, column.name) if table is not None else None


def _column(table: CatalogTable, name: str) -> ColumnStats | None:
    return table.statistics().columns.get(name)


def _tables(query: exp.Expr, context: PlanContext) -> dict[str, CatalogTable]:
    """Catalog tables of ``query``'s own FROM list, by alias."""
    out = {}
    select = query if isinstance(query, exp.Select) else query.find(exp.Select)
    for item in from_items(select) if select is not None else []:
        if isinstance(item, exp.Table) and item.name in context.tables:
            out[item.alias_or_name] = context.tables[item.name]
    return out
