"""Fragments read only to test existence send each distinct row once.

Under ``EXISTS (SELECT ... FROM f WHERE f.k = outer.k)`` or ``x IN (SELECT f.k FROM f ...)``
only whether a matching row exists matters, not how many there are. A fragment in the
FROM list of such a subquery (one without aggregates, windows or LIMIT) may therefore
be sent ``SELECT DISTINCT``: ``NOT EXISTS (SELECT 1 FROM orders WHERE o_custkey =
c_custkey)`` reads each customer key of orders once, not once per order.
"""

from __future__ import annotations

from sqlglot import exp

from fedquery.planner.context import PlanContext
from fedquery.planner.estimate import group_count, row_width
from fedquery.planner.tree import from_items


def distinct_keys(select: exp.Select, context: PlanContext) -> None:
    if not _tests_existence(select):
        return
    fragments = {f.name: f for f in context.fragments}
    for item in from_items(select):
        fragment = fragments.get(item.name) if isinstance(item, exp.Table) else None
        if fragment is None or not isinstance(fragment.expression, exp.Select):
            continue
        inner = fragment.expression
        if any(inner.args.get(k) for k in ("distinct", "group", "limit", "offset", "order")):
            continue
        connector = context.catalog.connector(fragment.department, fragment.source)
        if not (connector.capabilities.sql and connector.capabilities.aggregates) or fragment.reducers:
            continue
        candidate = inner.copy()
        candidate.set("distinct", exp.Distinct())
        if connector.unsupported_reason(candidate) is not None:
            continue
        fragment.expression = candidate
        fragment.columns = None
        fragment.pushed.append("distinct")
        if fragment.estimated_rows is not None:
            keys = [p.unalias() for p in candidate.expressions]
            groups = group_count(float(fragment.estimated_rows), keys, fragment.alias_tables)
            fragment.estimated_rows = max(1, int(groups))
            fragment.estimated_bytes = fragment.estimated_rows * row_width(fragment.schema)
        context.note(f"{fragment.name} ({fragment.department}.{fragment.source}) only tests existence: sent DISTINCT")


def _tests_existence(select: exp.Select) -> bool:
    """Is ``select`` the body of an EXISTS, or of an IN (subquery), with no row-count-sensitive parts?"""
    parent = select.parent
    if isinstance(parent, exp.Subquery):
        parent = parent.parent
    in_exists = isinstance(parent, exp.Exists)
    in_list = isinstance(parent, exp.In) and parent.args.get("query") is not None
    if not (in_exists or in_list):
        return False
    if any(select.args.get(k) for k in ("group", "having", "limit", "offset", "qualify")):
        return False
    return select.find(exp.AggFunc, exp.Window) is None
