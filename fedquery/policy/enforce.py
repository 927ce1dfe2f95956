"""The enforcement pass (right after ``bind``): access rules become part of the query itself.

Every reference to a governed table is replaced by a derived table, the principal's *view*::

    FROM dwp.claims AS c
    -- becomes
    FROM (SELECT <mask>(person_id) AS person_id, benefit, ...      -- masks; hidden columns left out
          FROM dwp.claims AS c WHERE <filter>) AS c                   -- the row filter

So ``SELECT *`` and ``c.*`` expand to the visible columns only, every column reference reads the
masked value (``WHERE person_id = 'P000001'`` compares the *masked* value, as Trino's column masks
do), and the filter sits beneath every predicate the user wrote. Masks and filters are ordinary
expressions: the planner sends the view to its source like any other subtree (``split`` sends a
view whole under every pushdown strategy, and refuses a SQL source that cannot evaluate it), so raw
values and filtered rows stay at the source.

A source's optimiser may evaluate the user's predicates before the filter (PostgreSQL and MariaDB
merge derived tables and reorder conjunctions). Where a table has a filter, each visible column is
therefore ``CASE WHEN <filter> THEN <column or mask> END``: whatever the order, a user's predicate
evaluated on a filtered row sees only NULLs, so it cannot fail on (or test) that row's values.

Explicitly naming a hidden column, or a table no rule grants, raises
:class:`~fedquery.errors.AccessDenied` naming the principal and the object.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from fedquery.errors import AccessDenied
from fedquery.planner.context import PlanContext
from fedquery.policy.access import STATISTICS, Access, table_access

#: ``meta`` key on the SELECT of a principal's view: the governed table's catalog name
POLICY_TAG = "fq_policy"


def enforce(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Apply the principal's access rules to every table the query reads."""
    principal = context.principal
    if principal is None:
        from fedquery.principal import Principal

        principal = context.principal = Principal.from_environment()
    if principal is STATISTICS:
        return expression  # analyze's whole-table figures: shown to principals only through the rules
    accesses: dict[str, Access] = {}
    for key, table in sorted(context.tables.items()):
        accesses[key] = table_access(context.catalog, principal, table)
    context.accesses = accesses
    context.rules_applied = [label for label in (a.label() for a in accesses.values()) if label]
    if not any(a.restricts for a in accesses.values()):
        return expression
    _refuse_hidden_columns(expression, accesses, str(principal))
    for node in list(expression.find_all(exp.Table)):
        access = accesses.get(node.name)
        if access is not None and access.restricts:
            node.replace(_view(node, access))
    return expression


def _refuse_hidden_columns(expression: exp.Expr, accesses: dict[str, Access], principal: str) -> None:
    """A query that names a hidden column is refused (rather than told the column does not exist)."""
    for scope in traverse_scope(expression):
        tables = {
            alias: accesses[source.name]
            for alias, source in scope.sources.items()
            if isinstance(source, exp.Table) and source.name in accesses
        }
        for column in scope.columns:
            name = column.name.lower()
            if column.table:
                access = tables.get(column.table)
                if access is not None and name in {d.lower() for d in access.denied}:
                    raise AccessDenied(principal, f"{access.table}.{column.name}", _why(access))
                continue
            hiding = [a for a in tables.values() if name in {d.lower() for d in a.denied}]
            if hiding and not _provided_elsewhere(name, scope, tables, accesses):
                raise AccessDenied(principal, f"{hiding[0].table}.{column.name}", _why(hiding[0]))


def _provided_elsewhere(name: str, scope: Scope, tables: dict[str, Access], accesses: dict[str, Access]) -> bool:
    for alias, source in scope.sources.items():
        if alias in tables:
            if name in {c.lower() for c in tables[alias].columns}:
                return True
        elif isinstance(source, Scope) and isinstance(source.expression, exp.Select):
            if name in {p.alias_or_name.lower() for p in source.expression.expressions}:
                return True
    select = scope.expression
    return isinstance(select, exp.Select) and name in {p.alias.lower() for p in select.expressions if p.alias}


def _why(access: Access) -> str:
    rule = access.rule
    where = f"line {rule.line}" if rule is not None and rule.line is not None else f"rule {rule.index if rule else '?'}"
    return f"{access.path} {where} hides the column"


def _view(node: exp.Table, access: Access) -> exp.Subquery:
    """``node`` (a bound table reference) replaced by the principal's view of it, under the same alias."""
    alias = node.args["alias"]
    name = alias.this.copy()
    projections = []
    for column in access.columns:
        value = access.masks.get(column)
        value = _qualified(value, name) if value is not None else _column(column, name)
        if access.filter is not None:
            value = exp.Case(ifs=[exp.If(this=_qualified(access.filter, name), true=value)])
        output = exp.to_identifier(column, quoted=True)
        output.meta["case_sensitive"] = True
        projections.append(exp.Alias(this=value, alias=output))
    inner = exp.Table(this=node.this.copy(), alias=exp.TableAlias(this=name.copy()))
    select = exp.Select(expressions=projections).from_(inner, copy=False)
    if access.filter is not None:
        select.set("where", exp.Where(this=_qualified(access.filter, name)))
    select.meta[POLICY_TAG] = access.table
    view = exp.Subquery(this=select, alias=alias.copy())
    for arg in ("joins", "pivots", "laterals"):
        if node.args.get(arg):
            view.set(arg, node.args[arg])
    return view


def _column(name: str, table: exp.Identifier) -> exp.Column:
    identifier = exp.to_identifier(name, quoted=True)
    identifier.meta["case_sensitive"] = True
    return exp.Column(this=identifier, table=table.copy())


def _qualified(tree: exp.Expr, table: exp.Identifier) -> exp.Expr:
    copy = tree.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", table.copy())
    return copy


_FIGURE = re.compile(r"~[\d,.]+(?:%| ?[KMG]?B\b)?")


def hide_estimates(context: PlanContext) -> None:
    """Estimates come from statistics of whole tables: where a view masks or filters, a plan must not
    show them (row counts under a filter, value ranges of masked columns). The planner has used them
    already; EXPLAIN, ``to_dict`` and the plan hash show ``?`` instead."""
    for fragment in list(context.fragments):
        context.evolve(fragment, estimated_rows=None, estimated_bytes=None)
    context.notes[:] = [_FIGURE.sub("~?", note) for note in context.notes]


def prune_views(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """After ``normalise`` (stars expanded, columns qualified): each view keeps only the columns the
    query reads from it, so a scan of a governed table reads no more columns than the query needs.

    Over-keeping is harmless: every column named after the view's alias anywhere counts as read."""
    if not context.accesses:
        return expression
    for select in list(expression.find_all(exp.Select)):
        if POLICY_TAG not in select.meta or not isinstance(select.parent, exp.Subquery):
            continue
        alias = select.parent.alias_or_name
        inside = {id(c) for c in select.find_all(exp.Column)}
        used = {c.name for c in expression.find_all(exp.Column) if c.table == alias and id(c) not in inside}
        kept = [p for p in select.expressions if p.alias_or_name in used] or select.expressions[:1]
        if len(kept) < len(select.expressions) and not select.parent.args["alias"].columns:
            select.set("expressions", kept)
    return expression
