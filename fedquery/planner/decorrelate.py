"""Turn correlated scalar aggregate subqueries in WHERE into joins with grouped derived tables.

``l.quantity < (SELECT 0.2 * avg(l2.quantity) FROM lineitem l2 WHERE l2.partkey = p.partkey)``
is correlated to ``part``: as written it cannot be sent to the source holding lineitem,
and the whole of lineitem would be fetched to evaluate it locally. Grouped by the
correlation key it becomes an ordinary derived table that the source computes itself:

    FROM ..., (SELECT 0.2 * avg(l2.quantity) AS _dv, l2.partkey AS _dk0
               FROM lineitem l2 GROUP BY l2.partkey) AS _d0
    WHERE _d0._dk0 = p.partkey AND l.quantity < _d0._dv

(the "magic" decorrelation of Seshadri et al., in its simplest form). Exact where it is
applied: the subquery is one side of a comparison that is a top-level WHERE conjunct;
it aggregates with AVG, SUM, MIN or MAX (NULL over no rows: the comparison is then not
true, exactly as the missing group drops the row); it has no GROUP BY, HAVING, LIMIT,
DISTINCT or window; and every reference to the outer query is an equality
``inner column = outer column`` conjunct of its WHERE.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from fedquery.planner.tree import conjuncts, from_items

_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)
_NULL_ON_EMPTY = (exp.Avg, exp.Sum, exp.Min, exp.Max)


def decorrelate(expression: exp.Expr, *, context: Any) -> exp.Expr:
    if context is not None and context.pushdown != "auto":
        return expression  # a cost-based rewrite: the other strategies plan the query as written
    counter = [0]
    for select in list(expression.find_all(exp.Select)):
        where = select.args.get("where")
        if where is None:
            continue
        for conjunct in conjuncts(where.this):
            if isinstance(conjunct, _COMPARISONS):
                for side in ("this", "expression"):
                    operand = conjunct.args.get(side)
                    if isinstance(operand, exp.Subquery) and _rewrite(select, operand, counter):
                        break
    return expression


def _rewrite(outer: exp.Select, subquery: exp.Subquery, counter: list[int]) -> bool:
    inner = subquery.this
    if not isinstance(inner, exp.Select) or len(inner.expressions) != 1:
        return False
    if any(inner.args.get(k) for k in ("group", "having", "limit", "offset", "distinct", "qualify", "with_")):
        return False
    value = inner.expressions[0].unalias()
    aggregates = list(value.find_all(exp.AggFunc))
    if not aggregates or not all(isinstance(a, _NULL_ON_EMPTY) and not _distinct(a) for a in aggregates):
        return False
    if value.find(exp.Window, exp.Subquery) is not None or _bare_columns(value):
        return False
    own = _own_aliases(inner)
    where = inner.args.get("where")
    keys: list[tuple[exp.Column, exp.Column]] = []  # (inner column, outer column)
    kept: list[exp.Expr] = []
    for conjunct in conjuncts(where.this) if where is not None else []:
        outer_columns = [c for c in conjunct.find_all(exp.Column) if c.table not in own]
        if not outer_columns:
            kept.append(conjunct)
            continue
        pair = _key_pair(conjunct, own)
        if pair is None:
            return False
        keys.append(pair)
    if not keys or any(c.table not in own for c in value.find_all(exp.Column)):
        return False
    if inner.find(exp.Subquery, exp.Exists) is not None and _correlated_deeper(inner, own):
        return False
    counter[0] += 1
    alias = f"_d{counter[0]}"
    derived = exp.Select(
        expressions=[exp.alias_(value.copy(), "_dv", quoted=True)]
        + [exp.alias_(k.copy(), f"_dk{i}", quoted=True) for i, (k, _) in enumerate(keys)]
    )
    derived.set("from_", inner.args["from_"].copy())
    for join in inner.args.get("joins") or []:
        derived.append("joins", join.copy())
    if kept:
        derived.set("where", exp.Where(this=exp.and_(*[k.copy() for k in kept], copy=False)))
    derived.set("group", exp.Group(expressions=[k.copy() for k, _ in keys]))
    outer.append(
        "joins", exp.Join(this=exp.Subquery(this=derived, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    )
    conditions = [
        exp.EQ(this=exp.column(f"_dk{i}", table=alias, quoted=True), expression=o.copy())
        for i, (_, o) in enumerate(keys)
    ]
    subquery.replace(exp.column("_dv", table=alias, quoted=True))
    outer.set("where", exp.Where(this=exp.and_(outer.args["where"].this, *conditions, copy=False)))
    return True


def _key_pair(conjunct: exp.Expr, own: set[str]) -> tuple[exp.Column, exp.Column] | None:
    if not (isinstance(conjunct, exp.EQ) and isinstance(conjunct.left, exp.Column)):
        return None
    if not isinstance(conjunct.right, exp.Column):
        return None
    left, right = conjunct.left, conjunct.right
    if left.table in own and right.table not in own:
        return left, right
    if right.table in own and left.table not in own:
        return right, left
    return None


def _distinct(node: exp.AggFunc) -> bool:
    return isinstance(node.this, exp.Distinct) or bool(node.args.get("distinct"))


def _bare_columns(value: exp.Expr) -> bool:
    """Columns outside any aggregate (not a single value per group of an ungrouped query)."""
    for column in value.find_all(exp.Column):
        node = column.parent
        while node is not None and node is not value and not isinstance(node, exp.AggFunc):
            node = node.parent
        if not isinstance(node, exp.AggFunc):
            return True
    return False


def _correlated_deeper(inner: exp.Select, own: set[str]) -> bool:
    """Does a query nested in ``inner`` reference the outer query (which the rewrite would lose)?"""
    for nested in inner.find_all(exp.Select):
        if nested is inner:
            continue
        defined = own | _own_aliases(nested)
        for node in nested.find_all(exp.Select):
            defined |= _own_aliases(node)
        if any(c.table and c.table not in defined for c in nested.find_all(exp.Column)):
            return True
    return False


def _own_aliases(select: exp.Select) -> set[str]:
    return {i.alias_or_name for i in from_items(select) if i.alias_or_name}
