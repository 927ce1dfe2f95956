"""Column names resolve as DuckDB resolves them: case-insensitively, to the name as stored.

DuckDB matches identifiers case-insensitively, quoted or not, and keeps the case the table
stores (``SELECT orderid`` over a column ``"OrderId"`` returns ``OrderId``). Sources do not:
PostgreSQL folds unquoted names to lower case and compares quoted ones exactly. So every
column reference is rewritten here to the exact stored name, quoted, before anything else
reads the tree; what is sent to a source then names the column exactly as the source does.
An exact match wins over a case-insensitive one; a name that matches several columns only
case-insensitively is left as written (and then fails to bind, with suggestions).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from fedquery.planner.context import PlanContext


def resolve_identifiers(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Rewrite column references to the stored case of the column they name.

    >>> import sqlglot
    >>> resolve_identifiers(sqlglot.parse_one("SELECT ORDERID AS x FROM t"), context=None).sql()
    'SELECT ORDERID AS x FROM t'
    """
    if context is None:
        return expression
    for alias in expression.find_all(exp.Alias):
        # Output names keep the case written (as DuckDB's do); references find them case-insensitively.
        if isinstance(alias.args.get("alias"), exp.Identifier):
            alias.args["alias"].meta["case_sensitive"] = True
    for scope in traverse_scope(expression):
        for column in scope.columns:
            _exact(column, _stored_name(column, scope, context))
    # References to output aliases in GROUP BY, HAVING, QUALIFY and ORDER BY (not in scope.columns).
    for select in expression.find_all(exp.Select):
        # Output names: aliases, and the names of projected columns (``SELECT SEG ... ORDER BY SEG``,
        # which sqlglot's scope does not list as a column reference).
        aliases = [p.alias_or_name for p in select.expressions if p.alias_or_name]
        for clause in ("group", "having", "qualify", "order"):
            node = select.args.get(clause)
            for column in node.find_all(exp.Column) if node is not None else ():
                if not column.table and not column.this.meta.get("case_sensitive"):
                    if column.find_ancestor(exp.Select) is select:
                        _exact(column, _match(column.name, aliases))
    return expression


def _exact(column: exp.Column, stored: str | None) -> None:
    if stored is not None:
        identifier = exp.to_identifier(stored, quoted=True)
        identifier.meta["case_sensitive"] = True  # exact from here on: never folded again
        column.set("this", identifier)


def _stored_name(column: exp.Column, scope: Scope, context: PlanContext) -> str | None:
    if column.table:
        source = scope.sources.get(column.table)
        if source is None:
            return None
        return _match(column.name, _names_of(source, context))
    candidates: list[str] = []
    for source in scope.sources.values():
        candidates.extend(_names_of(source, context))
    found = _match(column.name, candidates)
    if found is not None:
        return found
    select = scope.expression
    aliases = [p.alias for p in select.expressions if p.alias] if isinstance(select, exp.Select) else []
    return _match(column.name, aliases)


def _names_of(source: exp.Expr | Scope, context: PlanContext) -> list[str]:
    if isinstance(source, exp.Table):
        table = context.tables.get(source.name)
        if table is None and source.name in context.local_relations:
            return list(context.local_relations[source.name].column_names)
        return list(table.arrow_schema().names) if table is not None else []
    if isinstance(source, Scope) and isinstance(source.expression, (exp.Select, exp.SetOperation)):
        query: exp.Expr = source.expression
        while isinstance(query, exp.SetOperation):
            query = query.left
        if isinstance(query, exp.Select):
            return [p.alias_or_name for p in query.expressions if not isinstance(p, exp.Star)]
    return []


def _match(name: str, candidates: list[str]) -> str | None:
    if name in candidates:
        return name
    folded = {c for c in candidates if c.lower() == name.lower()}
    return folded.pop() if len(folded) == 1 else None
