"""Top-N through cross-source joins (strategy ``auto``).

``SELECT c_name, SUM(revenue) ... FROM crm.customer JOIN sales.orders ... GROUP BY c_custkey, c_name
ORDER BY 2 DESC LIMIT 20``: when the sort keys come from one fragment (the driver) and every
output row stems from exactly one of its rows with the same key, only the driver's first rows
in that order can reach the answer. The driver is sent ``ORDER BY keys LIMIT k`` (k from the
LIMIT and the fraction of its rows the joins are expected to keep), and its keys then reduce
the other fragments, so a few hundred rows cross the wire instead of whole tables.

When it applies:

* the outermost query ends in ``ORDER BY ... LIMIT n`` (no DISTINCT, HAVING, window or QUALIFY)
  over inner joins of fragments, each fragment read once;
* without GROUP BY: every sort key is a numeric or temporal column of the driver (text is not
  pushed: the source's collation may order it differently);
* with GROUP BY: every sort key is a grouping column of the driver or SUM/MIN/MAX of a driver
  output, the driver is grouped (pre-aggregated here if need be) by keys the query's groups
  determine, and every other fragment has at most one row per driver row: it joins on a key the
  source enforces (PRIMARY KEY), through its own equalities. Then each group is one driver row,
  so SUM/MIN/MAX of it is that row's value. Keys declared only in the config are not relied on.

Whether the first k rows were enough is checked at run time (executor): the local query over
them must still return its n rows. Every row not fetched sorts after the last fetched one or
ties with it, so it could only have replaced an equal row, which ORDER BY leaves free. Fewer
than n rows, and the query is planned again with a larger k, finally without top-N; a NULL
sort key among the fetched rows (sources place NULLs their own way) goes straight to the last.
An answer is never cut short.
"""

from __future__ import annotations

import math

import pyarrow as pa
from sqlglot import exp

from fedquery.fragment import Fragment, TopN
from fedquery.planner.context import PlanContext
from fedquery.planner.estimate import row_width
from fedquery.planner.partial_aggregate import key_outputs, pre_aggregate
from fedquery.planner.semijoin import _key_domain, _source_column, plan_semijoins
from fedquery.planner.tree import column_equalities, from_items, linked

#: Top-N applies to LIMIT (plus OFFSET) up to this many rows ...
MAX_LIMIT = 10_000
#: ... where the driver is expected to send at least this many rows otherwise (fewer are cheap to
#: move, and the ORDER BY, LIMIT and GROUP BY it is sent cost the source work) ...
MIN_DRIVER_ROWS = 10_000
#: ... and where the driver's first fetch is at most this many rows.
MAX_FETCH = 200_000
#: The first fetch is this many times the rows the joins are expected to keep.
OVERFETCH = 2
#: Each retry multiplies the first fetch by this; past MAX_SCALE the query runs without top-N.
RETRY_SCALE = 8
MAX_SCALE = 64


def next_scale(scale: int, *, unlimited: bool) -> int:
    """The ``top_n_scale`` to plan the next attempt with, after the driver's first rows proved too few
    (the executor's ``TopNIncomplete``): ``RETRY_SCALE`` times more, past ``MAX_SCALE`` (or where a sort
    key was NULL: ``unlimited``) 0, without top-N. This module owns the retry; the federation only loops.

    >>> [next_scale(s, unlimited=False) for s in (1, 8, 64)], next_scale(1, unlimited=True)
    ([8, 64, 0], 0)
    """
    return 0 if unlimited or scale * RETRY_SCALE > MAX_SCALE else scale * RETRY_SCALE


def retry_note(attempt: int, scale: int) -> str:
    """The note a retried query's plan carries (it is the plan that ran, so its hash is not attempt 1's)."""
    how = "without top-N" if scale == 0 else f"{scale}x the first fetch"
    return (
        f"top-N: the driver's first rows were too few; this is attempt {attempt} ({how}); "
        "earlier attempts' fragments are listed as name@attempt"
    )


def top_n(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Strategy ``auto``: one fragment of the outermost query drives its ORDER BY/LIMIT; where one does,
    the query's semi-join reductions are planned again (the driver is small now: its keys reduce the others)."""
    if context.pushdown == "auto" and isinstance(expression, exp.Select) and plan_top_n(expression, context):
        plan_semijoins(expression, context)
    return expression


def plan_top_n(select: exp.Select, context: PlanContext) -> Fragment | None:
    """Make one fragment of the outermost ``select`` drive its ORDER BY/LIMIT; the driver, or None."""
    if context.top_n_scale <= 0 or not isinstance(select, exp.Select):
        return None
    needed = _limit(select)
    order = select.args.get("order")
    if needed is None or order is None or needed[0] + needed[1] > MAX_LIMIT:
        return None
    if any(select.args.get(k) for k in ("distinct", "having", "qualify")) or select.find(exp.Window):
        return None
    if any(j.side or j.kind or j.args.get("on") or j.args.get("using") for j in select.args.get("joins") or []):
        return None
    fragments = {f.name: f for f in context.fragments}
    items = from_items(select)
    aliases = {i.alias_or_name: fragments[i.name] for i in items if isinstance(i, exp.Table) and i.name in fragments}
    if len(items) < 2 or len(aliases) != len(items):
        return None
    used = [t.name for t in select.find_all(exp.Table)]
    if any(used.count(f.name) != 1 for f in aliases.values()):
        return None  # a fragment read twice (a subquery over it too) would see the cut rows
    grouped = select.args.get("group") is not None or any(_own_aggregates(select))
    alias = _driver_alias(select, order, aliases)
    if alias is None:
        return None
    driver = aliases[alias]
    connector = context.catalog.connector(driver.department, driver.source)
    if not (connector.capabilities.sql and connector.capabilities.order_limit):
        return None
    equalities = _equalities(select, set(aliases))
    survival = _survival(alias, aliases, equalities, context)
    limit, offset = needed
    fetch = math.ceil((limit + offset) / survival * OVERFETCH) * context.top_n_scale
    expected = driver.estimated_rows
    if fetch > MAX_FETCH or expected is None or expected < max(MIN_DRIVER_ROWS, 2 * fetch):
        return None
    if _order_keys(select, order, alias, grouped, pending=True) is None:
        return None
    if grouped:
        if select.args.get("group") is None or not _others_unique(alias, aliases, equalities):
            return None
        if not _one_driver_row_per_group(select, alias, driver, equalities):
            return None
        if not _grouped_by(driver.expression) and not pre_aggregate(select, alias, driver, context):
            return None
        driver = context.fragment(driver.name)  # its pre-aggregated value
    keys = _order_keys(select, order, alias, grouped)
    if keys is None or not all(_orderable(driver, column) for column, _ in keys):
        context.note(f"top-N: {driver.name} not sent ORDER BY/LIMIT: its sort keys are not numbers or dates")
        return None
    candidate = _apply(driver, keys, fetch, connector)
    if candidate is None:
        return None
    if driver.reducers:
        context.note(
            f"top-N: {driver.name} goes first, so it is not reduced by {', '.join(r.producer for r in driver.reducers)}"
        )
    context.unreduced_rows[driver.name] = float(expected)
    driver = context.evolve(
        driver,
        expression=candidate,
        columns=None,
        pushed=(*driver.pushed, "top-N"),
        top_n=TopN(keys=tuple(keys), limit=fetch, needed=limit),
        reducers=(),
        estimated_rows=fetch,
        estimated_bytes=fetch * row_width(driver.schema),
    )
    shown = ", ".join(f"{c} {'DESC' if d else 'ASC'}" for c, d in keys)
    context.note(
        f"top-N: {driver.name} ({driver.department}.{driver.source}) sends its first {fetch} rows by {shown} "
        f"(~{survival:.0%} expected to survive the joins, for LIMIT {limit}{f' OFFSET {offset}' if offset else ''}); "
        "if they prove too few, the query runs again with more"
    )
    return driver


def _limit(select: exp.Select) -> tuple[int, int] | None:
    limit, offset = select.args.get("limit"), select.args.get("offset")
    values = []
    for node in (limit.expression if limit is not None else None, offset.expression if offset is not None else None):
        if node is None:
            values.append(0)
        elif isinstance(node, exp.Literal) and node.is_int:
            values.append(int(node.to_py()))
        else:
            return None
    return (values[0], values[1]) if limit is not None and values[0] > 0 else None


def _own_aggregates(select: exp.Select) -> list[exp.AggFunc]:
    return [a for a in select.find_all(exp.AggFunc) if a.find_ancestor(exp.Select) is select]


def _grouped_by(expression: exp.Expr) -> bool:
    return isinstance(expression, exp.Select) and expression.args.get("group") is not None


def _resolve(select: exp.Select, node: exp.Expr) -> exp.Expr:
    """An ORDER BY item: the projection it names (``ORDER BY revenue``, ``ORDER BY 2``), else itself."""
    if isinstance(node, exp.Column) and not node.table:
        for projection in select.expressions:
            if isinstance(projection, exp.Alias) and projection.alias == node.name:
                return projection.this
    if isinstance(node, exp.Literal) and node.is_int:
        position = int(node.to_py())
        if 1 <= position <= len(select.expressions):
            return select.expressions[position - 1].unalias()
    return node


def _driver_alias(select: exp.Select, order: exp.Order, aliases: dict[str, Fragment]) -> str | None:
    """The one fragment alias every sort key reads."""
    tables: set[str] = set()
    for ordered in order.expressions:
        if ordered.args.get("nulls_first"):
            return None  # NULLS FIRST: pushed orders keep NULLs last
        columns = list(_resolve(select, ordered.this).find_all(exp.Column))
        if not columns:
            return None
        tables.update(c.table for c in columns)
    return tables.pop() if len(tables) == 1 and next(iter(tables)) in aliases else None


def _order_keys(
    select: exp.Select, order: exp.Order, alias: str, grouped: bool, *, pending: bool = False
) -> list[tuple[str, bool]] | None:
    """(driver output, descending) per sort key, or None where a key is not one driver output.

    ``pending``: before pre-aggregation, which turns ``SUM(<driver expression>)`` into ``SUM(<output>)``."""
    group = select.args.get("group")
    group_keys = set(group.expressions) if group is not None else set()  # compared by structure
    keys = []
    for ordered in order.expressions:
        node = _resolve(select, ordered.this)
        if grouped and isinstance(node, (exp.Sum, exp.Min, exp.Max)) and not node.args.get("distinct"):
            node = node.this
            if pending and {c.table for c in node.find_all(exp.Column)} == {alias}:
                node = exp.column("pending", table=alias)
        elif grouped and node not in group_keys:
            return None
        if not isinstance(node, exp.Column) or node.table != alias:
            return None
        keys.append((node.name, bool(ordered.args.get("desc"))))
    return keys


def _orderable(fragment: Fragment, column: str) -> bool:
    """Numbers and dates order the same everywhere; text follows each source's collation."""
    t = fragment.output_type(column)
    return t is not None and (pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_temporal(t))


Equalities = list[tuple[tuple[str, str], tuple[str, str]]]


def _equalities(select: exp.Select, aliases: set[str]) -> Equalities:
    """``a.x = b.y`` conditions between fragments of the FROM list."""
    where = select.args.get("where")
    pairs = column_equalities(where.this if where is not None else None)
    return [(a, b) for a, b in pairs if a[0] in aliases and b[0] in aliases and a[0] != b[0]]


def _one_driver_row_per_group(select: exp.Select, alias: str, driver: Fragment, equalities: Equalities) -> bool:
    """Do the query's groups determine the driver's grouping keys (so one group holds one driver row)?

    The keys are those the driver is grouped by, or, not grouped yet, those pre-aggregation would use."""
    group = select.args["group"]
    inner = driver.expression
    if not isinstance(inner, exp.Select):
        return False
    classes = linked({c for pair in equalities for c in pair}, equalities)
    outputs: set[str] = set()
    for g in group.expressions:
        if not isinstance(g, exp.Column):
            continue
        mates = next((c for c in classes if (g.table, g.name) in c), [(g.table, g.name)])
        outputs.update(name for table, name in mates if table == alias)
    sources = {p.alias_or_name: p.unalias() for p in inner.expressions}
    start = [sources[o] for o in outputs if isinstance(sources.get(o), exp.Column)]
    determined = _closure(inner, start, driver)
    if _grouped_by(inner):
        keys = list(inner.args["group"].expressions)
    else:
        keys = [sources.get(o) for o in key_outputs(select, alias)]
    return all(isinstance(k, exp.Column) and _in(determined, k) for k in keys)


def _others_unique(alias: str, aliases: dict[str, Fragment], equalities: Equalities) -> bool:
    """Does every other fragment join at most one row to each driver row (directly or through another)?"""
    attached = {alias}
    pending = set(aliases) - attached
    while pending:
        progress = False
        for other in sorted(pending):
            columns = {
                mine
                for a, b in equalities
                for (mine, theirs) in ((a, b), (b, a))
                if mine[0] == other and theirs[0] in attached
            }
            if columns and _unique_on(aliases[other], {name for _, name in columns}):
                attached.add(other)
                pending.discard(other)
                progress = True
        if not progress:
            return False
    return True


def _unique_on(fragment: Fragment, outputs: set[str]) -> bool:
    """Has ``fragment`` at most one row per value of ``outputs``?"""
    inner = fragment.expression
    if not isinstance(inner, exp.Select):
        return False
    sources = {p.alias_or_name: p.unalias() for p in inner.expressions}
    group = inner.args.get("group")
    if group is not None:
        chosen = {sources[o] for o in outputs if o in sources}
        return all(g in chosen for g in group.expressions)
    if inner.args.get("distinct") is not None:
        return outputs >= set(sources)
    items = from_items(inner)
    if not items or not all(isinstance(i, exp.Table) and i.alias_or_name in fragment.alias_tables for i in items):
        return False
    start = [sources[o] for o in outputs if isinstance(sources.get(o), exp.Column)]
    determined = _closure(inner, start, fragment)
    return all("*" in determined.get(alias, ()) for alias in fragment.alias_tables)


def _closure(inner: exp.Select, start: list[exp.Expr], fragment: Fragment) -> dict[str, set[str]]:
    """Columns of ``inner``'s tables that ``start`` determines: through its equalities, and a table's
    enforced key determining all of its columns (a table wholly determined is keyed by its alias)."""
    where = inner.args.get("where")
    pairs = column_equalities(where.this if where is not None else None)
    known: set[tuple[str, str]] = {(c.table, c.name) for c in start if isinstance(c, exp.Column)}
    whole: set[str] = set()
    changed = True
    while changed:
        changed = False
        for a, b in pairs:
            for x, y in ((a, b), (b, a)):
                if (x in known or x[0] in whole) and y not in known:
                    known.add(y)
                    changed = True
        for alias, table in fragment.alias_tables.items():
            key = table.unique_key()
            if alias not in whole and key and all((alias, k) in known for k in key):
                whole.add(alias)
                changed = True
    out: dict[str, set[str]] = {alias: {"*"} for alias in whole}
    for alias, name in known:
        out.setdefault(alias, set()).add(name)
    return out


def _in(determined: dict[str, set[str]], column: exp.Column) -> bool:
    names = determined.get(column.table, set())
    return "*" in names or column.name in names


def _survival(alias: str, aliases: dict[str, Fragment], equalities: Equalities, context: PlanContext) -> float:
    """The fraction of driver rows expected to find their partners: per fragment joined to it, that
    fragment's rows over the distinct values of its join column."""
    fraction = 1.0
    for a, b in equalities:
        for mine, theirs in ((a, b), (b, a)):
            if theirs[0] != alias or mine[0] == alias:
                continue
            other = aliases[mine[0]]
            source = _source_column(other, mine[1])
            domain = _key_domain(other, source) if source is not None else None
            rows = context.unreduced_rows.get(other.name, other.estimated_rows)
            if domain and rows:
                fraction *= min(1.0, float(rows) / domain)
    return max(fraction, 1e-3)


def _apply(driver: Fragment, keys: list[tuple[str, bool]], fetch: int, connector: object) -> exp.Select | None:
    """The driver's tree sent ``ORDER BY keys LIMIT fetch``, or None where its source cannot take it."""
    inner = driver.expression
    assert isinstance(inner, exp.Select)
    sources = {p.alias_or_name: p.unalias() for p in inner.expressions}
    candidate = inner.copy()
    candidate.set(
        "order",
        exp.Order(expressions=[exp.Ordered(this=sources[c].copy(), desc=desc, nulls_first=False) for c, desc in keys]),
    )
    candidate.set("limit", exp.Limit(expression=exp.Literal.number(fetch)))
    if connector.unsupported_reason(candidate) is not None:  # type: ignore[attr-defined]
        return None
    return candidate
