"""Derive single-table filters implied by a disjunction that spans tables.

TPC-H Q19 filters ``(p.brand = 12 AND l.quantity BETWEEN 1 AND 11 AND ...) OR (p.brand = 23
AND l.quantity BETWEEN 10 AND 20 AND ...) OR ...``: no table alone can evaluate it, so
as written nothing would be pushed and both tables would cross the wire whole. But it
implies, for each table that every branch constrains, the disjunction of that table's
own conditions: ``(p.brand = 12 AND ...) OR (p.brand = 23 AND ...) OR ...``. Adding those
implied filters (the original stays) lets each source filter its own rows first.

Exact under SQL's three-valued logic: where the original is TRUE some branch is TRUE,
so all of that branch's conditions are, and so is each derived filter; where it is
not TRUE the row is dropped anyway.

>>> import sqlglot
>>> q = sqlglot.parse_one("SELECT 1 FROM a, b WHERE (a.k = b.k AND a.x = 1 AND b.y = 2) OR (a.k = b.k AND a.x = 3)")
>>> where = derive_filters(q, context=None).args["where"].this
>>> [c.sql() for c in conjuncts(where)][1:]
['a.k = b.k', 'a.x = 1 OR a.x = 3']
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from fedquery.planner.tree import conjuncts, linked, unparen


def derive_filters(expression: exp.Expr, *, context: Any) -> exp.Expr:
    for select in list(expression.find_all(exp.Select)):
        where = select.args.get("where")
        if where is None:
            continue
        _transitive_equalities(select)
        where = select.args["where"]
        derived: list[exp.Expr] = []
        for conjunct in conjuncts(where.this):
            if isinstance(unparen(conjunct), exp.Or):
                derived.extend(_implied(unparen(conjunct)))
        if derived:
            existing = set(conjuncts(where.this))  # sqlglot trees compare and hash by structure
            fresh = [d for d in derived if unparen(d) not in existing]
            if fresh:
                select.set("where", exp.Where(this=exp.and_(where.this, *fresh, copy=False)))
    return expression


def _transitive_equalities(select: exp.Select) -> None:
    """``a = b AND b = c`` implies ``a = c``: added, so that a and c's tables are joined directly.

    Only over inner joins, and between columns of one type (where implicit casts cannot
    break transitivity). TPC-H Q5 links customer to nation only through supplier; with the
    implied ``c_nationkey = n_nationkey`` the source holding both joins them itself.
    """
    if any(j.side or (j.kind or "").upper() not in ("", "INNER", "CROSS") for j in select.args.get("joins") or []):
        return
    conditions = conjuncts(select.args["where"].this)
    for join in select.args.get("joins") or []:
        on = join.args.get("on")
        conditions += conjuncts(on) if on is not None else []
    columns: dict[tuple[str, str], exp.Column] = {}
    present: set[frozenset[tuple[str, str]]] = set()
    links = []
    for c in conditions:
        if isinstance(c, exp.EQ) and isinstance(c.left, exp.Column) and isinstance(c.right, exp.Column):
            left, right = c.left, c.right
            if not left.table or not right.table or not _same_type(left, right):
                continue
            a, b = (left.table, left.name), (right.table, right.name)
            columns.setdefault(a, left)
            columns.setdefault(b, right)
            present.add(frozenset((a, b)))
            links.append((a, b))
    implied = []
    for members in linked(columns, links):
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a[0] != b[0] and frozenset((a, b)) not in present:
                    implied.append(exp.EQ(this=columns[a].copy(), expression=columns[b].copy()))
                    present.add(frozenset((a, b)))
    if implied:
        select.set("where", exp.Where(this=exp.and_(select.args["where"].this, *implied, copy=False)))


def _same_type(a: exp.Column, b: exp.Column) -> bool:
    return a.type is not None and b.type is not None and a.type.sql() == b.type.sql()


def _implied(disjunction: exp.Expr) -> list[exp.Expr]:
    branches = _disjuncts(disjunction)
    per_branch: list[dict[str, list[exp.Expr]]] = []
    for branch in branches:
        by_table: dict[str, list[exp.Expr]] = {}
        for condition in conjuncts(branch):
            tables = {c.table for c in condition.find_all(exp.Column)}
            if len(tables) == 1 and "" not in tables and _simple(condition):
                by_table.setdefault(tables.pop(), []).append(condition)
        per_branch.append(by_table)
    every = set(per_branch[0]).intersection(*per_branch[1:]) if per_branch else set()
    spanned = {c.table for c in disjunction.find_all(exp.Column)}
    if len(spanned) < 2:
        return []  # a single-table disjunction is pushed as it is
    # A condition every branch has (a join condition, say) holds on its own.
    common = set.intersection(*[set(conjuncts(branch)) for branch in branches])
    out: list[exp.Expr] = [c.copy() for c in conjuncts(branches[0]) if c in common and _simple(c)]
    for table in sorted(every):
        parts = [exp.and_(*[c.copy() for c in branch[table]], copy=False) for branch in per_branch]
        out.append(exp.paren(exp.or_(*parts, copy=False), copy=False))
    return out


def _simple(condition: exp.Expr) -> bool:
    return condition.find(exp.Subquery, exp.Select, exp.AggFunc, exp.Window, exp.Rand) is None


def _disjuncts(node: exp.Expr) -> list[exp.Expr]:
    node = unparen(node)
    if isinstance(node, exp.Or):
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]
