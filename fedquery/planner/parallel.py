"""Parallel reads (strategy ``auto``): one large fragment read as several ranges at once.

A source that can read disjoint ranges of a table under one snapshot (PostgreSQL: ctid
ranges, each on its own connection, all importing the snapshot the first one exports)
may be sent a fragment expected to return at least ``[settings] parallel_min_rows`` rows
as ``parallel_reads`` range queries; the executor streams them into one table together.
Only fragments whose rows are a union over the ranges qualify: scans and joins with
filters, no aggregate, DISTINCT, ORDER BY, LIMIT or window (those would need merging).
A partial aggregate (see partial_aggregate.py) qualifies too: its rows are combined again
by the local step (partial counts summed, sums summed, MIN of MINs, MAX of MAXes), so a
group that has rows in two ranges is two partial rows that the final aggregate adds up.
For it the size that counts is the rows it groups (its largest table's), not the groups
it sends. The range is cut on the fragment's largest table.
"""

from __future__ import annotations

from sqlglot import exp

from fedquery.fragment import Fragment
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
        partial = _partial_aggregate(fragment, select)
        if not partial and (any(select.args.get(k) for k in _MERGED) or _aggregates_or_windows(select)):
            continue
        tables = [t.alias_or_name for t in from_items(select) if isinstance(t, exp.Table)]
        sizes = {a: fragment.alias_tables[a].estimated_rows() or 0 for a in tables if a in fragment.alias_tables}
        if not sizes:
            continue
        alias = max(sizes, key=lambda a: sizes[a])
        read = sizes[alias] if partial else fragment.estimated_rows
        if read is None or read < settings.parallel_min_rows:
            continue
        context.evolve(fragment, ranges=settings.parallel_reads, range_alias=alias)
        what = f"a partial aggregate over ~{read:,} rows" if partial else f"~{read:,} rows"
        context.note(
            f"parallel reads: {fragment.name} ({fragment.department}.{fragment.source}, {what}) "
            f"is read as {settings.parallel_reads} ranges of {alias} at once, under one snapshot"
        )


def _aggregates_or_windows(select: exp.Select) -> bool:
    return any(p.find(exp.AggFunc, exp.Window) for p in select.expressions)


def _partial_aggregate(fragment: Fragment, select: exp.Select) -> bool:
    """A partial aggregate the local step aggregates again: GROUP BY and aggregates, nothing that merges
    otherwise (no HAVING, DISTINCT, ORDER BY, LIMIT, window; the top-N's one-row-per-group fragments are
    never read as ranges)."""
    if "partial aggregate" not in fragment.pushed:
        return False
    merged = [k for k in _MERGED if k != "group"]
    return not any(select.args.get(k) for k in merged) and select.find(exp.Window) is None
