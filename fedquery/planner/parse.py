"""Parse SQL text (DuckDB dialect) into exactly one sqlglot statement."""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.errors import ParseError as SqlglotParseError
from sqlglot.errors import TokenError

from fedquery.errors import ParseError, ReadOnlyError
from fedquery.planner.context import PlanContext
from fedquery.planner.syntax import not_a_statement, syntax_error, token_error


def _not_command_fallback(record: logging.LogRecord) -> bool:
    # sqlglot logs a warning when it keeps a statement it does not know (SHOW DEPARTMENTS) as a
    # Command; fedquery answers or refuses that statement itself, so the warning is only noise.
    return "Falling back to parsing as a 'Command'" not in record.getMessage()


logging.getLogger("sqlglot").addFilter(_not_command_fallback)


class _DuckDB(DuckDB):
    """DuckDB's SQL, with each placeholder's token position kept (``meta["fq_token"]``): sqlglot's trees
    do not keep clause order (LIMIT may sit before WHERE), and ``?`` parameters are numbered as written."""

    class Parser(DuckDB.Parser):  # type: ignore[valid-type,misc]
        def _parse_placeholder(self) -> exp.Expr | None:
            start = self._index
            node = super()._parse_placeholder()
            if node is not None:
                node.meta["fq_token"] = start
            return node


_DIALECTS = {"duckdb": _DuckDB()}


def parse(sql: str, *, context: PlanContext) -> exp.Expr:
    """Parse ``sql``; more than one statement is refused.

    >>> from fedquery.planner.context import PlanContext
    >>> parse("SELECT 1", context=PlanContext(catalog=None, sql="SELECT 1")).sql()
    'SELECT 1'
    """
    if not sql or not sql.strip():
        raise ParseError("empty query")
    try:
        dialect = _DIALECTS.get(context.dialect, context.dialect)
        statements = [s for s in sqlglot.parse(sql, dialect=dialect) if s is not None]
    except SqlglotParseError as exc:
        raise syntax_error(sql, exc.errors, _DIALECTS.get(context.dialect)) from None
    except TokenError as exc:
        raise token_error(sql, exc) from None
    if not statements:
        raise ParseError("empty query")
    if len(statements) > 1:
        kinds = ", ".join(type(s).__name__.upper() for s in statements)
        raise ReadOnlyError(f"exactly one statement is allowed, got {len(statements)} ({kinds})")
    statement: exp.Expr = statements[0]
    if isinstance(statement, (exp.Column, exp.Identifier, exp.Literal, exp.Binary, exp.Alias, exp.Func, exp.Paren)):
        raise not_a_statement(sql, _DIALECTS.get(context.dialect))
    return statement
