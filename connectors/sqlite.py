"""A SQLite database file, opened read-only.

SQLite differs from DuckDB in ways that change answers, so what it is sent is its
pushdown table (``connectors.pushdown.SQLitePushdown``): no date arithmetic, EXTRACT or
casts (SQLite has no DATE type), no LIKE (case-insensitive there), and no arithmetic or
SUM/AVG over DECIMAL values (stored as binary floating point there). Explicit NULL ordering
is added when ORDER BY is sent, since SQLite sorts NULLs first.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from decimal import Decimal
from typing import Any

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
from connectors.types import arrow_type, date_plus_number
from fedquery.deadline import current
from fedquery.fragment import Fragment

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
    options = {**SOURCE_OPTIONS, "batch_size": BATCH_SIZE}
    table_options = {**TABLE_OPTIONS, "table": Option("str")}
    capabilities = Capabilities(
        sql=True,
        joins=True,
        aggregates=True,
        order_limit=True,
        subqueries=True,
        set_operations=True,
        allowed=_STRUCTURE,
    )

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
        return tree.transform(explicit_null_order).transform(exact_integer_sum)

    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
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
        batch_size = int(self.config.options.get("batch_size", 65536))
        expected = fragment.schema
        try:
            first = cursor.fetchmany(batch_size)
        except sqlite3.Error as exc:
            end()
            raise self.source_error(f"SQLite source failed: {exc}", fragment=fragment) from None
        # Types SQLite cannot declare (expressions) are taken from the first rows.
        first_arrays = [_to_arrow(col, f.type) for col, f in zip(_columns(first, len(expected)), expected)]
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
                    yield pa.record_batch([_to_arrow(col, f.type) for col, f in zip(columns, schema)], schema=schema)
            except sqlite3.Error as exc:
                raise self.source_error(f"SQLite source failed: {exc}", fragment=fragment) from None
            finally:
                end()

        return pa.RecordBatchReader.from_batches(schema, batches())


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
    try:
        return pa.array(values, type=typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array(values).cast(typ, safe=False)
