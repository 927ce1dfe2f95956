"""Turn a single-source query subtree into a :class:`Fragment`.

The pipeline (named, as in datafusion-federation): copy the subtree, rename
catalog tables to their remote names, name every output uniquely, and work
out the Arrow schema expected back. Rendering to the dialect is the
``render`` pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from connectors.types import arrow_type
from fedquery.fragment import Fragment
from fedquery.planner.context import PlanContext
from fedquery.planner.estimate import estimate_query, row_width
from fedquery.planner.gate import CATALOG_TAG
from fedquery.planner.place import QUERY_TYPES
from fedquery.planner.tree import from_items

if TYPE_CHECKING:
    from connectors.base import Connector
    from fedquery.catalog import CatalogTable


def make_fragment(
    query: exp.Expr,
    connector: Connector,
    context: PlanContext,
    *,
    scan_table: CatalogTable | None = None,
    predicates: list[exp.Expr] | None = None,
    limit: int | None = None,
) -> Fragment:
    """The fragment answering ``query`` at ``connector``'s source, added to the plan (``limit``: a file
    scan may stop after that many rows)."""
    remote = query.copy()
    tables: list[str] = []
    first_table: CatalogTable | None = None
    for table in list(remote.find_all(exp.Table)):
        catalog_table = context.tables.get(table.name)
        if catalog_table is None:
            continue
        first_table = first_table or catalog_table
        tables.append(catalog_table.sql_name)
        replacement = connector.remote_table(catalog_table.info)
        replacement.set("alias", table.args.get("alias"))
        replacement.meta[CATALOG_TAG] = catalog_table.sql_name
        table.replace(replacement)
    select = _first_select(remote)
    aliases: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, projection in enumerate(select.expressions):
        outer = projection.alias_or_name
        inner = outer
        n = 1
        while inner in seen:
            inner, n = f"{outer}_{n}", n + 1
        seen.add(inner)
        aliases.append((inner, outer))
        if inner != outer or not isinstance(projection, (exp.Alias, exp.Column)):
            select.expressions[i] = exp.alias_(projection.unalias(), inner, quoted=True)
            select.expressions[i].parent = select
    if scan_table is not None or first_table is not None and not connector.capabilities.sql:
        base = scan_table or first_table
        assert base is not None
        table_schema = base.arrow_schema()
        schema = pa.schema(
            [
                pa.field(inner, table_schema.field(_source_column(p)).type)
                for (inner, _), p in zip(aliases, select.expressions)
            ]
        )
        columns = [_source_column(p) for p in select.expressions]
    else:
        typed = _duckdb_schema(query, aliases, context)
        if typed is not None:
            schema = typed
        else:
            column_types = _column_types(remote, query, context)
            schema = pa.schema(
                [pa.field(inner, _expected_type(p, column_types)) for (inner, _), p in zip(aliases, select.expressions)]
            )
        columns = None
        base = None
    pushed = _pushed_operators(query, predicates)
    if limit is not None:
        pushed.append("limit")
    alias_tables = {
        item.alias_or_name: context.tables[item.name]
        for item in from_items(_first_select(query))
        if isinstance(item, exp.Table) and item.name in context.tables
    }
    estimated_rows = estimate_query(query, context)
    fragment = Fragment(
        id=len(context.fragments),
        name=f"__fq_f{len(context.fragments)}",
        department=connector.department,
        source=connector.name,
        kind=connector.kind,
        dialect=connector.dialect,
        expression=remote,
        sql="",
        schema=schema,
        tables=tuple(dict.fromkeys(tables)),
        table=base.info if base is not None else None,
        columns=tuple(columns) if columns is not None else None,
        predicate=_conjunction(predicates),
        pushed=tuple(pushed),
        output_aliases=tuple(aliases),
        estimated_rows=estimated_rows,
        estimated_bytes=estimated_rows * row_width(schema) if estimated_rows is not None else None,
        session=dict(connector.session_settings),
        limit=limit,
        alias_tables=alias_tables,
    )
    context.fragments.append(fragment)
    return fragment


def _conjunction(predicates: list[exp.Expr] | None) -> exp.Expr | None:
    if not predicates:
        return None
    combined: exp.Expr = exp.and_(*[p.copy() for p in predicates], copy=False)
    return combined


def _first_select(query: exp.Expr) -> exp.Select:
    node: exp.Expr = query
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this if isinstance(node, exp.Subquery) else node.left
    assert isinstance(node, exp.Select)
    return node


def _source_column(projection: exp.Expr) -> str:
    column = projection.unalias()
    assert isinstance(column, exp.Column)
    return column.name


def _duckdb_schema(query: exp.Expr, aliases: list[tuple[str, str]], context: PlanContext) -> pa.Schema | None:
    """The fragment's output types exactly as DuckDB (the oracle) would give them."""
    typing = query.copy()
    used = []
    for table in list(typing.find_all(exp.Table)):
        catalog_table = context.tables.get(table.name)
        if catalog_table is None:
            continue
        used.append(catalog_table)
        replacement = exp.Table(this=exp.to_identifier(catalog_table.sql_name, quoted=True))
        replacement.set("alias", table.args.get("alias"))
        table.replace(replacement)
    schema = context.catalog.output_schema(typing, used)
    if schema is None or len(schema) != len(aliases):
        return None
    return pa.schema([pa.field(inner, f.type) for (inner, _), f in zip(aliases, schema)])


def _column_types(remote: exp.Expr, query: exp.Expr, context: PlanContext) -> dict[tuple[str, str], pa.DataType]:
    """Arrow types of the catalog columns a fragment can see, by (alias, column)."""
    types: dict[tuple[str, str], pa.DataType] = {}
    for table in query.find_all(exp.Table):
        catalog_table = context.tables.get(table.name)
        if catalog_table is not None:
            for f in catalog_table.arrow_schema():
                types[(table.alias_or_name, f.name)] = f.type
    return types


def _expected_type(projection: exp.Expr, column_types: dict[tuple[str, str], pa.DataType]) -> pa.DataType:
    inner = projection.unalias()
    if isinstance(inner, exp.Column) and (inner.table, inner.name) in column_types:
        return column_types[(inner.table, inner.name)]
    dtype = inner.type
    if dtype is None or dtype.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
        return pa.null()
    try:
        return arrow_type(dtype)
    except ValueError:
        return pa.null()


def _pushed_operators(query: exp.Expr, predicates: list[exp.Expr] | None) -> list[str]:
    pushed = ["projection"]
    if predicates or query.find(exp.Where):
        pushed.append("filter")
    if query.find(exp.Join):
        pushed.append("join")
    if query.find(exp.AggFunc) or query.find(exp.Group):
        pushed.append("aggregate")
    if query.find(exp.Order):
        pushed.append("order")
    if query.find(exp.Limit):
        pushed.append("limit")
    if query.find(exp.Subquery):
        pushed.append("subquery")
    return pushed


def scoped_column_nodes(select: exp.Select, alias: str) -> list[exp.Column]:
    """Column nodes in ``select`` (and nested queries that do not shadow ``alias``) that reference ``alias``."""
    out: list[exp.Column] = []

    def visit(node: exp.Expr, top: bool) -> None:
        if not top and isinstance(node, exp.Select) and alias in _own_aliases(node):
            return
        if isinstance(node, exp.Column) and node.table == alias:
            out.append(node)
            return
        for child in node.iter_expressions():
            visit(child, False)

    visit(select, True)
    return out


def scoped_columns(select: exp.Select, alias: str) -> list[str]:
    return list(dict.fromkeys(c.name for c in scoped_column_nodes(select, alias)))


def _own_aliases(select: exp.Select) -> set[str]:
    return {item.alias_or_name for item in from_items(select) if item.alias_or_name}


__all__ = ["QUERY_TYPES", "make_fragment", "scoped_columns", "scoped_column_nodes"]
