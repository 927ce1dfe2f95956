"""MySQL and MariaDB through PyMySQL (unbuffered server-side cursors, streamed into Arrow batches).

Two drivers, chosen by measurement (``benchmarks/transfer.py``): connectorx reads
straight into Arrow, about 11x faster than PyMySQL, and is used when it can be
exact: it returns every DECIMAL as DECIMAL(38,10), so a result needing more than
10 digits of scale goes through PyMySQL, as does any query connectorx itself fails
on (it panics on some result types: ``MYSQL_TYPE_NULL``, geometry). A statement
that failed *at the server* (an error, a timeout, a kill, a server that is down) is
never run a second time through PyMySQL. Results are then cast to the types DuckDB
would give. Source option ``driver = "pymysql"`` forces the exact path. connectorx
opens its own connection per scan; PyMySQL connections (and every catalog query)
are pooled.

Deadlines: every fragment's statement runs under the session's
``max_statement_time`` (MariaDB, seconds) or ``max_execution_time`` (MySQL, ms) =
the query's remaining time plus a margin (at most the source's ``statement_timeout``),
and a cancel sends ``KILL QUERY <id>`` from a side connection: PyMySQL knows its
connection id; connectorx's statement carries a ``/* fedquery:<random> */`` comment
by which the kill finds it in ``information_schema.processlist``. connectorx reads a
fragment whole (``return_type="arrow"``) because its streaming reader holds the
Python GIL while it waits for the server, which would freeze every other thread
(cancels and Ctrl-C included) for as long as the server takes; the whole read
releases the GIL (same speed, the fragment's Arrow held once in memory).
A client process that dies: MariaDB ends ``SLEEP`` within about 5 s but lets other
statements run to completion or to their ``max_statement_time`` (measured on
10.11), which is why that limit follows the query's deadline.

Sessions are read-only (``SET SESSION TRANSACTION READ ONLY`` plus ``START
TRANSACTION READ ONLY`` per scan), have a statement timeout (source option
``statement_timeout``, seconds, default 300), run in UTC and with a fixed
``sql_mode`` (:data:`SQL_MODE`): whatever the server's default, no mode that
changes what a pushed expression means is on (``PIPES_AS_CONCAT``,
``ANSI_QUOTES``, ``NO_BACKSLASH_ESCAPES``, ``HIGH_NOT_PRECEDENCE``,
``PAD_CHAR_TO_FULL_LENGTH``, ``NO_UNSIGNED_SUBTRACTION``, ``REAL_AS_FLOAT``). A URL's database is
the default schema; other databases of the server are ``department.db.table``.

What is pushed, how, and what is kept local because MySQL would answer differently from
DuckDB, is ``connectors.pushdown.MySQLPushdown`` (MySQL collations compare strings case-
and accent-insensitively and ignore trailing spaces, so pushed string comparisons are
rendered as binary comparisons, and text grouping and ordering are kept local unless the
column's collation is binary).
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pyarrow as pa
from sqlglot import exp

from connectors.base import ColumnStats, Option, TableInfo, TableStats, require
from connectors.pushdown import MySQLPushdown
from connectors.remote import (
    ColumnInfo,
    RemoteConnector,
    conformed,
    execute_with_retry,
    first_line,
    pooled_stream,
    with_enums,
)
from connectors.types import arrow_type, parse_value
from fedquery.deadline import Deadline, current, seconds_for_source
from fedquery.errors import FedQueryError, SourceError
from fedquery.fragment import Fragment

_BINARY_COLLATIONS = ("_nopad_bin",)
#: what connectorx says when the server (or the network to it) failed, not connectorx itself
_SERVER_FAILURE = re.compile(
    r"MySqlError|DriverError|CodecError|IO error|ERROR \d{4}|\bIo\(|os error|timed out|Connection (refused|reset)|"
    r"Broken pipe|Lost connection|gone away|interrupted",
    re.IGNORECASE,
)


#: The session's sql_mode, set on every connection: only modes that make the server refuse more
#: (``ONLY_FULL_GROUP_BY``), none of those that change how a statement reads (``||`` as CONCAT,
#: double quotes as identifiers, backslash in string literals, NOT's precedence, padded CHAR values,
#: unsigned subtraction): sqlglot renders for the default reading, and a server or an account
#: configured otherwise would silently answer something else.
SQL_MODE = "ONLY_FULL_GROUP_BY,NO_ENGINE_SUBSTITUTION"


class MySQLConnector(RemoteConnector):
    kind = "mysql"
    session_settings = {"time_zone": "+00:00", "sql_mode": SQL_MODE, "transaction": "READ ONLY"}
    dialect = "mysql"
    default_port = 3306
    extra = "mysql"
    options = {**RemoteConnector.options, "driver": Option("str", choices=("auto", "pymysql"))}
    capabilities = dataclasses.replace(
        RemoteConnector.capabilities, correlation="key", max_group_fraction=0.01, max_join_fraction=0.5,
        chained_reductions=False, whole_group_fraction=0.01,
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.default_schema = self.address.database or None
        self._mariadb: bool | None = None
        #: which driver answered each fragment (by fragment name), for EXPLAIN ANALYZE-style checks
        self.drivers: dict[str, str] = {}

    def identity(self) -> tuple[str, ...]:
        # Databases of one server are schemas: tables in any of them can be joined there.
        a = self.address
        return (self.kind, a.host, str(a.port), a.user)

    # -- connections ------------------------------------------------------
    def _connect(self) -> Any:
        pymysql = require("pymysql", "mysql", "mysql")
        a = self.address
        try:
            con = pymysql.connect(
                host=a.host,
                port=a.port,
                user=a.user,
                password=a.password.reveal(),
                database=a.database or None,
                charset="utf8mb4",
                autocommit=True,
                connect_timeout=10,
                program_name="fedquery",
                init_command="SET SESSION TRANSACTION READ ONLY",
            )
            with con.cursor() as cur:
                cur.execute("SELECT VERSION()")
                self._mariadb = "MariaDB" in str(cur.fetchone()[0])
                cur.execute(self._timeout_setting(self.statement_timeout))
                cur.execute(_session_setting("time_zone", exp.Literal.string("+00:00")))
                cur.execute(_session_setting("sql_mode", exp.Literal.string(SQL_MODE)))
            return con
        except pymysql.MySQLError as exc:
            raise self.source_error(f"cannot connect to {self.location()}: {exc}", unavailable=True) from None

    def _cancel(self, con: Any) -> None:
        self._kill_query(con.thread_id())

    def _fetch_rows(self, con: Any, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with con.cursor() as cur:
            cur.execute(sql, params or None)
            return list(cur.fetchall())

    # -- catalog ----------------------------------------------------------
    def _schemas(self) -> list[str]:
        schemas = self.config.options.get("schemas") or ([self.address.database] if self.address.database else [])
        return [str(s) for s in schemas]

    def list_tables(self) -> list[TableInfo]:
        schemas = self._schemas()
        if not schemas:
            raise self.source_error("a mysql source needs a database in its url or a 'schemas' list", unavailable=True)
        query = (
            exp.select("table_schema", "table_name")
            .from_(exp.to_table("information_schema.tables"))
            .where(exp.column("table_schema").isin(*[exp.Literal.string(s) for s in schemas]))
            .order_by("1", "2")
        )
        rows = self.query_rows(query.sql(dialect="mysql"))
        return self._tables_from(rows)

    def _read_columns(self, table: TableInfo) -> list[ColumnInfo]:
        rows = self.query_rows(
            "SELECT column_name, data_type, column_type, numeric_precision, numeric_scale, is_nullable, collation_name "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            table.remote,
        )
        out = []
        for name, data_type, column_type, precision, scale, nullable, collation in rows:
            binary = collation is None or str(collation).endswith(_BINARY_COLLATIONS)
            arrow = _arrow(str(data_type).lower(), str(column_type).lower(), precision, scale)
            labels = enum_labels(str(column_type)) if str(data_type).lower() == "enum" else None
            # an ENUM sorts, groups and deduplicates by its index (declaration order) as DuckDB's ENUM does
            binary = binary or labels is not None
            out.append(ColumnInfo(name, arrow, nullable == "YES", binary, str(column_type), enum_labels=labels))
        return out

    def statistics(self, table: TableInfo) -> TableStats:
        rows = self.query_rows(
            "SELECT table_rows, data_length + index_length FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = %s",
            table.remote,
        )
        if not rows:
            return TableStats()
        count, size = rows[0]
        count = None if count is None else int(count)
        return TableStats(
            row_count=count, size_bytes=None if size is None else int(size), columns=self._column_stats(table, count)
        )

    def _column_stats(self, table: TableInfo, count: int | None) -> dict[str, ColumnStats]:
        """Index cardinalities, and MariaDB's engine-independent statistics where collected."""
        if not count:
            return {}
        types = {c.name: c.arrow for c in self.table_columns(table)}
        found: dict[str, ColumnStats] = {}
        for name, cardinality in self.query_rows(
            "SELECT column_name, max(cardinality) FROM information_schema.statistics "
            "WHERE table_schema = %s AND table_name = %s AND seq_in_index = 1 GROUP BY column_name",
            table.remote,
        ):
            if cardinality is not None:
                found[name] = ColumnStats(distinct=int(cardinality))
        try:
            collected = self.query_rows(
                "SELECT column_name, min_value, max_value, nulls_ratio, avg_frequency FROM mysql.column_stats "
                "WHERE db_name = %s AND table_name = %s",
                table.remote,
            )
        except SourceError:
            collected = []  # not MariaDB, or no privilege on the mysql schema
        for name, low, high, nulls, frequency in collected:
            text = types.get(name) is None or pa.types.is_string(types[name])
            nulls_count = None if nulls is None else int(float(nulls) * count)
            distinct = found.get(name, ColumnStats()).distinct
            if frequency:
                distinct = int(count * (1 - float(nulls or 0)) / float(frequency))
            found[name] = ColumnStats(
                min=None if text else parse_value(low, types.get(name)),
                max=None if text else parse_value(high, types.get(name)),
                null_count=nulls_count,
                distinct=distinct,
            )
        return found

    def enforced_key(self, table: TableInfo) -> list[str] | None:
        rows = self.query_rows(
            "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = %s "
            "AND table_name = %s AND constraint_name = 'PRIMARY' ORDER BY ordinal_position",
            table.remote,
        )
        return [r[0] for r in rows] or None

    def modified(self, table: TableInfo) -> datetime | None:
        rows = self.query_rows(
            "SELECT update_time FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            table.remote,
        )
        stamp = rows[0][0] if rows else None
        return stamp.replace(tzinfo=timezone.utc) if isinstance(stamp, datetime) else None

    # -- planning ---------------------------------------------------------
    def unsupported_reason(self, node: exp.Expr) -> str | None:
        """Why ``node`` cannot be sent: MySQL's pushdown table (connectors.pushdown) says; and MySQL has no
        FULL JOIN (sqlglot writes it as a LEFT JOIN UNION ALL an anti-join, over which an aggregate,
        DISTINCT, ORDER BY ... LIMIT or window would be computed per branch)."""
        reason = MySQLPushdown.reason(node, self)
        if reason is None and any((join.side or "").upper() == "FULL" for join in node.find_all(exp.Join)):
            reason = "MySQL has no FULL JOIN"
        return reason

    def prepare(self, tree: exp.Expr) -> exp.Expr:
        """Render what the pushdown table says (text compared byte by byte: no case folding, no accent
        folding, no PAD SPACE); types DuckDB has no equivalent for asked for as text."""
        tree = MySQLPushdown.render(tree, self).transform(_mode_independent, copy=False)
        tree = tree.transform(_group_by_position, copy=False)
        # Types DuckDB reads as text, asked for in their text form (as PostgreSQL's are).
        for select in tree.find_all(exp.Select):
            for i, projection in enumerate(select.expressions):
                column = projection.unalias()
                info = self._info(column) if isinstance(column, exp.Column) else None
                shown = _as_text(column, info.native_type.lower()) if info is not None else None
                if shown is not None:
                    select.expressions[i] = exp.alias_(shown, projection.alias_or_name, quoted=True)
                    select.expressions[i].parent = select
        return tree

    # -- execution --------------------------------------------------------
    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        deadline = current()
        if self._connectorx_can_answer(fragment):
            self.drivers[fragment.name] = "connectorx"
            reader = self._scan_connectorx(fragment, deadline)
            if reader is not None:
                return reader
        self.drivers[fragment.name] = "pymysql"
        return self._scan_pymysql(fragment, deadline)

    def _connectorx_can_answer(self, fragment: Fragment) -> bool:
        if self.config.options.get("driver", "auto") == "pymysql":
            return False
        try:
            import connectorx  # noqa: F401
        except ImportError:
            return False
        return all(
            not pa.types.is_null(f.type) and not (pa.types.is_decimal(f.type) and f.type.scale > 10)
            for f in fragment.schema
        )

    def _is_mariadb(self) -> bool:
        if self._mariadb is None:
            self._mariadb = "MariaDB" in str(self.query_rows("SELECT VERSION()")[0][0])
        return self._mariadb

    def _timeout_setting(self, seconds: float) -> str:
        """The session's statement time limit: MariaDB's ``max_statement_time`` (seconds) or MySQL's
        ``max_execution_time`` (milliseconds; SELECTs only, which is all fedquery runs)."""
        if self._is_mariadb():
            return _session_setting("max_statement_time", exp.Literal.number(max(0.001, round(seconds, 3))))
        return _session_setting("max_execution_time", exp.Literal.number(max(1, int(seconds * 1000))))

    def _session_setup(self, seconds: float) -> list[str]:
        return [
            "SET SESSION TRANSACTION READ ONLY",
            self._timeout_setting(seconds),
            _session_setting("time_zone", exp.Literal.string("+00:00")),
            _session_setting("sql_mode", exp.Literal.string(SQL_MODE)),
        ]

    def _scan_connectorx(self, fragment: Fragment, deadline: Deadline) -> pa.RecordBatchReader | None:
        """The whole fragment through connectorx, or None if connectorx itself cannot read it (then
        PyMySQL does); a failure at the server is raised, never retried."""
        import connectorx as cx

        a = self.address
        auth = quote(a.user, safe="") + (":" + quote(a.password.reveal(), safe="") if a.password else "")
        url = f"mysql://{auth}@{a.host}:{a.port}/{quote(a.database)}"
        batch_size = int(self.config.options.get("batch_size", 65536))
        # The tag lets a cancel find connectorx's own connection in the processlist.
        tag = f"fedquery:{uuid.uuid4().hex}"
        tree = self.prepare(fragment.expression.copy())
        tree.add_comments([tag], prepend=True)
        setup = self._session_setup(seconds_for_source(deadline, self.statement_timeout))
        done = threading.Event()
        handle = deadline.on_cancel(lambda: self._kill_tagged(tag, done))
        try:
            deadline.check()
            table = cx.read_sql(url, tree.sql(dialect="mysql"), return_type="arrow", pre_execution_query=setup)
        except (KeyboardInterrupt, SystemExit, FedQueryError):
            raise
        except BaseException as exc:  # noqa: BLE001 - connectorx panics (a BaseException) on some types
            message = first_line(exc)
            if deadline.stopped or _SERVER_FAILURE.search(message):
                raise self.source_error(f"{self.kind} failed while answering: {message}", fragment=fragment) from None
            return None  # connectorx's own failure (a type it cannot read): PyMySQL reads it
        finally:
            done.set()
            deadline.discard(handle)
        return conformed(with_enums(self, fragment), iter(table.to_batches(max_chunksize=batch_size)), _convert)

    def _scan_pymysql(self, fragment: Fragment, deadline: Deadline) -> pa.RecordBatchReader:
        pymysql = require("pymysql", "mysql", "mysql")
        cursors = require("pymysql.cursors", "mysql", "mysql")
        seconds = seconds_for_source(deadline, self.statement_timeout)
        limited = seconds != self.statement_timeout

        def start(con: Any) -> Any:
            deadline.check()
            cur = cursors.SSCursor(con)
            thread_id = con.thread_id()
            handle = deadline.on_cancel(lambda: self._kill_query(thread_id))
            try:
                if limited:
                    cur.execute(self._timeout_setting(seconds))
                cur.execute("START TRANSACTION READ ONLY")
                deadline.check()
                cur.execute(fragment.sql)
                return cur, handle
            except Exception:
                deadline.discard(handle)
                cur.close()
                raise

        try:
            con, (cur, handle) = execute_with_retry(self.pool, start, deadline)
        except FedQueryError:
            raise
        except pymysql.MySQLError as exc:
            raise self.source_error(f"MySQL rejected the query: {exc}", fragment=fragment) from None
        batch_size = int(self.config.options.get("batch_size", 65536))
        names = [d[0] for d in cur.description]

        def batches() -> Any:
            while rows := cur.fetchmany(batch_size):
                columns = list(zip(*rows))
                arrays = [_array(c, f.type) for c, f in zip(columns, fragment.schema)]
                yield pa.RecordBatch.from_arrays(arrays, names=names)
            cur.execute("COMMIT")

        def abandon() -> None:
            # The server side is gone: do not let PyMySQL try to drain the result later.
            result = getattr(cur, "_result", None)
            if result is not None:
                result.unbuffered_active = False

        def reset() -> None:
            if limited:  # the next user of the connection has its own deadline
                cur.execute(self._timeout_setting(self.statement_timeout))

        stream = pooled_stream(
            self, con, cur, batches(), fragment.sql, on_failure=abandon, on_success=reset,
            on_end=lambda: deadline.discard(handle),
        )  # fmt: skip
        return conformed(with_enums(self, fragment), stream, _convert)

    # -- cancelling -------------------------------------------------------
    def _side_connection(self) -> Any:
        """A short-lived connection to send ``KILL QUERY`` from (the statement's own one is busy)."""
        pymysql = require("pymysql", "mysql", "mysql")
        a = self.address
        return pymysql.connect(
            host=a.host, port=a.port, user=a.user, password=a.password, autocommit=True, connect_timeout=2,
            read_timeout=2, write_timeout=2, program_name="fedquery-cancel",
        )  # fmt: skip

    def _kill_query(self, thread_id: int) -> None:
        """Stop the statement running on connection ``thread_id`` (the connection stays open)."""
        try:
            con = self._side_connection()
            try:
                with con.cursor() as cur:
                    cur.execute(_kill(thread_id))
            finally:
                con.close()
        except Exception:  # noqa: BLE001 - the statement may have ended, or the server be gone: nothing to stop
            pass

    def _kill_tagged(self, tag: str, done: threading.Event) -> None:
        """Find connectorx's statement by its tag and stop it; connectorx may not have sent it yet, so
        look again for a while (on a background thread) until it shows up or the read has ended."""
        if self._kill_tagged_once(tag) or done.is_set():
            return

        def again() -> None:
            until = time.monotonic() + 5.0
            while not done.wait(0.05) and time.monotonic() < until:
                if self._kill_tagged_once(tag):
                    return

        threading.Thread(target=again, name="fedquery-kill", daemon=True).start()

    def _kill_tagged_once(self, tag: str) -> bool:
        find = (
            exp.select(exp.column("id"))
            .from_(exp.table_("processlist", db="information_schema"))
            .where(exp.column("info").like(exp.Literal.string(f"%{tag}%")))
            .where(exp.column("id").neq(exp.func("CONNECTION_ID")))
        )
        try:
            con = self._side_connection()
            try:
                with con.cursor() as cur:
                    cur.execute(find.sql(dialect="mysql"))
                    ids = [int(r[0]) for r in cur.fetchall()]
                    for thread_id in ids:
                        cur.execute(_kill(thread_id))
                return bool(ids)
            finally:
                con.close()
        except Exception:  # noqa: BLE001 - as in _kill_query
            return False


def enum_labels(column_type: str) -> tuple[str, ...]:
    """The labels of ``enum('a','b''c')`` as MySQL's ``column_type`` spells them, in declaration order.

    >>> enum_labels("enum('sad','o''k','a,b')")
    ('sad', "o'k", 'a,b')
    """
    return tuple(m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", column_type))


def _mode_independent(node: exp.Expr) -> exp.Expr:
    r"""Write ``node`` so that it reads the same under every sql_mode of the server.

    connectorx prepares a statement before it runs the session's set-up, so the server's default
    sql_mode parses it: NOT's operand is parenthesised (``HIGH_NOT_PRECEDENCE`` reads ``NOT a = 1`` as
    ``(NOT a) = 1``) and a string literal holding a backslash is written in hex with its character set
    (``NO_BACKSLASH_ESCAPES`` reads ``'a\\b'`` as two backslashes).

    >>> from sqlglot import parse_one
    >>> parse_one("SELECT 'a\\b' FROM t WHERE NOT x = 1", read="duckdb").transform(_mode_independent).sql("mysql")
    "SELECT _utf8mb4 x'615C62' FROM t WHERE NOT (x = 1)"
    """
    if isinstance(node, exp.Not) and not isinstance(node.this, exp.Paren):
        node.set("this", exp.Paren(this=node.this))
    elif isinstance(node, exp.Literal) and node.is_string and "\\" in node.this:
        return exp.Introducer(this=exp.var("_utf8mb4"), expression=exp.HexString(this=node.this.encode().hex().upper()))
    return node


def _group_by_position(node: exp.Expr) -> exp.Expr:
    """GROUP BY keys that are expressions of the output written as their position (``GROUP BY 1``).

    MariaDB's ONLY_FULL_GROUP_BY check compares the output with the keys after rewriting both, and
    some rewrites (``x IS NOT NULL`` as ``NOT (x IS NULL)``) make an expression differ from itself:
    "'a.s' isn't in GROUP BY". A position names the output expression itself.

    >>> from sqlglot import parse_one
    >>> tree = parse_one("SELECT (s IS NOT NULL) AS g, k, count(*) FROM t GROUP BY (s IS NOT NULL), k")
    >>> tree.transform(_group_by_position).sql("mysql")
    'SELECT (NOT s IS NULL) AS g, k, COUNT(*) FROM t GROUP BY 1, k'
    """
    if not isinstance(node, exp.Group) or not isinstance(node.parent, exp.Select):
        return node
    outputs = [e.unalias().unnest() for e in node.parent.expressions]
    keys = []
    for key in node.expressions:
        bare = key.unnest()
        if not isinstance(bare, (exp.Column, exp.Literal)) and bare in outputs:
            key = exp.Literal.number(outputs.index(bare) + 1)
        keys.append(key)
    node.set("expressions", keys)
    return node


def _session_setting(name: str, value: exp.Expr) -> str:
    """``SET SESSION name = value``, built by sqlglot.

    >>> _session_setting("max_statement_time", exp.Literal.number(1.25))
    'SET SESSION max_statement_time = 1.25'
    """
    item = exp.SetItem(this=exp.EQ(this=exp.var(name), expression=value), kind="SESSION")
    return exp.Set(expressions=[item]).sql(dialect="mysql")


def _kill(thread_id: int) -> str:
    """``KILL QUERY id``: the statement stops, the connection stays.

    >>> _kill(42)
    'KILL QUERY 42'
    """
    return exp.Kill(this=exp.Literal.number(int(thread_id)), kind="QUERY").sql(dialect="mysql")


_GEOMETRY = ("geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
             "geometrycollection")  # fmt: skip


def _as_text(column: exp.Column, column_type: str) -> exp.Expr | None:
    """``column`` in its text form where DuckDB has no type for it: WKT for spatial types, the bits
    of BIT(n) as 0s and 1s (as PostgreSQL spells them); None for every other type."""
    if column_type.startswith(_GEOMETRY):
        return exp.Anonymous(this="ST_AsText", expressions=[column.copy()])
    if column_type.startswith("bit("):
        width = int(column_type[4:].split(")")[0])
        bits = exp.Anonymous(this="BIN", expressions=[column.copy()])
        return exp.Anonymous(this="LPAD", expressions=[bits, exp.Literal.number(width), exp.Literal.string("0")])
    return None


_SIMPLE = {
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "mediumint": pa.int32(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "time": pa.duration("us"),
    "year": pa.int16(),
    "json": pa.string(),
    "blob": pa.binary(),
    "varbinary": pa.binary(),
    "binary": pa.binary(),
}


def _arrow(data_type: str, column_type: str, precision: int | None, scale: int | None) -> pa.DataType:
    if data_type == "decimal":
        return arrow_type(f"decimal({precision},{scale or 0})")
    if column_type.startswith("tinyint(1)"):
        return pa.bool_()
    if "unsigned" in column_type and data_type in ("tinyint", "smallint", "mediumint", "int", "bigint"):
        return {"tinyint": pa.uint8(), "smallint": pa.uint16(), "bigint": pa.uint64()}.get(data_type, pa.uint32())
    return _SIMPLE.get(data_type, pa.string())


def _array(values: tuple[Any, ...], target: pa.DataType) -> pa.Array:
    """Build the column in the planned type directly (no lossy inference); infer only when unknown."""
    if not pa.types.is_null(target):
        if pa.types.is_date(target) or pa.types.is_timestamp(target):
            # MySQL's zero and partial dates ('0000-00-00', '2020-00-15') come as text: NULL, as DuckDB reads them
            values = tuple(None if isinstance(v, (str, bytes)) else v for v in values)
        if pa.types.is_boolean(target):
            return pa.array([None if v is None else bool(v) for v in values], target)
        if pa.types.is_timestamp(target) and target.tz:
            return pa.array(values, pa.timestamp(target.unit)).cast(target)  # the session runs in UTC
        try:
            return pa.array(values, target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # e.g. an expression whose type the planner guessed wrong: infer, then cast in _convert
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # Decimals of mixed scale, or bytes among text: normalise before Arrow infers a type.
        if any(isinstance(v, Decimal) for v in values):
            return pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(38, _scale(values)))
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _scale(values: tuple[Any, ...]) -> int:
    scales = [-int(v.as_tuple().exponent) for v in values if isinstance(v, Decimal)]
    return max([0, *scales])


def _convert(array: pa.Array, field: pa.Field, target: pa.DataType) -> pa.Array:
    if pa.types.is_null(target) or array.type == target:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), target)
    if pa.types.is_boolean(target) and pa.types.is_integer(array.type):
        return array.cast(pa.int64()).cast(pa.bool_())
    if pa.types.is_timestamp(target) and target.tz and pa.types.is_timestamp(array.type) and not array.type.tz:
        return array.cast(pa.timestamp(target.unit)).cast(target)  # the session runs in UTC
    return array.cast(target)
