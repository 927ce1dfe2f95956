"""DB-API 2.0 (PEP 249) over a :class:`~fedquery.federation.Federation`.

``fedquery.connect(...)`` is the connection; ``.cursor()`` gives a :class:`Cursor`. Parameters use
``paramstyle = "qmark"`` (``?``, a sequence); ``$1`` with a sequence and ``$name`` / ``:name`` with a
mapping are accepted too (see :mod:`fedquery.planner.parameters`). fedquery only reads, so
``commit()`` and ``rollback()`` have nothing to do, and ``executemany`` runs each parameter set in turn
and keeps the last result.

>>> import fedquery
>>> fedquery.apilevel, fedquery.paramstyle
('2.0', 'qmark')
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from fedquery.errors import InterfaceError
from fedquery.pyvalues import column_values

if TYPE_CHECKING:
    from fedquery.federation import Federation
    from fedquery.result import Result

from fedquery import apilevel, paramstyle, threadsafety  # noqa: E402,F401 - defined once, in the package


class _TypeCode:
    """A PEP 249 type object: equal to every Arrow type of its family (``description[i][1] == NUMBER``)."""

    def __init__(self, name: str, *checks: Any) -> None:
        self.name = name
        self._checks = checks

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _TypeCode):
            return other is self
        return isinstance(other, pa.DataType) and any(check(other) for check in self._checks)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"fedquery.{self.name}"


STRING = _TypeCode("STRING", pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
BINARY = _TypeCode("BINARY", pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary)
NUMBER = _TypeCode("NUMBER", pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_boolean)
DATETIME = _TypeCode("DATETIME", pa.types.is_timestamp, pa.types.is_date, pa.types.is_time, pa.types.is_interval)
ROWID = _TypeCode("ROWID")


def Date(year: int, month: int, day: int) -> Any:  # noqa: N802 - names fixed by PEP 249
    import datetime

    return datetime.date(year, month, day)


def Time(hour: int, minute: int, second: int) -> Any:  # noqa: N802
    import datetime

    return datetime.time(hour, minute, second)


def Timestamp(year: int, month: int, day: int, hour: int, minute: int, second: int) -> Any:  # noqa: N802
    import datetime

    return datetime.datetime(year, month, day, hour, minute, second)


def DateFromTicks(ticks: float) -> Any:  # noqa: N802
    import datetime

    return datetime.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> Any:  # noqa: N802
    import datetime

    return datetime.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> Any:  # noqa: N802
    import datetime

    return datetime.datetime.fromtimestamp(ticks)


def Binary(value: bytes | bytearray | memoryview | str) -> bytes:  # noqa: N802
    return value.encode() if isinstance(value, str) else bytes(value)


class Cursor:
    """A PEP 249 cursor: ``execute`` a query, then ``fetchone`` / ``fetchmany`` / ``fetchall`` its rows."""

    def __init__(self, connection: Federation) -> None:
        self.connection = connection
        #: rows ``fetchmany()`` returns when given no size
        self.arraysize = 1
        self._result: Result | None = None
        self._reader: pa.RecordBatchReader | None = None
        self._rows: list[tuple[Any, ...]] = []
        self._schema: pa.Schema | None = None
        self._read = 0
        self._done = False
        self._closed = False

    # -- PEP 249 attributes ------------------------------------------------
    @property
    def description(self) -> list[tuple[str, Any, None, None, int | None, int | None, bool]] | None:
        """Per column: (name, type_code, display_size, internal_size, precision, scale, null_ok); None
        before a query. ``type_code`` is the Arrow type; it compares equal to STRING, NUMBER, ... ."""
        if self._schema is None:
            return None
        out = []
        for f in self._schema:
            precision = f.type.precision if pa.types.is_decimal(f.type) else None
            scale = f.type.scale if pa.types.is_decimal(f.type) else None
            out.append((f.name, f.type, None, None, precision, scale, f.nullable))
        return out

    @property
    def rowcount(self) -> int:
        """Rows of the last query once all are fetched (a stream's count is unknown before): else -1."""
        return self._read if self._done else -1

    @property
    def result(self) -> Result | None:
        """The last query's :class:`~fedquery.result.Result` (its plan and per-fragment stats)."""
        return self._result

    # -- running -----------------------------------------------------------
    def execute(self, operation: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> Cursor:
        """Run one query; its rows are then fetched. Returns the cursor (so calls can be chained)."""
        self._check_open()
        self._finish()
        result = self.connection.sql(operation, params=parameters)
        self._result = result
        self._reader = result.reader()
        self._schema = self._reader.schema
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Sequence[Any] | Mapping[str, Any]]) -> Cursor:
        """Run the query once per parameter set; the last one's rows are kept for fetching."""
        self._check_open()
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
        return self

    def callproc(self, procname: str, parameters: Sequence[Any] = ()) -> None:
        from fedquery.errors import NotSupportedError

        raise NotSupportedError("fedquery has no stored procedures (callproc)")

    def nextset(self) -> None:
        """fedquery queries give one result set: there is never a next one."""
        self._check_open()
        return None

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    def setoutputsize(self, size: Any, column: int | None = None) -> None:
        """Accepted and ignored, as PEP 249 allows."""

    # -- fetching ----------------------------------------------------------
    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self._take(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        return self._take(self.arraysize if size is None else size)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._take(None)

    def _take(self, count: int | None) -> list[tuple[Any, ...]]:
        self._check_open()
        if self._reader is None and not self._done:
            raise InterfaceError("no query to fetch from: call execute() first")
        while not self._done and (count is None or len(self._rows) < count):
            try:
                batch = self._reader.read_next_batch()  # type: ignore[union-attr]
            except StopIteration:
                self._done = True
                break
            self._read += batch.num_rows
            self._rows.extend(zip(*(column_values(c) for c in batch.columns)))
        if count is None:
            taken, self._rows = self._rows, []
        else:
            taken, self._rows = self._rows[:count], self._rows[count:]
        return taken

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    # -- closing -----------------------------------------------------------
    def close(self) -> None:
        """Stop the current query (if still streaming); later calls raise InterfaceError."""
        self._finish()
        self._closed = True

    def _finish(self) -> None:
        if self._result is not None:
            self._result.close()
        self._result, self._reader, self._schema = None, None, None
        self._rows, self._read, self._done = [], 0, False

    def _check_open(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        if getattr(self.connection, "closed", False):
            raise InterfaceError("the connection is closed")

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._schema) if self._schema else 0} column(s)"
        return f"<fedquery.Cursor {state}>"
