"""What the shell completes, and where a statement ends.

Completion offers SQL keywords, department names, tables as ``department.table``
and the columns of the tables the statement names (of every table when it names
none). The catalog's names come from the warm federation once it is ready; until
then only keywords are offered, so the prompt never waits for a source.

>>> split_statements("SELECT 'a;b' AS a; /* ; */ SELECT 2;  SELECT")
(["SELECT 'a;b' AS a;", '/* ; */ SELECT 2;'], '  SELECT')
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET", "JOIN", "LEFT JOIN",
    "RIGHT JOIN", "FULL JOIN", "INNER JOIN", "CROSS JOIN", "ON", "USING", "AS", "AND", "OR", "NOT", "IN", "IS",
    "NULL", "LIKE", "ILIKE", "BETWEEN", "CASE", "WHEN", "THEN", "ELSE", "END", "DISTINCT", "UNION", "UNION ALL",
    "INTERSECT", "EXCEPT", "WITH", "EXISTS", "ASC", "DESC", "NULLS FIRST", "NULLS LAST", "CAST", "COUNT", "SUM",
    "AVG", "MIN", "MAX", "MEDIAN", "ROUND", "COALESCE", "EXTRACT", "DATE", "TIMESTAMP", "INTERVAL", "OVER",
    "PARTITION BY", "ROW_NUMBER", "TRUE", "FALSE", "QUALIFY", "FILTER",
)  # fmt: skip
DOT_COMMANDS = (".tables", ".schema", ".mode", ".timer", ".explain", ".read", ".output", ".maxrows", ".help", ".quit")
_WORD = re.compile(r"[\w.]*$")
#: how long a Tab waits for the catalog's names right after start-up (seconds)
WAIT_FOR_NAMES = 3.0


class CatalogNames:
    """The catalog's departments, tables and columns, read once in the background."""

    def __init__(self) -> None:
        self.departments: list[str] = []
        self.tables: list[str] = []
        self.columns: dict[str, list[str]] = {}
        self.ready = threading.Event()

    def load(self, federation: Any) -> None:
        """Read the names the principal may see (a table whose schema cannot be read is listed without columns)."""
        from fedquery.errors import FedQueryError

        try:
            rows = [r for r in federation.tables() if r["table"]]  # what the principal may see
        except FedQueryError:
            rows = []
        self.departments = list(federation.config.departments)
        self.tables = [r["table"] for r in rows]
        self.columns = {r["table"]: [name for name, _ in r["columns"]] for r in rows}
        self.ready.set()


def candidates(text: str, names: CatalogNames, statement: str | None = None) -> Iterator[tuple[str, str]]:
    """(completion, what it is) for the word that ends ``text`` (the statement up to the cursor): keywords,
    departments, tables, and the columns of the tables the whole ``statement`` names (else of all)."""
    word = _WORD.search(text)
    prefix = word.group() if word else ""
    low = prefix.lower()
    if text.lstrip().startswith(".") and " " not in text.lstrip():
        yield from ((c, "command") for c in DOT_COMMANDS if c.startswith(low))
        return
    if "." in prefix:
        yield from ((t, "table") for t in names.tables if t.lower().startswith(low))
        return
    if not prefix:
        return
    whole = (statement if statement is not None else text).lower()
    mentioned = [t for t in names.tables if t.lower() in whole]
    columns = _unique(c for t in (mentioned or names.tables) for c in names.columns.get(t, []))
    yield from ((c, "column") for c in columns if c.lower().startswith(low))
    yield from ((d, "department") for d in names.departments if d.lower().startswith(low))
    yield from ((k, "keyword") for k in KEYWORDS if k.lower().startswith(low))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def make_completer(names: CatalogNames) -> Any:
    """A prompt_toolkit completer over :func:`candidates`."""
    from prompt_toolkit.completion import Completer, Completion

    class _Completer(Completer):  # type: ignore[misc]
        def get_completions(self, document: Any, complete_event: Any) -> Iterator[Completion]:
            text = document.text_before_cursor
            word = _WORD.search(text)
            start = -len(word.group()) if word else 0
            names.ready.wait(WAIT_FOR_NAMES)  # Tab just after start-up: the catalog is being read
            for value, meta in candidates(text, names, document.text):
                yield Completion(value, start_position=start, display_meta=meta)

    return _Completer()


def split_statements(text: str) -> tuple[list[str], str]:
    """The complete statements (each with its ``;``) in ``text``, and what follows the last one.

    A ``;`` inside a string, a quoted identifier or a comment does not end a statement.
    """
    statements: list[str] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            close = text.find(ch, i + 1)
            while close != -1 and close + 1 < n and text[close + 1] == ch:  # a doubled quote inside
                close = text.find(ch, close + 2)
            i = n if close == -1 else close + 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end == -1 else end + 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == ";":
            statements.append(text[start : i + 1].strip())
            start = i + 1
        i += 1
    return statements, text[start:]
