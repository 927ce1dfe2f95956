"""fedquery: one SQL query across departmental data, pushed down per source, joined in DuckDB."""

from __future__ import annotations

from fedquery.errors import (
    BindError,
    ConfigError,
    ConnectorNotInstalledError,
    ExecutionError,
    FedQueryError,
    ParseError,
    PlanError,
    QueryError,
    ReadOnlyError,
    SourceError,
    SourceUnavailableError,
    UnknownColumnError,
    UnknownDepartmentError,
    UnknownTableError,
)
from fedquery.federation import Federation, connect

__version__ = "0.1.0"

__all__ = [
    "BindError",
    "ConfigError",
    "ConnectorNotInstalledError",
    "ExecutionError",
    "FedQueryError",
    "Federation",
    "ParseError",
    "PlanError",
    "QueryError",
    "ReadOnlyError",
    "SourceError",
    "SourceUnavailableError",
    "UnknownColumnError",
    "UnknownDepartmentError",
    "UnknownTableError",
    "__version__",
    "connect",
]
