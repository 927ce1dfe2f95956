"""Parallel reads (strategy ``auto``): one large fragment read as several ranges at once.

A source that can read disjoint ranges of a table under one snapshot (PostgreSQL: ctid
ranges, each on its own connection, all importing the snapshot the first one exports; SQLite:
rowid ranges read through ADBC while a read transaction keeps writers out)
may be sent a fragment expected to return at least ``[settings] parallel_min_rows`` rows and
``parallel_min_bytes`` bytes as ``parallel_reads`` range queries; the executor streams them into one table together.
Only fragments whose rows are a union over the ranges qualify: scans and joins with
filters, no aggregate, DISTINCT, ORDER BY, LIMIT or window (those would need merging).
The range is cut on the fragment's largest table.
"""

from __future__ import annotations

from sqlglot import exp

from fedquery.planner.context import PlanContext
from fedquery.planner.tree import from_items

_MERGED = ("group", "having", "distinct", "order", "limit", "offset", "qualify")


def parallel(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Strategy ``auto``: large fragments of sources that read ranges under one snapshot are read as
    ``[settings] parallel_reads`` ranges at once."""
    if context.pushdown == "auto" and context.catalog.config.settings.parallel_reads >= 2:
        _plan_parallel_reads(context)
    return expression


def _plan_parallel_reads(context: PlanContext) -> None:
    settings = context.catalog.config.settings
    for fragment in list(context.fragments):
        connector = context.catalog.connector(fragment.department, fragment.source)
        select = fragment.expression
        if not connector.capabilities.ranges or not isinstance(select, exp.Select) or fragment.top_n is not None:
            continue
        if fragment.estimated_rows is None or fragment.estimated_rows < settings.parallel_min_rows:
            continue
        if (fragment.estimated_bytes or 0) < settings.parallel_min_bytes:
            continue
        if any(select.args.get(k) for k in _MERGED) or any(p.find(exp.AggFunc, exp.Window) for p in select.expressions):
            continue
        tables = [t.alias_or_name for t in from_items(select) if isinstance(t, exp.Table)]
        sizes = {a: fragment.alias_tables[a].estimated_rows() or 0 for a in tables if a in fragment.alias_tables}
        if not sizes:
            continue
        alias = max(sizes, key=lambda a: sizes[a])
        context.evolve(fragment, ranges=settings.parallel_reads, range_alias=alias)
        context.note(
            f"parallel reads: {fragment.name} ({fragment.department}.{fragment.source}, ~{fragment.estimated_rows:,} "
            f"rows) is read as {settings.parallel_reads} ranges of {alias} at once, under one snapshot"
        )
