"""Load and validate the catalog file (``fedquery.toml``) or an equivalent dict.

Precedence: the explicit path or dict, else ``$FEDQUERY_CONFIG``, else
``./fedquery.toml``. ``${ENV:NAME}`` anywhere in a string is replaced by the
environment variable ``NAME``; the substituted values are remembered as secrets
so that they can be masked wherever a source is shown.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedquery.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_ENV = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
SOURCE_KEYS = {"kind", "url", "path", "tables", "options"}
TABLE_KEYS = {"path", "table", "schema", "format", "columns", "delimiter", "header", "null_values", "options"}


def mask_url(url: str) -> str:
    """Hide the password of a connection URL.

    >>> mask_url("postgresql://ana:s3cret@db:5432/benefits")
    'postgresql://ana:***@db:5432/benefits'
    """
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)


@dataclass(frozen=True)
class Settings:
    """Engine settings: the local DuckDB's limits and the streaming batch size."""

    memory_limit: str = "4GB"
    temp_directory: str | None = None
    threads: int | None = None
    batch_size: int = 65536
    max_inflight_batches: int = 8
    #: semi-join reduction: the most distinct keys sent to a source as an IN-list
    semijoin_max_keys: int = 50_000
    #: parallel reads (strategy auto): ranges of one large fragment read at once, each on its own connection
    #: under one snapshot (PostgreSQL ctid ranges); 1 never splits
    parallel_reads: int = 2
    #: ... for fragments expected to send at least this many rows
    parallel_min_rows: int = 1_000_000
    #: seconds before statistics read from a source are read again (analyzed ones are kept until re-analyzed)
    statistics_max_age: int = 86_400
    #: where the inventory caches discovered facts (default: $XDG_CACHE_HOME/fedquery or ~/.cache/fedquery)
    cache_directory: str | None = None


@dataclass
class SourceConfig:
    department: str
    name: str
    kind: str
    options: dict[str, Any]
    tables: dict[str, dict[str, Any]]
    metadata: dict[str, Any]
    base_dir: Path
    secrets: frozenset[str] = frozenset()

    def redact(self, text: str) -> str:
        """Mask this source's secrets and URL passwords in ``text``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return mask_url(text)

    def location(self) -> str:
        """Where the source lives, safe to print."""
        loc = self.options.get("url") or self.options.get("path") or ""
        return self.redact(str(loc))

    def __repr__(self) -> str:
        return f"SourceConfig({self.department}.{self.name}, kind={self.kind!r}, location={self.location()!r})"


@dataclass
class DepartmentConfig:
    name: str
    metadata: dict[str, Any]
    sources: dict[str, SourceConfig]


@dataclass
class Config:
    departments: dict[str, DepartmentConfig]
    settings: Settings = field(default_factory=Settings)
    path: Path | None = None

    def settings_cache_dir(self) -> Path:
        if self.settings.cache_directory:
            return Path(self.settings.cache_directory)
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "fedquery"


def load_config(config: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> Config:
    """Load a config from a path, a dict, or the default lookup."""
    if isinstance(config, Mapping):
        return parse_config(config, base_dir=Path.cwd(), path=None)
    if config is None:
        config = os.environ.get("FEDQUERY_CONFIG") or "fedquery.toml"
    path = Path(config)
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} not found (use --config, $FEDQUERY_CONFIG or ./fedquery.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    return parse_config(data, base_dir=path.resolve().parent, path=path.resolve())


def parse_config(data: Mapping[str, Any], *, base_dir: Path, path: Path | None) -> Config:
    where = str(path) if path else "config"
    unknown = set(data) - {"departments", "settings"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {sorted(unknown)}; expected 'departments' and 'settings'")
    departments_raw = data.get("departments")
    if not isinstance(departments_raw, Mapping) or not departments_raw:
        raise ConfigError(f"{where}: no [departments.<name>] defined")
    settings = _parse_settings(data.get("settings", {}), where)
    departments: dict[str, DepartmentConfig] = {}
    for dept_name, dept_raw in departments_raw.items():
        if not _NAME.match(dept_name):
            raise ConfigError(
                f"{where}: department name {dept_name!r} must be a SQL identifier ([A-Za-z_][A-Za-z0-9_]*)"
            )
        if not isinstance(dept_raw, Mapping):
            raise ConfigError(f"{where}: [departments.{dept_name}] must be a table", department=dept_name)
        sources_raw = dept_raw.get("sources", {})
        if not isinstance(sources_raw, Mapping):
            raise ConfigError(f"{where}: departments.{dept_name}.sources must be a table", department=dept_name)
        metadata = {k: v for k, v in dept_raw.items() if k != "sources"}
        sources = {
            src_name: _parse_source(dept_name, src_name, src_raw, base_dir, where)
            for src_name, src_raw in sources_raw.items()
        }
        departments[dept_name] = DepartmentConfig(dept_name, metadata, sources)
    return Config(departments, settings, path)


_POSITIVE_SETTINGS = (
    "threads",
    "batch_size",
    "max_inflight_batches",
    "semijoin_max_keys",
    "parallel_reads",
    "parallel_min_rows",
    "statistics_max_age",
)


def _parse_settings(raw: Any, where: str) -> Settings:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: [settings] must be a table")
    allowed = set(Settings.__dataclass_fields__)
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}; known: {sorted(allowed)}")
    values = {k: _substitute(v, set(), f"settings.{k}") for k, v in raw.items()}
    for key in _POSITIVE_SETTINGS:
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise ConfigError(f"{where}: settings.{key} must be a positive integer, got {values[key]!r}")
    if "memory_limit" in values:
        from fedquery.memory import parse_size

        parse_size(values["memory_limit"])  # a ConfigError naming the setting when it does not parse
    return Settings(**values)


def _parse_source(dept: str, name: str, raw: Any, base_dir: Path, where: str) -> SourceConfig:
    if not _NAME.match(name):
        raise ConfigError(f"{where}: source name {name!r} must be a SQL identifier", department=dept)
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: departments.{dept}.sources.{name} must be a table", department=dept, source=name)
    kind = raw.get("kind")
    if not isinstance(kind, str):
        raise ConfigError(f"{where}: departments.{dept}.sources.{name} has no 'kind'", department=dept, source=name)
    secrets: set[str] = set()
    options = {
        k: _substitute(v, secrets, f"departments.{dept}.sources.{name}.{k}")
        for k, v in raw.items()
        if k not in ("kind", "tables", "metadata")
    }
    tables_raw = raw.get("tables", {})
    if not isinstance(tables_raw, Mapping):
        raise ConfigError(
            f"{where}: departments.{dept}.sources.{name}.tables must be a table", department=dept, source=name
        )
    tables: dict[str, dict[str, Any]] = {}
    for tname, traw in tables_raw.items():
        if not _NAME.match(tname):
            raise ConfigError(f"{where}: table name {tname!r} must be a SQL identifier", department=dept, source=name)
        if not isinstance(traw, Mapping):
            raise ConfigError(f"{where}: table {dept}.{tname} options must be a table", department=dept, source=name)
        tables[tname] = {k: _substitute(v, secrets, f"{dept}.{tname}.{k}") for k, v in traw.items()}
    metadata = dict(raw.get("metadata", {}))
    return SourceConfig(dept, name, kind, options, tables, metadata, base_dir, frozenset(secrets))


def _substitute(value: Any, secrets: set[str], key: str) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in os.environ:
                raise ConfigError(f"environment variable {var!r} (used in {key}) is not set")
            secrets.add(os.environ[var])
            return os.environ[var]

        return _ENV.sub(repl, value)
    if isinstance(value, list):
        return [_substitute(v, secrets, key) for v in value]
    if isinstance(value, Mapping):
        return {k: _substitute(v, secrets, key) for k, v in value.items()}
    return value
