"""Render every fragment in its source's dialect with sqlglot."""

from __future__ import annotations

from sqlglot import exp

from fedquery.planner.context import PlanContext

#: Dialects that sort NULLs first in ascending order (DuckDB sorts them last).
_NULLS_SMALL = {"sqlite", "mysql"}


def render(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    for fragment in context.fragments:
        tree: exp.Expr = fragment.expression
        if fragment.dialect in _NULLS_SMALL:
            tree = tree.copy().transform(_explicit_null_order)
        fragment.sql = tree.sql(dialect=fragment.dialect)
    return expression


def _explicit_null_order(node: exp.Expr) -> exp.Expr:
    """``ORDER BY x`` (DuckDB: NULLS LAST) -> ``ORDER BY x IS NULL, x`` where the source disagrees."""
    if not isinstance(node, exp.Order):
        return node
    keys: list[exp.Expr] = []
    for ordered in node.expressions:
        nulls_first = bool(ordered.args.get("nulls_first"))
        keys.append(
            exp.Ordered(
                this=exp.Is(this=ordered.this.copy(), expression=exp.Null()), desc=nulls_first, nulls_first=True
            )
        )
        keys.append(exp.Ordered(this=ordered.this.copy(), desc=ordered.args.get("desc"), nulls_first=nulls_first))
    node.set("expressions", keys)
    return node
