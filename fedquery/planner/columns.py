"""Every column reference names a column that exists: else an error in the user's terms.

Run while binding, once table names are resolved: in every clause (SELECT, WHERE, JOIN ... ON,
GROUP BY, HAVING, ORDER BY, QUALIFY), a qualified reference (``i.personid``) must name an alias in
scope and a column of that alias's table, an unqualified one a column of some table in scope (or
of an enclosing query, or an output alias). The error names the column, suggests the closest
name, and gives the line and column where it was written. Where the columns of a relation in
scope are not known (a table function, UNNEST, a derived table selecting ``*``), nothing is
claimed: DuckDB's own check runs later.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from fedquery.errors import UnknownColumnError, UnknownTableError, suggest
from fedquery.planner.context import PlanContext


def check_columns(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Raise :class:`UnknownColumnError` (or :class:`UnknownTableError` for an unknown alias) with a
    suggestion and position for the first reference that names nothing in scope."""
    try:
        scopes = traverse_scope(expression)
    except Exception:  # noqa: BLE001 - a scope sqlglot cannot build is left to the later passes
        return expression
    for scope in scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue  # a set operation's ORDER BY names its output columns; its branches are scopes of their own
        # sqlglot's scope leaves out HAVING (and alias-like) references: every column of this SELECT, each
        # checked in the scope of its own SELECT (a subquery's in the subquery's).
        columns = list(scope.columns)
        seen = {id(c) for c in columns}
        columns += [c for c in select.find_all(exp.Column) if id(c) not in seen]
        columns = [c for c in columns if c.find_ancestor(exp.Select) is select]
        for column in columns:
            # lambda and list-comprehension variables are no columns
            if column.find_ancestor(exp.Lambda, exp.Comprehension) is not None or isinstance(column.this, exp.Star):
                continue
            _check(column, scope, context)
    return expression


def _check(column: exp.Column, scope: Scope, context: PlanContext) -> None:
    name = column.name
    if column.table:
        qualifier = column.table
        chain = list(_chain(scope))
        source = next((s.sources[qualifier] for s in chain if qualifier in s.sources), None)
        if source is None:  # DuckDB matches aliases case-insensitively: FROM (...) CATALOG ... catalog.item
            folded = qualifier.lower()
            source = next((v for s in chain for k, v in s.sources.items() if k.lower() == folded), None)
        if source is None:
            names = _all_columns(chain, context)
            if names is None or any(n.lower() == qualifier.lower() for n in names):
                return  # maybe a struct column's field (s.field), or unknown relations in scope
            aliases = [a for s in chain for a in s.sources]
            raise _at(UnknownTableError(f"unknown table or alias {qualifier!r}.{suggest(qualifier, aliases)}"),
                      column.args["table"])  # fmt: skip
        columns = _columns_of(source, context)
        if columns is None or _known(name, columns):
            return
        hint = suggest(name, columns) or suggest(name.lower(), [c.lower() for c in columns])
        raise _at(UnknownColumnError(f"unknown column {qualifier}.{name}: {qualifier!r} has no column {name!r}.{hint}"),
                  column.this)  # fmt: skip
    chain = list(_chain(scope))
    names = _all_columns(chain, context)
    if names is None or _known(name, names):
        return
    aliases = [
        p.alias for s in chain if isinstance(s.expression, exp.Select) for p in s.expression.expressions if p.alias
    ]
    if _known(name, aliases):
        return
    hint = suggest(name, names + aliases)
    raise _at(UnknownColumnError(f"unknown column {name!r}.{hint}"), column.this)


def _chain(scope: Scope | None) -> list[Scope]:
    """The scope and every scope it may reference (enclosing queries, for correlated subqueries)."""
    out = []
    while scope is not None:
        out.append(scope)
        scope = scope.parent
    return out


def _all_columns(chain: list[Scope], context: PlanContext) -> list[str] | None:
    names: list[str] = []
    for scope in chain:
        for source in scope.sources.values():
            columns = _columns_of(source, context)
            if columns is None:
                return None
            names.extend(columns)
    return names


def _columns_of(source: exp.Expr | Scope, context: PlanContext) -> list[str] | None:
    """The column names of a relation in scope, or None where they are not known here."""
    if isinstance(source, exp.Table):
        table = context.tables.get(source.name)
        if table is not None and not source.args.get("db"):
            names = list(table.arrow_schema().names)
        elif source.name in context.local_relations and not source.args.get("db"):
            names = list(context.local_relations[source.name].column_names)
        else:
            return None
        alias = source.args.get("alias")
        renamed = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) and alias.columns else []
        return renamed + names[len(renamed) :]
    if isinstance(source, Scope):
        query: exp.Expr = source.expression
        while isinstance(query, exp.SetOperation):
            query = query.left
        if not isinstance(query, exp.Select) or any(p.find(exp.Star) for p in query.expressions):
            return None
        names = [p.alias_or_name for p in query.expressions]
        alias = query.parent.args.get("alias") if isinstance(query.parent, exp.Subquery) else None
        if isinstance(alias, exp.TableAlias) and alias.columns:
            names = [c.name for c in alias.columns] + names[len(alias.columns) :]
        cte = source.expression.parent if isinstance(source.expression.parent, exp.CTE) else None
        if cte is not None and cte.args.get("alias") is not None and cte.args["alias"].columns:
            declared = [c.name for c in cte.args["alias"].columns]
            names = declared + names[len(declared) :]
        return names
    return None


def _known(name: str, candidates: list[str]) -> bool:
    folded = name.lower()
    return any(c.lower() == folded for c in candidates)


def _at(error: UnknownColumnError | UnknownTableError, node: exp.Expr) -> UnknownColumnError | UnknownTableError:
    """The same error with the position where ``node`` (an identifier) was written."""
    meta = node.meta if isinstance(node, exp.Expr) else {}
    if "line" not in meta:
        return error
    width = meta["end"] - meta["start"] + 1 if "end" in meta and "start" in meta else len(node.name)
    return type(error)(error.message, line=meta["line"], column=meta["col"] - width + 1)
