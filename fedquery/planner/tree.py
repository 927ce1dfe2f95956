"""Small readings of sqlglot trees that several planner passes share."""

from __future__ import annotations

from sqlglot import exp


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


def from_items(select: exp.Select | None) -> list[exp.Expr]:
    """What the FROM list of ``select`` reads: its FROM item, then each joined item."""
    if select is None:
        return []
    from_ = select.args.get("from_")
    if from_ is None:
        return []
    return [from_.this] + [j.this for j in select.args.get("joins") or []]
