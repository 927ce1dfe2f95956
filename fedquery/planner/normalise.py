"""Qualify every column, expand stars and annotate types (sqlglot optimizer)."""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.schema import MappingSchema

from connectors.types import sql_type
from fedquery.errors import BindError, UnknownColumnError, suggest
from fedquery.planner.context import PlanContext


def normalise(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    mapping: dict[str, object] = {
        key: {f.name: sql_type(f.type).sql("duckdb") for f in table.arrow_schema()}
        for key, table in context.tables.items()
    }
    for name, relation in context.local_relations.items():
        mapping[name] = {f.name: sql_type(f.type).sql("duckdb") for f in relation.schema}
    schema = MappingSchema(mapping, dialect=context.dialect, normalize=False)
    name_outputs(expression, context.display_names())
    try:
        qualified = qualify(
            expression,
            dialect=context.dialect,
            schema=schema,
            quote_identifiers=True,
            identify=True,
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        raise _bind_error(str(exc), context) from None
    context.output_names = [p.alias_or_name for p in _root_select(qualified).expressions]
    _simplify_exists(qualified)
    annotated = annotate_types(qualified, schema=schema, dialect=context.dialect)
    _tag_columns(annotated, context)
    return annotated


def _simplify_exists(expression: exp.Expr) -> None:
    """``EXISTS (SELECT * ...)`` asks only whether a row exists: select ``1``, not every column.

    Not where the projection aggregates without GROUP BY: that always returns one row.
    """
    for node in expression.find_all(exp.Exists):
        select = node.this
        if not isinstance(select, exp.Select) or select.args.get("group") or select.args.get("having"):
            continue
        if any(p.find(exp.AggFunc, exp.Window) for p in select.expressions):
            continue
        select.set("expressions", [exp.alias_(exp.Literal.number(1), "_exists", quoted=True)])


def _tag_columns(expression: exp.Expr, context: PlanContext) -> None:
    """Record on each column which source table it reads, for source-specific checks.

    ``meta["fq_table"]`` is ``(department, source, *remote name parts)``: plain strings,
    so trees still copy cheaply.
    """
    for scope in traverse_scope(expression):
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table) and source.name in context.tables:
                table = context.tables[source.name]
                column.meta["fq_table"] = (table.department, table.source, *table.info.remote)


def name_outputs(expression: exp.Expr, display: dict[str, str] | None = None) -> None:
    """Name unnamed root outputs the way DuckDB would (``sum(x)``), not ``_col_0``.

    ``display`` maps internal table keys to the names the query wrote (they may appear in a
    projection's text, in a scalar subquery)."""
    select = _root_select(expression)
    for i, projection in enumerate(select.expressions):
        if isinstance(projection, (exp.Alias, exp.Column, exp.Star)) or projection.alias:
            continue
        if isinstance(projection, exp.Count) and isinstance(projection.this, exp.Star):
            name = "count_star()"
        else:
            name = _shown(projection, display or {}).sql("duckdb", normalize_functions="lower")
        select.expressions[i] = exp.alias_(projection, name, quoted=True)
        select.expressions[i].args["alias"].meta["case_sensitive"] = True
        select.expressions[i].parent = select


def _shown(projection: exp.Expr, display: dict[str, str]) -> exp.Expr:
    """``projection`` as the user would write it: tables by their catalog names, names unquoted."""
    shown = projection.copy()
    for table in list(shown.find_all(exp.Table)):
        if table.name in display:
            named = exp.to_table(display[table.name])
            alias = table.args.get("alias")
            if alias is not None and alias.name != named.name:
                named.set("alias", alias)
            table.replace(named)
    for identifier in shown.find_all(exp.Identifier):
        identifier.set("quoted", False)
    return shown


def _root_select(expression: exp.Expr) -> exp.Select:
    node: exp.Expr = expression
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this if isinstance(node, exp.Subquery) else node.left
    assert isinstance(node, exp.Select)
    return node


def _bind_error(message: str, context: PlanContext) -> BindError:
    import re

    where = re.search(r"Line: (\d+), Col: (\d+)", message)
    line, column = (int(where.group(1)), int(where.group(2))) if where else (None, None)
    text = message.split(". Line")[0]
    for key, name in context.display_names().items():
        text = text.replace(f'"{key}"', name).replace(key, name)
    if "could not be resolved" in text and "Column" in text:
        name = text.split("'")[1] if "'" in text else ""
        columns = [f.name for t in context.tables.values() for f in t.arrow_schema()]
        if column is not None:
            column -= len(name) - 1  # sqlglot gives the token's last column
        return UnknownColumnError(f"unknown column {name!r}.{suggest(name, columns)}", line=line, column=column)
    return BindError(f"cannot bind query: {text}", line=line, column=column)
