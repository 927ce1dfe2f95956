"""Source connectors and their registry.

Every kind, built-in or third-party, is registered in the ``fedquery.connectors``
entry-point group (see ``pyproject.toml``) as ``kind = "module:Class"`` and
imported lazily on first use. ``BUILTIN`` is only the fallback for running from
a source tree whose package metadata is not installed.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from fedquery.errors import ConfigError, ConnectorNotInstalledError, suggest

if TYPE_CHECKING:
    from connectors.base import Connector

BUILTIN: dict[str, str] = {
    "parquet": "connectors.parquet:ParquetConnector",
    "csv": "connectors.csv:CsvConnector",
    "sqlite": "connectors.sqlite:SqliteConnector",
    "duckdb": "connectors.duckdb_file:DuckDBConnector",
    "postgres": "connectors.postgres:PostgresConnector",
    "mysql": "connectors.mysql:MySQLConnector",
}

_cache: dict[str, type[Connector]] = {}


_kinds: dict[str, str] = {}


def available_kinds() -> dict[str, str]:
    """Every known kind mapped to its ``module:Class`` target (the installed packages' entry points are
    scanned once per process: each scan reads every distribution's metadata)."""
    if not _kinds:
        _kinds.update({ep.name: ep.value for ep in entry_points(group="fedquery.connectors")})
        for kind, target in BUILTIN.items():
            _kinds.setdefault(kind, target)
    return dict(_kinds)


def connector_class(kind: str) -> type[Connector]:
    """The connector class for a source kind (imported on first use)."""
    if kind in _cache:
        return _cache[kind]
    kinds = available_kinds()
    if kind not in kinds:
        raise ConfigError(
            f"unknown source kind {kind!r}.{suggest(kind, kinds)} Known kinds: {', '.join(sorted(kinds))}"
        )
    module_name, _, attr = kinds[kind].partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConnectorNotInstalledError(
            f"the {kind!r} source kind ({kinds[kind]}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None
    _cache[kind] = cls
    return cls  # type: ignore[no-any-return]
