"""Run a plan: fragments stream concurrently into one locked-down DuckDB.

Each fragment is read by its own thread into a bounded queue, and a second
thread streams that queue into a DuckDB table of the fragment's name (DuckDB
ingests while the source is still sending; past the memory limit it spills to
its temp directory). Loading into tables rather than scanning the streams
directly gives DuckDB's optimizer exact row counts: with unknown cardinalities
it picks nested-loop joins that are orders of magnitude slower (TPC-H Q17).
Then DuckDB runs the local SQL and its result streams out. A fragment that
fails fails the query with its own typed error: never a partial result.

Every execution works under a scope of the query's :class:`~fedquery.deadline.Deadline`:
the reader threads see it (connectors register their cancel requests on it), and
its cancel stops the fragment streams, interrupts the local DuckDB and raises the
typed timeout/cancel error in whichever thread waits for the query. No wait of
the caller's thread is uninterruptible: it joins in short slices.
"""

from __future__ import annotations

import functools
import itertools
import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from fedquery.deadline import Deadline, bind
from fedquery.errors import ExecutionError, FedQueryError, QueryCancelledError, ResourceError, SourceError
from fedquery.fragment import Reduction
from fedquery.memory import BUILDER_MARKER, Session, dropped, local_database, parse_size
from fedquery.planner.boundary_pseudonyms import tokenise, tokenised_schema
from fedquery.planner.render import reduced
from fedquery.planner.semijoin import FILE_KEY_FACTOR
from fedquery.pseudonym import redact_keys
from fedquery.workers import Workers

if TYPE_CHECKING:
    from connectors.base import Connector
    from fedquery.catalog import Catalog
    from fedquery.config import Settings
    from fedquery.fragment import Fragment
    from fedquery.planner.plan import Plan

_DONE = object()
#: how long the caller's thread waits in one slice (so Ctrl-C and cancels get in)
_SLICE = 0.05
#: the threads that read fragments, kept for the next query's fragments
_readers = Workers("fedquery-fragment")
#: A semi-join producer that has sent this many times its estimated rows (and more rows than the key
#: budget) is not waited on: its consumer is read unreduced (adaptivity at run time).
ABANDON_FACTOR = 10


class TopNIncomplete(Exception):
    """The top-N driver's first rows gave the query fewer rows than its LIMIT: run it again with more
    (``unlimited``: without top-N, as when a sort key was NULL)."""

    def __init__(self, unlimited: bool = False) -> None:
        super().__init__("top-N: the driver's first rows were too few")
        self.unlimited = unlimited


@dataclass
class FragmentStats:
    fragment: str
    department: str
    source: str
    kind: str
    sql: str
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    bytes_read: int | None = None
    row_groups_read: int | None = None
    #: semi-join reduction: distinct keys applied to this fragment (None: not reduced)
    reduced_keys: int | None = None
    #: parallel reads: ranges read at once (None: one read)
    ranges: int | None = None
    finished: bool = False
    #: the run-time reductions handed to the connector (``sql`` is the plan's fragment with them,
    #: rendered by ``fedquery.planner.render.reduced``), abandoned ones included
    reductions: list[Reduction] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def abandoned(self) -> list[str]:
        """Why planned reductions were not applied (adaptivity at run time), one line each."""
        return [r.describe() for r in self.reductions if r.abandoned]


class FragmentStream:
    """Reads one fragment on a background thread into a bounded queue."""

    def __init__(
        self,
        fragment: Fragment,
        connector: Connector,
        max_inflight: int,
        before_scan: Callable[[FragmentStream], None] | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        #: the plan's fragment (a value, never edited) ...
        self.fragment = fragment
        #: ... and the one that runs: the plan's with its run-time reductions (see ``render.reduced``)
        self.running = fragment
        self.deadline = deadline or Deadline(None)
        self.connector = connector
        self.before_scan = before_scan
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=max_inflight)
        self.schema_ready = threading.Event()
        self.schema: pa.Schema | None = None
        self.error: BaseException | None = None
        self.cancelled = threading.Event()
        #: the local step has all the rows it needs from this fragment (LIMIT flows back): its end,
        #: whatever it is, is not the query's failure
        self.cut = False
        #: still running when its scope was cancelled (its statement's cancel request runs after this)
        self.interrupted = False
        self._lock = threading.Lock()
        shown = redact_keys(fragment.sql)
        self.stats = FragmentStats(fragment.name, fragment.department, fragment.source, fragment.kind, shown)
        self.deadline.on_cancel(self._interrupted)  # before any statement registers its cancel request
        #: set when the reader has ended (its thread is back in the pool)
        self.ended = threading.Event()
        self.started = False

    def start(self) -> None:
        self.started = True
        if not _readers.start(self._run):
            self.error = ExecutionError(f"fragment {self.fragment.name}: no thread could be started to read it")
            self.stats.finished = True
            self.schema_ready.set()
            self.ended.set()
            self.queue.put(_DONE)

    def _interrupted(self) -> None:
        self.interrupted = not self.stats.finished

    def _put(self, item: Any) -> bool:
        while not self.cancelled.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        started = time.perf_counter()
        bind(self.deadline)  # the connector's statements register their cancel requests on it
        try:
            self.deadline.check()
            if self.before_scan is not None:
                self.before_scan(self)
            if self.running.ranges > 1:
                readers = self.connector.scan_ranges(self.running, self.running.ranges)
            else:
                readers = [self.connector.scan(self.running)]
            self.stats.ranges = len(readers) if self.fragment.ranges > 1 else None
            self.schema = readers[0].schema
            if self.fragment.pseudonymised:  # tokens replace the raw values before anything else sees them
                self.schema = tokenised_schema(self.schema, self.fragment.pseudonymised)
            self.schema_ready.set()
            if len(readers) == 1:
                self._drain(readers[0])
            else:
                self._drain_all(readers)
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, never swallowed
            self.error = exc if isinstance(exc, FedQueryError) else self._wrap(exc)
            self.schema_ready.set()
            self._put(_DONE)
        finally:
            self.stats.seconds = time.perf_counter() - started
            io = getattr(self.connector, "io", {}).get(self.fragment.name)
            if io is not None:
                self.stats.bytes_read = io.bytes_read
                self.stats.row_groups_read = io.row_groups
            self.stats.finished = True
            self.ended.set()

    def _drain(self, reader: pa.RecordBatchReader, stop: threading.Event | None = None) -> None:
        try:
            for batch in reader:
                if stop is not None and stop.is_set():
                    return
                if self.fragment.pseudonymised:
                    batch = tokenise(batch, self.fragment.pseudonymised)
                if batch.schema != self.schema:
                    batch = batch.cast(self.schema)  # a range whose NULL-typed column took another type
                with self._lock:
                    self.stats.rows += batch.num_rows
                    self.stats.bytes += batch.nbytes
                if not self._put(batch):
                    return
        finally:
            reader.close()

    def _drain_all(self, readers: list[pa.RecordBatchReader]) -> None:
        """Several ranges of one fragment into the one queue, each on its own thread; the first
        failure stops the others and is the fragment's error."""
        failures: list[BaseException] = []
        stop = threading.Event()

        def drain(reader: pa.RecordBatchReader) -> None:
            bind(self.deadline)
            try:
                self._drain(reader, stop)
            except BaseException as exc:  # noqa: BLE001 - handed to the fragment below
                failures.append(exc)
                stop.set()

        threads = [threading.Thread(target=drain, args=(r,), daemon=True) for r in readers]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(_SLICE)
                if self.cancelled.is_set():
                    stop.set()
        if failures:
            raise failures[0]

    def _wrap(self, exc: BaseException) -> SourceError:
        message = self.connector.config.redact(f"{type(exc).__name__}: {exc}")
        return SourceError(
            f"source failed while answering: {message}",
            department=self.fragment.department,
            source=self.fragment.source,
            remote_sql=self.running.sql,
        )

    def wait_schema(self) -> pa.Schema:
        while not self.schema_ready.wait(_SLICE):
            if self.cancelled.is_set():
                raise ExecutionError(f"fragment {self.fragment.name} cancelled")
        if self.error is not None:
            raise self.error
        assert self.schema is not None
        return self.schema

    def batches(self) -> Iterator[pa.RecordBatch]:
        while True:
            try:
                item = self.queue.get(timeout=0.1)
            except queue.Empty:
                if self.cancelled.is_set():
                    raise ExecutionError(f"fragment {self.fragment.name} cancelled") from None
                continue
            if item is _DONE:
                if self.error is not None:
                    raise self.error
                return
            yield item

    def cancel(self) -> None:
        self.cancelled.set()

    def join(self, timeout: float) -> None:
        if self.started:
            self.ended.wait(timeout)


def _file_scan(stream: FragmentStream) -> bool:
    """Is the fragment read as a file scan (filters as Arrow expressions), not sent as SQL?"""
    return not stream.connector.capabilities.sql


def _passed_through(plan: Plan) -> list[str] | None:
    """The column names, when the plan is one plain fragment and the local SQL selects its columns
    unchanged (``SELECT s.a AS a, ... FROM fragment AS s``); else None."""
    if len(plan.fragments) != 1:
        return None
    fragment = plan.fragments[0]
    if fragment.reducers or fragment.top_n is not None:
        return None
    names = _selected_columns(plan.local_sql, fragment.name)
    return list(names) if names is not None else None


@functools.lru_cache(maxsize=512)
def _selected_columns(local_sql: str, fragment: str) -> tuple[str, ...] | None:
    """The columns of ``fragment`` that ``local_sql`` selects unchanged, when that is all it does
    (kept: a reused plan's local SQL is not parsed again)."""
    import sqlglot

    try:
        local = sqlglot.parse_one(local_sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    if not isinstance(local, exp.Select) or any(v for k, v in local.args.items() if k not in ("expressions", "from_")):
        return None
    source = local.args["from_"].this
    if not isinstance(source, exp.Table) or source.name != fragment or source.db:
        return None
    names = []
    for projection in local.expressions:
        column = projection.this if isinstance(projection, exp.Alias) else projection
        if not isinstance(column, exp.Column) or column.name != projection.alias_or_name:
            return None
        names.append(column.name)
    return tuple(names)


def _streamed_fragment(plan: Plan) -> tuple[str, int] | None:
    """The fragment the local step reads a slice at a time under a LIMIT (see ``Execution._limited``),
    and the LIMIT: where the local query is a LIMIT over inner joins and filters only (no ORDER BY,
    aggregate, DISTINCT, window or OFFSET, which need every row), its largest fragment named once in its
    FROM list, which no reduction waits for."""
    import sqlglot

    if len(plan.fragments) < 2 or any(f.top_n is not None for f in plan.fragments):
        return None
    try:
        local = sqlglot.parse_one(plan.local_sql, read="duckdb")
    except sqlglot.errors.ParseError:
        return None
    limit = local.args.get("limit") if isinstance(local, exp.Select) else None
    if limit is None or not isinstance(limit.expression, exp.Literal) or not limit.expression.is_int:
        return None
    keys = ("order", "group", "having", "distinct", "qualify", "with_", "offset")
    if any(local.args.get(k) for k in keys) or any(p.find(exp.AggFunc, exp.Window) for p in local.expressions):
        return None
    joins = local.args.get("joins") or []
    if any(j.side or (j.kind or "").upper() not in ("", "INNER", "CROSS") for j in joins):
        return None
    named = [t.name for t in local.find_all(exp.Table)]
    producers = {r.producer for f in plan.fragments for r in f.reducers}
    items = [local.args["from_"].this] + [j.this for j in joins]
    inner = {t.name for t in items if isinstance(t, exp.Table)}
    candidates = [f for f in plan.fragments if f.name in inner and named.count(f.name) == 1 and f.name not in producers]
    if not candidates:
        return None
    chosen = max(candidates, key=lambda f: f.estimated_rows if f.estimated_rows is not None else -1)
    return chosen.name, int(limit.expression.to_py())


class Execution:
    """One running query: its DuckDB connection, its fragment streams, its result stream."""

    def __init__(
        self,
        plan: Plan,
        catalog: Catalog,
        settings: Settings,
        earlier: list[FragmentStats] | None = None,
        deadline: Deadline | None = None,
    ) -> None:
        self.plan = plan
        #: this execution's scope of the query's deadline (a top-N retry gets a new one)
        self.deadline = (deadline or Deadline(None)).scope()
        #: what earlier attempts of the same query moved (a top-N driver that fetched too few rows)
        self.earlier = list(earlier or [])
        #: top-N drivers whose fetch stopped at their limit (so the answer must be checked)
        self.truncated: set[str] = set()
        self.catalog = catalog
        self.settings = settings
        self.loaded = {f.name: threading.Event() for f in plan.fragments}
        self.streams = [
            FragmentStream(
                f,
                catalog.connector(f.department, f.source),
                settings.max_inflight_batches,
                self._reduce if f.reducers else None,
                self.deadline.scope(),  # its own scope: closing it cancels only this fragment's statements
            )
            for f in plan.fragments
        ]
        self.con: Any = None
        self._load_errors: list[BaseException | None] = []
        #: this query's part of the process's one local DuckDB (its schema, its connections)
        self.session: Session | None = None
        #: department.source of the fragments still running when the query was cancelled
        self._running: list[str] = []
        self.deadline.on_cancel(self._on_cancel)
        #: called once the execution is closed (the federation ends the query's deadline there)
        self.on_close: Callable[[], None] | None = None
        #: for the audit: rows handed to the reader, whether it read to the end, the error it got
        self.rows_out = 0
        self.exhausted = False
        #: the result's reader was handed out (else a result dropped unread is closed when collected)
        self.reader_taken = False
        self.failure: BaseException | None = None

    def start(self) -> pa.RecordBatchReader:
        import duckdb

        self.deadline.phase = "fetch"
        for stream in self.streams:
            stream.start()
        through = self._stream_through()
        if through is not None:
            return through
        try:
            self.deadline.check()
            self.con = self._open_duckdb()
            self._load_local_relations()
            streamed = _streamed_fragment(self.plan)
            loaders = [self._start_load(s) for s in self.streams if streamed is None or s.fragment.name != streamed[0]]
            for loaded in loaders:
                while not loaded.wait(_SLICE):
                    if self.deadline.stopped:
                        raise self._stopped()
            self._raise_stopped()
            retry = next((e for e in self._load_errors if isinstance(e, TopNIncomplete)), None)
            self._check_memory()
            error = retry or self._fragment_error() or next((e for e in self._load_errors if e is not None), None)
            if error is not None:
                raise error
            self.deadline.phase = "local step"
            assert self.session is not None
            self.session.phase = "running the local step"
            if streamed is not None:
                reader = self._limited(*streamed)
            elif self.truncated:
                reader = self._checked_top_n()
            else:
                reader = self.con.sql(self.plan.local_sql).to_arrow_reader(self.settings.batch_size)
            self.session.phase = "streaming the result"
        except duckdb.Error as exc:
            self.close()
            self._raise_stopped()
            raise (
                self._memory_error(exc)
                or self._fragment_error()
                or ExecutionError(f"local DuckDB step failed: {exc}", remote_sql=None)
            ) from None
        except BaseException:
            self.close()
            self._raise_stopped()
            raise
        return pa.RecordBatchReader.from_batches(reader.schema, self._guarded(reader))

    def _on_cancel(self) -> None:
        """The deadline passed or the query was cancelled: stop the streams, interrupt DuckDB."""
        self._running = [
            f"{s.fragment.department}.{s.fragment.source}"
            for s in self.streams
            if s.interrupted or not s.stats.finished
        ]
        for stream in self.streams:
            stream.cancel()
        if self.session is not None:
            self.session.interrupt()  # every connection of this query: the local step and the loaders

    def _stopped(self) -> QueryCancelledError:
        """The typed error of a query stopped by its deadline or a cancel, naming what still ran."""
        running = self._running or [
            f"{s.fragment.department}.{s.fragment.source}"
            for s in self.streams
            if s.interrupted or not s.stats.finished
        ]
        facts = {}
        if len(set(running)) == 1:
            facts["department"], facts["source"] = running[0].split(".", 1)
        return self.deadline.error(running, **facts)

    def _raise_stopped(self) -> None:
        if self.deadline.stopped:
            raise self._stopped() from None

    def _stream_through(self) -> pa.RecordBatchReader | None:
        """When the local SQL only passes one fragment's columns on, the fragment's batches are the result
        as they arrive: nothing is loaded into DuckDB, and a reader that stops early stops the scan."""
        names = _passed_through(self.plan)
        if names is None:
            return None
        stream = self.streams[0]
        try:
            schema = stream.wait_schema()
        except BaseException as exc:
            self.close()
            self._raise_stopped()
            guarded = self._guard_error(exc)
            if guarded is not exc:
                raise guarded from None
            raise
        if schema.names != names or any(b"fedquery.enum" in (f.metadata or {}) for f in schema):
            return None  # an enum becomes DuckDB's ENUM in the local step (see _typed)
        size = self.settings.batch_size

        def sliced() -> Iterator[pa.RecordBatch]:  # batches of ``batch_size`` rows, as DuckDB's would be
            for batch in stream.batches():
                for offset in range(0, max(batch.num_rows, 1), size):
                    yield batch.slice(offset, size)

        return pa.RecordBatchReader.from_batches(
            schema, self._guarded(pa.RecordBatchReader.from_batches(schema, sliced()))
        )

    def _checked_top_n(self) -> pa.RecordBatchReader:
        """The local query over a driver's first rows is the answer if it still fills its LIMIT: every
        row not fetched sorts after the last fetched one, or ties with it (and any tied row will do)."""
        table = self.con.sql(self.plan.local_sql).to_arrow_table()
        needed = min(f.top_n.needed for f in self.plan.fragments if f.top_n is not None and f.name in self.truncated)
        if table.num_rows < needed:
            raise TopNIncomplete()
        return table.to_reader(max_chunksize=self.settings.batch_size)

    def _cut(self, cursor: Any, fragment: Fragment, fetched: str) -> None:
        """A top-N driver read: note whether its fetch stopped at the limit (then the answer is checked)."""
        assert fragment.top_n is not None
        cursor.execute(_local(exp.Create(this=_table(fragment.name), kind="VIEW", expression=_all(fetched))))
        count = exp.select(exp.Count(this=exp.Star())).from_(_table(fetched))
        if cursor.sql(_local(count)).fetchall()[0][0] < fragment.top_n.limit:
            return  # all of the driver's rows
        nulls = exp.or_(*(exp.column(c, quoted=True).is_(exp.null()) for c, _ in fragment.top_n.keys))
        if cursor.sql(_local(count.where(nulls))).fetchall()[0][0]:
            raise TopNIncomplete(unlimited=True)  # NULL sort keys: each source places them its own way
        self.truncated.add(fragment.name)

    def _reduce(self, stream: FragmentStream) -> None:
        """Semi-join reduction: once each producer is read, its distinct keys become a :class:`Reduction`
        of this fragment; ``render.reduced`` turns them into the fragment that runs.

        Adaptivity: a producer that sends far more rows than estimated (``ABANDON_FACTOR`` times, and
        past the key budget) is not waited on: the reduction is abandoned and the fragment read
        unreduced at once (``FragmentStats.reductions`` says so)."""
        fragment = stream.fragment
        limit = self.settings.semijoin_max_keys * (FILE_KEY_FACTOR if _file_scan(stream) else 1)
        reductions: list[Reduction] = []
        for producer, column, target in fragment.reducers:
            abandoned = self._wait_for_producer(stream, producer, limit)
            if stream.cancelled.is_set():
                return
            if abandoned is not None:
                reductions.append(Reduction(producer, target, abandoned=abandoned))
                continue
            if self._fragment_error() is not None or self.con is None:
                return  # the query fails anyway; do not wait on a broken producer
            keys, low, high = self._producer_keys(producer, column, limit)
            if keys is not None:
                reductions.append(Reduction(producer, target, keys=keys, column_type=self._column_type(stream, target)))
            elif isinstance(low, int) and isinstance(high, int):
                # Past the budget: the keys' range still prunes (clustered keys, row groups).
                reductions.append(Reduction(producer, target, low=low, high=high))
            else:  # past the budget, no usable range: read unreduced, still correct
                reductions.append(Reduction(producer, target, abandoned=f"more than {limit:,} keys, no numeric range"))
        stream.running = reduced(fragment, reductions, stream.connector)
        stream.stats.reductions = reductions
        stream.stats.sql = redact_keys(stream.running.sql)
        applied = [len(r.keys) for r in reductions if r.keys is not None]
        if applied:
            stream.stats.reduced_keys = sum(applied)

    def _wait_for_producer(self, stream: FragmentStream, producer: str, limit: int) -> str | None:
        """Wait until ``producer`` is loaded; or, if it sends far more rows than the plan expected, stop
        waiting and say why (None: loaded, or the consumer was cancelled)."""
        event = self.loaded[producer]
        source = next(s for s in self.streams if s.fragment.name == producer)
        expected = source.fragment.estimated_rows
        while not event.wait(0.05):
            if stream.cancelled.is_set():
                return None
            rows = source.stats.rows
            if expected is not None and rows > ABANDON_FACTOR * max(expected, 1) and rows > limit:
                return (
                    f"{producer} sent {rows:,} rows, past {ABANDON_FACTOR}x its estimate of {expected:,} "
                    f"and the {limit:,}-key budget: read unreduced, not waited on"
                )
        return None

    def _producer_keys(self, producer: str, column: str, limit: int) -> tuple[pa.Array | None, Any, Any]:
        """The producer's distinct non-null keys (None past ``limit``), and their min and max."""
        cursor = self._cursor()
        key = exp.column(column, quoted=True)
        try:
            distinct = (
                exp.select(key.as_("k", quoted=True))
                .distinct()
                .from_(_table(producer))
                .where(key.is_(exp.null()).not_())
                .limit(limit + 1)
            )
            keys = cursor.sql(_local(distinct)).to_arrow_table().column("k").combine_chunks()
            if len(keys) <= limit:
                return keys, None, None
            bounds = exp.select(exp.Min(this=key.copy()), exp.Max(this=key.copy())).from_(_table(producer))
            low, high = cursor.sql(_local(bounds)).fetchall()[0]
            return None, low, high
        finally:
            cursor.close()

    def _column_type(self, stream: FragmentStream, column: exp.Expr) -> pa.DataType | None:
        """The Arrow type of ``column`` (``alias.name``) of a catalog table the fragment reads, if known."""
        if not isinstance(column, exp.Column):
            return None
        for table in stream.fragment.expression.find_all(exp.Table):
            name = table.meta.get("fq_catalog")
            if name and table.alias_or_name == column.table:
                try:
                    schema = self.catalog.resolve(name.split(".")).arrow_schema()
                except FedQueryError:
                    return None
                index = schema.get_field_index(column.name)
                return schema.field(index).type if index >= 0 else None
        return None

    def _limited(self, name: str, limit: int) -> pa.RecordBatchReader:
        """LIMIT flows back: fragment ``name`` is loaded a slice at a time (1, 2, 4, ... batches) and the
        local query run over each slice, until the rows found fill the LIMIT; then the fragment's stream
        is cancelled (its statement at the source with it) and the rest is never read. Exact where the
        fragment is named once, on the inner side of inner joins, with no ORDER BY, aggregate, DISTINCT,
        window or OFFSET above it (see ``_streamed_fragment``): the query's rows are then the union of
        its rows over the slices, and any ``limit`` of them answer it."""
        stream = next(s for s in self.streams if s.fragment.name == name)
        schema = stream.wait_schema()
        batches = stream.batches()
        found: list[pa.Table] = []
        rows, size = 0, 1
        while True:
            chunk = list(itertools.islice(batches, size))
            source = f"{name}_slice"
            self.con.register(source, pa.Table.from_batches(chunk, schema=schema))
            create = exp.Create(this=_table(name), kind="TABLE", expression=_all(source), replace=True)
            self.con.execute(_local(create))
            self.con.unregister(source)
            table = self.con.sql(self.plan.local_sql).to_arrow_table()
            found.append(table)
            rows += table.num_rows
            if rows >= limit or len(chunk) < size:
                break
            size *= 2
        # The rows are found: the source's statement is cancelled now, and the stream stops.
        stream.cut = True
        stream.cancel()
        stream.deadline.close()
        self.loaded[name].set()
        answer = pa.concat_tables(found).slice(0, limit)
        return answer.to_reader(max_chunksize=self.settings.batch_size)

    def _start_load(self, stream: FragmentStream) -> threading.Event:
        """``_load`` on a pooled thread; the event is set when it has ended."""
        ended = threading.Event()

        def task() -> None:
            try:
                self._load(stream)
            finally:
                ended.set()

        if not _readers.start(task):
            self._load_errors.append(ExecutionError(f"fragment {stream.fragment.name}: no thread to load it"))
            self._cancel_all()
            ended.set()
        return ended

    def _load(self, stream: FragmentStream) -> None:
        """Stream one fragment into a DuckDB table named after it."""
        import duckdb

        cursor = self._cursor()
        try:
            schema = stream.wait_schema()
            source = f"{stream.fragment.name}_stream"
            cursor.register(source, pa.RecordBatchReader.from_batches(schema, stream.batches()))
            top_n = stream.fragment.top_n is not None
            table = f"{stream.fragment.name}__fetched" if top_n else stream.fragment.name
            cursor.execute(_local(exp.Create(this=_table(table), kind="TABLE", expression=_typed(source, schema))))
            cursor.unregister(source)
            if top_n:
                self._cut(cursor, stream.fragment, table)
            self.loaded[stream.fragment.name].set()
        except (TopNIncomplete, FedQueryError) as exc:
            self._load_errors.append(exc)
            self._cancel_all()
        except duckdb.Error as exc:
            self._load_errors.append(
                self._memory_error(exc)
                or stream.error
                or ExecutionError(f"loading fragment {stream.fragment.name} into DuckDB failed: {exc}")
            )
            self._cancel_all()
        finally:
            cursor.close()
            if not self.loaded[stream.fragment.name].is_set():
                self._cancel_all()  # a producer that did not load: nobody waits for it
                self.loaded[stream.fragment.name].set()

    def _load_local_relations(self) -> None:
        """The introspection tables the plan carries (built from the catalog) become tables of the session."""
        for name, relation in self.plan.local_relations.items():
            self.con.register("_fq_relation", relation)
            self.con.execute(_local(exp.Create(this=_table(name), kind="TABLE", expression=_all("_fq_relation"))))
            self.con.unregister("_fq_relation")

    def _cancel_all(self) -> None:
        for stream in self.streams:
            stream.cancel()

    def _guarded(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        try:
            for batch in self._checked(reader):
                self.rows_out += batch.num_rows
                yield batch
            self.exhausted = True
        except BaseException as exc:
            if not isinstance(exc, GeneratorExit):
                self.failure = exc  # the audit's end record (written on close) names it
            raise
        finally:
            self.close()

    def _checked(self, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
        import duckdb

        try:
            self.deadline.phase = "output"
            for batch in reader:
                self._raise_stopped()
                yield batch
            self._raise_stopped()
            error = self._fragment_error()
            if error is not None:
                raise error
        except FedQueryError as exc:
            self._raise_stopped()  # a fragment read straight through was cancelled: say why
            guarded = self._guard_error(exc)
            if guarded is not exc:
                raise guarded from None
            raise
        except (duckdb.Error, pa.ArrowException, OSError) as exc:
            self._raise_stopped()
            raise (
                self._memory_error(exc) or self._fragment_error() or ExecutionError(f"local DuckDB step failed: {exc}")
            ) from None

    def _fragment_error(self) -> BaseException | None:
        for stream in self.streams:
            if stream.error is not None and not stream.cut:
                return self._guard_error(stream.error)
        return None

    def _guard_error(self, error: BaseException) -> BaseException:
        """A bounded-builder guard that failed at an in-process source (a DuckDB file, a local file's
        DuckDB), or such a source out of its memory, is a ResourceError; so is anything after the
        watchdog stopped the query."""
        watchdog = self._memory_error(None)
        if watchdog is not None:
            return watchdog
        if isinstance(error, SourceError) and "Out of Memory Error" in error.message:
            return ResourceError(
                f"{error.department}.{error.source} ran out of memory: {error.message.splitlines()[0]}",
                limit=parse_size(self.settings.memory_limit),
                phase="reading fragments",
                department=error.department or "",
                source=error.source or "",
            )
        if not isinstance(error, SourceError) or BUILDER_MARKER not in error.message:
            return error
        message = error.message.split(BUILDER_MARKER, 1)[1].strip().splitlines()[0]
        return ResourceError(
            message,
            limit=parse_size(self.settings.memory_limit),
            phase="reading fragments",
            department=error.department or "",
            source=error.source or "",
        )

    def _open_duckdb(self) -> Any:
        """This query's connection to the process's one local DuckDB (see fedquery.memory)."""
        self.session = local_database(self.settings).session(on_stop=self._cancel_all)
        weakref.finalize(self, dropped, self.session)  # a result dropped unread still frees its tables
        return self.session.con

    def _cursor(self) -> Any:
        assert self.session is not None
        return self.session.cursor()

    def _check_memory(self) -> None:
        error = self._memory_error(None)
        if error is not None:
            raise error

    def _memory_error(self, exc: BaseException | None) -> ResourceError | None:
        """The watchdog stopped this query, or DuckDB itself ran out of the budget."""
        import duckdb

        session = self.session
        if session is None:
            return None
        if session.exceeded is not None:
            message = "the query was stopped: the process's resident memory grew past the budget"
            return ResourceError(message, limit=session.database.limit, phase=session.exceeded)
        if exc is not None and BUILDER_MARKER in str(exc):
            message = str(exc).split(BUILDER_MARKER, 1)[1].strip().splitlines()[0]
            return ResourceError(message, limit=session.database.limit, phase=session.phase)
        if isinstance(exc, duckdb.OutOfMemoryException):
            message = f"the local DuckDB ran out of memory: {str(exc).splitlines()[0]}"
            return ResourceError(message, limit=session.database.limit, phase=session.phase)
        return None

    def close(self) -> None:
        # Statements still running at a source get their cancel request (a result closed early, a failure).
        self.deadline.close()
        for stream in self.streams:
            stream.cancel()
        # Wait for every reader to stop, so no source connection is in use after the query ends; a
        # cancelled query does not wait on a source that ignores its cancel request.
        until = time.monotonic() + (2.0 if self.deadline.stopped else 10.0)
        for stream in self.streams:
            stream.join(max(0.0, until - time.monotonic()))
        if self.session is not None:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self.con = None
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()

    def cancel(self) -> None:
        """Stop the query from any thread: its reader raises :class:`QueryCancelledError`."""
        self.deadline.root.cancel()

    @property
    def stats(self) -> list[FragmentStats]:
        return [s.stats for s in self.streams] + self.earlier


def _table(name: str) -> exp.Table:
    """A table of the local DuckDB, by its exact name (quoted by the generator)."""
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _typed(name: str, schema: pa.Schema) -> exp.Select:
    """``SELECT * FROM name``, with each column a connector marked as an enum held as DuckDB's ``ENUM``
    of its labels in the source's order (see connectors.remote.ENUM_METADATA).

    >>> import json
    >>> field = pa.field("m", pa.string(), metadata={b"fedquery.enum": json.dumps(["sad", "ok"]).encode()})
    >>> print(_typed("s", pa.schema([pa.field("id", pa.int32()), field])).sql("duckdb"))
    SELECT * REPLACE (CAST("m" AS ENUM('sad', 'ok')) AS "m") FROM "s"
    """
    import json

    replace = []
    for arrow_field in schema:
        labels = (arrow_field.metadata or {}).get(b"fedquery.enum")
        if labels is not None:
            enum = exp.DataType(
                this=exp.DataType.Type.ENUM, expressions=[exp.Literal.string(v) for v in json.loads(labels)]
            )
            column = exp.column(arrow_field.name, quoted=True)
            replace.append(exp.alias_(exp.Cast(this=column, to=enum), arrow_field.name, quoted=True))
    select = _all(name)
    if replace:
        select.set("expressions", [exp.Star(replace=replace)])
    return select


def _all(name: str) -> exp.Select:
    return exp.select(exp.Star()).from_(_table(name))


def _local(tree: exp.Expr) -> str:
    """A statement for the local DuckDB, rendered by sqlglot (identifiers and literals quoted by it).

    >>> _local(_all('k" + 1000 + "k'))
    'SELECT * FROM "k"" + 1000 + ""k"'
    """
    return tree.sql(dialect="duckdb")
