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
from fedquery.planner.estimate import group_count, row_width, transfer_weight
from fedquery.planner.tree import cut_levels, from_items


def distinct_keys(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Strategy ``auto``: every fragment read only to test existence is sent ``SELECT DISTINCT``."""
    if context.pushdown == "auto":
        for select, _ in cut_levels(expression, context.cut):
            if _tests_existence(select):
                _send_distinct(select, context)
    return expression


def _send_distinct(select: exp.Select, context: PlanContext) -> None:
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
        rows, size = fragment.estimated_rows, fragment.estimated_bytes
        if rows is not None:
            keys = [p.unalias() for p in candidate.expressions]
            distinct = max(1, int(group_count(float(rows), keys, fragment.alias_tables)))
            if distinct > connector.capabilities.max_group_fraction * rows:
                # DISTINCT is a GROUP BY: where it removes too few rows for what grouping costs the
                # source (MariaDB: on-disk temporary tables; TPC-DS Q16's 800,000 order keys of 1.4 M
                # rows took longer than sending the rows), the rows are sent as they are.
                continue
            saved = (1 - distinct / max(1, rows)) * transfer_weight(fragment.schema)
            if saved < connector.capabilities.aggregate_row_bytes:
                # Grouping costs the source more than sending the rows it would remove (PostgreSQL,
                # narrow rows: TPC-H Q22's customer keys of orders, 8 bytes a row).
                continue
            rows, size = distinct, distinct * row_width(fragment.schema)
        context.evolve(
            fragment,
            expression=candidate,
            columns=None,
            pushed=(*fragment.pushed, "distinct"),
            estimated_rows=rows,
            estimated_bytes=size,
        )
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
