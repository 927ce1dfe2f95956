"""PostgreSQL through ADBC (libpq binary COPY, straight into Arrow).

Chosen by measurement (``benchmarks/transfer.py``): 0.88x the rows/s of
connectorx, but exact types (NUMERIC keeps its precision and scale through the
column typmod; connectorx panics on some NUMERICs) and real connections that can
be pooled and opened read-only.

Sessions: ``default_transaction_read_only=on``, ``statement_timeout`` (source
option ``statement_timeout``, seconds, default 300), ``application_name=fedquery``
and, on PostgreSQL 14+, ``client_connection_check_interval`` (1 s: a statement
whose client died is ended by the server), set at connection time. Schemas map to
``department.schema.table``; ``public`` may be omitted.

Deadlines: each fragment's statement runs under ``statement_timeout`` = the query's
remaining time (plus a margin, at most the source's own), and its cursor's cancel
request (``adbc_cancel``: libpq's ``PQcancel``) is registered on the deadline, so a
timeout, ``Result.cancel()`` or Ctrl-C ends the statement at the server at once.

What is pushed, and what is kept local because PostgreSQL would answer differently from
DuckDB, is ``connectors.pushdown.PostgresPushdown``. ``char(n)`` values come back without
their padding, as DuckDB has them.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from connectors.base import ColumnStats, Option, TableInfo, TableStats, require
from connectors.pushdown import PostgresPushdown
from connectors.remote import (
    ColumnInfo,
    RemoteConnector,
    conformed,
    execute_with_retry,
    first_line,
    pooled_stream,
    rtrim,
    with_enums,
)
from connectors.types import arrow_type, parse_pg_array, parse_value
from fedquery.deadline import Deadline, current, seconds_for_source
from fedquery.errors import FedQueryError
from fedquery.fragment import Fragment
from fedquery.planner.gate import gate

#: Every session is set up so that what is pushed means what it means in DuckDB, whatever the
#: server's, database's or role's defaults: time zone (timestamptz comparisons, casts to DATE),
#: date output, float output at full precision, a backslash in a string literal as a plain
#: character (``standard_conforming_strings``), ``x = NULL`` as NULL (``transform_null_equals``).
SESSION_SETTINGS = {
    "TimeZone": "UTC", "DateStyle": "ISO", "IntervalStyle": "postgres", "extra_float_digits": "3",
    "standard_conforming_strings": "on", "transform_null_equals": "off",
}  # fmt: skip

_C_COLLATIONS = {None, "C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic", "pg_c_utf8", "default"}
#: milliseconds between the server's checks that the client is still there (PostgreSQL 14+)
CLIENT_CHECK_MS = 1000


#: the PostgreSQL array element type that matches an integer column's own type (see key_filter)
_ARRAY_TYPES = {pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT"}
_INTEGER_RANGES = {"SMALLINT": (-(2**15), 2**15 - 1), "INTEGER": (-(2**31), 2**31 - 1), "BIGINT": (-(2**63), 2**63 - 1)}


class PostgresConnector(RemoteConnector):
    kind = "postgres"
    dialect = "postgres"
    capabilities = replace(
        RemoteConnector.capabilities, ranges=True, aggregate_row_bytes=24, whole_group_fraction=0.5
    )
    default_schema = "public"
    default_port = 5432
    session_settings = SESSION_SETTINGS
    extra = "postgres"
    options = {**RemoteConnector.options, "schema": Option("str")}

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._db_collation_is_c: bool | None = None
        self._client_check = True  # cleared if the server does not know client_connection_check_interval
        # The schema whose tables may be named department.table (like a search_path of one).
        self.default_schema = str(config.options.get("schema", "public"))

    # -- connections ------------------------------------------------------
    def _uri(self) -> str:
        a = self.address
        auth = quote(a.user, safe="")
        if a.password:
            auth += ":" + quote(a.password.reveal(), safe="")
        options = f"-c default_transaction_read_only=on -c statement_timeout={_ms(self.statement_timeout)}"
        options += "".join(f" -c {name}={value}" for name, value in SESSION_SETTINGS.items())
        if self._client_check:
            options += f" -c client_connection_check_interval={CLIENT_CHECK_MS}"
        params = "&".join(p for p in (a.query, "application_name=fedquery", f"options={quote(options)}") if p)
        return f"postgresql://{auth}@{a.host}:{a.port}/{quote(a.database)}?{params}"

    def _connect(self) -> Any:
        dbapi = require("adbc_driver_postgresql.dbapi", "postgres", "postgres")
        try:
            return dbapi.connect(self._uri(), autocommit=True)
        except Exception as exc:  # noqa: BLE001 - every driver failure becomes a typed error
            if self._client_check and "client_connection_check_interval" in str(exc):
                self._client_check = False  # before PostgreSQL 14: connect without it
                return self._connect()
            raise self.source_error(
                f"cannot connect to {self.location()}: {first_line(exc)}", unavailable=True
            ) from None

    def _cancel(self, con: Any) -> None:
        con.adbc_cancel()

    def _fetch_rows(self, con: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with con.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall())

    # -- catalog ----------------------------------------------------------
    def list_tables(self) -> list[TableInfo]:
        schemas = self.config.options.get("schemas")
        if schemas:
            rows = self.query_rows(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema = ANY($1::text[]) ORDER BY 1, 2",
                ("{" + ",".join(f'"{s}"' for s in schemas) + "}",),
            )
        else:
            rows = self.query_rows(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                "AND table_schema NOT LIKE 'pg_toast%' ORDER BY 1, 2"
            )
        return self._tables_from(rows)

    def _read_columns(self, table: TableInfo) -> list[ColumnInfo]:
        if self._db_collation_is_c is None:
            (collate,) = self.query_rows("SELECT datcollate FROM pg_database WHERE datname = current_database()")[0]
            self._db_collation_is_c = collate in _C_COLLATIONS
        rows = self.query_rows(
            "SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale, is_nullable, collation_name "
            "FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            table.remote,
        )
        fuzzy = {
            r[0]
            for r in self.query_rows(
                "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_collation co ON co.oid = a.attcollation "
                "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT co.collisdeterministic",
                table.remote,
            )
        }
        enums: dict[str, list[str]] = {}
        for column, label in self.query_rows(
            "SELECT a.attname, e.enumlabel FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_enum e ON e.enumtypid = a.atttypid "
            "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 ORDER BY a.attnum, e.enumsortorder",
            table.remote,
        ):
            enums.setdefault(column, []).append(label)
        out = []
        for name, data_type, udt, precision, scale, nullable, collation in rows:
            binary = collation in _C_COLLATIONS if collation else bool(self._db_collation_is_c)
            labels = tuple(enums[name]) if name in enums else None
            arrow = _arrow(data_type, udt, precision, scale)
            out.append(
                ColumnInfo(
                    # an enum orders by its sort order at the server and in DuckDB's ENUM alike
                    name, arrow, nullable == "YES", binary or labels is not None, udt,
                    exact_equality=name not in fuzzy, read_as_text=_read_as_text(data_type, udt) and labels is None,
                    enum_labels=labels,
                )
            )  # fmt: skip
        return out

    def statistics(self, table: TableInfo) -> TableStats:
        rows = self.query_rows(
            "SELECT c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
            table.remote,
        )
        if not rows:
            return TableStats()
        tuples, size = rows[0]
        count = int(tuples) if tuples is not None and tuples >= 0 else None
        return TableStats(row_count=count, size_bytes=size, columns=self._column_stats(table, count))

    def _column_stats(self, table: TableInfo, count: int | None) -> dict[str, ColumnStats]:
        """From ``pg_stats`` (what the server's own ANALYZE or autovacuum collected), where present."""
        if not count:
            return {}
        rows = self.query_rows(
            "SELECT attname, null_frac, n_distinct, histogram_bounds::text, most_common_vals::text FROM pg_stats "
            "WHERE schemaname = $1 AND tablename = $2",
            table.remote,
        )
        types = {c.name: c.arrow for c in self.table_columns(table)}
        out = {}
        for name, null_frac, n_distinct, histogram, common in rows:
            values = parse_pg_array(histogram) or parse_pg_array(common)
            typed = [v for v in (parse_value(v, types.get(name)) for v in values) if v is not None]
            distinct = None
            if n_distinct is not None:
                distinct = int(-n_distinct * count) if n_distinct < 0 else int(n_distinct)
            out[name] = ColumnStats(
                min=min(typed) if typed and not _is_text(types.get(name)) else None,
                max=max(typed) if typed and not _is_text(types.get(name)) else None,
                null_count=None if null_frac is None else int(null_frac * count),
                distinct=distinct,
            )
        return out

    def enforced_key(self, table: TableInfo) -> list[str] | None:
        rows = self.query_rows(
            "SELECT kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu "
            "ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name "
            "WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = $1 AND tc.table_name = $2 "
            "ORDER BY kcu.ordinal_position",
            table.remote,
        )
        return [r[0] for r in rows] or None

    # -- planning ---------------------------------------------------------
    def unsupported_reason(self, node: exp.Expr) -> str | None:
        """Why ``node`` cannot be sent: PostgreSQL's pushdown table (connectors.pushdown) says; and an enum
        column as a function's argument (NULLIF, COALESCE, CASE, LENGTH, ...): PostgreSQL takes the
        enum's type there (a text that is no label fails, ``length(enum)`` does not exist), DuckDB the
        label's text. MIN, MAX and COUNT order or count the enum itself, as in DuckDB."""
        reason = PostgresPushdown.reason(node, self)
        if reason is not None:
            return reason
        for sub in node.walk():
            if isinstance(sub, exp.Func) and not isinstance(sub, (exp.Cast, exp.Min, exp.Max, exp.Count)):
                for arg in sub.iter_expressions():
                    info = self._info(arg) if isinstance(arg, exp.Column) else None
                    if info is not None and info.enum_labels:
                        return (
                            f"the enum {arg.sql('duckdb')[:40]} as an argument of {sub.key.upper()} is typed "
                            "as the enum in PostgreSQL, as its text in DuckDB"
                        )
        return None

    def prepare(self, tree: exp.Expr) -> exp.Expr:
        """Render what the pushdown table says (``char(n)`` and enums compared as their text, as DuckDB
        does); types DuckDB has no equivalent for asked for as text."""
        tree = PostgresPushdown.render(tree, self)
        for select in tree.find_all(exp.Select):
            for i, projection in enumerate(select.expressions):
                column = projection.unalias()
                if isinstance(column, exp.Column) and self._read_as_text(column):
                    name = projection.alias_or_name
                    select.expressions[i] = exp.alias_(_as_text(column.copy()), name, quoted=True)
                    select.expressions[i].parent = select
        return tree

    def _read_as_text(self, node: exp.Column) -> bool:
        info = self._info(node)
        return info is not None and info.read_as_text

    def key_filter(self, column: exp.Expr, keys: pa.Array, column_type: pa.DataType | None = None) -> exp.Expr:
        """Integer keys as one array literal, ``column = ANY('{1,2,...}'::INTEGER[])``: PostgreSQL parses
        one string much faster than tens of thousands of IN-list items (benchmarks/README.md).

        The array has the column's own type: against an INTEGER column a BIGINT[] makes PostgreSQL
        compare across types, which it cannot hash, so it scans the array for every row (issue 12:
        22.2 s as against 0.09 s for one TPC-DS fragment)."""
        if not pa.types.is_integer(keys.type):
            return super().key_filter(column, keys)
        values = [int(k) for k in keys.to_pylist()]
        element = _ARRAY_TYPES.get(column_type, "BIGINT") if column_type is not None else "BIGINT"
        low, high = _INTEGER_RANGES[element]
        if any(v < low or v > high for v in values):
            element = "BIGINT"  # a key the column cannot hold matches nothing; BIGINT[] still says so exactly
        text = "{" + ",".join(str(v) for v in values) + "}"
        array = exp.Cast(this=exp.Literal.string(text), to=exp.DataType.build(f"{element}[]", dialect="postgres"))
        return exp.EQ(this=column.copy(), expression=exp.Any(this=exp.Paren(this=array)))

    # -- execution --------------------------------------------------------
    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        deadline = current()
        timeout = _ms(seconds_for_source(deadline, self.statement_timeout))

        def start(con: Any) -> tuple[Any, Any, int]:
            deadline.check()
            cur = con.cursor()
            handle = deadline.on_cancel(cur.adbc_cancel)
            try:
                if timeout != _ms(self.statement_timeout):
                    cur.execute(_set_timeout(timeout))
                cur.execute(fragment.sql)
                return cur, cur.fetch_record_batch(), handle
            except Exception:
                deadline.discard(handle)
                cur.close()
                raise

        try:
            con, (cur, reader, handle) = execute_with_retry(self.pool, start, deadline)
        except FedQueryError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self.source_error(f"PostgreSQL rejected the query: {first_line(exc)}", fragment=fragment) from None

        def reset() -> None:
            if timeout != _ms(self.statement_timeout):  # the next user of the connection has its own deadline
                with con.cursor() as again:
                    again.execute(_set_timeout(_ms(self.statement_timeout)))

        stream = pooled_stream(
            self, con, cur, iter(reader), fragment.sql, on_success=reset, on_end=lambda: deadline.discard(handle)
        )
        return conformed(with_enums(self, fragment), stream, _convert)

    def scan_ranges(self, fragment: Fragment, parts: int) -> list[pa.RecordBatchReader]:
        """``parts`` ctid ranges of the table behind ``fragment.range_alias``, one connection each.

        The first connection opens a REPEATABLE READ READ ONLY transaction and exports its
        snapshot; the others import it before anything runs, so the ranges together are one
        consistent read. Range ``i`` is pages ``[i*P/n, (i+1)*P/n)`` of the ``P`` the table
        has; the last is open-ended. Each transaction ends after its last batch.
        """
        alias = fragment.range_alias or ""
        table = fragment.alias_tables.get(alias)
        if table is None or parts < 2:
            return [self.scan(fragment)]
        name = self.remote_table(table.info).sql(dialect="postgres")
        deadline = current()
        timeout = _ms(seconds_for_source(deadline, self.statement_timeout))
        cons: list[Any] = []
        handles: list[int] = []
        running: str | None = None  # the range statement in flight, if one failed
        try:
            deadline.check()
            leader = execute_with_retry(self.pool, lambda con: _begin(con, timeout=timeout), deadline)[0]
            cons.append(leader)
            with leader.cursor() as cur:
                cur.execute(
                    "SELECT pg_export_snapshot(), c.relkind, pg_relation_size(c.oid) / "
                    "CAST(current_setting('block_size') AS BIGINT) FROM pg_class c WHERE c.oid = CAST($1 AS regclass)",
                    (name,),
                )
                snapshot, relkind, pages = cur.fetchone()
            if not _SNAPSHOT.fullmatch(str(snapshot)):
                raise ValueError(f"unexpected snapshot id {snapshot!r}")
            # Tables and materialized views have pages of rows to cut; a view or a partitioned parent not.
            parts = max(1, min(parts, int(pages))) if relkind in ("r", "m") else 1
            for _ in range(parts - 1):
                con = self.pool.acquire()
                cons.append(con)
                _begin(con, snapshot=str(snapshot), timeout=timeout)
            readers = []
            for i, con in enumerate(cons):
                select = fragment.expression.copy()
                assert isinstance(select, exp.Select)  # the planner splits plain SELECTs only
                low, high = (int(pages) * i) // parts, (int(pages) * (i + 1)) // parts
                if i > 0:
                    select.where(_ctid(alias, ">=", low), copy=False)
                if i < parts - 1:
                    select.where(_ctid(alias, "<", high), copy=False)
                sql = gate(self.prepare(select), department=self.department, source=self.name).sql(dialect="postgres")
                cur = con.cursor()
                handle = deadline.on_cancel(cur.adbc_cancel)
                handles.append(handle)
                running = sql
                cur.execute(sql)
                running = None
                stream = pooled_stream(
                    self, con, cur, iter(cur.fetch_record_batch()), sql, on_success=_ender(con),
                    on_end=_discarder(deadline, handle),
                )  # fmt: skip
                readers.append(conformed(with_enums(self, fragment), stream, _convert))
            return readers
        except Exception as exc:  # noqa: BLE001 - every driver failure becomes a typed error
            for handle in handles:
                deadline.discard(handle)
            for con in cons:
                self.pool.discard(con)
            if isinstance(exc, FedQueryError):
                raise
            raise self.source_error(
                f"PostgreSQL rejected the range reads: {first_line(exc)}", fragment=fragment, sql=running
            ) from None


_SNAPSHOT = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")


def _begin(con: Any, snapshot: str | None = None, timeout: int | None = None) -> None:
    """Open a read-only REPEATABLE READ transaction, importing ``snapshot`` (a server-made id), its
    statements limited to ``timeout`` milliseconds (the query's remaining time)."""
    with con.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        if snapshot is not None:
            # a server-made id, checked against _SNAPSHOT, and quoted by the generator all the same
            cur.execute("SET TRANSACTION SNAPSHOT " + exp.Literal.string(snapshot).sql("postgres"))
        if timeout is not None:
            cur.execute(_set_timeout(timeout, local=True))


def _ms(seconds: float) -> int:
    """Milliseconds for ``statement_timeout``, at least 1 (0 would switch the timeout off)."""
    return max(1, int(seconds * 1000))


def _set_timeout(ms: int, *, local: bool = False) -> str:
    """``SET [LOCAL] statement_timeout = ms``, built by sqlglot.

    >>> _set_timeout(1250, local=True)
    'SET LOCAL statement_timeout = 1250'
    """
    item = exp.SetItem(this=exp.EQ(this=exp.var("statement_timeout"), expression=exp.Literal.number(ms)))
    if local:
        item.set("kind", "LOCAL")
    return exp.Set(expressions=[item]).sql(dialect="postgres")


def _discarder(deadline: Deadline, handle: int) -> Any:
    return lambda: deadline.discard(handle)


def _ender(con: Any) -> Any:
    def commit() -> None:
        with con.cursor() as cur:
            cur.execute("COMMIT")

    return commit


def _ctid(alias: str, op: str, page: int) -> exp.Expr:
    """``alias.ctid <op> '(page,0)'::tid``: a range of the table's pages."""
    column = exp.column("ctid", table=alias, quoted=True)
    tid = exp.Cast(this=exp.Literal.string(f"({page},0)"), to=exp.DataType.build("tid", dialect="postgres", udt=True))
    return exp.GTE(this=column, expression=tid) if op == ">=" else exp.LT(this=column, expression=tid)


def _as_text(node: exp.Expr) -> exp.Expr:
    return exp.Cast(this=node, to=exp.DataType.build("TEXT"))


_SIMPLE = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "text": pa.string(),
    "character varying": pa.string(),
    "character": pa.string(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "time without time zone": pa.time64("us"),
    "uuid": pa.string(),
    "json": pa.string(),
    "jsonb": pa.string(),
    "bytea": pa.binary(),
    "interval": pa.month_day_nano_interval(),
}
#: Array elements by their ``udt_name`` (an array's own udt is ``_`` + this): read as Arrow lists.
_ELEMENTS = {
    "int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(), "float4": pa.float32(), "float8": pa.float64(),
    "bool": pa.bool_(), "text": pa.string(), "varchar": pa.string(), "date": pa.date32(),
    "timestamp": pa.timestamp("us"), "timestamptz": pa.timestamp("us", tz="UTC"),
}  # fmt: skip
#: Types the driver sends in their binary wire format (bit, inet, money, timetz, ranges, geometry, ...):
#: the source is asked for their text form instead (``CAST(x AS TEXT)``), as DuckDB's scanner reads
#: types it has no equivalent for as VARCHAR.
_PASSED_AS_IS = {"USER-DEFINED", "ARRAY", "numeric", *_SIMPLE}

# PostgreSQL's ±infinity dates and timestamps, as the driver shifts them from PostgreSQL's epoch
# (2000-01-01) to Arrow's (1970-01-01) with 32/64-bit wrap-around; and DuckDB's own ±infinity.
_PG_INFINITE_DAYS = {-2147472692: 2147483647, -2147472691: -2147483647}
_PG_INFINITE_MICROS = {-9222425352054775809: 9223372036854775807, -9222425352054775808: -9223372036854775807}


def _is_text(t: pa.DataType | None) -> bool:
    return t is None or pa.types.is_string(t) or pa.types.is_large_string(t)


def _arrow(data_type: str, udt: str, precision: int | None, scale: int | None) -> pa.DataType:
    if data_type == "numeric":
        if precision is None:
            return pa.float64()  # unconstrained NUMERIC: no fixed scale to keep (as DuckDB's scanner does)
        return arrow_type(f"decimal({precision},{scale or 0})")
    if data_type == "ARRAY" and udt.lstrip("_") in _ELEMENTS:
        return pa.list_(_ELEMENTS[udt.lstrip("_")])
    return _SIMPLE.get(data_type, pa.string())


def _read_as_text(data_type: str, udt: str) -> bool:
    """Is the column asked for as text (see ``_PASSED_AS_IS``)?"""
    if data_type == "ARRAY":
        return udt.lstrip("_") not in _ELEMENTS
    return data_type not in _PASSED_AS_IS


def _convert(array: pa.Array, field: pa.Field, target: pa.DataType) -> pa.Array:
    pg_type = (field.metadata or {}).get(b"POSTGRESQL:type", b"").decode()
    if isinstance(array.type, pa.BaseExtensionType):
        storage = array.type.storage_type
        if str(array.type.extension_name) == "arrow.uuid":
            array = pa.array([None if v is None else str(v) for v in array.to_pylist()], pa.string())
        elif pa.types.is_string(storage) or pa.types.is_large_string(storage):
            array = array.storage  # numeric (as text), json, jsonb
        else:  # an opaque binary wire format: never guessed at
            raise ValueError(f"column {field.name!r}: PostgreSQL type {pg_type or '?'} cannot be read as {target}")
    if pg_type == "numeric" and pa.types.is_null(target):
        target = _numeric_type(field)
    if pa.types.is_date32(array.type) or pa.types.is_timestamp(array.type):
        array = _infinities(array)
    if pg_type == "bpchar":
        array = rtrim(array)
    if pa.types.is_null(target) or array.type == target:
        return array
    if pa.types.is_decimal(target) and pa.types.is_string(array.type):
        special = pc.is_in(pc.utf8_lower(array), pa.array(["nan", "infinity", "-infinity"]))
        if pc.any(special).as_py():
            shape = f"DECIMAL({target.precision}, {target.scale})"
            raise ValueError(f"column {field.name!r} holds NaN or Infinity, which {shape} cannot hold (nor can DuckDB)")
        return pc.cast(array, target)
    return array.cast(target)


def _infinities(array: pa.Array) -> pa.Array:
    """PostgreSQL's ±infinity dates and timestamps as DuckDB's ±infinity (the driver wraps them around)."""
    date = pa.types.is_date32(array.type)
    raw = array.view(pa.int32() if date else pa.int64())
    sentinels = _PG_INFINITE_DAYS if date else _PG_INFINITE_MICROS
    if not pc.any(pc.is_in(raw, pa.array(list(sentinels), raw.type))).as_py():
        return array
    fixed = [sentinels.get(v, v) if v is not None else None for v in raw.to_pylist()]
    return pa.array(fixed, raw.type).view(array.type)


def _numeric_type(field: pa.Field) -> pa.DataType:
    typmod = int((field.metadata or {}).get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return pa.float64()
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale)
