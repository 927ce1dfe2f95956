"""Load and validate the catalog file (``fedquery.toml``) or an equivalent dict.

Precedence: the explicit path or dict, else ``$FEDQUERY_CONFIG``, else
``./fedquery.toml``. ``${ENV:NAME}`` anywhere in a string is replaced by the
environment variable ``NAME``; the substituted values are remembered as secrets
so that they can be masked wherever a source is shown (see :mod:`fedquery.secrets`).

Everything is checked at load, before any connection: unknown keys in
``[settings]``, in a source or in a table are errors that suggest the closest key;
each source kind declares the options it takes, with their types and ranges
(``Connector.options``, ``Connector.table_options``); ``memory_limit`` must be a
size DuckDB reads (``500MB``, ``4GB``, ``2GiB``, ``50%``; at least 16MB).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fedquery.errors import ConfigError, suggest
from fedquery.secrets import install_log_masking, mask_url, redact, remember, secret_values

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_ENV = re.compile(r"\$\{ENV:([A-Za-z_][A-Za-z0-9_]*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB|bytes|%)\s*$", re.IGNORECASE)
#: The smallest ``memory_limit``: below it DuckDB cannot run even a small query.
MIN_MEMORY = 16 * 10**6
#: Descriptive metadata keys (department, source ``metadata`` and table levels; see the inventory).
METADATA_KEYS = (
    "title", "description", "keywords", "licence", "update_frequency", "temporal_coverage", "classification",
    "contact", "issued",
)  # fmt: skip
__all__ = ["METADATA_KEYS", "Config", "Settings", "SourceConfig", "load_config", "mask_url", "memory_bytes"]


def memory_bytes(text: str) -> int:
    """A memory size as DuckDB reads it (``500MB``, ``4GB``, ``2GiB``, ``80%`` of the RAM), in bytes.

    >>> memory_bytes("500MB"), memory_bytes("2GiB"), memory_bytes("1.5 gb")
    (500000000, 2147483648, 1500000000)
    """
    match = _MEMORY.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a memory size like '500MB', '4GB', '2GiB' or '50%' (a unit is required)")
    number, unit = float(match.group(1)), match.group(2).upper()
    if unit == "%":
        if not 0 < number <= 100:
            raise ValueError(f"{text!r}: a share of the RAM must be above 0% and at most 100%")
        return int(number / 100 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    scale = {"B": 1, "BYTES": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}.get(unit)
    if scale is None:
        scale = 1024 ** (("KIB", "MIB", "GIB", "TIB").index(unit) + 1)
    return int(number * scale)


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
    #: under one snapshot (PostgreSQL ctid ranges, SQLite rowid ranges); 1 never splits
    parallel_reads: int = 2
    #: ... for fragments expected to send at least this many rows
    parallel_min_rows: int = 1_000_000
    #: ... and this many bytes (in Arrow): narrower reads gain nothing from a second connection on
    #: 2 cores (TPC-H Q13's 1.48 M rows of two integers, 23 MB: 1.06 s as two ranges, 0.77 s as one)
    parallel_min_bytes: int = 100_000_000
    #: seconds before statistics read from a source are read again (analyzed ones are kept until re-analyzed)
    statistics_max_age: int = 86_400
    #: where the inventory caches discovered facts (default: $XDG_CACHE_HOME/fedquery or ~/.cache/fedquery)
    cache_directory: str | None = None
    #: seconds a query may run (planning, fetch, local step and output) before it is cancelled everywhere;
    #: ``fed.sql(q, timeout=...)`` and ``--timeout`` override it per query
    query_timeout: float = 3600.0
    #: departments without a ``rules`` file: "open" (every principal reads every table) or "deny"
    default_access: str = "open"
    #: the audit log (relative to the catalog file): default ``audit.jsonl`` beside the catalog file, none
    #: for a dict config; ``false`` turns it off (see fedquery.audit)
    audit_log: str | bool | None = None
    #: plans kept for reuse by identical requests while the catalog, rules and keys are unchanged
    #: (see fedquery.plan_cache); 0 plans every query
    plan_cache: int = 256


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
        return redact(text, self.secrets)

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
    #: the department's access-rules file (``rules = "path"``, relative to the catalog file); None: open
    rules: Path | None = None
    #: the department's output rule (disclosure control, see fedquery.disclosure), None if it has none
    output: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"DepartmentConfig({self.name}, sources={list(self.sources.values())!r})"


@dataclass
class Config:
    departments: dict[str, DepartmentConfig]
    settings: Settings = field(default_factory=Settings)
    path: Path | None = None

    def __repr__(self) -> str:
        return f"Config({str(self.path) if self.path else 'dict'}, departments={list(self.departments)!r})"

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
        metadata = {k: v for k, v in dept_raw.items() if k not in ("sources", "rules", "output")}
        sources = {
            src_name: _parse_source(dept_name, src_name, src_raw, base_dir, where)
            for src_name, src_raw in sources_raw.items()
        }
        rules = dept_raw.get("rules")
        if rules is not None and (not isinstance(rules, str) or not rules):
            raise ConfigError(f"{where}: departments.{dept_name}.rules must be a file path", department=dept_name)
        rules_path = (base_dir / rules) if rules else None
        output = _output_rules(dept_name, dept_raw, sources, where)
        departments[dept_name] = DepartmentConfig(dept_name, metadata, sources, rules=rules_path, output=output)
    for dept in departments.values():
        for source in dept.sources.values():
            remember(source.secrets)
    install_log_masking()
    return Config(departments, settings, path)


def _output_rules(
    name: str, raw: Mapping[str, Any], sources: dict[str, SourceConfig], where: str
) -> dict[str, Any] | None:
    """The department's output rule, checked, and every table's own ``output`` (ConfigError naming the field)."""
    from fedquery.disclosure import check_rule

    for source in sources.values():
        for table, options in source.tables.items():
            if "output" in options:
                check_rule(
                    options["output"], f"{where}: departments.{name}.sources.{source.name}.tables.{table}.output"
                )
    if "output" not in raw:
        return None
    return check_rule(raw["output"], f"{where}: departments.{name}.output")


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
    for key in raw:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown setting {key!r}.{suggest(key, allowed)} Known settings: {', '.join(sorted(allowed))}"
            )
    values = {k: _substitute(v, set(), f"settings.{k}") for k, v in raw.items()}
    for key in _POSITIVE_SETTINGS:
        if key in values and (not isinstance(values[key], int) or isinstance(values[key], bool) or values[key] < 1):
            raise ConfigError(f"{where}: settings.{key} must be a positive integer, got {values[key]!r}")
    for key in ("memory_limit", "temp_directory", "cache_directory"):
        if key in values and not isinstance(values[key], str):
            raise ConfigError(f"{where}: settings.{key} must be a string, got {values[key]!r}")
    min_bytes = values.get("parallel_min_bytes", 0)
    if isinstance(min_bytes, bool) or not isinstance(min_bytes, int) or min_bytes < 0:
        raise ConfigError(f"{where}: settings.parallel_min_bytes must be a whole number of bytes, got {min_bytes!r}")
    plan_cache = values.get("plan_cache", 0)
    if isinstance(plan_cache, bool) or not isinstance(plan_cache, int) or plan_cache < 0:
        raise ConfigError(f"{where}: settings.plan_cache must be a whole number of plans (0: off), got {plan_cache!r}")
    if "audit_log" in values and not isinstance(values["audit_log"], (str, bool)):
        raise ConfigError(f"{where}: settings.audit_log must be a path or false, got {values['audit_log']!r}")
    if "memory_limit" in values:
        try:
            limit = memory_bytes(values["memory_limit"])
        except ValueError as exc:
            raise ConfigError(f"{where}: settings.memory_limit: {exc}") from None
        if limit < MIN_MEMORY:
            raise ConfigError(f"{where}: settings.memory_limit must be at least 16MB, got {values['memory_limit']!r}")
    if values.get("default_access", "open") not in ("open", "deny"):
        given = values["default_access"]
        raise ConfigError(f"{where}: settings.default_access must be 'open' or 'deny', got {given!r}")
    if "query_timeout" in values:
        values["query_timeout"] = check_timeout(values["query_timeout"], f"{where}: settings.query_timeout")
    return Settings(**values)


def check_timeout(value: Any, what: str, error: type[Exception] = ConfigError) -> float:
    """A timeout in seconds: a positive, finite number (booleans and text are refused).

    >>> check_timeout(2, "timeout")
    2.0
    >>> check_timeout(0, "timeout")
    Traceback (most recent call last):
    ...
    fedquery.errors.ConfigError: timeout must be a positive number of seconds, got 0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise error(f"{what} must be a positive number of seconds, got {value!r}")
    return float(value)


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
    metadata_raw = raw.get("metadata", {})
    if not isinstance(metadata_raw, Mapping):
        raise ConfigError(
            f"{where}: departments.{dept}.sources.{name}.metadata must be a table", department=dept, source=name
        )
    for key, value in options.items():
        secrets |= secret_values(value, key)
    secrets |= _url_password(options.get("url"))
    source = SourceConfig(dept, name, kind, options, tables, dict(metadata_raw), base_dir, frozenset(secrets))
    _check_source(source, where)
    return source


def _url_password(url: Any) -> set[str]:
    """The (decoded) password of a source URL: a secret even when written into the file."""
    if not isinstance(url, str) or "://" not in url:
        return set()
    from urllib.parse import unquote, urlsplit

    try:
        password = urlsplit(url).password
    except ValueError:
        return set()
    return {password, unquote(password)} if password else set()


def _check_source(source: SourceConfig, where: str) -> None:
    """The source's kind exists and its options are ones that kind takes (no connection is made)."""
    from connectors import connector_class

    try:
        cls = connector_class(source.kind)
    except ConfigError as exc:
        raise ConfigError(
            f"{where}: departments.{source.department}.sources.{source.name}: {exc.message}",
            department=source.department,
            source=source.name,
        ) from None
    cls.check_config(source)


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
