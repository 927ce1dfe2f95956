"""Render every fragment in its source's dialect with sqlglot, through the last gate.

Each connector may first ``prepare`` the tree for its source (make NULL
ordering explicit, force binary string comparison, ...); then the gate checks
that every relation it names is a catalog table or a CTE of its own (see
gate.py); then sqlglot generates the SQL. Never by string joining. The local
DuckDB query passes the same gate: it may name only fragments and its CTEs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlglot import exp

from connectors.base import literal
from fedquery.planner.context import PlanContext
from fedquery.planner.gate import gate

if TYPE_CHECKING:
    from connectors.base import Connector
    from fedquery.fragment import Fragment, Reduction


def render(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    for fragment in list(context.fragments):
        connector = context.catalog.connector(fragment.department, fragment.source)
        context.evolve(fragment, sql=render_fragment(fragment, connector))
    gate(expression, local_tables={f.name for f in context.fragments} | set(context.local_relations))
    return expression


def render_fragment(fragment: Fragment, connector: Connector) -> str:
    """The SQL ``fragment`` is sent as: prepared for its source, gated, in its dialect."""
    tree = gate(connector.prepare(fragment.expression.copy()), department=fragment.department, source=fragment.source)
    return tree.sql(dialect=fragment.dialect)


def reduced(fragment: Fragment, reductions: Sequence[Reduction], connector: Connector) -> Fragment:
    """The fragment that runs: ``fragment`` filtered by its run-time ``reductions``, rendered. The one place
    a reduction becomes SQL (``connector.key_filter``) or, for a file scan, an Arrow filter (``key_filters``
    and ``predicate``). ``fragment`` itself (the plan's value) is left as it was.

    Keys of an empty producer become FALSE (the source is still asked, typed and exact); keys past the
    budget become their range where it is numeric (it still prunes clustered keys and row groups); an
    abandoned reduction adds nothing.
    """
    applied = [(r, condition) for r in reductions if (condition := _condition(r)) is not None]
    if not applied:
        return fragment
    file_scan = not connector.capabilities.sql
    select = fragment.expression.copy()
    assert isinstance(select, exp.Select)
    predicate, key_filters = fragment.predicate, list(fragment.key_filters)
    for reduction, condition in applied:
        keys = reduction.keys
        if file_scan and keys is not None and len(keys):
            # The keys travel as an Arrow ``is_in`` built straight from the array; the SQL shown names how
            # many there were.
            key_filters.append((reduction.target.name, keys))
            select.where(exp.In(this=reduction.target.copy(), expressions=[exp.var(f"<{len(keys)} keys>")]), copy=False)
            continue
        if not file_scan and keys is not None and len(keys):
            condition = connector.key_filter(reduction.target, keys, reduction.column_type)
        select.where(condition, copy=False)
        if file_scan:  # the filter travels as an Arrow expression over bare column names
            bare = condition.copy()
            for column in bare.find_all(exp.Column):
                column.set("table", None)
            predicate = exp.and_(predicate, bare) if predicate is not None else bare
    running = fragment.evolve(expression=select, predicate=predicate, key_filters=tuple(key_filters))
    return running.evolve(sql=render_fragment(running, connector))


def _condition(reduction: Reduction) -> exp.Expr | None:
    """What a reduction filters by, before the connector's own rendering of key lists (None: nothing)."""
    if reduction.abandoned:
        return None
    if reduction.keys is not None:
        if len(reduction.keys) == 0:
            return exp.false()
        return exp.In(this=reduction.target.copy(), expressions=[])  # rendered by the connector or as is_in
    if isinstance(reduction.low, int) and isinstance(reduction.high, int):
        return exp.Between(this=reduction.target.copy(), low=literal(reduction.low), high=literal(reduction.high))
    return None
