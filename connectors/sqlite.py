"""A SQLite database file, opened read-only.

SQLite differs from DuckDB in ways that change answers, so what it is sent is its
pushdown table (``connectors.pushdown.SQLitePushdown``): no date arithmetic, EXTRACT or
casts (SQLite has no DATE type), no LIKE (case-insensitive there), and no arithmetic or
SUM/AVG over DECIMAL values (stored as binary floating point there). Explicit NULL ordering
is added when ORDER BY is sent, since SQLite sorts NULLs first.

Two readers. A plain scan (one table: columns, expressions and filters, perhaps a LIMIT; rows stream
as SQLite reads them) expected to return at least ``adbc_min_rows`` rows (2,000) is read in C
through ADBC (``adbc-driver-sqlite``, ``pip install 'fedquery[sqlite]'``), about six times as fast
as Python's ``sqlite3``; everything else, and every query when the driver is missing or ``driver =
"sqlite3"``, through ``sqlite3``, which SQLite can interrupt mid-statement and which evaluates
fedquery's exact integer SUM.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from connectors.base import (
    BATCH_SIZE,
    SOURCE_OPTIONS,
    TABLE_OPTIONS,
    Capabilities,
    Connector,
    Option,
    TableInfo,
    TableStats,
)
from connectors.pushdown import SQLitePushdown, governed
from connectors.remote import first_line
from connectors.types import arrow_type, date_plus_number
from fedquery.deadline import current
from fedquery.errors import FedQueryError
from fedquery.fragment import Fragment
from fedquery.planner.gate import gate

#: The query shapes SQLite is sent; the expressions inside them are SQLite's pushdown table's.
_STRUCTURE: tuple[type[exp.Expr], ...] = (
    exp.Select, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order, exp.Ordered, exp.Limit,
    exp.Subquery, exp.Union, exp.Intersect, exp.Except, exp.With, exp.CTE, exp.TableAlias, exp.Alias,
    exp.Column, exp.Identifier, exp.Table, exp.Star, exp.Literal, exp.Null, exp.Boolean, exp.Exists, exp.DataType,
)  # fmt: skip


class SqliteConnector(Connector):
    kind = "sqlite"
    needs_location = True
    dialect = "sqlite"
    default_schema = "main"
    options = {
        **SOURCE_OPTIONS,
        "batch_size": BATCH_SIZE,
        "driver": Option("str", choices=("auto", "sqlite3")),
        "adbc_min_rows": Option("int", minimum=0),
    }
    table_options = {**TABLE_OPTIONS, "table": Option("str")}
    capabilities = Capabilities(
        sql=True,
        joins=True,
        aggregates=True,
        order_limit=True,
        subqueries=True,
        set_operations=True,
        ranges=True,
        allowed=_STRUCTURE,
    )

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        #: fragment name -> the reader that ran it ("adbc" or "sqlite3"), for EXPLAIN ANALYZE and tests
        self.drivers: dict[str, str] = {}
        #: fragment SQL -> the statement it is read with through ADBC (None: read through sqlite3)
        self._statements: dict[str, str | None] = {}

    def identity(self) -> tuple[str, ...]:
        return (self.kind, str(self.local_path()))

    def connect(self) -> sqlite3.Connection:
        path = self.local_path()
        if not path.exists():
            raise self.source_error(f"SQLite file {self.location()!r} does not exist", unavailable=True)
        try:
            con = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, check_same_thread=False)
            con.execute("PRAGMA query_only = ON")
            con.create_function(_SUM_OUTPUT, 2, _sum_output, deterministic=True)
            con.create_function(_SUM_VALUE, 2, _sum_value, deterministic=True)
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise self.source_error(f"cannot open SQLite file {self.location()!r}: {exc}", unavailable=True) from None
        return con

    def list_tables(self) -> list[TableInfo]:
        con = self.connect()
        try:
            rows = con.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
        finally:
            con.close()
        explicit = {opts.get("table", name): name for name, opts in self.config.tables.items()}
        names = [(explicit.get(r[0], r[0]), r[0]) for r in rows]
        return self.exposed(
            [
                TableInfo(name=name, schema="main", remote=(remote,), options=dict(self.config.tables.get(name, {})))
                for name, remote in names
            ]
        )

    def table_schema(self, table: TableInfo) -> pa.Schema:
        con = self.connect()
        try:
            rows = con.execute("SELECT * FROM pragma_table_info(?)", table.remote[-1:]).fetchall()
        finally:
            con.close()
        return pa.schema([pa.field(r[1], _declared_type(r[2]), nullable=not r[3]) for r in rows])

    def statistics(self, table: TableInfo) -> TableStats:
        con = self.connect()
        try:
            query = exp.select(exp.Count(this=exp.Star())).from_(self.remote_table(table))
            (count,) = con.execute(query.sql("sqlite")).fetchone()
        finally:
            con.close()
        return TableStats(row_count=int(count))

    def enforced_key(self, table: TableInfo) -> list[str] | None:
        con = self.connect()
        try:
            rows = con.execute("SELECT * FROM pragma_table_info(?)", table.remote[-1:]).fetchall()
        finally:
            con.close()
        keys = sorted((r[5], r[1]) for r in rows if r[5])
        return [name for _, name in keys] or None

    def modified(self, table: TableInfo) -> datetime | None:
        return self.file_modified()

    def unsupported_reason(self, node: exp.Expr) -> str | None:
        """Why ``node`` cannot be sent: a shape outside ``_STRUCTURE``, or SQLite's pushdown table."""
        for sub in node.walk():
            if isinstance(sub, exp.SetOperation) and sub.args.get("order"):
                # NULLS LAST needs an expression (x IS NULL), and SQLite orders a compound SELECT only by
                # its output columns
                return "SQLite cannot order a UNION/INTERSECT/EXCEPT with DuckDB's NULL order"
            if isinstance(sub, (exp.Intersect, exp.Except)) and not sub.args.get("distinct"):
                return "SQLite has no INTERSECT ALL or EXCEPT ALL (multiset set operations)"
            if isinstance(sub, exp.Sum) and _integer_sum(sub) and not _exact_sum_position(sub):
                return "a SUM of integers inside an expression: SQLite has no exact arithmetic past 64 bits"
            if isinstance(sub, (exp.Add, exp.Sub)) and date_plus_number(sub):
                return "SQLite keeps dates as text: date arithmetic there does not give a date"
            if SQLitePushdown.entry(sub) is None and not governed(sub) and not isinstance(sub, _STRUCTURE):
                return f"{type(sub).__name__} ({sub.sql('duckdb')[:60]}) is not supported by sqlite source"
            reason = SQLitePushdown.node_reason(sub, self)
            if reason:
                return reason
        return None

    def prepare(self, tree: exp.Expr) -> exp.Expr:
        return tree.transform(explicit_null_order, copy=False).transform(exact_integer_sum, copy=False)

    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        if self._reads_through_adbc(fragment):
            statement = self._typed_statement(fragment)
            if statement is not None:
                self.drivers[fragment.name] = "adbc"
                return self._scan_adbc(fragment, statement)
        self.drivers[fragment.name] = "sqlite3"
        return self._scan_sqlite3(fragment)

    def _reads_through_adbc(self, fragment: Fragment) -> bool:
        few = int(self.config.options.get("adbc_min_rows", _FEW_ROWS))
        auto = self.config.options.get("driver", "auto") == "auto"
        return auto and not _few_rows(fragment, few) and _adbc_sqlite() is not None

    def _typed_statement(self, fragment: Fragment, select: exp.Expr | None = None) -> str | None:
        """The statement a plain scan (``select``: the fragment's own, or one range of it) is read with
        through ADBC (see ``_scan_adbc``), or None when ``fragment`` is not a plain scan of types the
        driver reads. The fragment's own is kept per fragment SQL (rendering it again costs
        milliseconds)."""
        if select is None and fragment.sql in self._statements:
            return self._statements[fragment.sql]
        first_row = _typed_first_row(fragment)
        statement = None
        if first_row is not None:
            scan = exp.Subquery(this=self.prepare((select or fragment.expression).copy()))
            marked = exp.select(exp.Literal.number(1), exp.Star()).from_(scan)
            wrapped = exp.union(first_row, marked, distinct=False)
            statement = gate(wrapped, department=self.department, source=self.name).sql("sqlite")
        if select is None:
            if len(self._statements) >= _STATEMENTS_KEPT:
                self._statements.clear()
            self._statements[fragment.sql] = statement
        return statement

    def scan_ranges(self, fragment: Fragment, parts: int) -> list[pa.RecordBatchReader]:
        """A plain scan read through ADBC as ``parts`` rowid ranges of ``fragment.range_alias``'s table,
        each on its own connection (the driver reads in C without the GIL, so they run at once).

        One state of the file for all of them: a sqlite3 connection holds a read transaction (a SHARED
        lock, under which no writer can commit in a rollback-journal file) from before the first range
        starts until the last one ends. A WAL file (whose writers do not wait for readers), a table
        without a rowid, a view, or a fragment not read through ADBC is read as one range."""
        alias = fragment.range_alias
        table = fragment.alias_tables.get(alias) if alias else None
        if parts < 2 or table is None or not self._reads_through_adbc(fragment) or not self._typed_statement(fragment):
            return [self.scan(fragment)]
        guard = self.connect()
        try:
            bounds = self._rowid_bounds(guard, table.info, table.arrow_schema().names)
        except sqlite3.Error:
            bounds = None
        if bounds is None:
            guard.close()
            return [self.scan(fragment)]
        rowid, low, high = bounds
        cuts = [low + ((high - low + 1) * i) // parts for i in range(1, parts)]
        statements = []
        for i in range(parts):
            select = fragment.expression.copy()
            assert isinstance(select, exp.Select)  # a plain scan
            column = exp.column(rowid, table=alias, quoted=True)
            if i > 0:
                select.where(exp.GTE(this=column.copy(), expression=exp.Literal.number(cuts[i - 1])), copy=False)
            if i < parts - 1:
                select.where(exp.LT(this=column.copy(), expression=exp.Literal.number(cuts[i])), copy=False)
            statements.append(self._typed_statement(fragment, select))
        remaining = [len(statements)]
        lock = threading.Lock()

        def ended() -> None:  # the last range to end releases the guard's read transaction
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if last:
                guard.close()

        readers: list[pa.RecordBatchReader] = []
        self.drivers[fragment.name] = "adbc"
        try:
            for statement in statements:
                assert statement is not None
                readers.append(self._scan_adbc(fragment, statement, on_end=ended))
        except BaseException:
            for reader in readers:
                reader.close()
            guard.close()
            raise
        return readers

    def _rowid_bounds(
        self, guard: sqlite3.Connection, info: TableInfo, columns: list[str]
    ) -> tuple[str, int, int] | None:
        """Begin ``guard``'s read transaction and give the table's rowid name (one ``columns`` does not
        take) and its smallest and largest value, or None where ranges cannot be cut (WAL, no rowid,
        no rows)."""
        (mode,) = guard.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() == "wal":
            return None
        names = {name.lower() for name in columns}
        rowid = next((n for n in ("rowid", "_rowid_", "oid") if n not in names), None)
        if rowid is None:
            return None
        guard.execute("BEGIN")
        column = exp.column(rowid, quoted=True)
        query = exp.select(exp.Min(this=column), exp.Max(this=column.copy())).from_(self.remote_table(info))
        low, high = guard.execute(query.sql("sqlite")).fetchone()
        if not isinstance(low, int) or not isinstance(high, int) or high <= low:
            return None
        return rowid, low, high

    def _scan_adbc(
        self, fragment: Fragment, statement: str, on_end: Callable[[], None] | None = None
    ) -> pa.RecordBatchReader:
        """Read a plain scan in C. The ADBC driver types each column by the first rows it reads (a column
        NULL there would be an integer), so the statement sent is ``SELECT 0, <a typed value per column>
        UNION ALL SELECT 1, * FROM (<the fragment>)``: the typed row fixes every column's type and is
        dropped by its marker. A value of another type later in a column (SQLite keeps any value in any
        column) is a typed error naming the column, as DuckDB's sqlite scanner gives."""
        driver = _adbc_sqlite()
        assert driver is not None
        path = self.local_path()
        if not path.exists():
            raise self.source_error(f"SQLite file {self.location()!r} does not exist", unavailable=True)
        deadline = current()
        deadline.check()
        expected = fragment.schema
        try:
            con = driver.connect(f"{path.as_uri()}?mode=ro")
        except Exception as exc:  # noqa: BLE001  (the driver's own error types)
            raise self.source_error(f"cannot open SQLite file {self.location()!r}: {exc}", unavailable=True) from None
        cur = con.cursor()
        try:
            cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(self._batch_size())})
            cur.execute("PRAGMA query_only = ON")
            cur.execute(statement)
            reader = cur.fetch_record_batch()
        except Exception as exc:  # noqa: BLE001
            cur.close()  # the driver refuses to close a connection with an open statement
            con.close()
            if on_end is not None:
                on_end()
            raise self.source_error(_adbc_message(exc, expected), fragment=fragment) from None

        def batches() -> Any:
            try:
                yield None  # primed below: from here on, dropping the reader closes the cursor and connection
                for batch in reader:
                    deadline.check()
                    marker = batch.column(0)
                    if pc.min(marker).as_py() == 0:  # the typed first row
                        batch = batch.filter(pc.not_equal(marker, 0))
                    columns = [
                        self._converted(fragment, f, _from_adbc, batch.column(i + 1)) for i, f in enumerate(expected)
                    ]
                    yield pa.record_batch(columns, schema=expected)
            except FedQueryError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise self.source_error(_adbc_message(exc, expected), fragment=fragment) from None
            finally:
                cur.close()  # the cursor owns the stream: it lives as long as the batches are read
                con.close()
                if on_end is not None:
                    on_end()

        stream = batches()
        next(stream)
        return pa.RecordBatchReader.from_batches(expected, stream)

    def _converted(self, fragment: Fragment, field: pa.Field, convert: Any, values: Any) -> pa.Array:
        """``convert(values, field.type)``; a value that is not of the column's type is a typed error
        naming the column (SQLite keeps any value in any column)."""
        try:
            return cast(pa.Array, convert(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ArithmeticError) as exc:
            message = f"column {field.name!r} holds a value that is not {field.type}: {first_line(exc)}"
            raise self.source_error(message, fragment=fragment) from None

    def _batch_size(self) -> int:
        return int(self.config.options.get("batch_size", 65536))

    def _scan_sqlite3(self, fragment: Fragment) -> pa.RecordBatchReader:
        con = self.connect()
        deadline = current()
        handle = deadline.on_cancel(con.interrupt)  # a timeout or cancel stops the statement

        def end() -> None:
            deadline.discard(handle)
            con.close()

        try:
            cursor = con.execute(fragment.sql)
        except sqlite3.Error as exc:
            end()
            raise self.source_error(f"SQLite source failed: {exc}", fragment=fragment) from None
        batch_size = self._batch_size()
        expected = fragment.schema
        try:
            first = cursor.fetchmany(batch_size)
        except sqlite3.Error as exc:
            end()
            raise self.source_error(f"SQLite source failed: {exc}", fragment=fragment) from None
        # Types SQLite cannot declare (expressions) are taken from the first rows.
        first_columns = zip(_columns(first, len(expected)), expected)
        first_arrays = [self._converted(fragment, f, _to_arrow, col) for col, f in first_columns]
        schema = pa.schema(
            [pa.field(f.name, a.type if pa.types.is_null(f.type) else f.type) for f, a in zip(expected, first_arrays)]
        )

        def batches() -> Any:
            try:
                if first:
                    yield pa.record_batch([a.cast(f.type) for a, f in zip(first_arrays, schema)], schema=schema)
                while True:
                    rows = cursor.fetchmany(batch_size)
                    if not rows:
                        break
                    columns = _columns(rows, len(schema))
                    arrays = [self._converted(fragment, f, _to_arrow, col) for col, f in zip(columns, schema)]
                    yield pa.record_batch(arrays, schema=schema)
            except sqlite3.Error as exc:
                raise self.source_error(f"SQLite source failed: {exc}", fragment=fragment) from None
            finally:
                end()

        return pa.RecordBatchReader.from_batches(schema, batches())


def _adbc_sqlite() -> Any:
    """The ADBC SQLite driver's DB-API module, or None where it is not installed."""
    try:
        import adbc_driver_sqlite.dbapi as driver
    except ImportError:
        return None
    return driver


#: Shapes that make SQLite compute before its first row (or run fedquery's Python functions): read
#: through sqlite3, which SQLite can interrupt mid-statement (the ADBC driver cannot be cancelled).
_NOT_PLAIN: tuple[type[exp.Expr], ...] = (
    exp.Join, exp.Group, exp.Having, exp.Order, exp.Distinct, exp.AggFunc, exp.Window, exp.SetOperation,
    exp.Subquery, exp.Exists, exp.With, exp.Anonymous,
)  # fmt: skip


#: Statements for ADBC kept per source; below this many rows (the source's ``adbc_min_rows``) Python's
#: sqlite3 is as fast (no statement to wrap, no second library's connection).
_STATEMENTS_KEPT, _FEW_ROWS = 256, 2000


def _few_rows(fragment: Fragment, few: int) -> bool:
    """``fragment`` returns fewer than ``few`` rows: a smaller LIMIT, or as few estimated."""
    limit = fragment.expression.args.get("limit")
    count = limit.expression if isinstance(limit, exp.Limit) else None
    if isinstance(count, exp.Literal) and count.is_int and int(count.this) < few:
        return True
    return fragment.estimated_rows is not None and fragment.estimated_rows < few


def _typed_first_row(fragment: Fragment) -> exp.Select | None:
    """``SELECT 0, <a value of each column's type>`` for a plain scan whose every column the ADBC driver
    reads (integers and booleans as INTEGER; floats and decimals of up to 15 digits as REAL; text, dates
    and timestamps as TEXT), else None."""
    tree = fragment.expression
    if not isinstance(tree, exp.Select) or tree.find(*_NOT_PLAIN) is not None:
        return None
    values: list[exp.Expr] = [exp.Literal.number(0)]
    for field in fragment.schema:
        t = field.type
        if pa.types.is_integer(t) or pa.types.is_boolean(t):
            values.append(exp.Literal.number(0))
        elif pa.types.is_floating(t) or (pa.types.is_decimal(t) and t.precision <= 15):
            values.append(exp.Literal.number("0.0"))
        elif pa.types.is_string(t) or pa.types.is_date(t) or pa.types.is_timestamp(t):
            values.append(exp.Literal.string(""))
        else:
            return None
    return exp.select(*values)


def _from_adbc(values: pa.Array, typ: pa.DataType) -> pa.Array:
    """A column as the ADBC driver read it (int64, double or text) in the fragment's type."""
    if pa.types.is_boolean(typ):
        return pc.not_equal(values, 0)
    if pa.types.is_decimal(typ):
        return pc.round(values, ndigits=typ.scale).cast(typ, safe=False)
    return values.cast(typ)


def _adbc_message(exc: Exception, expected: pa.Schema) -> str:
    """The driver's message, its column number (which counts the marker) replaced by the column's name."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    found = re.search(r"Type mismatch in column (\d+): expected (\S+) but got (\S+)", text)
    if found is None:
        return f"SQLite source failed: {text}"
    index = int(found.group(1)) - 1
    field = expected.field(index) if 0 <= index < len(expected) else None
    what = f"column {field.name!r} ({field.type})" if field is not None else f"column {index + 1}"
    return (
        f"SQLite source failed: {what} holds a {found.group(3)} value among {found.group(2)} values "
        "(SQLite keeps any value in any column)"
    )


def explicit_null_order(node: exp.Expr) -> exp.Expr:
    """``ORDER BY x`` (DuckDB: NULLS LAST) -> ``ORDER BY x IS NULL, x``, for sources that sort NULLs first."""
    if not isinstance(node, exp.Order):
        return node
    keys: list[exp.Expr] = []
    # In an expression SQLite binds a name to the FROM columns before the output aliases: ``k IS NULL``
    # is ambiguous where two joined tables have a k, although ``ORDER BY k`` names the output column.
    select = node.parent
    outputs = {e.alias: e.unalias() for e in select.expressions if e.alias} if isinstance(select, exp.Select) else {}
    for ordered in node.expressions:
        nulls_first = bool(ordered.args.get("nulls_first"))
        key = ordered.this
        if isinstance(key, exp.Column) and not key.table and key.name in outputs:
            key = outputs[key.name]
        is_null = exp.Is(this=key.copy(), expression=exp.Null())
        keys.append(exp.Ordered(this=is_null, desc=nulls_first, nulls_first=True))
        keys.append(exp.Ordered(this=ordered.this.copy(), desc=ordered.args.get("desc"), nulls_first=nulls_first))
    node.set("expressions", keys)
    return node


#: The two halves of an exact integer SUM put together (functions of this module, registered on
#: every connection): as the query's output, and inside an expression (HAVING, ORDER BY, arithmetic).
_SUM_OUTPUT, _SUM_VALUE = "fq_sum_output", "fq_sum_value"
_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INT", "BIGINT", "UTINYINT", "USMALLINT", "UINT")
_LOW_BITS = 0xFFFFFFFF


def _integer_sum(node: exp.Sum) -> bool:
    dtype = getattr(node.this, "type", None)
    return not isinstance(node.this, exp.Distinct) and dtype is not None and dtype.this.name in _INTEGER_TYPES


def _is_projected(node: exp.Expr) -> bool:
    """``node`` is a column of a SELECT's output (``SELECT SUM(x) AS s``)."""
    alias = node.parent
    return isinstance(alias, exp.Alias) and alias.arg_key == "expressions" and isinstance(alias.parent, exp.Select)


def _is_output(node: exp.Expr) -> bool:
    """``node`` is a column of the statement's own output (the SELECT at the top)."""
    select = node.parent.parent if _is_projected(node) and node.parent is not None else None
    return select is not None and select.parent is None


def _exact_sum_position(node: exp.Sum) -> bool:
    """Where an integer SUM put together by ``exact_integer_sum`` answers as DuckDB does: the output
    (exact digits), or compared or ordered by (past 64 bits as a REAL: equal to DuckDB's comparison
    except against a literal within a few units of a sum beyond 9.2e18). Arithmetic on it stays local."""
    compared = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Ordered)
    return _is_projected(node) or isinstance(node.parent, compared)


def exact_integer_sum(node: exp.Expr) -> exp.Expr:
    """``SUM(x)`` of integers as ``SUM(x >> 32)`` and ``SUM(x & 0xFFFFFFFF)`` put together.

    SQLite sums integers in 64 bits and raises "integer overflow" past them, where DuckDB sums in
    HUGEINT. Neither half can overflow (below 2**31 rows), and the whole is ``high * 2**32 + low``,
    once per group, in Python: an integer where it fits in 64 bits; else, as the query's output, its
    exact digits as text (read back as DECIMAL(38,0)), and inside an expression a REAL."""
    if not isinstance(node, exp.Sum) or not _integer_sum(node):
        return node
    arg = node.this
    shifted = exp.BitwiseRightShift(this=exp.paren(arg.copy(), copy=False), expression=exp.Literal.number(32))
    masked = exp.BitwiseAnd(this=exp.paren(arg.copy(), copy=False), expression=exp.Literal.number(_LOW_BITS))
    high, low = exp.Sum(this=shifted), exp.Sum(this=masked)
    return exp.Anonymous(this=_SUM_OUTPUT if _is_output(node) else _SUM_VALUE, expressions=[high, low])


def _sum_whole(high: int | None, low: int | None) -> int | None:
    return None if high is None or low is None else (high << 32) + low


def _sum_output(high: int | None, low: int | None) -> int | str | None:
    whole = _sum_whole(high, low)
    return whole if whole is None or -(2**63) <= whole < 2**63 else str(whole)


def _sum_value(high: int | None, low: int | None) -> int | float | None:
    whole = _sum_whole(high, low)
    return whole if whole is None or -(2**63) <= whole < 2**63 else float(whole)


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    return list(zip(*rows)) if rows else [() for _ in range(width)]


def _declared_type(declared: str) -> pa.DataType:
    text = (declared or "").upper()
    if re.match(r"^(DECIMAL|NUMERIC)\s*\(", text):
        return arrow_type(text)
    if "INT" in text:
        return pa.int64()
    if any(k in text for k in ("CHAR", "CLOB", "TEXT")):
        return pa.string()
    if any(k in text for k in ("REAL", "FLOA", "DOUB")):
        return pa.float64()
    if text.startswith("BOOL"):
        return pa.bool_()
    if text == "DATE":
        return pa.date32()
    if text in ("DATETIME", "TIMESTAMP"):
        return pa.timestamp("us")
    if text == "BLOB" or not text:
        return pa.binary() if text else pa.string()
    return pa.float64()


def _to_arrow(values: tuple[Any, ...], typ: pa.DataType) -> pa.Array:
    if pa.types.is_null(typ):
        return pa.array(values)
    if pa.types.is_decimal(typ):
        if all(v is None or isinstance(v, float) for v in values):
            floats = pc.round(pa.array(values, type=pa.float64()), ndigits=typ.scale)
            return floats.cast(typ, safe=False)
        # integers (and exact sums past 64 bits, as text) exactly: a double holds 53 bits
        return pa.array([None if v is None else Decimal(str(v)) for v in values], type=typ)
    if pa.types.is_date(typ) or pa.types.is_timestamp(typ):
        return pa.array(values, type=pa.string()).cast(typ)
    if pa.types.is_boolean(typ):
        return pa.array([None if v is None else bool(v) for v in values], type=typ)
    if pa.types.is_integer(typ):  # pa.array(..., type=int64) would truncate a REAL (1.5) held in the column
        return pa.array(values).cast(typ)
    try:
        return pa.array(values, type=typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values).cast(typ)  # a safe cast: 1.5 in an INTEGER column is an error, never 1
