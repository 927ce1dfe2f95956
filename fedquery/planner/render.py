"""Render every fragment in its source's dialect with sqlglot, through the last gate.

Each connector may first ``prepare`` the tree for its source (make NULL
ordering explicit, force binary string comparison, ...); then the gate checks
that every relation it names is a catalog table or a CTE of its own (see
gate.py); then sqlglot generates the SQL. Never by string joining. The local
DuckDB query passes the same gate: it may name only fragments and its CTEs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.planner.context import PlanContext
from fedquery.planner.gate import gate

if TYPE_CHECKING:
    from connectors.base import Connector
    from fedquery.fragment import Fragment


def render(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    for fragment in context.fragments:
        connector = context.catalog.connector(fragment.department, fragment.source)
        fragment.sql = render_fragment(fragment, connector)
    gate(expression, local_tables={f.name for f in context.fragments} | set(context.local_relations))
    return expression


def render_fragment(fragment: Fragment, connector: Connector) -> str:
    """The SQL ``fragment`` is sent as: prepared for its source, gated, in its dialect."""
    tree = gate(connector.prepare(fragment.expression.copy()), department=fragment.department, source=fragment.source)
    return tree.sql(dialect=fragment.dialect)
