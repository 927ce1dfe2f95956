"""Accept only read queries: one SELECT, set operation or WITH ... SELECT."""

from __future__ import annotations

from sqlglot import exp

from fedquery.errors import ReadOnlyError
from fedquery.planner.context import PlanContext

_QUERY_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery)
_FORBIDDEN_NAMES = (
    "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable", "Command", "Set",
    "Pragma", "Copy", "Attach", "Detach", "Use", "Into", "Lock", "LoadData", "Grant", "Revoke", "Analyze",
    "Describe", "Install", "Transaction", "Commit", "Rollback", "Cache", "Uncache", "Refresh", "Show", "Export",
)  # fmt: skip
_FORBIDDEN = tuple(getattr(exp, n) for n in _FORBIDDEN_NAMES if hasattr(exp, n))
#: Functions that read the engine's own environment, not data: where they run (the local DuckDB or
#: a DuckDB-file source) they would disclose settings such as local paths. Refused everywhere.
_ENVIRONMENT_FUNCTIONS = frozenset(
    {"current_setting", "getenv", "getvariable", "set_variable", "current_query", "which_secret",
     "duckdb_secret_value", "enable_logging", "disable_logging", "truncate_duckdb_logs"}
)  # fmt: skip


def validate(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    """Refuse anything that is not a pure read.

    >>> import sqlglot
    >>> validate(sqlglot.parse_one("DROP TABLE x"), context=None)
    Traceback (most recent call last):
    ...
    fedquery.errors.ReadOnlyError: only read queries are allowed: DROP is refused
    """
    if not isinstance(expression, _QUERY_ROOTS):
        raise ReadOnlyError(f"only read queries are allowed: {_describe(expression)} is refused")
    for node in expression.walk():
        if isinstance(node, _FORBIDDEN):
            where = " inside a CTE" if node.find_ancestor(exp.CTE) else ""
            raise ReadOnlyError(f"only read queries are allowed: {_describe(node)}{where} is refused")
        if isinstance(node, exp.Func) and _function_name(node) in _ENVIRONMENT_FUNCTIONS:
            raise ReadOnlyError(f"{_function_name(node)}() reads the engine's environment, not data: refused")
        if isinstance(node, exp.Select) and node.args.get("into"):
            raise ReadOnlyError("only read queries are allowed: SELECT ... INTO is refused")
        if isinstance(node, exp.Select) and node.args.get("locks"):
            raise ReadOnlyError("only read queries are allowed: SELECT ... FOR UPDATE is refused")
    return expression


def _function_name(node: exp.Func) -> str:
    name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
    return name.lower()


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    key = node.key.upper()
    if isinstance(node, exp.Create) and node.args.get("kind"):
        return f"CREATE {node.args['kind']}"
    return {"TRUNCATETABLE": "TRUNCATE"}.get(key, key)
