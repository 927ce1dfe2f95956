"""How a plan's SQL is shown: pretty-printed, long key lists summarised (never what is sent or hashed)."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

#: key lists longer than this print as ``IN (<2,911 keys>)`` unless verbose
KEY_LIST_LIMIT = 10


def shown_sql(sql: str, dialect: str, *, verbose: bool = False) -> str:
    """``sql`` pretty-printed in ``dialect``, with long literal lists summarised unless ``verbose``.

    >>> print(shown_sql("SELECT a FROM t WHERE a IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)", "duckdb"))
    SELECT
      a
    FROM t
    WHERE
      a IN (<11 keys>)
    >>> keys = "'{" + ",".join(str(k) for k in range(12)) + "}'"
    >>> shown_sql(f"SELECT a FROM t WHERE a = ANY({keys}::BIGINT[])", "postgres").splitlines()[-1]
    '  a = ANY (<12 keys>)'
    >>> shown_sql("SELECT a FROM t WHERE a IN (1, 2)", "duckdb", verbose=True).splitlines()[-1]
    '  a IN (1, 2)'
    """
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.SqlglotError:
        return sql  # shown as sent
    if not verbose:
        summarise_keys(tree)
    try:
        return tree.sql(dialect=dialect, pretty=True)
    except sqlglot.errors.SqlglotError:
        return sql


def summarise_keys(tree: exp.Expr, limit: int = KEY_LIST_LIMIT) -> exp.Expr:
    """Replace every list of more than ``limit`` literals (IN lists, ANY arrays, VALUES) by ``<n keys>``."""
    for node in list(tree.find_all(exp.In, exp.Array, exp.Tuple)):
        items = node.expressions
        if len(items) > limit and all(
            isinstance(i, (exp.Literal, exp.Null, exp.Boolean, exp.Cast, exp.Neg)) for i in items
        ):
            node.set("expressions", [exp.var(f"<{len(items):,} keys>")])
    for node in list(tree.find_all(exp.Any)):
        # PostgreSQL's keys travel as one array literal: ``= ANY('{1,2,...}'::BIGINT[])``.
        text = node.find(exp.Literal)
        if text is not None and text.is_string and text.this.startswith("{") and text.this.count(",") >= limit:
            node.set("this", exp.var(f"(<{text.this.count(',') + 1:,} keys>)"))
    return tree
