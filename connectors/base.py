"""The connector interface: what fedquery needs from a source kind.

A connector is one class per source kind. Required: ``list_tables``,
``table_schema`` and ``scan``; everything else has a sensible default. What a
connector can take is declared once, in its frozen :class:`Capabilities`,
and read only by the planner.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
from sqlglot import exp

from fedquery.config import METADATA_KEYS
from fedquery.errors import ConfigError, ConnectorNotInstalledError, SourceError, SourceUnavailableError, suggest
from fedquery.secrets import mask_url

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
    #: correlated subqueries: ``"any"`` (the source decorrelates them, as PostgreSQL and DuckDB do) or
    #: ``"key"``: pushed only where each correlation is an equality on the leading column of the inner
    #: table's enforced primary key (MariaDB runs a correlated subquery once per outer row, a full
    #: scan of the inner table each time unless an index serves it; DuckDB's hash join is far faster)
    correlation: str = "any"
    #: partial aggregation is pushed only where the groups are expected to be at most this fraction of
    #: the rows: a source whose GROUP BY costs more per row than sending the row (MariaDB sorts or
    #: builds an on-disk temporary table; TPC-DS Q99 at SF 1: 25 s grouping 1.4 M rows into 170,000,
    #: 2 s sending them) takes a smaller one; so does a DuckDB file (0.1), which groups no faster than the
    #: local step and sends rows far faster than a server: grouping there pays only where it removes most
    #: of them (TPC-DS Q62 at SF 1: web_sales grouped into ~0.8 of its 719 k rows below a join that keeps
    #: a fifth of them, 0.215 s at the file against 0.038 s to send the rows)
    max_group_fraction: float = 0.7
    #: a query of this source alone that groups (GROUP BY, DISTINCT) is sent whole under ``auto`` only
    #: where its groups are expected to be at most this fraction of the rows grouped (inputs of 100,000
    #: rows and more); otherwise its tables are read and DuckDB groups them. For a server whose grouping
    #: costs more than sending a row: PostgreSQL 0.5 (its hash aggregate costs about 24 bytes sent a
    #: row, ``aggregate_row_bytes``; TPC-DS Q78 at SF 1: ~2.4 M groups of ~2.6 M rows), MariaDB 0.01
    #: (as ``max_group_fraction``). None: always sent whole (a DuckDB file groups as fast as the local step)
    whole_group_fraction: float | None = None
    #: ... and only where the transfer it saves outweighs grouping every row at the source, both in
    #: bytes sent (see fedquery.planner.estimate.transfer_weight): the rows it does not send, times
    #: their weight, must be worth at least this many bytes per row grouped. PostgreSQL's hash
    #: aggregate costs about what sending 24 bytes of a row does (TPC-H SF 1 on this 2-core machine:
    #: orders grouped by o_custkey into 100,000 groups, 1.7-2.0 s, against 1.1-1.4 s to send the
    #: 1.48 M rows of two BIGINTs; with o_totalprice NUMERIC and o_orderdate beside them grouping wins,
    #: 3.4 s against 3.9 s). 0: grouping costs nothing worth weighing
    aggregate_row_bytes: float = 0
    #: a semi-join reduction makes its consumer wait for the producer's keys: planned only where the
    #: consumer is expected to send at least this many rows unreduced. Local files and DuckDB files
    #: are read far faster than a server sends rows, so only large ones repay the wait (TPC-DS Q12, Q84);
    #: a CSV file is read whole either way, so the keys save nothing but DuckDB's own filtering
    reduction_min_rows: float = 0
    #: a co-located join is pushed (under ``auto``) only where it is expected to send at most this
    #: fraction of the rows of its largest filtered input. MariaDB joins by looking up each row (TPC-DS
    #: Q99 at SF 1: catalog_sales joined to three small dimensions, 1.43 M of 1.44 M rows, 7.5 s at the
    #: server against 3.6 s to send the rows as they are); a join that removes few rows only adds columns
    #: it would be cheaper to join locally. None: no such limit (PostgreSQL and DuckDB hash-join)
    max_join_fraction: float | None = None
    #: a co-located join that removes no bytes (it sends at least what its tables, read apart, would)
    #: is pushed under ``auto``. False for a DuckDB file: it answers in this process with the local
    #: step's own engine, so such a join saves no work there, and every byte it sends is converted and
    #: loaded again (TPC-DS Q62 at SF 1: web_sales joined to web_site inside the file adds a text
    #: column to 719 k rows, 27.4 MB sent against 13.7 MB read apart)
    widening_joins: bool = True
    #: one statement runs on one backend, its parts one after another: independent subqueries of one
    #: query (derived tables cross-joined, as TPC-DS Q28's six scans of store_sales) are sent (under
    #: ``auto``) as separate fragments read at once on separate connections (Q28 at SF 1: 8.8 s at
    #: PostgreSQL as one statement, six scans of 0.7-0.8 s each at once)
    serial_statements: bool = False
    #: a fragment of this source may wait for keys from another fragment of the same source that itself
    #: waits for keys (a chain). False for MariaDB: each of its statements is a full scan unless an index
    #: leads with the key, so a chain runs its scans one after another where read apart they run at
    #: once (TPC-DS Q16 at SF 1: three MariaDB scans of 7.0, 5.5 and 1.1 s waited 8.9, 18.1 and 13.6 s)
    chained_reductions: bool = True
    unsupported: tuple[type[exp.Expr], ...] = ()
    allowed: tuple[type[exp.Expr], ...] | None = None


@dataclass(frozen=True)
class Option:
    """One key a source (or a table of a source) takes in the catalog file: its type and range.

    ``type`` is one of ``str``, ``int``, ``number`` (int or float), ``bool``, ``list``
    (of strings), ``table`` (a TOML table) or ``any``; ``minimum`` bounds numbers.

    >>> Option("int", minimum=1).problem("four")
    "must be an integer, got 'four'"
    >>> Option("number", minimum=0.01).problem(0.0001)
    'must be at least 0.01, got 0.0001'
    """

    type: str
    minimum: float | None = None
    choices: tuple[str, ...] = ()

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not acceptable, or None."""
        checks: dict[str, tuple[str, Any]] = {
            "str": ("a string", lambda v: isinstance(v, str)),
            "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool)),
            "number": ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
            "bool": ("true or false", lambda v: isinstance(v, bool)),
            "list": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v)),
            "table": ("a table", lambda v: isinstance(v, Mapping)),
            "str|list": ("a string or a list of strings", lambda v: isinstance(v, str) or (
                isinstance(v, list) and all(isinstance(i, str) for i in v))),
            "any": ("anything", lambda v: True),
        }  # fmt: skip
        what, ok = checks[self.type]
        if not ok(value):
            return f"must be {what}, got {value!r}"
        if self.minimum is not None and value < self.minimum:
            return f"must be at least {self.minimum:g}, got {value!r}"
        if self.choices and value not in self.choices:
            return f"must be one of {', '.join(map(repr, self.choices))}, got {value!r}"
        return None


#: Options every source kind takes.
SOURCE_OPTIONS: dict[str, Option] = {"url": Option("str"), "path": Option("str"), "discover": Option("bool")}
#: Per-table keys every source kind takes: descriptive metadata (see the inventory) and a declared key.
TABLE_OPTIONS: dict[str, Option] = {
    **{key: Option("any") for key in (*METADATA_KEYS, "license")},
    "fields": Option("table"),
    "primary_key": Option("str|list"),
    "output": Option("table"),  # disclosure control (checked by fedquery.disclosure)
}
#: Rows per Arrow batch a scan sends.
BATCH_SIZE = Option("int", minimum=1)


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

    def __repr__(self) -> str:
        remote = tuple(mask_url(part) for part in self.remote)
        return f"TableInfo(name={self.name!r}, remote={remote!r}, schema={self.schema!r})"


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
    #: Session settings every connection is opened with so that pushed SQL means what DuckDB means
    #: (shown in EXPLAIN).
    session_settings: ClassVar[dict[str, str]] = {}
    #: The ``pip install 'fedquery[extra]'`` that brings this connector's driver.
    extra: ClassVar[str | None] = None
    #: Every key a source of this kind takes (beyond ``kind``, ``tables`` and ``metadata``); checked at load.
    options: ClassVar[Mapping[str, Option]] = SOURCE_OPTIONS
    #: Every key a table listed under ``tables`` takes.
    table_options: ClassVar[Mapping[str, Option]] = TABLE_OPTIONS
    #: The source must say where it is (``url`` or ``path``); checked at load.
    needs_location: ClassVar[bool] = False

    @classmethod
    def check_config(cls, config: SourceConfig) -> None:
        """Refuse unknown keys, wrong types and out-of-range values before anything connects."""
        where = f"departments.{config.department}.sources.{config.name}"
        check_keys(cls.options, config.options, f"{where}: a {cls.kind} source", config)
        if cls.needs_location and not (config.options.get("url") or config.options.get("path")):
            raise ConfigError(
                f"{where}: a {cls.kind} source needs a 'url' or 'path'",
                department=config.department,
                source=config.name,
            )
        for table, options in config.tables.items():
            check_keys(cls.table_options, options, f"{where}.tables.{table}: a table of a {cls.kind} source", config)

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
        sql: str | None = None,
    ) -> SourceError:
        """A typed error naming this source (secrets masked) and the remote SQL, if any: ``sql``
        where the statement that failed is not the fragment's own (a range of it, say)."""
        cls = SourceUnavailableError if unavailable else SourceError
        remote = sql if sql is not None else fragment.sql if fragment is not None else None
        return cls(
            self.config.redact(message),
            department=self.department,
            source=self.name,
            table=table,
            remote_sql=self.config.redact(remote) if remote is not None else None,
        )

    def config_error(self, message: str) -> ConfigError:
        """A configuration error naming this source (secrets masked)."""
        return ConfigError(self.config.redact(message), department=self.department, source=self.name)

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

    def exposed(self, found: list[TableInfo]) -> list[TableInfo]:
        """Of the tables a database source holds, those the config exposes.

        Listing ``tables`` exposes exactly those (``discover = true`` adds the rest); ``schemas``
        limits discovery to those schemas. A listed table the source does not hold is an error
        naming it (never a silent omission).
        """
        listed = self.config.tables
        schemas = self.config.options.get("schemas")
        wanted_schemas = {str(s).lower() for s in schemas} if isinstance(schemas, list) and schemas else None
        discover = not listed or self.config.options.get("discover") is True
        remote_names = {name: (str(opts.get("table", name)), opts.get("schema")) for name, opts in listed.items()}
        out: list[TableInfo] = []
        seen: set[str] = set()
        # A listed table without a schema is the one in the source's default schema (where it has one).
        default = getattr(self, "default_schema", None)

        def is_listed_as(info: TableInfo, remote: str, schema: str | None) -> bool:
            if info.remote[-1] != remote:
                return False
            return info.schema == schema if schema else default is None or info.schema in (default, None)

        for info in found:
            match = next(
                (n for n, (remote, schema) in remote_names.items() if is_listed_as(info, remote, schema)), None
            )
            if match is not None:
                seen.add(match)
                out.append(info)
            elif discover and (wanted_schemas is None or (info.schema or "").lower() in wanted_schemas):
                out.append(info)
        missing = sorted(set(listed) - seen)
        if missing:
            raise self.source_error(
                f"table(s) listed in the config not found in the source: {', '.join(missing)}", unavailable=True
            )
        return out

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

    def key_filter(self, column: exp.Expr, keys: pa.Array, column_type: pa.DataType | None = None) -> exp.Expr:
        """``column IN (keys)`` (semi-join reduction), in the form this source reads fastest (``column_type``:
        the column's own type where known).

        Integer keys are one node holding their digits, written once from the Arrow array: tens of
        thousands of literal nodes took seconds to build, copy and render for one MariaDB fragment
        (TPC-DS Q26, benchmarks/README.md). A NULL key matches nothing in a semi-join: left out."""
        if pa.types.is_integer(keys.type):
            present = keys.drop_null()
            if len(present):
                digits = ",".join(str(k) for k in present.to_pylist())
                return exp.In(this=column.copy(), expressions=[exp.var(digits)])
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
            reason = cast_reason(sub, try_cast=self.dialect == "duckdb")
            if reason:
                return reason
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


def check_keys(known: Mapping[str, Option], given: Mapping[str, Any], what: str, config: SourceConfig) -> None:
    for key, value in given.items():
        option = known.get(key)
        if option is None:
            raise ConfigError(
                f"{what} has no option {key!r}.{suggest(key, known)} Known options: {', '.join(sorted(known))}",
                department=config.department,
                source=config.name,
            )
        problem = option.problem(value)
        if problem is not None:
            raise ConfigError(
                config.redact(f"{what}: {key} {problem}"), department=config.department, source=config.name
            )


def require(module: str, extra: str, kind: str) -> Any:
    """Import a driver, or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConnectorNotInstalledError(
            f"the {kind!r} source kind needs the {module!r} package: pip install 'fedquery[{extra}]'"
        ) from None


_T = exp.DataType.Type
#: The types a CAST sent to a SQL source may name: plain scalar types every source means the same
#: way by. Anything else stays local: PostgreSQL's object-identifier types (``regclass``, ``oid``,
#: ...) look names up in the source's own catalogs, user-defined types mean whatever the source says.
PUSHABLE_CAST_TYPES = frozenset(
    {_T.BOOLEAN, _T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL, _T.CHAR,
     _T.VARCHAR, _T.TEXT, _T.NCHAR, _T.NVARCHAR, _T.DATE, _T.TIMESTAMP}
)  # fmt: skip


def cast_reason(node: exp.Expr, *, try_cast: bool = False) -> str | None:
    """Why the cast ``node`` cannot be sent to a source (None if it can, or if it is no cast).

    ``try_cast``: the source has a TRY_CAST of DuckDB's meaning (NULL where the value does not
    convert); elsewhere TRY_CAST would be sent as a CAST that fails instead.

    >>> import sqlglot
    >>> cast_reason(sqlglot.parse_one("CAST(x AS regclass)"))
    'a cast to REGCLASS is not sent to sources'
    >>> cast_reason(sqlglot.parse_one("TRY_CAST(x AS INT)"))
    'TRY_CAST is not sent to this source (it would fail where DuckDB gives NULL)'
    """
    if not isinstance(node, exp.Cast):
        return None
    if isinstance(node, exp.TryCast) and not try_cast:
        return "TRY_CAST is not sent to this source (it would fail where DuckDB gives NULL)"
    to = node.to
    if to.this not in PUSHABLE_CAST_TYPES or to.find(exp.DataType) is not to or to.args.get("kind"):
        shown = to.args.get("kind") or to.this
        return f"a cast to {str(getattr(shown, 'value', shown)).upper()} is not sent to sources"
    return None


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
