"""Introspection answered by fedquery itself: DESCRIBE, SHOW and ``information_schema``.

Nothing here is sent to a source. The answers are small Arrow tables built from the
catalog (so exactly what the catalog exposes, department by department) and loaded into
the query's own local DuckDB session, where ordinary SQL (WHERE, joins, even joins with
department tables) runs over them.

The shape follows DuckDB with one attached database per department: ``dwp.claims`` is
``table_catalog = 'dwp'``, ``table_schema = 'main'`` (or the source schema of a
``department.schema.table`` name), ``table_name = 'claims'``. The column rows and type
names are DuckDB's own: each table's Arrow schema is created, empty, in a private
in-memory DuckDB and its ``information_schema`` read back.

- ``DESCRIBE dept.table`` (or ``DESCRIBE SELECT ...``): column_name, column_type, null, key, default,
  extra (as DuckDB).
- ``SHOW TABLES [FROM dept]``: database, schema, name, column_names, column_types, temporary
  (DuckDB's ``SHOW ALL TABLES``; there is no current department, so every one is listed).
- ``SHOW DEPARTMENTS`` (also ``SHOW DATABASES``): department; ``SHOW SCHEMAS``: catalog_name, schema_name.
- ``information_schema.schemata``, ``.tables``, ``.columns`` in any SELECT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import sqlglot
from sqlglot import exp, tokens

from fedquery.errors import PlanError, ReadOnlyError, UnknownTableError, suggest
from fedquery.planner.context import PlanContext

if TYPE_CHECKING:
    from fedquery.catalog import CatalogTable

INFORMATION_SCHEMA = "information_schema"
VIEWS = ("schemata", "tables", "columns")
#: the schema of a table named ``department.table`` (DuckDB's default schema)
DEFAULT_SCHEMA = "main"
_PREFIX = "__fq_is_"


def introspect(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Turn DESCRIBE and SHOW into SELECTs over local introspection tables; other statements pass.

    >>> import sqlglot
    >>> introspect(sqlglot.parse_one("SELECT 1"), context=None).sql()
    'SELECT 1'
    """
    if isinstance(expression, exp.Describe):
        return _describe(expression, context)
    if isinstance(expression, exp.Show):
        return _show(str(expression.this or "").upper(), expression.args.get("from_"), context)
    if isinstance(expression, exp.Command) and str(expression.this).upper() == "SHOW":
        words = [t.text for t in tokens.Tokenizer().tokenize(str(expression.expression or ""))]
        return _show(" ".join(w.upper() for w in words), None, context, words=words)
    return expression


def is_information_schema(parts: list[str], context: PlanContext) -> bool:
    """Does a table name point into ``information_schema`` (a configured department of that name wins)?"""
    if len(parts) != 2 or parts[0].lower() != INFORMATION_SCHEMA:
        return False
    return context.catalog.department_name(parts[0]) not in context.catalog.config.departments


def information_schema_view(name: str, context: PlanContext) -> str:
    """Materialise ``information_schema.<name>`` for this query; return its local table name."""
    view = name.lower()
    if view not in VIEWS:
        hint = suggest(view, VIEWS)
        raise UnknownTableError(
            f"unknown table 'information_schema.{name}'.{hint} (information_schema has {', '.join(VIEWS)})"
        )
    local = _PREFIX + view
    if local not in context.local_relations:
        context.local_relations[local] = _build(view, context)
        context.note(f"information_schema.{view} is answered by fedquery from the catalog (never sent to a source)")
    return local


def _build(view: str, context: PlanContext) -> pa.Table:
    catalog = context.catalog
    if view == "schemata":
        return _schemata(catalog)
    tables = catalog.tables()
    broken = catalog.problems()
    if broken:
        raise broken[0]  # never a silent partial answer
    return _information_schema(tables, view, context)


def _schemata(catalog: object) -> pa.Table:
    from fedquery.catalog import Catalog

    assert isinstance(catalog, Catalog)
    rows: list[tuple[str, str]] = []
    for department in catalog.departments:
        schemas = {t.schema_name or DEFAULT_SCHEMA for t in catalog.department_tables(department)}
        broken = catalog.problems(department)
        if broken:
            raise broken[0]
        rows.extend((department, s) for s in sorted(schemas | {DEFAULT_SCHEMA}))
    return pa.table(
        {
            "catalog_name": pa.array([r[0] for r in rows], pa.string()),
            "schema_name": pa.array([r[1] for r in rows], pa.string()),
            "schema_owner": pa.nulls(len(rows), pa.string()),
        }
    )


def _visible(tables: list[CatalogTable], context: PlanContext) -> list[tuple[CatalogTable, pa.Schema]]:
    """Each table the query's principal may read, with only the columns it may name (access rules)."""
    from fedquery.errors import AccessDenied
    from fedquery.policy import visible_columns
    from fedquery.principal import Principal

    principal = context.principal or Principal.from_environment()
    out = []
    for table in tables:
        try:
            names = set(visible_columns(context.catalog, principal, table))
        except AccessDenied:
            continue  # listings leave out what the principal may not read, names included
        out.append((table, pa.schema([f for f in table.arrow_schema() if f.name in names])))
    return out


def _information_schema(tables: list[CatalogTable], view: str, context: PlanContext) -> pa.Table:
    """DuckDB's own ``information_schema.<view>`` rows for empty copies of the visible part of ``tables``."""
    import duckdb

    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        # Each department is attached under an internal alias: a department may be called "memory" or "temp".
        aliases: dict[str, str] = {}
        for table, visible in _visible(tables, context):
            if table.department not in aliases:
                aliases[table.department] = f"__fq_d{len(aliases)}"
                con.execute(
                    exp.Attach(this=exp.alias_(exp.Literal.string(":memory:"), aliases[table.department])).sql("duckdb")
                )
            schema = exp.Table(
                this=exp.to_identifier(table.schema_name or DEFAULT_SCHEMA, quoted=True),
                db=exp.to_identifier(aliases[table.department], quoted=True),
            )
            con.execute(exp.Create(kind="SCHEMA", this=schema, exists=True).sql("duckdb"))
            empty = pa.table({f.name: pa.array([], f.type) for f in visible})
            con.register("_empty", empty)
            target = exp.Table(
                this=exp.to_identifier(table.name, quoted=True),
                db=schema.this.copy(),
                catalog=schema.args["db"].copy(),
            )
            con.execute(exp.Create(this=target, kind="TABLE", expression=exp.select("*").from_("_empty")).sql("duckdb"))
            con.unregister("_empty")
        source = exp.Table(this=exp.to_identifier(view), db=exp.to_identifier(INFORMATION_SCHEMA))
        catalogs: list[exp.Expr] = [exp.Literal.string(a) for a in aliases.values()] or [exp.null()]
        query = exp.select("*").from_(source).where(exp.column("table_catalog").isin(*catalogs))
        order = ["table_catalog", "table_schema", "table_name"] + (["ordinal_position"] if view == "columns" else [])
        result = con.sql(query.order_by(*order).sql("duckdb")).to_arrow_table()
    finally:
        con.close()
    names = {alias: department for department, alias in aliases.items()}
    index = result.schema.get_field_index("table_catalog")
    departments = pa.array([names[a] for a in result.column(index).to_pylist()], pa.string())
    return result.set_column(index, "table_catalog", departments)


def _describe(statement: exp.Describe, context: PlanContext) -> exp.Expr:
    target = statement.this
    if isinstance(target, (exp.Select, exp.SetOperation)):
        context.local_relations[_PREFIX + "describe"] = _query_columns(target, context)
        return _describe_select()
    if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
        raise PlanError("DESCRIBE takes a table or a query: DESCRIBE department.table, DESCRIBE SELECT ...")
    parts = [p.name for p in target.parts]
    if is_information_schema(parts, context):
        rows = _columns_of(information_schema_view(parts[1], context), context)
    else:
        from fedquery.planner.bind import locate
        from fedquery.policy import table_access
        from fedquery.principal import Principal

        table = locate(target, parts, context)
        table_access(context.catalog, context.principal or Principal.from_environment(), table)  # AccessDenied
        rows = _information_schema([table], "columns", context)
    context.local_relations[_PREFIX + "describe"] = rows
    return _describe_select()


def _describe_select() -> exp.Expr:
    """DuckDB's DESCRIBE shape over the columns rows of ``__fq_is_describe``."""
    return (
        exp.select(
            exp.column("column_name"),
            exp.alias_(exp.column("data_type"), "column_type"),
            exp.alias_(exp.column("is_nullable"), "null", quoted=True),
            exp.alias_(exp.cast(exp.null(), "VARCHAR"), "key", quoted=True),
            exp.alias_(exp.column("column_default"), "default", quoted=True),
            exp.alias_(exp.cast(exp.null(), "VARCHAR"), "extra"),
        )
        .from_(_PREFIX + "describe")
        .order_by("ordinal_position")
    )


def _query_columns(query: exp.Expr, context: PlanContext) -> pa.Table:
    """DESCRIBE SELECT ...: the query is planned (nothing runs at any source) and its local step typed
    by DuckDB over empty fragments, so the types are those the query's result will have."""
    import duckdb

    from fedquery.planner import plan

    inner = plan(query.sql("duckdb"), context.catalog, principal=context.principal)
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        for fragment in inner.fragments:
            con.register(fragment.name, pa.table({f.name: pa.array([], f.type) for f in fragment.schema}))
        for name, relation in inner.local_relations.items():
            con.register(name, relation)
        local = sqlglot.parse_one(inner.local_sql, read="duckdb")
        assert isinstance(local, exp.Query)
        con.execute(exp.Create(this=exp.to_table("t"), kind="TABLE", expression=local.limit(0)).sql("duckdb"))
        columns = exp.Table(this=exp.to_identifier("columns"), db=exp.to_identifier(INFORMATION_SCHEMA))
        where = exp.column("table_name").eq(exp.Literal.string("t"))
        return con.sql(exp.select("*").from_(columns).where(where).sql("duckdb")).to_arrow_table()
    finally:
        con.close()


def _columns_of(local: str, context: PlanContext) -> pa.Table:
    """DESCRIBE of an information_schema view: its own columns, typed as DuckDB types them."""
    schema = context.local_relations[local].schema
    import duckdb

    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        con.register("_empty", pa.table({f.name: pa.array([], f.type) for f in schema}))
        con.execute(
            exp.Create(this=exp.to_table("t"), kind="TABLE", expression=exp.select("*").from_("_empty")).sql("duckdb")
        )
        query = exp.select("*").from_(
            exp.Table(this=exp.to_identifier("columns"), db=exp.to_identifier(INFORMATION_SCHEMA))
        )
        return con.sql(query.where(exp.column("table_name").eq(exp.Literal.string("t"))).sql("duckdb")).to_arrow_table()
    finally:
        con.close()


_SHOW_FORMS = "SHOW TABLES [FROM department], SHOW ALL TABLES, SHOW DEPARTMENTS (or DATABASES), SHOW SCHEMAS"


def _show(what: str, from_: exp.Expr | None, context: PlanContext, *, words: list[str] | None = None) -> exp.Expr:
    if words is not None and len(words) == 3 and what.startswith("TABLES FROM"):
        what, from_ = "TABLES", exp.Table(this=exp.to_identifier(words[2]))
    if what in ("DEPARTMENTS", "DATABASES"):
        departments = list(context.catalog.departments)
        context.local_relations[_PREFIX + "departments"] = pa.table({"department": pa.array(departments, pa.string())})
        return exp.select("department").from_(_PREFIX + "departments").order_by("department")
    if what == "SCHEMAS":
        local = information_schema_view("schemata", context)
        return exp.select("catalog_name", "schema_name").from_(local).order_by("catalog_name", "schema_name")
    if what in ("TABLES", "ALL TABLES"):
        if from_ is not None:
            name = from_.name if isinstance(from_, exp.Table) and not from_.args.get("db") else from_.sql("duckdb")
            department = context.catalog.department_name(name)
            tables = context.catalog.department_tables(department)  # unknown: a typed error with a suggestion
            broken = context.catalog.problems(department)
            if broken:
                raise broken[0]
            columns = _information_schema(tables, "columns", context)
        else:
            columns = _build("columns", context)
        context.local_relations[_PREFIX + "show_columns"] = columns
        return _show_tables()
    raise ReadOnlyError(
        f"SHOW {what.strip() or ''} is not supported; fedquery answers {_SHOW_FORMS}".replace("  ", " ")
    )


def _show_tables() -> exp.Expr:
    """DuckDB's SHOW ALL TABLES shape, over the columns rows."""
    return (
        exp.select(
            exp.alias_(exp.column("table_catalog"), "database", quoted=True),
            exp.alias_(exp.column("table_schema"), "schema", quoted=True),
            exp.alias_(exp.column("table_name"), "name", quoted=True),
            exp.alias_(_list_agg("column_name"), "column_names"),
            exp.alias_(_list_agg("data_type"), "column_types"),
            exp.alias_(exp.false(), "temporary"),
        )
        .from_(_PREFIX + "show_columns")
        .group_by("table_catalog", "table_schema", "table_name")
        .order_by("table_catalog", "table_schema", "table_name")
    )


def _list_agg(column: str) -> exp.Expr:
    """``ARRAY_AGG(column ORDER BY ordinal_position)``, built by sqlglot."""
    order = exp.Order(this=exp.column(column), expressions=[exp.Ordered(this=exp.column("ordinal_position"))])
    return exp.ArrayAgg(this=order)
