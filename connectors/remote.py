"""What the PostgreSQL and MySQL connectors share: URL, pool, discovery, type conformance.

A remote source is configured by one URL (``postgresql://user:pw@host:port/db``);
the password is masked wherever the source is shown. Connections are pooled per
source, opened read-only with a statement timeout and ``application_name``, and
closed by ``close()``. Driver output is conformed to the Arrow schema the planner
expects, so types round-trip exactly (DECIMAL(p,s) stays DECIMAL(p,s)).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from connectors.base import BATCH_SIZE, SOURCE_OPTIONS, TABLE_OPTIONS, Capabilities, Connector, Option, TableInfo
from fedquery.deadline import Deadline, current
from fedquery.errors import ConfigError, FedQueryError, SourceError
from fedquery.secrets import Secret, mask_url

if TYPE_CHECKING:
    from fedquery.config import SourceConfig


#: The shortest statement timeout (seconds): PostgreSQL counts it in whole milliseconds and
#: takes 0 as "no timeout", so anything that would round to nothing is refused at load.
MIN_TIMEOUT = 0.01


@dataclass(frozen=True)
class Address:
    """Where a database server is, parsed from the source's URL; the password shows as ``***``."""

    scheme: str
    host: str
    port: int
    user: str
    password: Secret
    database: str
    query: str


def parse_address(url: Any, kind: str, default_port: int) -> Address:
    """The parts of a ``kind://user:password@host:port/db`` URL; ValueError says what is wrong (masked).

    ``/``, ``#`` and ``?`` in the user or password must be percent-encoded (``p/w`` as
    ``p%2Fw``): unencoded, they end the host part early, so such a URL is refused with
    that advice rather than connecting somewhere else. ``@`` and ``:`` work either way.
    """
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"a {kind} source needs a 'url' like {kind}://user@host/db")
    advice = "; characters such as / # ? in the user name or password must be URL-encoded (/ as %2F, # as %23)"
    parts = urlsplit(url)
    # An unencoded / # or ? ends the host part early: the credentials' '@' lands in the path, query
    # or fragment, and what remains could even parse as another host and port.
    if parts.fragment or "@" in parts.path + parts.query:
        raise ValueError(f"cannot read the URL {_masked_netloc(url)}{advice}")
    try:
        port = parts.port or default_port
    except ValueError:
        raise ValueError(f"bad port in the URL {_masked_netloc(url)}{advice}") from None
    return Address(
        scheme=parts.scheme,
        host=parts.hostname or "localhost",
        port=port,
        user=unquote(parts.username or ""),
        password=Secret(unquote(parts.password or "")),
        database=unquote(parts.path.lstrip("/")),
        query=parts.query,
    )


def _masked_netloc(url: str) -> str:
    """The URL with everything before the host masked (it could not be parsed, so mask_url may not see it)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}" if "@" in rest else mask_url(url)


class ConnectionPool:
    """A small pool of open connections; a connection that failed is discarded, never reused."""

    def __init__(self, factory: Callable[[], Any], close: Callable[[Any], None], max_idle: int) -> None:
        self._factory = factory
        self._close = close
        self._max_idle = max_idle
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.open = 0  # connections currently open (idle or in use): tests check that none leak

    def acquire(self) -> Any:
        return self.acquire_flagged()[0]

    def acquire_flagged(self) -> tuple[Any, bool]:
        """A connection, and whether it was reused from the pool (it may have died while idle)."""
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self.fresh(), False

    def fresh(self) -> Any:
        """A newly opened connection (not from the idle list)."""
        con = self._factory()
        with self._lock:
            self.open += 1
        return con

    def release(self, con: Any) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(con)
                return
        self.discard(con)

    def discard(self, con: Any) -> None:
        try:
            self._close(con)
        except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is gone either way
            pass
        with self._lock:
            self.open -= 1

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for con in idle:
            self.discard(con)


class RemoteConnector(Connector):
    """Base of database servers reached over the network."""

    default_port: ClassVar[int]
    capabilities = Capabilities(
        sql=True, joins=True, aggregates=True, order_limit=True, window=True, subqueries=True, set_operations=True,
        serial_statements=True,
    )  # fmt: skip
    options = {
        **SOURCE_OPTIONS,
        "statement_timeout": Option("number", minimum=MIN_TIMEOUT),
        "pool_size": Option("int", minimum=1),
        "schemas": Option("list"),
        "batch_size": BATCH_SIZE,
    }
    table_options = {**TABLE_OPTIONS, "table": Option("str")}

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        try:
            self.address = parse_address(config.options.get("url"), self.kind, self.default_port)
        except ValueError as exc:
            raise self.config_error(str(exc)) from None
        self.statement_timeout = float(config.options.get("statement_timeout", 300))
        self.pool = ConnectionPool(self._connect, self._disconnect, int(config.options.get("pool_size", 4)))
        self._columns: dict[tuple[str, ...], list[ColumnInfo]] = {}
        self._lock = threading.Lock()

    # -- address ----------------------------------------------------------
    @classmethod
    def check_config(cls, config: SourceConfig) -> None:
        super().check_config(config)
        try:
            parse_address(config.options.get("url"), cls.kind, cls.default_port)
        except ValueError as exc:
            raise ConfigError(
                config.redact(f"departments.{config.department}.sources.{config.name}: {exc}"),
                department=config.department,
                source=config.name,
            ) from None

    def identity(self) -> tuple[str, ...]:
        a = self.address
        return (self.kind, a.host, str(a.port), a.database, a.user)

    def location(self) -> str:
        a = self.address
        user = f"{a.user}:***@" if a.password else (f"{a.user}@" if a.user else "")
        return f"{a.scheme}://{user}{a.host}:{a.port}/{a.database}"

    # -- connections ------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _disconnect(self, con: Any) -> None:
        con.close()

    def query_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a metadata query on a pooled connection."""
        deadline = current()
        deadline.check()
        con = self.pool.acquire()
        handle = deadline.on_cancel(lambda: self._cancel(con))  # the query's deadline covers planning too
        try:
            rows = self._fetch_rows(con, sql, params)
        except Exception as exc:  # noqa: BLE001 - driver errors differ per driver; all become typed
            deadline.discard(handle)
            self.pool.discard(con)
            raise self.source_error(f"{self.kind} catalog query failed: {exc}") from None
        deadline.discard(handle)
        self.pool.release(con)
        return rows

    def _cancel(self, con: Any) -> None:
        """Stop the statement running on ``con`` (from another thread)."""

    def _fetch_rows(self, con: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def close(self) -> None:
        self.pool.close()

    # -- catalog ----------------------------------------------------------
    def table_columns(self, table: TableInfo) -> list[ColumnInfo]:
        key = table.remote
        with self._lock:
            cached = self._columns.get(key)
        if cached is None:
            cached = self._read_columns(table)
            if not cached:
                raise self.source_error(f"table {'.'.join(key)} has no columns or does not exist", table=table.name)
            with self._lock:
                self._columns[key] = cached
        return cached

    def _read_columns(self, table: TableInfo) -> list[ColumnInfo]:
        raise NotImplementedError

    def table_schema(self, table: TableInfo) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow, nullable=c.nullable) for c in self.table_columns(table)])

    def exact_row_count(self, table: TableInfo) -> int | None:
        query = exp.select(exp.Count(this=exp.Star())).from_(self.remote_table(table))
        return int(self.query_rows(query.sql(dialect=self.dialect))[0][0])

    def column_info(self, remote: tuple[str, ...], column: str) -> ColumnInfo | None:
        with self._lock:
            columns = self._columns.get(remote, [])
        return next((c for c in columns if c.name == column), None)

    def _info(self, node: Any) -> ColumnInfo | None:
        """What the source says of the column ``node`` reads: by its planner tag, else through the
        catalog table its qualifier names in the enclosing query (scans are built without tags)."""
        from fedquery.planner.gate import CATALOG_TAG

        tag = node.meta.get("fq_table")
        if tag:
            return self.column_info(tuple(tag[2:]), node.name)
        select = node.find_ancestor(exp.Select)
        if not node.table or select is None:
            return None
        for table in select.find_all(exp.Table):
            if table.meta.get(CATALOG_TAG) and table.alias_or_name == node.table:
                return self.column_info(tuple(p.name for p in table.parts), node.name)
        return None

    def _explicit_names(self) -> dict[str, str]:
        return {opts.get("table", name): name for name, opts in self.config.tables.items()}

    def _tables_from(self, rows: list[tuple[Any, ...]]) -> list[TableInfo]:
        explicit = self._explicit_names()
        out = []
        for schema, table in rows:
            name = explicit.get(table, table)
            out.append(
                TableInfo(
                    name=name, schema=schema, remote=(schema, table), options=dict(self.config.tables.get(name, {}))
                )
            )
        return self.exposed(out)


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    arrow: pa.DataType
    nullable: bool
    #: compares and sorts like DuckDB (byte order, no padding, case-sensitive)
    binary_collation: bool
    native_type: str
    #: ``=`` compares exactly (false under a nondeterministic collation: 'APPLE' = 'apple')
    exact_equality: bool = True
    #: the source is asked for the column's text form (a type with no Arrow/DuckDB equivalent)
    read_as_text: bool = False
    #: an enum's labels in the source's order (PostgreSQL ``enumsortorder``, MySQL declaration order)
    enum_labels: tuple[str, ...] | None = None


#: Arrow field metadata naming an enum's labels (JSON, in order): the local DuckDB holds the column as
#: ``ENUM(labels)``, as DuckDB's own postgres and mysql scanners do, so ORDER BY, MIN/MAX and ``<``
#: between enums follow the declaration order there too (fedquery.executor reads it).
ENUM_METADATA = b"fedquery.enum"


def with_enums(connector: RemoteConnector, fragment: Any) -> pa.Schema:
    """``fragment.schema`` with each output that is an enum column (or MIN/MAX of one) marked by its labels."""
    import json

    select = fragment.expression
    while isinstance(select, (exp.SetOperation, exp.Subquery)):
        select = select.this if isinstance(select, exp.Subquery) else select.left
    if not isinstance(select, exp.Select) or len(select.expressions) != len(fragment.schema):
        return fragment.schema  # type: ignore[no-any-return]
    fields = []
    for field, projection in zip(fragment.schema, select.expressions):
        value = projection.unalias()
        if isinstance(value, (exp.Min, exp.Max)):
            value = value.this
        info = connector._info(value) if isinstance(value, exp.Column) else None
        if info is not None and info.enum_labels and pa.types.is_string(field.type):
            labels = json.dumps(list(info.enum_labels)).encode()
            field = field.with_metadata({**(field.metadata or {}), ENUM_METADATA: labels})
        fields.append(field)
    return pa.schema(fields, metadata=fragment.schema.metadata)


def conformed(
    expected: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    convert: Callable[[pa.Array, pa.Field, pa.DataType], pa.Array],
) -> pa.RecordBatchReader:
    """A reader with the planner's schema; unknown (null) types are taken from the first batch."""
    first = next(batches, None)
    if first is None:
        schema = pa.schema([f if not pa.types.is_null(f.type) else f.with_type(pa.string()) for f in expected])
        return pa.RecordBatchReader.from_batches(schema, iter(()))

    def apply(batch: pa.RecordBatch, target: pa.Schema) -> pa.RecordBatch:
        arrays = [
            convert(batch.column(i), batch.schema.field(i), target.field(i).type) for i in range(batch.num_columns)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=target)

    probe = pa.schema(
        [
            e.with_type(convert(first.column(i), first.schema.field(i), e.type).type) if pa.types.is_null(e.type) else e
            for i, e in enumerate(expected)
        ]
    )

    def stream() -> Iterator[pa.RecordBatch]:
        yield apply(first, probe)
        for batch in batches:
            yield apply(batch, probe)

    return pa.RecordBatchReader.from_batches(probe, stream())


def execute_with_retry(
    pool: ConnectionPool, start: Callable[[Any], Any], deadline: Deadline | None = None
) -> tuple[Any, Any]:
    """Run ``start(con)`` on a pooled connection; a reused one that fails is replaced once.

    A connection the server dropped while it sat idle in the pool is not the query's
    fault; anything that fails on a fresh connection is raised, as is anything after the
    query's ``deadline`` was cancelled or passed (the statement was stopped on purpose).
    """
    con, reused = pool.acquire_flagged()
    try:
        return con, start(con)
    except Exception as exc:
        pool.discard(con)
        if not reused or isinstance(exc, FedQueryError) or (deadline is not None and deadline.stopped):
            raise
    con = pool.fresh()
    try:
        return con, start(con)
    except Exception:
        pool.discard(con)
        raise


def pooled_stream(
    connector: RemoteConnector,
    con: Any,
    cursor: Any,
    batches: Iterator[pa.RecordBatch],
    sql: str,
    on_failure: Callable[[], None] | None = None,
    on_success: Callable[[], None] | None = None,
    on_end: Callable[[], None] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream ``batches``; then return the connection to the pool, or close it if anything failed.

    A failure mid-stream (connection lost, killed, timed out) becomes a typed error
    naming the source and the remote SQL; the broken connection is never reused.
    ``on_success`` runs after the last batch (ending a transaction, say) before the
    connection goes back to the pool; ``on_end`` runs in every case, first (withdrawing
    the statement's cancel request from the deadline, so it cannot reach the next user
    of the connection).
    """
    healthy = False
    try:
        yield from batches
        if on_success is not None:
            on_success()
        healthy = True
    except SourceError:
        raise
    except Exception as exc:  # noqa: BLE001 - each driver raises its own kinds
        raise raise_mid_stream(connector, first_line(exc), sql) from None
    finally:
        if on_end is not None:
            on_end()
        if not healthy and on_failure is not None:
            on_failure()
        try:
            cursor.close()
        except Exception:  # noqa: BLE001 - a dead connection may fail to close its cursor
            healthy = False
        if healthy:
            connector.pool.release(con)
        else:
            connector.pool.discard(con)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def pseudonym_reason(connector: RemoteConnector, node: Any) -> str | None:
    """Why the server cannot compute ``pseudonymise`` here: only over an integer or text column is its
    text form of the value the one DuckDB hashes (see fedquery.pseudonym)."""
    from fedquery.pseudonym import Pseudonymise

    if not isinstance(node, Pseudonymise):
        return None
    info = connector._info(node.this) if isinstance(node.this, exp.Column) else None
    arrow = info.arrow if info is not None and not info.read_as_text else None
    exact = pa.types.is_integer, pa.types.is_string, pa.types.is_large_string
    if arrow is not None and any(test(arrow) for test in exact):
        return None
    return "pseudonymise over a value other than an integer or text column is computed by fedquery's DuckDB"


def is_function_call(node: Any) -> bool:
    """A real function call (sqlglot also models AND/OR and EXISTS as functions)."""
    return isinstance(node, exp.Func) and not isinstance(node, (exp.Connector, exp.SubqueryPredicate))


def rtrim(array: pa.Array) -> pa.Array:
    return pc.utf8_rtrim(array, characters=" ")


def raise_mid_stream(connector: Connector, message: str, sql: str) -> SourceError:
    return SourceError(
        connector.config.redact(f"{connector.kind} source failed while streaming: {message}"),
        department=connector.department,
        source=connector.name,
        remote_sql=sql,
    )
