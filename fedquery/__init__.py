"""fedquery: one SQL query across departmental data, pushed down per source, joined in DuckDB."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from fedquery.errors import (
    BindError,
    ConfigError,
    ConnectorNotInstalledError,
    ExecutionError,
    ExtraNotInstalledError,
    FedQueryError,
    OutputError,
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

if TYPE_CHECKING:
    from fedquery.federation import Federation

__version__ = "0.1.0"


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


def __getattr__(name: str) -> Any:
    if name == "Federation":
        from fedquery.federation import Federation

        return Federation
    raise AttributeError(f"module 'fedquery' has no attribute {name!r}")


__all__ = [
    "BindError",
    "ConfigError",
    "ConnectorNotInstalledError",
    "ExecutionError",
    "ExtraNotInstalledError",
    "FedQueryError",
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
    "connect",
]
