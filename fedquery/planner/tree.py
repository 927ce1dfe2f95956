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


def cut_levels(expression: exp.Expr, levels: Iterable[tuple[exp.Select, bool]]) -> list[tuple[exp.Select, bool]]:
    """The query levels of ``levels`` (those ``split`` cut, each with whether all its joins are inner:
    ``PlanContext.cut``) still inside ``expression``, innermost first: each after every level nested in
    it (deepest first, ties in their order).

    >>> import sqlglot
    >>> tree = sqlglot.parse_one("SELECT * FROM (SELECT * FROM t) AS d WHERE x IN (SELECT y FROM u)")
    >>> levels = [(s, True) for s in tree.find_all(exp.Select)]
    >>> [s is tree for s, _ in cut_levels(tree, levels)]
    [False, False, True]
    >>> cut_levels(tree, [(sqlglot.parse_one("SELECT 1"), True)])  # not in the tree (replaced): not visited
    []
    """
    placed: list[tuple[int, int, exp.Select, bool]] = []
    for order, (select, all_inner) in enumerate(levels):
        node: exp.Expr = select
        depth = 0
        while node is not expression and node.parent is not None:
            node, depth = node.parent, depth + 1
        if node is expression:
            placed.append((-depth, order, select, all_inner))
    placed.sort(key=lambda p: (p[0], p[1]))
    return [(select, all_inner) for _, _, select, all_inner in placed]
