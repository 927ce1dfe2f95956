"""Filters with subqueries that a source can answer next to the tables they filter.

``o_orderkey IN (SELECT l_orderkey FROM lineitem GROUP BY ... HAVING ...)`` or
``EXISTS (SELECT * FROM lineitem l2 WHERE l2.l_orderkey = l1.l_orderkey ...)``
filters a table of one source by a query over the same source. Sent with the
scan (or the join) it filters, the subquery runs where its data is, and only the
rows that pass cross the wire; kept local, every table the subquery reads would be
fetched. It may be pushed when every table it reads has the same connector
identity as the tables it filters, and every column it takes from outside itself
belongs to those tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.planner.context import PlanContext
from fedquery.planner.tree import from_items

if TYPE_CHECKING:
    from connectors.base import Connector


def has_subquery(predicate: exp.Expr) -> bool:
    return predicate.find(exp.Subquery, exp.Select) is not None


def subquery_filter_reason(
    predicate: exp.Expr, aliases: set[str], connector: Connector, context: PlanContext
) -> str | None:
    """Why the filter ``predicate`` (with subqueries) cannot go to ``connector`` with ``aliases``, or None."""
    caps = connector.capabilities
    if not (caps.sql and caps.subqueries):
        return f"subqueries are not pushed to {connector.kind} sources"
    identity = connector.identity()
    for table in predicate.find_all(exp.Table):
        catalog_table = context.tables.get(table.name)
        if catalog_table is None:
            return f"the subquery reads {table.name}, which is not a table of {connector.department}.{connector.name}"
        if catalog_table.connector.identity() != identity:
            return f"the subquery reads {catalog_table.sql_name}, of another source"
    if predicate.find(exp.Rand) is not None:
        return "it is not deterministic"
    for column in predicate.find_all(exp.Column):
        if not column.table:
            return f"column {column.name} is not qualified"
        if not _defined_inside(column, predicate) and column.table not in aliases:
            return f"it references {column.table}, which is not read from {connector.department}.{connector.name}"
    if caps.correlation == "key":
        return _unindexed_correlation(predicate, connector, context)
    return None


def correlation_reason(query: exp.Expr, connector: Connector, context: PlanContext) -> str | None:
    """Why ``query``, sent whole, would make ``connector`` run a subquery per row; None if it would not."""
    if connector.capabilities.correlation != "key":
        return None
    for node in query.find_all(exp.Subquery, exp.Exists, exp.In):
        sub = node.this if isinstance(node, (exp.Subquery, exp.Exists)) else node.args.get("query")
        if isinstance(sub, exp.Expr) and sub.find(exp.Select) is not None:
            reason = _unindexed_correlation(sub, connector, context)
            if reason:
                return reason
    return None


def _unindexed_correlation(predicate: exp.Expr, connector: Connector, context: PlanContext) -> str | None:
    """Why a correlated subquery in ``predicate`` would run as a scan per outer row at the source, or None.

    Each correlated subquery must equate an outer column with the leading column of an inner table's
    enforced primary key (an index lookup per row); otherwise DuckDB's decorrelated hash join wins.
    """
    for select in predicate.find_all(exp.Select):
        outer = [c for c in select.find_all(exp.Column) if not _defined_inside(c, predicate)]
        if not outer:
            continue
        inner = {item.alias_or_name: item.name for item in from_items(select) if isinstance(item, exp.Table)}
        where = select.args.get("where")
        if not any(_keyed_equality(eq, inner, outer, context) for eq in (where.find_all(exp.EQ) if where else ())):
            names = ", ".join(sorted({c.name for c in outer}))
            return (
                f"{connector.kind} would run the correlated subquery (on {names}) once per row without an index; "
                "it is decorrelated locally"
            )
    return None


def _keyed_equality(eq: exp.EQ, inner: dict[str, str], outer: list[exp.Column], context: PlanContext) -> bool:
    for mine, theirs in ((eq.left, eq.right), (eq.right, eq.left)):
        if isinstance(mine, exp.Column) and mine.table in inner and any(theirs is c for c in outer):
            table = context.tables.get(inner[mine.table])
            key = table.unique_key() if table is not None else ()
            if key and key[0] == mine.name:
                return True
    return False


def _defined_inside(column: exp.Column, root: exp.Expr) -> bool:
    """Does a query between ``column`` and ``root`` define the table alias the column names?"""
    node = column.parent
    while node is not None:
        if isinstance(node, exp.Select) and column.table in _from_aliases(node):
            return True
        if node is root:
            return False
        node = node.parent
    return False


def _from_aliases(select: exp.Select) -> set[str]:
    return {item.alias_or_name for item in from_items(select) if item.alias_or_name}
