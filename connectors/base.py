"""The connector interface: what fedquery needs from a source kind.

A connector is one class per source kind. Required: ``list_tables``,
``table_schema`` and ``scan``; everything else has a sensible default. What a
connector can take is declared once, in its frozen :class:`Capabilities`,
and read only by the planner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from sqlglot import exp

from fedquery.errors import ConnectorNotInstalledError, SourceError, SourceUnavailableError

if TYPE_CHECKING:
    from fedquery.config import SourceConfig
    from fedquery.fragment import Fragment


@dataclass(frozen=True)
class Capabilities:
    """What the planner may push into a source.

    ``sql`` false means the source only takes single-table scans (projection
    plus a filter); the other flags then do not apply. ``unsupported`` lists
    sqlglot expression types that must never be sent; ``allowed``, when set, is
    an allowlist and anything outside it is not sent.
    """

    sql: bool = False
    joins: bool = False
    aggregates: bool = False
    order_limit: bool = False
    window: bool = False
    subqueries: bool = False
    set_operations: bool = False
    #: ``scan_ranges``: one fragment read as several ranges at once, consistently (see executor)
    ranges: bool = False
    unsupported: tuple[type[exp.Expr], ...] = ()
    allowed: tuple[type[exp.Expr], ...] | None = None


@dataclass(frozen=True)
class TableInfo:
    """A table as the catalog knows it.

    ``name`` (and ``schema`` where the source has schemas) is the SQL name
    within the department; ``remote`` is how the source names it (path parts,
    a file location, ...); ``options`` are per-table options from the config.
    """

    name: str
    remote: tuple[str, ...]
    schema: str | None = None
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ColumnStats:
    """What a source knows about one column; None where it cannot tell cheaply.

    ``min``/``max`` are Python values of the column's type (int, float, Decimal, date,
    datetime, str); ``distinct`` is an estimate of the number of distinct non-null values.
    """

    min: Any = None
    max: Any = None
    null_count: int | None = None
    distinct: int | None = None


@dataclass(frozen=True)
class TableStats:
    row_count: int | None = None
    size_bytes: int | None = None
    #: per-column statistics, by column name (only the columns the source knows about)
    columns: dict[str, ColumnStats] = field(default_factory=dict, hash=False, compare=False)


class Connector(ABC):
    """Base class of every source kind."""

    kind: ClassVar[str]
    dialect: ClassVar[str] = "duckdb"
    capabilities: ClassVar[Capabilities] = Capabilities()
    #: The ``pip install 'fedquery[extra]'`` that brings this connector's driver.
    extra: ClassVar[str | None] = None

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        #: ``[settings] memory_limit``, set by the catalog: a source that answers inside this
        #: process (a DuckDB file) gives it to its engine
        self.memory_limit: str | None = None

    # -- identity ---------------------------------------------------------
    @property
    def department(self) -> str:
        return self.config.department

    @property
    def name(self) -> str:
        return self.config.name

    def identity(self) -> tuple[str, ...]:
        """Two tables are co-located (can be joined remotely) only if equal."""
        return (self.kind, self.department, self.name)

    def location(self) -> str:
        return self.config.location()

    def source_error(
        self,
        message: str,
        *,
        fragment: Fragment | None = None,
        table: str | None = None,
        unavailable: bool = False,
    ) -> SourceError:
        """A typed error naming this source (secrets masked) and the remote SQL, if any."""
        cls = SourceUnavailableError if unavailable else SourceError
        return cls(
            self.config.redact(message),
            department=self.department,
            source=self.name,
            table=table,
            remote_sql=fragment.sql if fragment is not None else None,
        )

    def file_modified(self) -> datetime | None:
        """Modification time of a file-backed database (SQLite, DuckDB)."""
        try:
            return datetime.fromtimestamp(self.local_path().stat().st_mtime, tz=timezone.utc)
        except OSError:
            return None

    def local_path(self) -> Path:
        """The ``path`` (or ``url``) option as a local path, relative to the config file."""
        raw = self.config.options.get("path") or self.config.options.get("url")
        if not isinstance(raw, str) or not raw:
            raise self.source_error(f"a {self.kind} source needs a 'path'", unavailable=True)
        path = Path(raw)
        return path if path.is_absolute() else (self.config.base_dir / path).resolve()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.department}.{self.name} {self.location()}>"

    # -- catalog ----------------------------------------------------------
    @abstractmethod
    def list_tables(self) -> list[TableInfo]:
        """Every table of this source (discovered and explicitly listed)."""

    @abstractmethod
    def table_schema(self, table: TableInfo) -> pa.Schema:
        """The Arrow schema of one table."""

    def statistics(self, table: TableInfo) -> TableStats:
        return TableStats()

    def exact_row_count(self, table: TableInfo) -> int | None:
        """Count the rows (may scan the table); None where the source cannot count cheaply."""
        return None

    def enforced_key(self, table: TableInfo) -> list[str] | None:
        """The primary key the source itself declares and enforces (databases); None where it has none.

        The planner relies on it (no two rows share it); a key declared only in the config is not.
        """
        return None

    def scan_ranges(self, fragment: Fragment, parts: int) -> list[pa.RecordBatchReader]:
        """Read ``fragment`` as up to ``parts`` disjoint ranges of ``fragment.range_alias``'s table, all
        from one snapshot of the source; together they are exactly what ``scan`` returns."""
        return [self.scan(fragment)]

    def key_filter(self, column: exp.Expr, keys: pa.Array) -> exp.Expr:
        """``column IN (keys)`` (semi-join reduction), in the form this source reads fastest."""
        return exp.In(this=column.copy(), expressions=[literal(k) for k in keys.to_pylist()])

    def primary_key(self, table: TableInfo) -> list[str] | None:
        """The primary key columns, where the source declares them (or the config does)."""
        enforced = self.enforced_key(table)
        if enforced:
            return enforced
        declared = table.options.get("primary_key")
        if isinstance(declared, str):
            return [declared]
        return list(declared) if declared else None

    def modified(self, table: TableInfo) -> datetime | None:
        """When the table last changed, where the source can tell."""
        return None

    # -- planning ---------------------------------------------------------
    def remote_table(self, table: TableInfo) -> exp.Table:
        """The table expression to put in pushed SQL."""
        parts = [exp.to_identifier(p, quoted=True) for p in table.remote]
        kwargs: dict[str, Any] = {"this": parts[-1]}
        if len(parts) > 1:
            kwargs["db"] = parts[-2]
        if len(parts) > 2:
            kwargs["catalog"] = parts[-3]
        return exp.Table(**kwargs)

    def unsupported_reason(self, node: exp.Expr) -> str | None:
        """Why ``node`` (a whole query or a predicate) cannot be sent, or None."""
        caps = self.capabilities
        for sub in node.walk():
            if isinstance(sub, caps.unsupported) or (caps.allowed is not None and not isinstance(sub, caps.allowed)):
                return f"{type(sub).__name__} ({_short(sub)}) is not supported by {self.kind} source"
        return None

    def prepare(self, tree: exp.Expr) -> exp.Expr:
        """Adjust a fragment's tree for this source before it is rendered (default: as is)."""
        return tree

    def filter_reason(self, predicate: exp.Expr, table: TableInfo) -> str | None:
        """Why ``predicate`` cannot be pushed into a scan of ``table``, or None."""
        return self.unsupported_reason(predicate)

    # -- execution --------------------------------------------------------
    @abstractmethod
    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        """Answer a fragment as a stream of record batches."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and handles."""


def require(module: str, extra: str, kind: str) -> Any:
    """Import a driver, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConnectorNotInstalledError(
            f"the {kind!r} source kind needs the {module!r} package: pip install 'fedquery[{extra}]'"
        ) from None


def _short(node: exp.Expr, limit: int = 60) -> str:
    text = node.sql("duckdb")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def literal(value: Any) -> exp.Expr:
    """A Python value as a SQL literal (the generator quotes it)."""
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
