"""Cut the query into fragments (one source each) and the local DuckDB query.

Top-down: a query subtree whose tables all live in one source, that the
source can answer, and that does not reference an enclosing query, is sent
whole. Otherwise its CTEs, set-operation branches and subqueries are tried in
turn, and its own FROM list is cut: tables of one source joined by inner joins
become one joined fragment; every other table becomes a scan fragment with its
columns and its filters pushed. The fragment's place in the local query is
taken by a reference to the fragment's Arrow stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from fedquery.errors import PlanError
from fedquery.planner.colocated import correlation_reason, has_subquery, subquery_filter_reason
from fedquery.planner.context import PlanContext
from fedquery.planner.estimate import estimate_query, row_width
from fedquery.planner.fragments import make_fragment, scoped_columns
from fedquery.planner.place import QUERY_TYPES, is_correlated, sources_of
from fedquery.planner.tree import column_equalities, conjuncts, from_items, linked
from fedquery.policy.enforce import POLICY_TAG

if TYPE_CHECKING:
    from connectors.base import Connector


def split(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Cut ``expression`` into fragments and the local query. Every query level whose FROM list was cut is
    listed (``PlanContext.cut``) for the cost passes that follow, which decide the rest."""
    holder = exp.Subquery(this=expression)
    _split_query(expression, context)
    root: exp.Expr = holder.this
    return root


def _split_query(query: exp.Expr, context: PlanContext) -> None:
    while isinstance(query, exp.Subquery):  # a parenthesised query: (SELECT ...) EXCEPT (SELECT ...)
        query = query.this
    sources = sources_of(query, context)
    if not sources:
        return
    view = query.meta.get(POLICY_TAG)  # a principal's view (see fedquery.policy): sent whole under every strategy
    if not context.pushes_subtrees and view is None:
        pass  # strategies none/filters: only scans are sent
    elif (
        len(sources) == 1
        and not is_correlated(query)
        and not _free_cte_refs(query, context)
        and not _reads_local_relation(query, context)
    ):
        table = _any_table(query, context)
        connector = table.connector
        reason = _whole_reason(query, connector) or correlation_reason(query, connector, context)
        if reason is None and view is None and context.pushdown == "auto":
            reason = _grouping_reason(query, connector, context)
        serial = connector.capabilities.serial_statements and context.pushdown == "auto"
        serial = serial and reason is None and view is None
        branches = _independent_branches(query) if serial else 0
        if branches > 1:
            context.note(
                f"{_label(query)}: {branches} independent subqueries sent to {table.department}.{table.source} "
                "as separate fragments, read at once (one statement runs them one after another)"
            )
            reason = ""
        if reason is None and connector.capabilities.sql:
            fragment = make_fragment(query, connector, context)
            _replace_with_fragment(query, fragment.name, fragment.output_aliases)
            return
        if view is not None and connector.capabilities.sql:
            # Evaluating the masks here would move raw values out of the source: refused.
            raise PlanError(
                f"the access rules of {view} cannot be evaluated by {table.department}.{table.source}: {reason}",
                department=table.department,
                source=table.source,
            )
        if reason:
            context.note(f"not sent whole to {table.department}.{table.source}: {reason}")
    elif len(sources) > 1:
        names = sorted({f"{t.department}.{t.source}" for t in _tables_in(query, context)})
        if len(names) > 1:
            context.note(f"{_label(query)} spans sources {', '.join(names)}: the join runs locally")

    with_ = query.args.get("with_")
    if with_ is not None:
        for cte in with_.expressions:
            _split_query(cte.this, context)
    if isinstance(query, exp.SetOperation):
        _split_query(query.left, context)
        _split_query(query.right, context)
        return
    if not isinstance(query, exp.Select):
        return
    # Derived tables first (so their fragments take part in semi-join planning), then the FROM
    # list, which may absorb subquery filters that its sources can answer, then what is left.
    for child in list(_child_queries(query)):
        if isinstance(child.parent, exp.Subquery) and isinstance(child.parent.parent, (exp.From, exp.Join)):
            _split_query(child, context)
    context.cut.append((query, _split_from(query, context)))
    for child in list(_child_queries(query)):
        _split_query(child, context)


#: Inputs below this many rows are grouped wherever the query goes: the difference is too small to weigh.
GROUPING_MIN_ROWS = 100_000


def _grouping_reason(query: exp.Expr, connector: Connector, context: PlanContext) -> str | None:
    """Cost: would a source whose grouping is slower than sending rows (``whole_group_fraction``) spend
    longer on the query's GROUP BY or DISTINCT than it saves (TPC-DS Q78's store_sales anti-joined to
    store_returns, ~2.4 M groups of ~2.6 M rows)? Then the query is not sent whole: its tables (or
    joins) are, and DuckDB groups."""
    fraction = connector.capabilities.whole_group_fraction
    if fraction is None or not isinstance(query, exp.Select):
        return None
    if query.args.get("group") is None and query.args.get("distinct") is None:
        return None
    ungrouped = query.copy()
    for key in ("group", "having", "distinct", "order", "limit", "offset", "qualify", "with_"):
        ungrouped.set(key, None)
    ungrouped.set("expressions", [exp.Star()])
    rows = estimate_query(ungrouped, context)
    grouped = query.copy()
    for key in ("order", "limit", "offset", "with_"):
        grouped.set(key, None)
    groups = estimate_query(grouped, context)
    if rows is None or groups is None or rows < GROUPING_MIN_ROWS or groups <= fraction * rows:
        return None
    return (
        f"cost: {connector.kind} would group ~{rows:,} rows into ~{groups:,}, which costs more there than "
        "sending the rows: DuckDB groups them"
    )


def _independent_branches(query: exp.Expr) -> int:
    """How many derived tables ``query`` cross-joins with nothing linking them (``SELECT * FROM (...) a,
    (...) b``): each could run on its own connection. 0 when anything else is in the FROM list, a join
    has a condition, or a filter reads two of them."""
    if not isinstance(query, exp.Select):
        return 0
    items = from_items(query)
    if len(items) < 2 or not all(isinstance(i, exp.Subquery) and i.alias for i in items):
        return 0
    if any(j.args.get("on") or j.args.get("using") or j.side for j in query.args.get("joins") or []):
        return 0
    where = query.args.get("where")
    tied = any(len({c.table for c in p.find_all(exp.Column)}) > 1 for p in conjuncts(where.this if where else None))
    return 0 if tied else len(items)


def _reads_local_relation(query: exp.Expr, context: PlanContext) -> bool:
    """Does ``query`` read a relation only the local step has (information_schema, DESCRIBE rows)?"""
    return any(t.name in context.local_relations and not t.args.get("db") for t in query.find_all(exp.Table))


def _free_cte_refs(query: exp.Expr, context: PlanContext) -> bool:
    """Does ``query`` use a CTE defined outside it (which the source would not know)?"""
    inner = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    return any(
        t.name in context.ctes and t.name not in inner and t.name not in context.tables
        for t in query.find_all(exp.Table)
    )


def _whole_reason(query: exp.Expr, connector: object) -> str | None:
    caps = connector.capabilities  # type: ignore[attr-defined]
    if not caps.sql:
        # File sources take scans only; the FROM-list cut below pushes those with their filters.
        return "" if _is_plain_scan(query) else f"a {connector.kind} source takes only single-table scans"  # type: ignore[attr-defined]
    checks = [
        (caps.joins, lambda: any(True for _ in query.find_all(exp.Join)), "joins"),
        (
            caps.aggregates,
            lambda: query.find(exp.AggFunc) is not None or query.find(exp.Group) is not None,
            "aggregates",
        ),
        (caps.order_limit, lambda: query.find(exp.Order, exp.Limit, exp.Offset) is not None, "ORDER BY/LIMIT"),
        (caps.window, lambda: query.find(exp.Window) is not None, "window functions"),
        (caps.set_operations, lambda: query.find(exp.SetOperation) is not None, "set operations"),
    ]
    for allowed, present, what in checks:
        if not allowed and present():
            return f"{what} are not pushed to {connector.kind} sources"  # type: ignore[attr-defined]
    return connector.unsupported_reason(query)  # type: ignore[attr-defined, no-any-return]


def _is_plain_scan(query: exp.Expr) -> bool:
    return (
        isinstance(query, exp.Select)
        and not query.args.get("joins")
        and not any(query.args.get(k) for k in ("group", "having", "order", "limit", "offset", "distinct", "qualify"))
        and all(
            isinstance(p, (exp.Column, exp.Alias)) and isinstance(p.unalias(), exp.Column) for p in query.expressions
        )
        and isinstance(query.args["from_"].this, exp.Table)
        and query.find(exp.Subquery, exp.AggFunc, exp.Window) is None
    )


def _replace_with_fragment(query: exp.Expr, name: str, aliases: Sequence[tuple[str, str]]) -> None:
    parent = query.parent
    if isinstance(parent, exp.Subquery) and isinstance(parent.parent, (exp.From, exp.Join)):
        alias = parent.args.get("alias")
        columns = alias.columns if alias is not None else []
        if all(a == b for a, b in aliases):
            table = exp.Table(this=exp.to_identifier(name, quoted=True))
            table.set("alias", exp.TableAlias(this=exp.to_identifier(parent.alias, quoted=True), columns=columns))
            parent.replace(table)
            return
    select = exp.Select(
        expressions=[
            exp.alias_(exp.column(inner, quoted=True), outer, quoted=True)
            if inner != outer
            else exp.column(inner, quoted=True)
            for inner, outer in aliases
        ]
    ).from_(exp.Table(this=exp.to_identifier(name, quoted=True)))
    query.replace(select)


def _child_queries(select: exp.Select) -> Iterator[exp.Expr]:
    """Queries directly nested in ``select`` (derived tables and subqueries), not deeper."""
    for node in select.iter_expressions():
        if isinstance(node, exp.With):
            continue
        yield from _outermost_queries(node)


def _outermost_queries(node: exp.Expr) -> Iterator[exp.Expr]:
    if isinstance(node, QUERY_TYPES):
        yield node
        return
    for child in node.iter_expressions():
        yield from _outermost_queries(child)


def _split_from(select: exp.Select, context: PlanContext) -> bool:
    """Cut the FROM list into fragments; True if every join in it is inner."""
    from_ = select.args.get("from_")
    if from_ is None:
        return False
    joins: list[exp.Join] = list(select.args.get("joins") or [])
    items = [from_.this] + [j.this for j in joins]
    catalog_items = [t for t in items if isinstance(t, exp.Table) and t.name in context.tables]
    if not catalog_items:
        return False
    all_inner = all(_is_inner(j) for j in joins)
    if all_inner and context.pushes_subtrees:
        _move_join_conditions_to_where(select, joins)
        groups: dict[tuple[str, ...], list[exp.Table]] = {}
        for t in catalog_items:
            connector = context.tables[t.name].connector
            if connector.capabilities.sql and connector.capabilities.joins:
                groups.setdefault(connector.identity(), []).append(t)
        for members in groups.values():
            for component in _connected(select, members):
                if len(component) > 1:
                    _push_join_group(select, component, context)
    elif not all_inner:
        context.note(f"outer joins in {_label(select)}: only scans are pushed, joins run locally")
    for item in list(from_items(select)):
        if isinstance(item, exp.Table) and item.name in context.tables:
            _push_scan(select, item, context, nullable=_is_nullable(select, item))
    return all_inner


def _connected(select: exp.Select, members: list[exp.Table]) -> list[list[exp.Table]]:
    """Members linked by equi-join conditions: a source is never sent a cross product to compute."""
    where = select.args.get("where")
    links = [(a[0], b[0]) for a, b in column_equalities(where.this if where is not None else None)]
    by_alias = {m.alias_or_name: m for m in members}
    return [[by_alias[a] for a in group] for group in linked(by_alias, links)]


def _is_inner(join: exp.Join) -> bool:
    return not join.side and (join.kind or "").upper() in ("", "INNER", "CROSS") and not join.args.get("using")


def _move_join_conditions_to_where(select: exp.Select, joins: list[exp.Join]) -> None:
    conditions = []
    for join in joins:
        on = join.args.get("on")
        if on is not None:
            conditions.append(on.pop())
        join.set("kind", None)
    if conditions:
        where = select.args.get("where")
        combined = exp.and_(*(([where.this] if where else []) + conditions), copy=False)
        select.set("where", exp.Where(this=combined))


def _is_nullable(select: exp.Select, table: exp.Table) -> bool:
    joins: list[exp.Join] = list(select.args.get("joins") or [])
    position = next((i for i, j in enumerate(joins) if j.this is table), -1)
    if position >= 0 and joins[position].side in ("LEFT", "FULL"):
        return True
    later = joins[position + 1 :] if position >= 0 else joins
    return any(j.side in ("RIGHT", "FULL") for j in later)


def _only_references(predicate: exp.Expr, aliases: set[str]) -> bool:
    if predicate.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window) is not None:
        return False
    tables = {c.table for c in predicate.find_all(exp.Column)}
    return bool(tables) and tables <= aliases and predicate.find(exp.Rand) is None


def _take_predicates(select: exp.Select, aliases: set[str], accept, context: PlanContext, connector):  # type: ignore[no-untyped-def]
    """Take the WHERE conjuncts over ``aliases`` only that ``accept`` allows.

    With a strategy that pushes subtrees, filters with subqueries that ``connector``'s source
    can answer itself are taken too (see colocated.py).
    """
    where = select.args.get("where")
    if where is None:
        return []
    taken, kept = [], []
    for predicate in conjuncts(where.this):
        if _only_references(predicate, aliases) and accept(predicate):
            taken.append(predicate)
        elif context.pushes_subtrees and has_subquery(predicate) and _colocated(predicate, aliases, connector, context):
            taken.append(predicate)
        else:
            kept.append(predicate)
    if taken:
        select.set("where", exp.Where(this=exp.and_(*kept, copy=False)) if kept else None)
    return taken


def _colocated(predicate: exp.Expr, aliases: set[str], connector, context: PlanContext) -> bool:  # type: ignore[no-untyped-def]
    reason = subquery_filter_reason(predicate, aliases, connector, context)
    if reason is None:
        reason = _whole_reason(predicate, connector)
    if reason:
        context.note(f"filter {_short(predicate)} kept local: {reason}")
    return not reason


def _short(node: exp.Expr, limit: int = 80) -> str:
    text = node.sql("duckdb")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _push_join_group(select: exp.Select, members: list[exp.Table], context: PlanContext) -> None:
    connector = context.tables[members[0].name].connector
    aliases = {m.alias_or_name for m in members}

    def accept(predicate: exp.Expr) -> bool:
        reason = connector.unsupported_reason(predicate)
        if reason:
            context.note(f"filter {predicate.sql('duckdb')} kept local: {reason}")
        return reason is None

    predicates = _take_predicates(select, aliases, accept, context, connector)
    group_alias = f"_g{len(context.fragments)}"
    needed: list[tuple[str, str]] = []
    for member in members:
        for column in scoped_columns(select, member.alias_or_name):
            needed.append((member.alias_or_name, column))
    if not needed:
        first = members[0]
        needed.append((first.alias_or_name, context.tables[first.name].arrow_schema().names[0]))
    counts: dict[str, int] = {}
    for _, column in needed:
        counts[column] = counts.get(column, 0) + 1
    out_names = {(a, c): (c if counts[c] == 1 else f"{a}_{c}") for a, c in needed}
    inner = exp.Select(
        expressions=[exp.alias_(exp.column(c, table=a, quoted=True), out_names[(a, c)], quoted=True) for a, c in needed]
    )
    inner.set("from_", exp.From(this=members[0].copy()))
    for member in members[1:]:
        inner.append("joins", exp.Join(this=member.copy()))
    if predicates:
        inner.set("where", exp.Where(this=exp.and_(*predicates, copy=False)))
    reason = _whole_reason(inner, connector)
    if reason is None and context.pushdown == "auto":
        reason = _expanding_join_reason(inner, members, predicates, needed, context)
    if reason:
        # The source cannot take the join as written (or it would send more than it saves): put the
        # filters back, the tables become scans.
        if predicates:
            where = select.args.get("where")
            select.set("where", exp.Where(this=exp.and_(*([where.this] if where else []), *predicates, copy=False)))
        names = ", ".join(context.tables[m.name].sql_name for m in members)
        context.note(f"join of {names} not pushed into {connector.department}.{connector.name}: {reason}")
        return
    # Rewrite the outer references, then drop the members from the outer FROM.
    for member_alias in aliases:
        for node in scoped_column_nodes(select, member_alias):
            node.replace(exp.column(out_names[(member_alias, node.name)], table=group_alias, quoted=True))
    subquery = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(group_alias)))
    members[0].replace(subquery)
    # ``inner`` is pushable as a whole (checked above), so this makes one fragment of it.
    for member in members[1:]:
        join = member.parent
        assert isinstance(join, exp.Join)
        join.pop()
    _split_query(inner, context)


#: A co-located join is pulled apart (its tables read as scans, joined locally) where it is expected
#: to send more than this many times the rows, and the bytes, of its filtered inputs.
EXPANDING_JOIN = 2.0


def _expanding_join_reason(
    inner: exp.Select,
    members: list[exp.Table],
    predicates: list[exp.Expr],
    needed: list[tuple[str, str]],
    context: PlanContext,
) -> str | None:
    """Cost: would the join send more rows and bytes than its inputs (a many-to-many join multiplies rows),
    or, at a source that joins row by row, remove too few rows to repay it (``max_join_fraction``)?"""
    tables = {m.alias_or_name: context.tables[m.name] for m in members}
    connector = context.tables[members[0].name].connector
    joins = [p for p in predicates if len({c.table for c in p.find_all(exp.Column)}) > 1]
    if not all(_known_join(p, tables) for p in joins):
        return None  # no distinct counts to size the join: no cost-based decision
    joined = estimate_query(inner, context)
    if joined is None:
        return None
    schemas = {alias: table.arrow_schema() for alias, table in tables.items()}

    def width(columns: Iterable[tuple[str, str]]) -> int:
        fields = [schemas[a].field(c) for a, c in dict.fromkeys(columns) if schemas[a].get_field_index(c) >= 0]
        return row_width(pa.schema(fields))

    # Read apart, each table sends its needed columns and its join keys, under its own filters.
    keys = [(c.table, c.name) for p in joins for c in p.find_all(exp.Column)]
    inputs, input_rows, largest = 0.0, 0.0, 0.0
    for member in members:
        alias = member.alias_or_name
        own = [p.copy() for p in predicates if {c.table for c in p.find_all(exp.Column)} == {alias}]
        scan = exp.select("*").from_(member.copy())
        if own:
            scan.set("where", exp.Where(this=exp.and_(*own, copy=False)))
        rows = estimate_query(scan, context)
        if rows is None:
            return None
        inputs += rows * width(c for c in needed + keys if c[0] == alias)
        input_rows += rows
        largest = max(largest, rows)
    fraction = connector.capabilities.max_join_fraction
    if fraction is not None and joined > fraction * largest:
        return (
            f"cost: the join would send ~{joined:,} of its largest table's ~{largest:,.0f} rows, and "
            f"{connector.kind} joins row by row: the tables are read apart and joined locally"
        )
    output = joined * width(needed)
    if not connector.capabilities.widening_joins and output >= inputs:
        return (
            f"cost: the join would send ~{output / 1e6:,.1f} MB, its filtered tables ~{inputs / 1e6:,.1f} MB, "
            f"and {connector.kind} joins no faster than the local step: they are read apart and joined locally"
        )
    if joined <= EXPANDING_JOIN * input_rows or output <= EXPANDING_JOIN * inputs:
        return None  # a lookup join only widens rows: the source sends no more of them than it reads
    return (
        f"cost: the join would send ~{joined:,} rows (~{output / 1e6:,.1f} MB), its filtered tables "
        f"~{inputs / 1e6:,.1f} MB: they are read apart and joined locally"
    )


def _known_join(predicate: exp.Expr, tables: dict) -> bool:  # type: ignore[type-arg]
    """An equi-join whose columns' distinct counts the statistics give."""
    if not isinstance(predicate, exp.EQ):
        return False
    for column in (predicate.left, predicate.right):
        table = tables.get(column.table) if isinstance(column, exp.Column) else None
        stats = table.statistics().columns.get(column.name) if table is not None else None
        if stats is None or not stats.distinct:
            return False
    return True


def _push_scan(select: exp.Select, table: exp.Table, context: PlanContext, *, nullable: bool) -> None:
    catalog_table = context.tables[table.name]
    connector = catalog_table.connector
    alias = table.alias_or_name

    def accept(predicate: exp.Expr) -> bool:
        reason = connector.filter_reason(predicate, catalog_table.info)
        if reason:
            context.note(f"filter {predicate.sql('duckdb')} on {catalog_table.sql_name} kept local: {reason}")
        return reason is None

    predicates: list[exp.Expr] = []
    if context.pushdown == "none" and POLICY_TAG not in select.meta:
        pass  # the naive baseline: whole tables, every filter runs locally (a view's row filter excepted)
    elif not nullable:
        predicates = _take_predicates(select, {alias}, accept, context, connector)
    elif isinstance(table.parent, exp.Join) and table.parent.side == "LEFT":
        join = table.parent
        kept = []
        for predicate in conjuncts(join.args.get("on")):
            if _only_references(predicate, {alias}) and accept(predicate):
                predicates.append(predicate)
            else:
                kept.append(predicate)
        if predicates:
            join.set("on", exp.and_(*kept, copy=False) if kept else exp.true())
    columns = scoped_columns(select, alias)
    if context.pushdown == "none":
        columns = list(catalog_table.arrow_schema().names)
    elif not columns:
        columns = [catalog_table.arrow_schema().names[0]]
    inner = exp.Select(expressions=[exp.column(c, table=alias, quoted=True) for c in columns])
    inner.set("from_", exp.From(this=table.copy()))
    if predicates:
        inner.set("where", exp.Where(this=exp.and_(*[p.copy() for p in predicates], copy=False)))
    subquery = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
    table.replace(subquery)
    limit = _scan_limit(select) if not connector.capabilities.sql and context.pushes_subtrees else None
    fragment = make_fragment(inner, connector, context, scan_table=catalog_table, predicates=predicates, limit=limit)
    _replace_with_fragment(inner, fragment.name, fragment.output_aliases)


def _scan_limit(select: exp.Select) -> int | None:
    """Rows a file scan may stop after: LIMIT (+ OFFSET) of a query that only filters (all of it at the
    scan) and projects that one table; any such rows answer it, since nothing orders them."""
    limit, offset = select.args.get("limit"), select.args.get("offset")
    if limit is None or len(from_items(select)) != 1 or select.args.get("where") is not None:
        return None
    if any(select.args.get(k) for k in ("group", "having", "order", "distinct", "qualify", "joins")):
        return None
    if any(p.find(exp.AggFunc, exp.Window) for p in select.expressions):
        return None
    count, skip = limit.expression, offset.expression if offset is not None else exp.Literal.number(0)
    if not (isinstance(count, exp.Literal) and count.is_int and isinstance(skip, exp.Literal) and skip.is_int):
        return None
    return int(count.to_py()) + int(skip.to_py())


def scoped_column_nodes(select: exp.Select, alias: str) -> list[exp.Column]:
    from fedquery.planner.fragments import scoped_column_nodes as impl

    return impl(select, alias)


def _any_table(query: exp.Expr, context: PlanContext):  # type: ignore[no-untyped-def]
    return next(iter(_tables_in(query, context)))


def _tables_in(query: exp.Expr, context: PlanContext, _seen: frozenset[str] = frozenset()) -> list:  # type: ignore[type-arg]
    out = []
    for table in query.find_all(exp.Table):
        if table.name in context.tables:
            out.append(context.tables[table.name])
        elif table.name in context.ctes and table.name not in _seen:  # a recursive CTE names itself
            out.extend(_tables_in(context.ctes[table.name], context, _seen | {table.name}))
    return out


def _label(query: exp.Expr) -> str:
    root = query.parent is None or (isinstance(query.parent, exp.Subquery) and query.parent.parent is None)
    if root:
        return "the query"
    # Named by what it reads: rendering a whole subquery only to name it costs milliseconds.
    select = query if isinstance(query, exp.Select) else query.find(exp.Select)
    names = [t.alias_or_name for t in from_items(select) if isinstance(t, exp.Table)] if select else []
    return f"subquery (SELECT ... FROM {', '.join(names) or '...'})"
