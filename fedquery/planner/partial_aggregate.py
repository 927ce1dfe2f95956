"""Partial (eager) aggregation below a cross-source join (strategy ``auto``).

``SELECT c.name, SUM(o.price) FROM crm.customer c JOIN sales.orders o ON ... GROUP BY c.name``
cannot be sent whole to either source, but the orders fragment can be grouped by
every orders column the rest of the query still needs (the join key here) and send
one row per group: ``SUM(price)``, ``COUNT(*)``, ``MIN``/``MAX``, re-aggregated
locally (``SUM`` of the partial sums and counts, ``MIN`` of the minima, ...). Each
partial row joins exactly the rows its members would have joined, so the answer is
the same (Yan and Larson's eager aggregation).

Applied where every aggregate of the query either reads only that fragment's
columns (SUM, COUNT, MIN, MAX without DISTINCT or FILTER), or is a MIN/MAX over
other fragments (duplicates do not change them); and where statistics say the
groups are clearly fewer than the rows.
"""

from __future__ import annotations

import math

import pyarrow as pa
from sqlglot import exp

from fedquery.fragment import Fragment
from fedquery.planner.context import PlanContext
from fedquery.planner.estimate import row_width, transfer_weight
from fedquery.planner.semijoin import plan_semijoins
from fedquery.planner.tree import cut_levels, from_items

#: Pre-aggregate only where the groups are expected to be at most this fraction of the rows.
MAX_GROUP_FRACTION = 0.7
_PARTIAL = (exp.Sum, exp.Count, exp.Min, exp.Max)


def partial_aggregate(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Strategy ``auto``: at each query level (innermost first), pre-aggregate the fragment that gains most;
    where one was, the level's semi-join reductions are planned again (a pre-aggregated fragment may now
    be small enough to reduce another)."""
    if context.pushdown != "auto":
        return expression
    for select, all_inner in cut_levels(expression, context.cut):
        if plan_partial_aggregates(select, context) and all_inner:
            plan_semijoins(select, context)
    return expression


def plan_partial_aggregates(select: exp.Select, context: PlanContext) -> bool:
    """Pre-aggregate the fragment of ``select`` that gains most, if any; True if one was."""
    if not _eligible(select):
        return False
    fragments = {f.name: f for f in context.fragments}
    items = from_items(select)
    aliases = {i.alias_or_name: fragments[i.name] for i in items if isinstance(i, exp.Table) and i.name in fragments}
    if len(items) < 2 or len(aliases) != len(items):
        return False  # a single fragment is sent whole elsewhere; derived tables and CTEs are left alone
    best: tuple[float, str, Fragment] | None = None
    for alias, fragment in aliases.items():
        groups = _worthwhile(select, alias, fragment, context)
        if groups is not None and (best is None or groups < best[0]):
            best = (groups, alias, fragment)
    return best is not None and _rewrite(select, best[1], best[2], int(best[0]), context)


def pre_aggregate(select: exp.Select, alias: str, fragment: Fragment, context: PlanContext) -> bool:
    """Pre-aggregate ``fragment`` (``alias`` in ``select``) wherever that is valid, profitable or not
    (top-N needs one row per group); True if it was."""
    if not _eligible(select):
        return False
    groups = _worthwhile(select, alias, fragment, context, at_most=None)
    return groups is not None and _rewrite(select, alias, fragment, int(groups), context)


def _eligible(select: exp.Select) -> bool:
    if any(j.side in ("RIGHT", "FULL") or j.args.get("using") for j in select.args.get("joins") or []):
        return False  # inner and LEFT joins only
    group = select.args.get("group")
    if group is not None and any(group.args.get(k) for k in ("rollup", "cube", "grouping_sets", "totals")):
        return False
    if select.args.get("distinct") is not None or select.args.get("qualify") is not None:
        return False
    if select.find(exp.Window) is not None:
        return False
    aggregates = list(_aggregates(select))
    return bool(aggregates) and all(_partial_kind(a) is not None or _duplicate_insensitive(a) for a in aggregates)


def _duplicate_insensitive(node: exp.AggFunc) -> bool:
    """MIN, MAX and DISTINCT aggregates give the same answer however often each input row repeats."""
    if isinstance(node.parent, exp.Filter):
        return False
    return (
        isinstance(node, (exp.Min, exp.Max)) or isinstance(node.this, exp.Distinct) or bool(node.args.get("distinct"))
    )


def _aggregates(select: exp.Select) -> list[exp.AggFunc]:
    """The aggregates of this query level (not of nested subqueries)."""
    out = []
    for node in select.find_all(exp.AggFunc):
        parent = node.parent
        nested = False
        while parent is not None and parent is not select:
            if isinstance(parent, (exp.Select, exp.SetOperation)):
                nested = True
                break
            parent = parent.parent
        if not nested:
            out.append(node)
    return out


def _partial_kind(node: exp.AggFunc) -> str | None:
    if not isinstance(node, _PARTIAL) or isinstance(node.parent, exp.Filter):
        return None
    if isinstance(node.this, exp.Distinct) or node.args.get("distinct"):
        return None
    return type(node).__name__.lower()


def _columns_of(node: exp.Expr, alias: str) -> list[exp.Column]:
    return [c for c in node.find_all(exp.Column) if c.table == alias]


def _worthwhile(
    select: exp.Select, alias: str, fragment: Fragment, context: PlanContext, at_most: float | None = MAX_GROUP_FRACTION
) -> float | None:
    """Expected groups if ``fragment`` can be pre-aggregated, to at most ``at_most`` of its rows, else None."""
    connector = context.catalog.connector(fragment.department, fragment.source)
    caps = connector.capabilities
    inner = fragment.expression
    if not (caps.sql and caps.aggregates) or not isinstance(inner, exp.Select):
        return None
    if any(inner.args.get(k) for k in ("group", "having", "limit", "offset", "distinct", "order")):
        return None
    if fragment.estimated_rows is None or any(p.find(exp.AggFunc, exp.Window) for p in inner.expressions):
        return None
    for agg in _aggregates(select):
        mine, others = bool(_columns_of(agg, alias)), any(c.table != alias for c in agg.find_all(exp.Column))
        if mine and others:
            return None  # mixes this fragment's columns with another's
        if mine and _partial_kind(agg) is None:
            return None  # DISTINCT over this fragment's columns cannot be split
        count_star = isinstance(agg, exp.Count) and isinstance(agg.this, exp.Star)
        if count_star and _nullable(select, alias):
            return None  # COUNT(*) counts the NULL-extended row; a partial count there would be NULL
        if not mine and not count_star and not _duplicate_insensitive(agg):
            return None  # SUM/COUNT over another fragment would see each row once per pre-aggregated group
    keys = key_outputs(select, alias)
    groups = _groups(fragment, keys)
    if at_most is None:
        return groups if groups is not None else float(fragment.estimated_rows)
    if groups is None or groups > min(at_most, caps.max_group_fraction) * fragment.estimated_rows:
        return None
    saved = (1 - groups / max(1, fragment.estimated_rows)) * transfer_weight(fragment.schema)
    if saved < caps.aggregate_row_bytes:
        return None  # grouping at the source would cost more than sending the rows it saves
    return groups


def _nullable(select: exp.Select, alias: str) -> bool:
    """Is ``alias`` the NULL-extended side of a LEFT JOIN?"""
    return any(j.side == "LEFT" and j.this.alias_or_name == alias for j in select.args.get("joins") or [])


def key_outputs(select: exp.Select, alias: str) -> list[str]:
    """Outputs of the fragment the query needs outside the aggregates that will be pre-computed."""
    inside = {id(c) for agg in _aggregates(select) for c in _columns_of(agg, alias)}
    return list(dict.fromkeys(c.name for c in _columns_of(select, alias) if id(c) not in inside))


def _groups(fragment: Fragment, keys: list[str]) -> float | None:
    """Expected groups: ``d * (1 - (1 - 1/d) ** rows)`` for ``rows`` rows over ``d`` possible key values.

    ``d`` multiplies, per table, the distinct counts of its key columns, capped by that
    table's rows (columns of one table cannot make more combinations than it has rows). Where
    every table's keys reach that cap they are taken as unique, and each row is its own group
    (TPC-DS Q78: store_sales by ticket and item, its primary key, is 2.88 M groups of 2.88 M
    rows, where drawing rows at random over as many values would expect 0.63 of them).
    """
    rows = float(fragment.estimated_rows or 0)
    if not keys:
        return 1.0
    projections = {p.alias_or_name: p.unalias() for p in fragment.expression.expressions}
    per_table: dict[str, float] = {}
    caps: dict[str, float] = {}
    for key in keys:
        source = projections.get(key)
        if not isinstance(source, exp.Column):
            return None
        table = fragment.alias_tables.get(source.table)
        stats = table.statistics().columns.get(source.name) if table is not None else None
        if table is None or stats is None or not stats.distinct:
            return None
        cap = float(table.estimated_rows() or stats.distinct)
        per_table[source.table] = min(cap, per_table.get(source.table, 1.0) * stats.distinct)
        caps[source.table] = cap
    if all(per_table[t] >= caps[t] for t in per_table):
        return rows
    d = math.prod(per_table.values())
    if d <= 1:
        return 1.0
    return min(rows, d * -math.expm1(rows * math.log1p(-1.0 / d)))


def _rewrite(select: exp.Select, alias: str, fragment: Fragment, groups: int, context: PlanContext) -> bool:
    inner = fragment.expression
    assert isinstance(inner, exp.Select)
    sources = {p.alias_or_name: p.unalias() for p in inner.expressions}
    keys = key_outputs(select, alias)
    partials: list[tuple[exp.AggFunc, str, exp.Expr]] = []  # (outer aggregate, partial output, partial expr)
    for agg in _aggregates(select):
        if not _columns_of(agg, alias) and not (isinstance(agg, exp.Count) and isinstance(agg.this, exp.Star)):
            continue  # MIN/MAX over another fragment: unchanged
        name = f"_p{len(partials)}"
        partial = agg.copy()
        for column in _columns_of(partial, alias):
            column.replace(sources[column.name].copy())
        partials.append((agg, name, partial))
    projections = {p.alias_or_name: p for p in inner.expressions}
    new_inner = inner.copy()
    new_inner.set(
        "expressions",
        # in the order of ``keys``, the order the schema below is typed in
        [projections[k].copy() for k in keys]
        + [exp.alias_(partial, name, quoted=True) for _, name, partial in partials],
    )
    if keys:
        new_inner.set("group", exp.Group(expressions=[sources[k].copy() for k in keys]))
    connector = context.catalog.connector(fragment.department, fragment.source)
    reason = connector.unsupported_reason(new_inner)
    if reason:
        context.note(f"partial aggregation of {fragment.name} not pushed: {reason}")
        return False
    typing = exp.select(
        *[exp.column(k, quoted=True) for k in keys], *[_over_outputs(agg, alias) for agg, _, _ in partials]
    ).from_("_input")
    if keys:
        typing = typing.group_by(*[exp.column(k, quoted=True) for k in keys])
    schema = context.catalog.schema_over(fragment.schema, typing)
    if schema is None:
        context.note(f"partial aggregation of {fragment.name} not pushed: its types could not be derived")
        return False
    names = keys + [name for _, name, _ in partials]
    new_schema = pa.schema([pa.field(n, f.type) for n, f in zip(names, schema)])
    before = fragment.estimated_rows
    context.evolve(
        fragment,
        schema=new_schema,
        expression=new_inner,
        output_aliases=tuple((n, n) for n in names),
        pushed=(*fragment.pushed, "partial aggregate"),
        estimated_rows=max(1, groups),
        estimated_bytes=max(1, groups) * row_width(new_schema),
    )
    for agg, name, _ in partials:
        agg.replace(_final(agg, alias, name))
    context.note(
        f"partial aggregation: {fragment.name} ({fragment.department}.{fragment.source}) is grouped by "
        f"{', '.join(keys) or 'nothing'} before the cross-source join (~{before} rows -> ~{groups} groups)"
    )
    return True


def _over_outputs(agg: exp.AggFunc, alias: str) -> exp.Expr:
    """The aggregate written over the fragment's outputs (for typing with DuckDB)."""
    typed = agg.copy()
    for column in _columns_of(typed, alias):
        column.set("table", None)
    return typed


def _final(agg: exp.AggFunc, alias: str, name: str) -> exp.Expr:
    column = exp.column(name, table=alias, quoted=True)
    if isinstance(agg, exp.Count):
        # The count of joined rows is the sum of the partial counts; 0, not NULL, over no rows.
        total = exp.Cast(this=exp.Sum(this=column), to=exp.DataType.build("BIGINT"))
        return exp.Coalesce(this=total, expressions=[exp.Literal.number(0)])
    if isinstance(agg, exp.Sum):
        return exp.Sum(this=column)
    return type(agg)(this=column)
