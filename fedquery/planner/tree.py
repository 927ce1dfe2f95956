"""Small readings of sqlglot trees that several planner passes share."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import TypeVar

from sqlglot import exp

K = TypeVar("K", bound=Hashable)


def conjuncts(node: exp.Expr | None) -> list[exp.Expr]:
    """Split ``a AND (b AND c)`` into ``[a, b, c]`` (parentheses dropped).

    >>> import sqlglot
    >>> where = sqlglot.parse_one("SELECT 1 WHERE a = 1 AND (b = 2 AND (c = 3 OR d = 4))").args["where"]
    >>> [c.sql() for c in conjuncts(where.this)]
    ['a = 1', 'b = 2', 'c = 3 OR d = 4']
    """
    if node is None:
        return []
    node = unparen(node)
    if isinstance(node, exp.And):
        return conjuncts(node.left) + conjuncts(node.right)
    return [node]


def unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def column_equalities(node: exp.Expr | None) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The ``a.x = b.y`` conjuncts of ``node`` as ((table, column), (table, column)) pairs.

    >>> import sqlglot
    >>> column_equalities(sqlglot.parse_one("SELECT 1 WHERE a.x = b.y AND a.z = 1").args["where"].this)
    [(('a', 'x'), ('b', 'y'))]
    """
    return [
        ((p.left.table, p.left.name), (p.right.table, p.right.name))
        for p in conjuncts(node)
        if isinstance(p, exp.EQ) and isinstance(p.left, exp.Column) and isinstance(p.right, exp.Column)
    ]


def from_items(select: exp.Select | None) -> list[exp.Expr]:
    """What the FROM list of ``select`` reads: its FROM item, then each joined item."""
    if select is None:
        return []
    from_ = select.args.get("from_")
    if from_ is None:
        return []
    return [from_.this] + [j.this for j in select.args.get("joins") or []]


def linked(items: Iterable[K], links: Iterable[tuple[K, K]]) -> list[list[K]]:
    """Group ``items`` into the classes that ``links`` (pairs of items) connect, in first-seen order.

    >>> linked("abcd", [("a", "c"), ("c", "d")])
    [['a', 'c', 'd'], ['b']]
    """
    parent: dict[K, K] = {item: item for item in items}

    def find(item: K) -> K:
        while parent[item] != item:
            item = parent[item]
        return item

    for a, b in links:
        if a in parent and b in parent:
            parent[find(a)] = find(b)
    classes: dict[K, list[K]] = {}
    for item in parent:
        classes.setdefault(find(item), []).append(item)
    return list(classes.values())


#: ``split`` tags every query level whose FROM list it cut (value: whether all its joins are inner), so
#: the cost passes after it visit exactly those levels, and never a wrapper over a fragment.
CUT_TAG = "fq_cut"


def cut_levels(expression: exp.Expr) -> list[tuple[exp.Select, bool]]:
    """The query levels ``split`` cut, innermost first (a level after every level nested in it), each with
    whether all its joins are inner.

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT * FROM (SELECT * FROM t) AS d WHERE x IN (SELECT y FROM u)")
    >>> for select in tree.find_all(exp.Select):
    ...     select.meta[CUT_TAG] = True
    >>> [s.sql() for s, _ in cut_levels(tree)][-1] == tree.sql()
    True
    >>> len(cut_levels(tree))
    3
    """
    out: list[tuple[exp.Select, bool]] = []
    stack: list[tuple[exp.Expr, bool]] = [(expression, False)]
    while stack:  # iterative: deep queries must not exhaust the stack
        node, expanded = stack.pop()
        if expanded:
            if isinstance(node, exp.Select) and CUT_TAG in node.meta:
                out.append((node, bool(node.meta[CUT_TAG])))
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node.iter_expressions())))
    return out
