"""What may be pushed to each SQL dialect: one declarative table per dialect.

Each class attribute of a table is named after the sqlglot expression class it governs
(``Abs``, ``EQ``, ``Like``, ``Cast``, ``Sum`` ...) and is either

* :class:`Pushed` — sent to the source, rendered by sqlglot's generator for the dialect or by
  the named rendering function (``render``), except where one of its ``unless`` conditions holds
  (each with the reason EXPLAIN shows); its ``examples`` are run at the real server on edge
  values against DuckDB's answer (``tests/test_pushdown_tables.py``), so a wrong entry fails a
  test; or
* :class:`NotPushable` — kept local, ``because`` says why (EXPLAIN shows it); ``trap`` names the
  test in ``tests/test_dialect_traps.py`` that returns different rows if it were pushed.

A function, operator or aggregate not in a dialect's table is not pushed ("not in
PostgreSQL's pushdown table"). Structural nodes (SELECT, JOIN, columns, literals) are governed
by the connector's :class:`~connectors.base.Capabilities`; the table may still list them with
conditions (``Group``, ``Ordered``: ordering and grouping follow the column's collation).

    python -m connectors.pushdown --markdown    # the README's "Pushdown tables" section

``entries`` holds the vocabulary (:class:`Pushed`, :class:`NotPushable`, :class:`Unless`, the
table base class), ``rules`` the conditions and renderings, ``tables`` the tables, ``readme``
their Markdown.

>>> import sqlglot
>>> PostgresPushdown.reason(sqlglot.parse_one("SUBSTRING(x, -1, 2)"))
'SUBSTRING with a start or length that may be zero or negative differs in PostgreSQL'
>>> print(PostgresPushdown.reason(sqlglot.parse_one("md5(x)")))
MD5 (MD5(x)) is not in PostgreSQL's pushdown table
"""

from connectors.pushdown.entries import Entry, NotPushable, PushdownTable, Pushed, Unless, governed
from connectors.pushdown.readme import main, markdown
from connectors.pushdown.tables import (
    TABLES,
    DuckDBPushdown,
    MySQLPushdown,
    PostgresPushdown,
    SQLitePushdown,
    SqlPushdown,
)

__all__ = [
    "TABLES", "DuckDBPushdown", "Entry", "MySQLPushdown", "NotPushable", "PostgresPushdown", "Pushed",
    "PushdownTable", "SQLitePushdown", "SqlPushdown", "Unless", "governed", "main", "markdown",
]  # fmt: skip
