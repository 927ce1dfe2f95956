"""fedquery: one SQL query across departmental data, pushed down per source, joined in DuckDB."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fedquery.errors import (
        BindError,
        ConfigError,
        ConnectorNotInstalledError,
        DataError,
        ExecutionError,
        ExtraNotInstalledError,
        FedQueryError,
        IntegrityError,
        InterfaceError,
        InternalError,
        NotSupportedError,
        OperationalError,
        OutputError,
        ParameterError,
        ParameterValueError,
        ParseError,
        PlanError,
        QueryCancelledError,
        QueryError,
        QueryTimeoutError,
        ReadOnlyError,
        ResourceError,
        SourceError,
        SourceUnavailableError,
        UnknownColumnError,
        UnknownDepartmentError,
        UnknownTableError,
    )
    from fedquery.federation import Federation

    Error = FedQueryError
    DatabaseError = FedQueryError
    ProgrammingError = QueryError

__version__ = "0.1.0"

# DB-API 2.0 (PEP 249): fedquery.connect(...) is the connection, .cursor() a cursor (fedquery.dbapi).
apilevel = "2.0"
#: threads may share the module and connections (a Federation runs concurrent queries), not cursors
threadsafety = 2
#: ``?`` with a sequence; ``$1`` (sequence) and ``$name`` / ``:name`` (mapping) are accepted too
paramstyle = "qmark"
#: DB-API names of fedquery's own error classes
_ALIASES = {"Error": "FedQueryError", "DatabaseError": "FedQueryError", "ProgrammingError": "QueryError"}
_DBAPI_NAMES = frozenset(
    {"STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "Date", "Time", "Timestamp", "DateFromTicks",
     "TimeFromTicks", "TimestampFromTicks", "Binary", "Cursor"}
)  # fmt: skip


def connect(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    user: str | None = None,
    groups: Iterable[str] | None = None,
    purpose: str | None = None,
) -> Federation:
    """Open a federation from a ``fedquery.toml`` path, a dict, or the default lookup.

    ``user``, ``groups`` and ``purpose`` declare who its queries run as (see ``fedquery.principal``).
    The engine (pyarrow, sqlglot, duckdb) is imported here, not by ``import fedquery``.
    """
    from fedquery.federation import connect as _connect

    return _connect(config, user=user, groups=groups, purpose=purpose)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext fedquery``: the ``%fedsql`` / ``%%fedsql`` magics (see :mod:`fedquery.magic`)."""
    from fedquery.magic import load_ipython_extension as _load

    _load(ipython)


def __getattr__(name: str) -> Any:
    if name == "Federation":
        from fedquery.federation import Federation

        return Federation
    if name == "Warning":
        from fedquery.errors import FedQueryWarning

        return FedQueryWarning
    if name.endswith("Error") and name in __all__:  # the error classes, imported when first named
        from fedquery import errors

        return getattr(errors, _ALIASES.get(name, name))
    if name in _DBAPI_NAMES:
        from fedquery import dbapi

        return getattr(dbapi, name)
    raise AttributeError(f"module 'fedquery' has no attribute {name!r}")


__all__ = [
    "BindError",
    "ConfigError",
    "ConnectorNotInstalledError",
    "DataError",
    "DatabaseError",
    "Error",
    "ExecutionError",
    "ExtraNotInstalledError",
    "FedQueryError",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "ParameterError",
    "ParameterValueError",
    "ProgrammingError",
    "Federation",
    "OutputError",
    "ParseError",
    "PlanError",
    "QueryCancelledError",
    "QueryError",
    "QueryTimeoutError",
    "ReadOnlyError",
    "ResourceError",
    "SourceError",
    "SourceUnavailableError",
    "UnknownColumnError",
    "UnknownDepartmentError",
    "UnknownTableError",
    "__version__",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
