"""Which CTE a one-part table name means, by SQL scope (never by name alone).

A CTE is visible in the query its WITH belongs to and in the CTEs defined after it in the
same WITH (all of them under WITH RECURSIVE); an inner WITH shadows an outer one. A name
that no visible CTE defines is not a CTE, whatever other part of the query defines one of
that name: it must then be a catalog table (or is refused).
"""

from __future__ import annotations

from sqlglot import exp


def visible_cte(table: exp.Table) -> exp.CTE | None:
    """The CTE that the one-part name ``table`` refers to, or None.

    >>> import sqlglot
    >>> q = sqlglot.parse_one("SELECT * FROM t WHERE x = (WITH t AS (SELECT 1) SELECT 1)")
    >>> visible_cte(q.find(exp.Table)) is None
    True
    >>> q = sqlglot.parse_one("WITH t AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM t) AS s")
    >>> visible_cte(q.find(exp.Table)).alias
    't'
    """
    if table.args.get("db") or table.args.get("catalog") or not isinstance(table.this, exp.Identifier):
        return None
    name = table.name
    cte_child: exp.CTE | None = None  # the CTE of a WITH the walk is coming out of
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        with_ = node.args.get("with_")
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            if child is with_ and cte_child is not None and not with_.args.get("recursive"):
                ctes = ctes[: ctes.index(cte_child)]  # a CTE sees only those defined before it
            for cte in reversed(ctes):
                if cte.alias_or_name == name:
                    return cte
        cte_child = node if isinstance(node, exp.CTE) else (cte_child if isinstance(node, exp.With) else None)
        child, node = node, node.parent
    return None
