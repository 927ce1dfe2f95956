"""Parse errors in the user's terms: what was expected, near which word, at which line and column.

sqlglot describes a syntax error by its own classes ("Required keyword: 'expression' missing for
<class 'sqlglot.expressions.core.Mul'>"); this module says it as SQL ("expected an expression
after '*'") and adds a suggestion where a keyword was misspelt (``SELEC``, ``FORM``).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from sqlglot import tokens
from sqlglot.errors import TokenError

from fedquery.errors import ParseError

#: sqlglot expression classes, as the SQL that writes them
_SQL_NAMES = {
    "Add": "'+'", "Sub": "'-'", "Mul": "'*'", "Div": "'/'", "Mod": "'%'", "EQ": "'='", "NEQ": "'<>'",
    "GT": "'>'", "GTE": "'>='", "LT": "'<'", "LTE": "'<='", "And": "AND", "Or": "OR", "Not": "NOT",
    "Alias": "AS", "Where": "WHERE", "Having": "HAVING", "Group": "GROUP BY", "Order": "ORDER BY",
    "Limit": "LIMIT", "Offset": "OFFSET", "Join": "JOIN", "From": "FROM", "Select": "SELECT", "In": "IN",
    "Between": "BETWEEN", "Like": "LIKE", "ILike": "ILIKE", "Is": "IS", "Cast": "CAST", "Case": "CASE",
    "If": "WHEN", "Union": "UNION", "Intersect": "INTERSECT", "Except": "EXCEPT", "With": "WITH", "CTE": "WITH",
    "Paren": "'('", "Tuple": "'('", "Ordered": "ORDER BY", "DPipe": "'||'", "Distinct": "DISTINCT",
}  # fmt: skip
_STATEMENTS = ("SELECT", "WITH", "FROM", "VALUES", "TABLE", "DESCRIBE", "SHOW", "EXPLAIN")
_KEYWORDS = ("SELECT", "FROM", "WHERE", "GROUP", "ORDER", "BY", "HAVING", "JOIN", "LEFT", "RIGHT", "INNER",
             "OUTER", "FULL", "CROSS", "ON", "USING", "LIMIT", "OFFSET", "UNION", "DISTINCT", "WITH", "AS",
             "CASE", "WHEN", "THEN", "ELSE", "END", "BETWEEN", "QUALIFY", "INTERSECT", "EXCEPT")  # fmt: skip


def syntax_error(sql: str, errors: list[dict[str, Any]], dialect: Any) -> ParseError:
    """The ParseError for sqlglot's first error of ``sql``, said as SQL."""
    first = errors[0] if errors else {}
    near = first.get("highlight") or ""
    line, column = first.get("line"), first.get("col")
    if isinstance(column, int) and near:
        column = max(1, column - len(near) + 1)  # sqlglot gives the token's last column
    words = _words(sql, dialect)
    statement = _unknown_statement(words)
    if statement is not None:
        return statement
    text = _expected(first.get("description", ""), near)
    hint = _misspelt(words)
    return ParseError(f"cannot parse SQL: {text}{hint}", line=line, column=column)


def token_error(sql: str, error: TokenError) -> ParseError:
    """An error while reading the text itself: most often a string or quoted name left open."""
    for quote, what in (("'", "string"), ('"', "quoted name")):
        opened = _unclosed(sql, quote)
        if opened is not None:
            line = sql.count("\n", 0, opened) + 1
            column = opened - (sql.rfind("\n", 0, opened) + 1) + 1
            return ParseError(f"cannot parse SQL: the {what} starting here is not closed (a {quote} is missing)",
                              line=line, column=column)  # fmt: skip
    return ParseError("cannot parse SQL: the text cannot be read as SQL tokens")


def _expected(description: str, near: str) -> str:
    description = description.split("<Token")[0].strip()
    required = re.match(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>", description)
    if required:
        what = _SQL_NAMES.get(required.group(2), required.group(2).upper())
        return f"expected an expression after {what}"
    expecting = re.match(r"Expecting (.+)", description)
    if expecting:
        wanted = expecting.group(1).strip().rstrip(".")
        wanted = f"'{wanted}'" if len(wanted) == 1 else wanted
        return f"expected {wanted}" + (f" before {near!r}" if near else "")
    if description.startswith("Expected table name"):
        return "expected a table name" + (f" after {near!r}" if near else "")
    if description.startswith("Invalid expression / Unexpected token") or not description:
        return f"unexpected {near!r}" if near else "syntax error"
    # Any other sqlglot wording: its class names said as SQL.
    text = re.sub(r"<class '[\w.]*?(\w+)'>", lambda m: _SQL_NAMES.get(m.group(1), m.group(1).upper()), description)
    return text.replace("sqlglot", "the parser") + (f" near {near!r}" if near else "")


def _words(sql: str, dialect: Any) -> list[tokens.Token]:
    try:
        return list(dialect.tokenize(sql)) if hasattr(dialect, "tokenize") else []
    except TokenError:
        return []


def not_a_statement(sql: str, dialect: Any) -> ParseError:
    """The whole text parsed as a bare expression (``FOO``, ``1 + 1``): it is no statement."""
    return _unknown_statement(_words(sql, dialect)) or ParseError(
        f"cannot parse SQL: this is an expression, not a statement. A query starts with {' or '.join(_STATEMENTS[:3])}."
    )


def _unknown_statement(words: list[tokens.Token]) -> ParseError | None:
    """``SELEC * FROM t``: the first word is no statement sqlglot knows; suggest the closest one."""
    if not words or words[0].token_type != tokens.TokenType.VAR:
        return None
    first = words[0].text
    close = difflib.get_close_matches(first.upper(), _STATEMENTS, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else f" A query starts with {' or '.join(_STATEMENTS[:3])}."
    return ParseError(f"cannot parse SQL: {first!r} does not start a statement.{hint}",
                      line=words[0].line, column=words[0].col - len(first) + 1)  # fmt: skip


def _misspelt(words: list[tokens.Token]) -> str:
    """`` Did you mean FROM?`` for the first word that looks like a misspelt keyword (``FORM``)."""
    for word in words:
        if word.token_type == tokens.TokenType.VAR and word.text.upper() not in _KEYWORDS:
            close = difflib.get_close_matches(word.text.upper(), _KEYWORDS, n=1, cutoff=0.75)
            if close and len(word.text) >= 4:
                return f" ({word.text!r} at line {word.line}: did you mean {close[0]}?)"
    return ""


def _unclosed(sql: str, quote: str) -> int | None:
    """Where a ``quote``-delimited literal opens that is never closed (doubled quotes escape), or None."""
    opened, index = None, 0
    while index < len(sql):
        char = sql[index]
        if opened is None and char in "'\"" and char != quote:
            end = sql.find(char, index + 1)  # skip the other kind of literal whole
            index = len(sql) if end < 0 else end + 1
            continue
        if char == quote:
            if opened is None:
                opened = index
            elif index + 1 < len(sql) and sql[index + 1] == quote:
                index += 1
            else:
                opened = None
        index += 1
    return opened
