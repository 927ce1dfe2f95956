"""Bind table names to the catalog: ``department.table`` -> an internal key.

Each catalog table gets one internal key (``__fq_t0``, ...) used while
planning; the alias the user wrote (or the table name) is kept so column
references keep working. CTE references are left alone.
"""

from __future__ import annotations

from sqlglot import exp

from fedquery.errors import BindError, FedQueryError, UnknownTableError, suggest
from fedquery.planner.context import PlanContext


def bind(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    for cte in expression.find_all(exp.CTE):
        context.ctes[cte.alias_or_name] = cte.this
    keys: dict[str, str] = {}
    for table in list(expression.find_all(exp.Table)):
        if isinstance(table.this, exp.Func) or not isinstance(table.this, exp.Identifier):
            raise BindError(f"only catalog tables can be queried; {table.this.sql('duckdb')!r} is not allowed")
        parts = [p.name for p in table.parts]
        if len(parts) == 1:
            if parts[0] in context.ctes:
                continue
            candidates = [t.sql_name for t in _all_tables(context)]
            hint = suggest(parts[0], candidates) or suggest(parts[0], {c.split(".")[-1]: c for c in candidates}.keys())
            matches = [c for c in candidates if c.split(".")[-1].lower() == parts[0].lower()]
            if matches:
                hint = f" Did you mean {matches[0]!r}?"
            raise _at(
                UnknownTableError(f"table {parts[0]!r} needs a department prefix (department.table).{hint}"), table
            )
        if len(parts) > 3:
            raise UnknownTableError(f"table name {'.'.join(parts)!r} has too many parts")
        try:
            catalog_table = context.catalog.resolve(parts)
        except BindError as exc:
            raise _at(exc, table) from None
        key = keys.get(catalog_table.sql_name)
        if key is None:
            key = f"__fq_t{len(keys)}"
            keys[catalog_table.sql_name] = key
            context.tables[key] = catalog_table
        alias = table.alias or catalog_table.name
        table.replace(exp.Table(this=exp.to_identifier(key), alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return expression


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
