"""Semi-join reduction across sources (strategy ``auto``).

For an inner equi-join ``a.x = b.y`` between two fragments of different sources,
where statistics say one side is much smaller and that side is filtered (an
unfiltered side would send its whole key domain), the larger side (the consumer)
waits for the smaller (the producer) at run time and filters itself by the
producer's distinct keys: ``y IN (...)`` is added to the SQL it sends. Rows that
could not join never cross the wire. The executor applies it within a key budget
(``[settings] semijoin_max_keys``); past the budget the consumer is read unreduced.
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from fedquery.fragment import Fragment
from fedquery.planner.context import PlanContext

#: The producer must be estimated at least this many times smaller than the consumer.
MIN_RATIO = 10
#: Producers estimated above this many rows are not worth an IN-list.
MAX_PRODUCER_ROWS = 200_000


def plan_semijoins(select: exp.Select, context: PlanContext) -> None:
    fragments = {f.name: f for f in context.fragments}
    aliases: dict[str, Fragment] = {}
    for item in _from_items(select):
        if isinstance(item, exp.Table) and item.name in fragments:
            aliases[item.alias_or_name] = fragments[item.name]
    where = select.args.get("where")
    if where is None or len(aliases) < 2:
        return
    for predicate in _conjuncts(where.this):
        if not (
            isinstance(predicate, exp.EQ)
            and isinstance(predicate.left, exp.Column)
            and isinstance(predicate.right, exp.Column)
        ):
            continue
        left, right = predicate.left, predicate.right
        a, b = aliases.get(left.table), aliases.get(right.table)
        if a is None or b is None or a is b or (a.department, a.source) == (b.department, b.source):
            continue
        if a.estimated_rows is None or b.estimated_rows is None:
            continue
        producer, p_col, consumer, c_col = (a, left.name, b, right.name)
        if b.estimated_rows < a.estimated_rows:
            producer, p_col, consumer, c_col = (b, right.name, a, left.name)
        assert producer.estimated_rows is not None and consumer.estimated_rows is not None
        if producer.estimated_rows * MIN_RATIO > consumer.estimated_rows or producer.estimated_rows > MAX_PRODUCER_ROWS:
            continue
        if producer.base_rows is None or producer.estimated_rows >= producer.base_rows:
            continue  # an unfiltered producer sends its whole key domain: nothing would be reduced
        if producer.reducers or any(p == consumer.name for f in fragments.values() for p, _, _ in f.reducers):
            continue  # one level only: a producer is never itself waiting
        target = _source_column(consumer, c_col)
        if target is None or not _key_type(consumer, c_col):
            continue
        consumer.reducers.append((producer.name, p_col, target))
        context.note(
            f"semi-join reduction: {consumer.name} ({consumer.department}.{consumer.source}, "
            f"~{consumer.estimated_rows} rows) is filtered by the keys of {producer.name}.{p_col} "
            f"(~{producer.estimated_rows} rows)"
        )


def _source_column(fragment: Fragment, output: str) -> exp.Expr | None:
    """The source-side column behind one of the fragment's outputs, or None if it is computed."""
    select = fragment.expression
    if not isinstance(select, exp.Select) or select.args.get("group") or select.args.get("limit"):
        return None
    for projection in select.expressions:
        if projection.alias_or_name == output and isinstance(projection.unalias(), exp.Column):
            return projection.unalias().copy()
    return None


def _key_type(fragment: Fragment, output: str) -> bool:
    index = fragment.schema.get_field_index(output)
    if index < 0:
        return False
    t = fragment.schema.field(index).type
    return pa.types.is_integer(t) or pa.types.is_string(t) or pa.types.is_large_string(t)


def _from_items(select: exp.Select) -> list[exp.Expr]:
    from_ = select.args.get("from_")
    if from_ is None:
        return []
    return [from_.this] + [j.this for j in select.args.get("joins") or []]


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    if isinstance(node, exp.Paren) and isinstance(node.this, exp.And):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]
