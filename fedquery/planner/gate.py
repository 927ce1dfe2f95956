"""The last gate before SQL leaves fedquery: the catalog is the only namespace.

Every relation a statement names must be a catalog table (tagged by the planner when it
put the source's remote name in place) or a CTE defined inside that same statement and in
scope where it is used. Anything else — a bare name the source would resolve itself (its
system catalogs, tables the catalog does not expose), a table function — is refused with a
:class:`CatalogEscapeError`. It fails closed: an untagged relation is refused even if it
happens to name an exposed table.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlglot import exp

from fedquery.errors import CatalogEscapeError
from fedquery.planner.scope import visible_cte

#: ``meta`` key the planner sets on a table node that names a catalog table at its source
CATALOG_TAG = "fq_catalog"


def gate(
    tree: exp.Expr,
    *,
    department: str | None = None,
    source: str | None = None,
    local_tables: Collection[str] = (),
) -> exp.Expr:
    """Refuse ``tree`` unless every relation in it is a catalog table, an in-scope CTE, or (in the
    local DuckDB's SQL) one of ``local_tables``.

    >>> import sqlglot
    >>> gate(sqlglot.parse_one("WITH t AS (SELECT 1) SELECT * FROM t")).sql()
    'WITH t AS (SELECT 1) SELECT * FROM t'
    >>> gate(sqlglot.parse_one("SELECT * FROM pg_shadow"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fedquery.errors.CatalogEscapeError: refused: 'pg_shadow' is not a table of the catalog ...
    """
    for node in tree.walk():
        if isinstance(node, exp.Table):
            if node.meta.get(CATALOG_TAG):
                continue
            if not isinstance(node.this, exp.Identifier):
                raise CatalogEscapeError(node.sql("duckdb"), department=department, source=source)
            if visible_cte(node) is not None:
                continue
            if not node.args.get("db") and not node.args.get("catalog") and node.name in local_tables:
                continue
            raise CatalogEscapeError(".".join(p.name for p in node.parts), department=department, source=source)
        elif isinstance(node, (exp.Lateral, exp.TableFromRows)) and not isinstance(node.this, exp.Subquery):
            raise CatalogEscapeError(node.sql("duckdb"), department=department, source=source)
    return tree
