"""One memory budget for the whole process: ``[settings] memory_limit``.

Three layers, each chosen by measurement (``python -m benchmarks.memory``; DuckDB 2.0):

1. **One local DuckDB per process** (per distinct memory_limit/temp_directory/threads): its
   ``memory_limit`` is the budget, so every query's hash tables, sorts, aggregates
   (``list``, ``string_agg``) and loaded fragments share it and spill to its temp directory
   (four concurrent heavy queries: 1.6 GB resident with a DuckDB each, 0.6 GB shared).
   Each query gets a :class:`Session`: its own connections and its own schema, dropped
   after (a result dropped unread: at the next query), so no query sees another's tables; no
   query pays for opening a DuckDB (a small query: 74 ms before, 24 ms after).
2. **A watchdog thread** samples the process's resident set every 10 ms while queries run.
   Past the resident set when the first running query started + ``memory_limit`` +
   :func:`headroom`, it interrupts every running query's DuckDB connections and cancels
   their fragment streams; they fail with :class:`~fedquery.errors.ResourceError`. It
   catches what DuckDB's buffer manager does not count but builds vector by vector.
3. **Bounded builders** (the planner pass :mod:`fedquery.planner.bound_builders`): DuckDB
   neither counts a value built inside one function call nor checks interrupts inside one,
   so ``range``/``repeat``/``lpad``/``list_resize``/... are capped by the plan itself
   (``unnest(range(200000000))`` reached 14 GB at a 500 MB limit; the watchdog alone,
   interrupting at 0.6 GB, could not stop it).

A DuckDB-file source answers inside this process too: its engine gets the same
``memory_limit`` (a pushed 36M-key DISTINCT: 1.26 GB above the baseline before, 0.5 GB after).

Rejected, measured: DuckDB settings alone (no setting bounds those values; ``memory_limit``
covers aggregates, sorts and joins only); ``RLIMIT_AS`` (a failed allocation does end
DuckDB's query cleanly, but python + duckdb + pyarrow map ~1 GB before any query, the
allocators keep address space far beyond what is resident: 5.9 GB mapped for a 2.9 GB
resident peak, and the limit would fail every allocation of the host process); lowering
``RLIMIT_AS`` from the watchdog when the budget is passed (the bomb's one allocation is
already mapped: 2.4 GB resident for ``len(range(300000000))``).
"""

from __future__ import annotations

import atexit
import collections
import inspect
import itertools
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from fedquery.errors import ConfigError, ExecutionError

if TYPE_CHECKING:
    from fedquery.config import Settings

#: the start of the message of the guards fedquery.planner.bound_builders puts in local SQL
BUILDER_MARKER = "fedquery: value past the memory budget:"
#: the watchdog's sampling period (seconds)
SAMPLE_SECONDS = 0.01
#: resident memory allowed above memory_limit before the watchdog stops queries: half the budget,
#: at least 256 MiB. What DuckDB's buffer manager does not count, measured with a 300 MB fragment
#: sorted or grouped at a 500 MB limit: Arrow batches in flight and the Parquet scanner's read-ahead
#: (~120 MB), DuckDB's vectors and allocator caches (~150 MB)
HEADROOM_FRACTION = 2
HEADROOM_MIN = 256 * 2**20
#: DuckDB returns freed memory to the system past this much (its default, 128 MB, kept ~100 MB more
#: resident in the measurements above)
ALLOCATOR_FLUSH = 32 * 10**6

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z%]+)\s*$")
_UNITS = {
    "b": 1, "byte": 1, "bytes": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3, "tb": 1000**4,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
    "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4,
}  # fmt: skip


def parse_size(value: object) -> int:
    """A memory size as DuckDB reads it (``MB`` is 1000², ``MiB`` 1024², ``%`` of the machine's memory).

    >>> parse_size("500MB"), parse_size("1 GiB")
    (500000000, 1073741824)
    """
    match = _SIZE.match(value) if isinstance(value, str) else None
    unit = match.group(2).lower() if match else ""
    if match is None or (unit not in _UNITS and unit != "%") or float(match.group(1)) <= 0:
        raise ConfigError(f"settings.memory_limit must be a size such as '500MB' or '4GB', got {value!r}")
    if unit == "%":
        return int(float(match.group(1)) / 100 * os.sysconf("SC_PHYS_PAGES") * _PAGE)
    return int(float(match.group(1)) * _UNITS[unit])


def headroom(limit: int) -> int:
    return max(HEADROOM_MIN, limit // HEADROOM_FRACTION)


def resident_bytes() -> int | None:
    """This process's resident set now (Linux ``/proc``; None elsewhere: no watchdog)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


class LocalDatabase:
    """The process's DuckDB for one set of limits; queries run in :class:`Session`\\ s of it."""

    def __init__(self, settings: Settings) -> None:
        import duckdb

        self.limit = parse_size(settings.memory_limit)
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        temp_dir = settings.temp_directory
        if temp_dir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="fedquery-spill-")
            temp_dir = self._tempdir.name
        config: dict[str, Any] = {
            "memory_limit": settings.memory_limit,
            "temp_directory": temp_dir,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "preserve_insertion_order": True,
            "allocator_flush_threshold": f"{min(ALLOCATOR_FLUSH, self.limit // 8)}B",
        }
        if settings.threads:
            config["threads"] = settings.threads
        try:
            self.con = duckdb.connect(":memory:", config=config)
        except duckdb.Error as exc:
            raise ExecutionError(f"cannot start the local DuckDB (check [settings]): {exc}") from None
        for name in ("enable_external_access", "lock_configuration"):
            value = exp.false() if name == "enable_external_access" else exp.true()
            setting = exp.EQ(this=exp.column(name), expression=value)
            self.con.execute(exp.Set(expressions=[exp.SetItem(this=setting)]).sql("duckdb"))
        self._lock = threading.Lock()
        self._names = itertools.count(1)

    @property
    def allowance(self) -> int:
        """Resident bytes a process may grow by while queries run, before the watchdog stops them."""
        return self.limit + headroom(self.limit)

    def cursor(self) -> Any:
        with self._lock:
            return self.con.cursor()

    def session(self, on_stop: Callable[[], None] | None = None) -> Session:
        close_dropped()
        return Session(self, f"fedquery_query_{os.getpid()}_{next(self._names)}", on_stop)


class Session:
    """One query's private part of the shared DuckDB: its schema and its connections.

    The watchdog stops a session by interrupting its connections; ``exceeded`` then names
    the phase it was in, so the query fails with a ResourceError, not the interrupt.
    """

    def __init__(self, database: LocalDatabase, schema: str, on_stop: Callable[[], None] | None) -> None:
        self.database = database
        self.schema = schema
        # weakly: the watchdog's registry must not keep a dropped query (and its tables) alive
        self._on_stop: Callable[[], Callable[[], None] | None] = (
            weakref.WeakMethod(on_stop) if inspect.ismethod(on_stop) else (lambda: on_stop)  # type: ignore[arg-type]
        )
        self.phase = "loading fragments"
        self.exceeded: str | None = None
        self._lock = threading.Lock()
        self._cursors: list[Any] = []
        self._closed = False
        creator = database.cursor()
        try:
            creator.execute(exp.Create(kind="SCHEMA", this=self._schema()).sql("duckdb"))
        finally:
            creator.close()
        self.con = self.cursor()
        WATCHDOG.register(self)

    def _schema(self) -> exp.Table:
        return exp.Table(this=exp.to_identifier(self.schema, quoted=True))

    def cursor(self) -> Any:
        """A new connection of this query, its tables resolved in the query's own schema."""
        cursor = self.database.cursor()
        where = exp.Table(this=exp.to_identifier(self.schema, quoted=True), db=exp.to_identifier("memory"))
        cursor.execute(exp.Use(this=where).sql("duckdb"))
        with self._lock:
            if self._closed:
                cursor.close()
                raise ExecutionError("the query was closed")
            self._cursors.append(cursor)
        return cursor

    def stop(self) -> None:
        """Past the budget: interrupt every connection of this query and cancel its fragments."""
        if self.exceeded is None:
            self.exceeded = self.phase
            on_stop = self._on_stop()
            if on_stop is not None:
                on_stop()
        self.interrupt()

    def interrupt(self) -> None:
        """Interrupt whatever each connection of this query is running (the deadline's cancel too)."""
        with self._lock:
            cursors = list(self._cursors)
        for cursor in cursors:
            try:
                cursor.interrupt()
            except Exception:  # noqa: BLE001 - a connection closing meanwhile is stopped already
                pass

    def close(self) -> None:
        WATCHDOG.unregister(self)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            cursors, self._cursors = self._cursors, []
        for cursor in cursors:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        dropper = self.database.cursor()
        try:
            schema = exp.Table(db=exp.to_identifier(self.schema, quoted=True))
            dropper.execute(exp.Drop(kind="SCHEMA", tables=[schema], exists=True, cascade=True).sql("duckdb"))
        finally:
            dropper.close()


#: sessions of queries that were garbage-collected unclosed (closed by the next query, not by the
#: collector: it can run inside any lock of the thread that allocated)
_dropped: collections.deque[Session] = collections.deque()


def dropped(session: Session) -> None:
    """A query was garbage-collected without being closed: free its tables soon (no locks here)."""
    _dropped.append(session)


def close_dropped() -> None:
    """Close the sessions of queries dropped unclosed."""
    while True:
        try:
            session = _dropped.popleft()
        except IndexError:
            return
        try:
            session.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


class Watchdog:
    """Samples the process's resident set while queries run; stops them past their budget."""

    def __init__(self) -> None:
        self._sessions: set[Session] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        #: the highest resident set sampled (for tests and benchmarks)
        self.peak = 0
        #: the resident set when the first of the running queries started: what the host holds
        #: (its own data, results it kept) is not charged to the queries
        self.zero = 0

    def register(self, session: Session) -> None:
        if resident_bytes() is None:
            return  # no /proc: DuckDB's own limit and the bounded builders only
        with self._lock:
            if not self._sessions:
                self.zero = resident_bytes() or 0
            self._sessions.add(session)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="fedquery-memory-watchdog", daemon=True)
                self._thread.start()

    def unregister(self, session: Session) -> None:
        with self._lock:
            self._sessions.discard(session)

    def stop(self) -> None:
        """Forget every query and wait for the sampling thread to end (at exit)."""
        with self._lock:
            self._sessions.clear()
            thread = self._thread
        if thread is not None:
            thread.join(1.0)

    def _run(self) -> None:
        event = threading.Event()
        while True:
            with self._lock:
                sessions = list(self._sessions)
                if not sessions:
                    self._thread = None
                    return
            rss = resident_bytes() or 0
            self.peak = max(self.peak, rss)
            for session in sessions:
                if rss > self.zero + session.database.allowance:
                    session.stop()
            event.wait(SAMPLE_SECONDS)


WATCHDOG = Watchdog()

_databases: dict[tuple[str, str | None, int | None], LocalDatabase] = {}
_databases_lock = threading.Lock()


def local_database(settings: Settings) -> LocalDatabase:
    """The process's local DuckDB for these limits (opened on first use, kept for the process)."""
    key = (str(settings.memory_limit), settings.temp_directory, settings.threads)
    with _databases_lock:
        database = _databases.get(key)
        if database is None:
            database = _databases[key] = LocalDatabase(settings)
        return database


@atexit.register
def _close_all() -> None:
    """Close the local databases before the interpreter tears down: a DuckDB destroyed during
    finalization, with the watchdog still sampling, aborted the process now and then."""
    WATCHDOG.stop()
    close_dropped()
    with _databases_lock:
        databases = list(_databases.values())
        _databases.clear()
    for database in databases:
        try:
            database.con.close()
        except Exception:  # noqa: BLE001 - closing at exit is best effort
            pass
