"""Render every fragment in its source's dialect with sqlglot.

Each connector may first ``prepare`` the tree for its source (make NULL
ordering explicit, force binary string comparison, ...); then sqlglot
generates the SQL. Never by string joining.
"""

from __future__ import annotations

from sqlglot import exp

from fedquery.planner.context import PlanContext


def render(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    for fragment in context.fragments:
        connector = context.catalog.connector(fragment.department, fragment.source)
        tree = connector.prepare(fragment.expression.copy())
        fragment.sql = tree.sql(dialect=fragment.dialect)
    return expression
