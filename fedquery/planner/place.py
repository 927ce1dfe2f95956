"""Label every query subtree with the sources that can answer it.

A subtree belongs to one source only if every table it reaches (through CTE
references too) has the same connector identity context. The label is stored
on the node's ``meta`` as ``fq_sources``: a frozenset of identities; empty
means no catalog table (local only).
"""

from __future__ import annotations

from sqlglot import exp

from fedquery.planner.context import PlanContext

QUERY_TYPES = (exp.Select, exp.SetOperation)


def place(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    for node in expression.walk():
        if isinstance(node, QUERY_TYPES):
            node.meta["fq_sources"] = sources_of(node, context)
    return expression


def sources_of(node: exp.Expr, context: PlanContext, _seen: frozenset[str] = frozenset()) -> frozenset[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for table in node.find_all(exp.Table):
        catalog_table = context.tables.get(table.name)
        if catalog_table is not None and not table.args.get("db"):
            found.add(catalog_table.connector.identity())
        elif table.name in context.ctes and table.name not in _seen:
            found |= sources_of(context.ctes[table.name], context, _seen | {table.name})
    return frozenset(found)


def defined_aliases(node: exp.Expr) -> set[str]:
    """Every table alias or CTE name defined anywhere inside ``node``."""
    names: set[str] = set()
    for sub in node.walk():
        if isinstance(sub, (exp.Table, exp.Subquery)) and sub.alias_or_name:
            names.add(sub.alias_or_name)
        elif isinstance(sub, exp.CTE):
            names.add(sub.alias_or_name)
        elif isinstance(sub, exp.Unnest) and sub.alias:
            names.add(sub.alias)
    return names


def is_correlated(node: exp.Expr) -> bool:
    """Does ``node`` reference a column of an enclosing query?"""
    defined = defined_aliases(node)
    return any(col.table and col.table not in defined for col in node.find_all(exp.Column))
