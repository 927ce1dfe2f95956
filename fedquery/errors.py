"""The typed errors of fedquery: one flat hierarchy under :class:`FedQueryError`.

Every error carries its facts as attributes (department, source, table, remote
SQL, position) and formats its message from them, so callers can both show a
readable message and act on the facts.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class FedQueryError(Exception):
    """Root of every error fedquery raises on purpose."""

    #: Exit code the CLI uses for this family of errors.
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        department: str | None = None,
        source: str | None = None,
        table: str | None = None,
        remote_sql: str | None = None,
    ) -> None:
        self.message = message
        self.department = department
        self.source = source
        self.table = table
        self.remote_sql = remote_sql
        super().__init__(self._format())

    def _format(self) -> str:
        parts = [self.message]
        where = []
        if self.department:
            where.append(f"department {self.department!r}")
        if self.source:
            where.append(f"source {self.source!r}")
        if self.table:
            where.append(f"table {self.table!r}")
        if where and not all(w.split(" ", 1)[1] in self.message for w in where):
            parts.append(f"[{', '.join(where)}]")
        text = " ".join(parts)
        if self.remote_sql:
            text += f"\nremote SQL: {self.remote_sql}"
        from fedquery.pseudonym import redact_keys  # pseudonym keys never appear in an error

        return redact_keys(text)


class FedQueryWarning(Exception):  # noqa: N818 - PEP 249's Warning (fedquery.Warning)
    """PEP 249's Warning: fedquery reports problems as typed errors, so it raises none."""


class InterfaceError(FedQueryError):
    """The API was used wrongly: a closed cursor or connection, a fetch before any execute (PEP 249)."""


class OperationalError(FedQueryError):
    """Something outside the query failed: a source, the memory budget, a deadline (PEP 249's family)."""


class DataError(FedQueryError):
    """A value cannot be processed as given (a parameter of an unsupported type or out of range)."""


class IntegrityError(FedQueryError):
    """PEP 249 names it; fedquery only reads, so it never raises one."""


class InternalError(FedQueryError):
    """PEP 249 names it for an engine in an inconsistent state; fedquery raises typed errors instead."""


class NotSupportedError(FedQueryError):
    """A feature fedquery does not offer (PEP 249)."""


class ConfigError(FedQueryError):
    """The catalog file or configuration dict is wrong."""

    exit_code = 3


class RulesError(ConfigError):
    """A department's access-rules file is missing or wrong; ``path`` and ``line`` say where.

    The department it belongs to is then denied as a whole (never opened): queries touching it
    raise :class:`AccessDenied` carrying this message."""

    def __init__(self, message: str, *, path: str, line: int | None = None, department: str | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"rules file {where}: {message}", department=department)


class ConnectorNotInstalledError(ConfigError):
    """A source kind needs an optional driver that is not installed."""


class ExtraNotInstalledError(ConfigError):
    """A feature needs an optional package that is not installed; the message says which extra to install."""


class QueryError(FedQueryError):
    """Something is wrong with the SQL the user wrote."""


class AccessDenied(QueryError):
    """The principal may not read ``object`` (``department.table`` or ``department.table.column``).

    Names the principal and the object, never data; ``reason`` says which rule (or which broken
    rules file) decided it."""

    def __init__(self, principal: str, obj: str, reason: str, *, department: str | None = None) -> None:
        self.principal = principal
        self.object = obj
        self.reason = reason
        super().__init__(f"access denied: {principal} may not read {obj}: {reason}", department=department)


class ParseError(QueryError):
    """The SQL does not parse. ``line`` and ``column`` say where."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        if line is not None:
            message = f"{message} (line {line}, column {column})"
        super().__init__(message)


class ParameterError(QueryError):
    """The query's parameters and the values given do not match (a count, an unknown or unused name).

    ``parameter`` names the one that is wrong, where there is one."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)


class ParameterValueError(ParameterError, DataError):
    """A parameter's value cannot be bound as a literal (its type, or a value no SQL literal can hold)."""


class ReadOnlyError(QueryError):
    """The statement would write, change settings or reach outside: refused."""


class BindError(QueryError):
    """A name in the query does not match the catalog; ``line``/``column`` say where, when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None, **facts: str) -> None:
        self.line = line
        self.column = column
        if line is not None:
            message = f"{message} (line {line}, column {column})"
        super().__init__(message, **facts)


class UnknownDepartmentError(BindError):
    pass


class UnknownTableError(BindError):
    pass


class UnknownColumnError(BindError):
    pass


class PlanError(QueryError, NotSupportedError):
    """The planner cannot plan this query (an unsupported construct)."""


class CatalogEscapeError(PlanError):
    """A statement about to leave fedquery names a relation the catalog does not expose: refused.

    ``relation`` is the name as it would have been sent. The planner never produces one; this
    is the last gate, so that a planner bug cannot become a read of an unexposed table."""

    def __init__(self, relation: str, *, department: str | None = None, source: str | None = None) -> None:
        self.relation = relation
        super().__init__(
            f"refused: {relation!r} is not a table of the catalog (only catalog tables can be read)",
            department=department,
            source=source,
        )


class SourceError(OperationalError):
    """A source failed: unreachable, corrupt, or it failed while answering."""

    exit_code = 4


class SourceUnavailableError(SourceError):
    """A source cannot be reached or opened at all."""


class ExecutionError(OperationalError):
    """The local DuckDB step failed."""


class OutputError(FedQueryError):
    """Where the result or a file was to be written cannot take it (no such directory, no permission, an
    edited file that would be overwritten), or an input file cannot be read as text. ``path`` names it."""

    exit_code = 2

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class QueryCancelledError(OperationalError):
    """The query was stopped (``Result.cancel()``, ``Federation.interrupt()``, Ctrl-C) in every source and
    the local DuckDB. ``phase`` says where it was (planning, fetch, local step, output), ``running`` which
    department.source fragments were still running and were sent a cancel request."""

    exit_code = 130

    def __init__(self, *, phase: str, running: Iterable[str] = (), timeout: float | None = None, **facts: str) -> None:
        self.phase = phase
        self.running = sorted(set(running))
        self.timeout = timeout
        super().__init__(self._describe(), **facts)

    def _describe(self) -> str:
        still = f"; still running, sent a cancel request: {', '.join(self.running)}" if self.running else ""
        return f"{self._what()} during {self.phase}{still}"

    def _what(self) -> str:
        return "query cancelled"


class QueryTimeoutError(QueryCancelledError):
    """The query passed its deadline (``timeout=``, ``--timeout`` or ``[settings] query_timeout``) and was
    stopped as a cancelled one is."""

    exit_code = 6

    def _what(self) -> str:
        return f"query timed out: its deadline of {self.timeout:g} s passed"


class ResourceError(OperationalError):
    """A query would take more memory than ``[settings] memory_limit`` allows: stopped, not spilled.

    ``limit`` is the budget in bytes and ``phase`` where the query was when it was stopped
    (planning, loading fragments, local step, streaming the result).
    """

    exit_code = 8

    def __init__(self, message: str, *, limit: int, phase: str, **facts: str) -> None:
        self.limit = limit
        self.phase = phase
        super().__init__(f"{message} (memory_limit {format_size(limit)}, while {phase})", **facts)


def format_size(size: int) -> str:
    """A byte count as people write it.

    >>> format_size(500 * 1000**2), format_size(4 * 1000**3), format_size(30517), format_size(999)
    ('500MB', '4GB', '30.5KB', '999 bytes')
    """
    for unit, factor in (("TB", 1000**4), ("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if size >= factor:
            text = f"{size / factor:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return f"{size} bytes"


def suggest(name: str, candidates: Iterable[str]) -> str:
    """Return a "Did you mean ...?" hint, or an empty string.

    >>> suggest("dwp.claim", ["dwp.claims", "hmrc.income"])
    " Did you mean 'dwp.claims'?"
    """
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


class ChartError(FedQueryError):
    """A chart cannot be drawn as asked: an unknown column, kind or file extension (a usage error)."""

    exit_code = 2


class DashboardError(ConfigError):
    """A dashboard file is wrong; ``file`` and ``field`` say where (``panels[2].chart.kind``)."""

    def __init__(self, message: str, *, file: str, field: str | None = None) -> None:
        self.file = file
        self.field = field
        where = f"{file}: {field}: " if field else f"{file}: "
        super().__init__(where + message)
class AuditError(FedQueryError):
    """The audit log cannot be written or read: a query that cannot be audited does not run (fail closed).

    ``path`` is the log file."""

    exit_code = 9

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(f"audit log {path!r}: {message}")


class AuditIntegrityError(AuditError):
    """``audit verify`` found a record that breaks the hash chain: ``line`` (1-based) is the first bad
    record and ``problem`` says what is wrong (edited, removed, inserted, reordered, truncated, not JSON)."""

    exit_code = 10

    def __init__(self, problem: str, *, path: str, line: int) -> None:
        self.problem = problem
        self.line = line
        super().__init__(f"line {line}: {problem}", path=path)
