"""Bind table names to the catalog: ``department.table`` -> an internal key.

Each catalog table gets one internal key (``__fq_t0``, ...) used while
planning, each CTE one unique name (``__fq_c0``, ...); the alias the user wrote
(or the name) is kept so column references keep working. A one-part name is a
CTE only where a CTE of that name is in scope (see scope.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.errors import BindError, FedQueryError, UnknownTableError, suggest
from fedquery.planner.columns import check_columns
from fedquery.planner.context import PlanContext
from fedquery.planner.identifiers import resolve_identifiers
from fedquery.planner.introspect import information_schema_view, is_information_schema
from fedquery.planner.normalise import name_outputs
from fedquery.planner.scope import visible_cte

if TYPE_CHECKING:
    from fedquery.catalog import CatalogTable


def bind(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Resolve every table name: a CTE visible in its scope, else a catalog table, else refused.

    CTEs are renamed to unique internal names (``__fq_c0``, ...), so no later pass can confuse
    a CTE with a relation of the same name elsewhere in the query.

    >>> import sqlglot
    >>> from fedquery.planner.context import PlanContext
    >>> q = sqlglot.parse_one("WITH t AS (SELECT 1 AS x) SELECT x FROM t")
    >>> bind(q, context=PlanContext(catalog=None, sql="")).sql()
    'WITH __fq_c0 AS (SELECT 1 AS x) SELECT "x" FROM __fq_c0 AS t'
    """
    tables = list(expression.find_all(exp.Table))
    scoped = {id(t): visible_cte(t) for t in tables}
    cte_keys: dict[int, str] = {}
    for cte in expression.find_all(exp.CTE):
        cte_key = f"__fq_c{len(cte_keys)}"
        cte_keys[id(cte)] = cte_key
        context.ctes[cte_key] = cte.this
        context.cte_names[cte_key] = cte.alias_or_name
    keys: dict[str, str] = {}
    for table in tables:
        if isinstance(table.this, exp.Func) or not isinstance(table.this, exp.Identifier):
            raise BindError(f"only catalog tables can be queried; {table.this.sql('duckdb')!r} is not allowed")
        in_scope = scoped[id(table)]
        if in_scope is not None:
            table.replace(_renamed(table, cte_keys[id(in_scope)], in_scope.args["alias"].this))
            continue
        parts = [p.name for p in table.parts]
        if len(parts) == 1 and parts[0] in context.local_relations:
            continue  # an introspection table this query's DESCRIBE or SHOW built (see introspect.py)
        if is_information_schema(parts, context):
            local = information_schema_view(parts[1], context)
            table.replace(_renamed(table, local, exp.to_identifier(parts[1].lower())))
            continue
        if len(parts) == 1:
            candidates = [t.sql_name for t in _all_tables(context)]
            hint = suggest(parts[0], candidates) or suggest(parts[0], {c.split(".")[-1]: c for c in candidates}.keys())
            matches = [c for c in candidates if c.split(".")[-1].lower() == parts[0].lower()]
            if matches:
                hint = f" Did you mean {matches[0]!r}?"
            raise _at(
                UnknownTableError(f"table {parts[0]!r} needs a department prefix (department.table).{hint}"), table
            )
        catalog_table = locate(table, parts, context)
        key = keys.get(catalog_table.sql_name)
        if key is None:
            key = f"__fq_t{len(keys)}"
            keys[catalog_table.sql_name] = key
            context.tables[key] = catalog_table
        table.replace(_renamed(table, key, exp.to_identifier(catalog_table.name)))
    for cte in expression.find_all(exp.CTE):
        alias = cte.args["alias"]
        alias.set("this", exp.to_identifier(cte_keys[id(cte)]))
    resolve_identifiers(expression, context=context)
    check_columns(expression, context=context)  # every clause: suggestions and positions
    name_outputs(expression, context.display_names())  # as DuckDB names them, by the names the user wrote
    return expression


def locate(table: exp.Table, parts: list[str], context: PlanContext) -> CatalogTable:
    """The catalog table ``parts`` names (department and schema found case-insensitively), or a
    typed error with a suggestion and the position of ``table`` in the SQL text."""
    if len(parts) > 3:
        raise UnknownTableError(f"table name {'.'.join(parts)!r} has too many parts")
    try:
        return context.catalog.resolve(parts)
    except BindError as exc:
        raise _at(exc, table) from None


def _renamed(table: exp.Table, key: str, default_alias: exp.Identifier) -> exp.Table:
    """``table`` renamed to ``key``, keeping the name it is known by in the query as its alias."""
    alias = table.args.get("alias")
    if alias is None or not alias.this:
        alias = exp.TableAlias(this=default_alias.copy(), columns=alias.columns if alias is not None else None)
    renamed = exp.Table(this=exp.to_identifier(key), alias=alias.copy())
    for arg in ("joins", "pivots", "laterals", "sample", "hints", "version", "when", "changes"):
        if table.args.get(arg):
            renamed.set(arg, table.args[arg])
    return renamed


def _at(error: BindError, table: exp.Table) -> BindError:
    """The same error, with the position of ``table`` in the SQL text."""
    meta = (table.args.get("db") or table.this).meta
    if error.line is not None or "line" not in meta:
        return error
    return type(error)(
        error.message,
        line=meta["line"],
        column=meta["col"] - (meta["end"] - meta["start"]),  # sqlglot gives the token's last column
        department=error.department,  # type: ignore[arg-type]
        table=error.table,  # type: ignore[arg-type]
    )


def _all_tables(context: PlanContext) -> list:  # type: ignore[type-arg]
    try:
        return context.catalog.tables()
    except FedQueryError:  # a down source must not hide the real error
        return []
