"""Semi-join reduction across sources (strategy ``auto``).

For an inner equi-join ``a.x = b.y`` between fragments of different sources, one
side (the consumer) can wait for the other (the producer) at run time and filter
itself by the producer's distinct keys: ``y IN (...)`` is added to the SQL (or the
Arrow filter) it is sent, so rows that could not join never cross the wire.

Which side reduces which comes from statistics: the producer's distinct keys
(its estimated rows, capped by the key column's distinct count) over the distinct
values of the consumer's key column is the fraction of the consumer that survives.
Reductions are chosen greedily by rows saved, may chain (nation reduces supplier,
which then reduces lineitem), never form a cycle, and are planned only where at
least half the consumer is expected to go. The executor applies them within a key
budget (``[settings] semijoin_max_keys``); past it the keys' range is sent instead
(numeric and date keys), or nothing.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from fedquery.fragment import Fragment, Reducer
from fedquery.planner.context import PlanContext
from fedquery.planner.estimate import row_width, selectivity
from fedquery.planner.tree import column_equalities, conjuncts, cut_levels, from_items
from fedquery.policy.access import key_flow_allowed

#: Plan a reduction only where at most this fraction of the consumer is expected to survive.
MAX_SURVIVING = 0.5
#: ... and for a file scan, which reads the same storage either way (row groups aside) and only
#: sends DuckDB fewer rows, where at most this fraction does: the wait must pay for itself.
MAX_SURVIVING_FILE = 0.25
#: Keys sent to a SQL source cross the wire too (as SQL text): the rows a reduction saves must
#: weigh at least this many times the keys it sends, in bytes.
KEY_COST_FACTOR = 2
#: Keys for a file scan become an Arrow ``is_in`` over an array, not SQL text: it takes this many
#: times ``semijoin_max_keys`` (the executor applies the same factor).
FILE_KEY_FACTOR = 4
#: ... and where the producer's expected keys are at most this many times the key budget.
KEY_BUDGET_SLACK = 2
#: scales each source's ``Capabilities.reduction_min_rows`` (tests of the mechanism at SF 0.01 set 0)
MIN_ROWS_SCALE = 1.0


def semijoin(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Strategy ``auto``: plan semi-join reductions at every query level whose joins are all inner,
    innermost first (a derived table's reductions are known when the query around it is planned)."""
    if context.pushdown == "auto":
        for select, all_inner in cut_levels(expression, context.cut):
            if all_inner:
                plan_semijoins(select, context)
    return expression


def plan_semijoins(select: exp.Select, context: PlanContext) -> None:
    """Plan the reductions between the fragments of one query level (``Fragment.reducers``)."""
    fragments = {f.name: f for f in context.fragments}
    aliases: dict[str, Fragment] = {}
    for item in from_items(select):
        if isinstance(item, exp.Table) and item.name in fragments:
            aliases[item.alias_or_name] = fragments[item.name]
    where = select.args.get("where")
    if where is None or not aliases:
        return
    derived = _derived_columns(select, fragments)
    budget = context.catalog.config.settings.semijoin_max_keys * KEY_BUDGET_SLACK
    candidates = []
    for predicate in conjuncts(where.this):
        if not (
            isinstance(predicate, exp.EQ)
            and isinstance(predicate.left, exp.Column)
            and isinstance(predicate.right, exp.Column)
        ):
            continue
        a, b = aliases.get(predicate.left.table), aliases.get(predicate.right.table)
        for (mine, outer), theirs in (((predicate.left, a), predicate.right), ((predicate.right, b), predicate.left)):
            inside = derived.get(theirs.table, {}).get(theirs.name)
            if outer is not None and inside is not None and inside[0] is not outer:
                candidates.append((outer, mine.name, inside[0], inside[1]))  # into a derived table
        if a is None or b is None or a is b:
            continue
        if (a.department, a.source) == (b.department, b.source) and _joins(a, context):
            continue  # a source that joins was sent the join itself (or refused it for a reason)
        candidates.append((a, predicate.left.name, b, predicate.right.name))
        candidates.append((b, predicate.right.name, a, predicate.left.name))
    candidates.extend(_in_subquery_candidates(where.this, aliases, fragments))
    involved = {id(f): f for c in candidates for f in (c[0], c[2])}
    rows = {f.name: float(f.estimated_rows) for f in involved.values() if f.estimated_rows is not None}
    unreduced = {name: context.unreduced_rows.get(name, value) for name, value in rows.items()}
    # Per producer, what its own filters and joins keep of each table: the greedy rounds below ask
    # for it once per candidate and round, and it depends only on the fragment's tree.
    kept = {f.name: _kept_fractions(f) for f in involved.values()}
    chosen: set[tuple[str, str]] = set()
    # The reductions planned so far, by consumer (the fragments themselves are values: evolved once chosen).
    reducers = {name: list(f.reducers) for name, f in fragments.items()}
    while True:
        best = None
        for producer, p_col, consumer, c_col in candidates:
            if (producer.name, consumer.name) in chosen or producer.name not in rows or consumer.name not in rows:
                continue
            if consumer.name in _producers_of(producer.name, reducers):
                continue  # no cycles
            if _chains_at_one_source(producer, consumer, fragments, reducers, context):
                continue  # a chain of scans at one source that runs them one after another
            target = _source_column(consumer, c_col)
            if target is None or not _key_type(consumer, c_col):
                continue
            if any(p == producer.name and t == target for p, _, t in reducers[consumer.name]):
                continue  # planned already (an earlier round)
            forbidden = key_flow_allowed(context.catalog, producer.department, consumer.department)
            if forbidden:
                context.note(f"semi-join reduction of {consumer.name} by {producer.name} not planned: {forbidden}")
                continue
            least = _connector(consumer, context).capabilities.reduction_min_rows * MIN_ROWS_SCALE
            if least and unreduced[consumer.name] < least:
                continue  # read quickly unreduced: not worth waiting for keys
            if rows[producer.name] > rows[consumer.name]:
                # The consumer waits for the whole producer: read in parallel it would be done first
                # (TPC-DS Q58: 36,000 date_dim rows waited on 1.4 M catalog_sales rows to save 35,000).
                continue
            keys = _distinct_keys(producer, p_col, rows[producer.name], unreduced[producer.name], kept[producer.name])
            if keys >= rows[consumer.name]:
                continue  # the side with fewer keys than the other has rows goes first
            domain = _key_domain(consumer, target)
            factor = FILE_KEY_FACTOR if not _sql_source(consumer, context) else 1
            if domain is None or keys > budget * factor:
                continue
            surviving = min(1.0, keys / domain)
            saved = rows[consumer.name] * (1 - surviving)
            limit = MAX_SURVIVING if _sql_source(consumer, context) else MAX_SURVIVING_FILE
            if _sql_source(consumer, context) and not _pays_for_its_keys(consumer, c_col, saved, keys):
                continue
            if surviving <= limit and (best is None or saved > best[0]):
                best = (saved, surviving, producer, p_col, consumer, target, keys)
        if best is None:
            return
        _, surviving, producer, p_col, consumer, target, keys = best
        chosen.add((producer.name, consumer.name))
        before = rows[consumer.name]
        rows[consumer.name] = max(1.0, before * surviving)
        reducers[consumer.name].append(Reducer(producer.name, p_col, target))
        context.unreduced_rows.setdefault(consumer.name, before)
        context.evolve(
            consumer,
            reducers=tuple(reducers[consumer.name]),
            estimated_rows=int(rows[consumer.name]),
            estimated_bytes=int(rows[consumer.name]) * row_width(consumer.schema),
        )
        context.note(
            f"semi-join reduction: {consumer.name} ({consumer.department}.{consumer.source}, ~{int(before)} rows) "
            f"is filtered by the keys of {producer.name}.{p_col} (~{int(keys)} keys, "
            f"~{surviving:.0%} of {target.sql('duckdb')} survive)"
        )


def _derived_columns(select: exp.Select, fragments: dict[str, Fragment]) -> dict[str, dict[str, tuple[Fragment, str]]]:
    """Derived tables of the FROM list whose output columns are a fragment's column passed through.

    Filtering that fragment by ``column IN (keys)`` filters the derived table the same way
    where the column goes through inner joins, WHERE, DISTINCT and GROUP BY (as a grouping
    key) unchanged: Q2's decorrelated ``(SELECT ps_partkey, MIN(ps_supplycost) ... GROUP BY
    ps_partkey)`` can read only the partsupp rows of the outer query's parts. An aggregate
    over everything (no GROUP BY), LIMIT, windows and outer joins would change.
    """
    out: dict[str, dict[str, tuple[Fragment, str]]] = {}
    for item in from_items(select):
        inner = item.this if isinstance(item, exp.Subquery) else None
        if not isinstance(inner, exp.Select) or any(inner.args.get(k) for k in ("limit", "offset", "qualify")):
            continue
        if inner.find(exp.Window) is not None or any(j.side or j.kind for j in inner.args.get("joins") or []):
            continue
        group = inner.args.get("group")
        if group is None and any(p.find(exp.AggFunc) for p in inner.expressions):
            continue
        keys = set(group.expressions) if group is not None else None  # sqlglot trees compare by structure
        tables = {
            t.alias_or_name: fragments[t.name]
            for t in from_items(inner)
            if isinstance(t, exp.Table) and t.name in fragments
        }
        columns = {}
        for projection in inner.expressions:
            column = projection.unalias()
            if isinstance(column, exp.Column) and column.table in tables and (keys is None or column in keys):
                columns[projection.alias_or_name] = (tables[column.table], column.name)
        if columns:
            out[item.alias_or_name] = columns
    return out


def _in_subquery_candidates(
    where: exp.Expr, aliases: dict[str, Fragment], fragments: dict[str, Fragment]
) -> list[tuple[Fragment, str, Fragment, str]]:
    """``x IN (SELECT k FROM <fragment>)``: the subquery's fragment can reduce ``x``'s (a semi-join)."""
    out = []
    for predicate in conjuncts(where):
        query = (
            predicate.args.get("query") if isinstance(predicate, exp.In) and not predicate.args.get("negate") else None
        )
        inner = query.this if isinstance(query, exp.Subquery) else None
        if not isinstance(predicate.this if query else None, exp.Column) or not isinstance(inner, exp.Select):
            continue
        items = from_items(inner)
        if len(items) != 1 or not isinstance(items[0], exp.Table) or items[0].name not in fragments:
            continue
        if any(inner.args.get(k) for k in ("where", "group", "having", "limit", "offset", "joins")):
            continue
        if len(inner.expressions) != 1 or not isinstance(inner.expressions[0].unalias(), exp.Column):
            continue
        outer = aliases.get(predicate.this.table)
        if outer is not None:
            subquery, key = fragments[items[0].name], inner.expressions[0].unalias().name
            out.append((subquery, key, outer, predicate.this.name))
            # ... and the other way: subquery rows whose key no outer row has cannot match.
            out.append((outer, predicate.this.name, subquery, key))
    out.extend(_exists_candidates(where, aliases, fragments))
    return out


def _exists_candidates(
    where: exp.Expr, aliases: dict[str, Fragment], fragments: dict[str, Fragment]
) -> list[tuple[Fragment, str, Fragment, str]]:
    """``[NOT] EXISTS (SELECT .. FROM <fragment> f WHERE f.k = outer.x ...)``: only rows of f whose k is
    among the outer fragment's x can ever match, whether the test is EXISTS or NOT EXISTS."""
    out = []
    for predicate in conjuncts(where):
        exists = predicate.this if isinstance(predicate, exp.Not) else predicate
        inner = exists.this if isinstance(exists, exp.Exists) else None
        if not isinstance(inner, exp.Select) or any(inner.args.get(k) for k in ("group", "having", "limit", "joins")):
            continue
        items = from_items(inner)
        if len(items) != 1 or not isinstance(items[0], exp.Table) or items[0].name not in fragments:
            continue
        alias = items[0].alias_or_name
        for condition in conjuncts(inner.args["where"].this) if inner.args.get("where") else []:
            if not (isinstance(condition, exp.EQ) and isinstance(condition.left, exp.Column)):
                continue
            if not isinstance(condition.right, exp.Column):
                continue
            for mine, theirs in ((condition.left, condition.right), (condition.right, condition.left)):
                if mine.table == alias and theirs.table in aliases and theirs.table != alias:
                    out.append((aliases[theirs.table], theirs.name, fragments[items[0].name], mine.name))
    return out


def _pays_for_its_keys(consumer: Fragment, column: str, saved_rows: float, keys: float) -> bool:
    """Do the bytes a reduction saves outweigh the keys it sends (literals of about 8 bytes, 24 for text)?"""
    index = consumer.schema.get_field_index(column)
    text = index >= 0 and not pa.types.is_integer(consumer.schema.field(index).type)
    return saved_rows * row_width(consumer.schema) >= KEY_COST_FACTOR * keys * (24 if text else 8)


def _connector(fragment: Fragment, context: PlanContext):  # type: ignore[no-untyped-def]
    return context.catalog.connector(fragment.department, fragment.source)


def _sql_source(fragment: Fragment, context: PlanContext) -> bool:
    return _connector(fragment, context).capabilities.sql


def _joins(fragment: Fragment, context: PlanContext) -> bool:
    return context.catalog.connector(fragment.department, fragment.source).capabilities.joins


def _chains_at_one_source(
    producer: Fragment,
    consumer: Fragment,
    fragments: dict[str, Fragment],
    reducers: dict[str, list[Reducer]],
    context: PlanContext,
) -> bool:
    """Would ``producer`` -> ``consumer`` make a chain of two reductions into one source whose
    ``chained_reductions`` is off: the producer waits for keys itself, or the consumer already
    sends keys on to a fragment of its own source?"""
    if _connector(consumer, context).capabilities.chained_reductions:
        return False
    here = (consumer.department, consumer.source)
    if reducers[producer.name] and (producer.department, producer.source) == here:
        return True
    return any(
        r.producer == consumer.name and (fragments[name].department, fragments[name].source) == here
        for name, planned in reducers.items()
        if name in fragments
        for r in planned
    )


def _producers_of(name: str, reducers: dict[str, list[Reducer]]) -> set[str]:
    """Every fragment the fragment ``name`` waits for, directly or through its producers."""
    seen: set[str] = set()
    todo = [r.producer for r in reducers.get(name, ())]
    while todo:
        producer = todo.pop()
        if producer not in seen:
            seen.add(producer)
            todo.extend(r.producer for r in reducers.get(producer, ()))
    return seen


def _distinct_keys(producer: Fragment, column: str, rows: float, unreduced: float, kept: dict[str, float]) -> float:
    """How many distinct keys the producer is expected to send.

    ``rows`` of a table of ``n`` rows holding ``d`` distinct keys (``n / d`` rows each,
    uniformly) hold about ``d * (1 - (1 - rows / n) ** (n / d))`` distinct keys. Inside a
    producer that joins, a key equal to another table's column has at most that column's
    surviving values: Q5's customers of region ASIA hold 5 nation keys, not 25. ``kept`` is
    ``_kept_fractions(producer)``.
    """
    source = _source_column(producer, column)
    if source is None or not isinstance(source, exp.Column):
        return rows
    kept = dict(kept)
    if unreduced and source.table in kept:
        kept[source.table] *= min(1.0, rows / unreduced)
    where = producer.expression.args.get("where") if isinstance(producer.expression, exp.Select) else None
    equal = {(source.table, source.name)}
    for a, b in column_equalities(where.this if where is not None else None):
        if a in equal or b in equal:
            equal |= {a, b}
    estimates = [_surviving_values(producer, table, name, kept.get(table, 1.0)) for table, name in equal]
    known = [e for e in estimates if e is not None]
    return min([rows, *known])


def _surviving_values(fragment: Fragment, table: str, column: str, kept: float) -> float | None:
    """Distinct values of ``table.column`` among the ``kept`` fraction of its table's rows."""
    domain = _key_domain(fragment, exp.column(column, table=table))
    catalog_table = fragment.alias_tables.get(table)
    n = catalog_table.estimated_rows() if catalog_table is not None else None
    if domain is None or not n:
        return None
    return domain * (1 - (1 - min(1.0, kept)) ** (n / domain))


def _kept_fractions(fragment: Fragment) -> dict[str, float]:
    """Per table of the fragment, the fraction of its rows its own filters and its joins keep.

    A join ``t.a = u.b`` keeps the rows of ``t`` whose ``a`` is among ``u``'s surviving ``b``
    values (independence otherwise); two passes carry a filter two joins along (region ->
    nation -> customer).
    """
    select = fragment.expression
    if not isinstance(select, exp.Select):
        return {}
    where = select.args.get("where")
    kept = {alias: 1.0 for alias in fragment.alias_tables}
    for predicate in conjuncts(where.this) if where is not None else []:
        tables = {c.table for c in predicate.find_all(exp.Column)}
        if len(tables) == 1 and next(iter(tables)) in kept:
            alias = next(iter(tables))
            kept[alias] *= selectivity(predicate, fragment.alias_tables)
    own = dict(kept)
    for _ in range(2):
        joined = dict(own)
        for a, b in column_equalities(where.this if where is not None else None):
            for (t, x), (u, y) in ((a, b), (b, a)):
                if t not in kept or u not in kept:
                    continue
                values = _surviving_values(fragment, u, y, kept[u])
                domain = _key_domain(fragment, exp.column(x, table=t))
                if values is not None and domain:
                    joined[t] *= min(1.0, values / domain)
        kept = joined
    return kept


def _key_domain(fragment: Fragment, column: exp.Expr) -> float | None:
    """Distinct values of a source column of ``fragment`` in its whole table (statistics)."""
    if not isinstance(column, exp.Column):
        return None
    table = fragment.alias_tables.get(column.table)
    if table is None:
        return None
    stats = table.statistics().columns.get(column.name)
    if stats is not None and stats.distinct:
        return float(stats.distinct)
    rows = table.estimated_rows()
    return float(rows) if rows else None


def _source_column(fragment: Fragment, output: str) -> exp.Expr | None:
    """The source-side column behind one of the fragment's outputs, or None if it is computed."""
    select = fragment.expression
    if not isinstance(select, exp.Select) or any(select.args.get(k) for k in ("limit", "offset", "qualify")):
        return None
    if select.find(exp.Window) is not None:
        return None
    group = select.args.get("group")
    keys = {g.sql() for g in group.expressions} if group is not None else None
    for projection in select.expressions:
        column = projection.unalias()
        if projection.alias_or_name == output and isinstance(column, exp.Column):
            if keys is not None and column.sql() not in keys:
                return None  # a filter commutes with GROUP BY only on a grouping key
            return column.copy()
    return None


def _key_type(fragment: Fragment, output: str) -> bool:
    t = fragment.output_type(output)
    return t is not None and (pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t))
