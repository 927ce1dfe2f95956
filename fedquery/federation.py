"""The API object: ``fedquery.connect(...)`` returns a :class:`Federation`."""

from __future__ import annotations

import functools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from fedquery.audit import AuditLog, log_path
from fedquery.audit_record import QueryAudit
from fedquery.catalog import Catalog
from fedquery.config import Config, check_timeout, load_config
from fedquery.deadline import Deadline, bound
from fedquery.disclosure import protect
from fedquery.errors import FedQueryError, QueryError, ResourceError
from fedquery.executor import Execution, FragmentStats, TopNIncomplete
from fedquery.memory import parse_size
from fedquery.plan_cache import PlanCache
from fedquery.planner import Plan, plan
from fedquery.planner.parameters import Params
from fedquery.planner.top_n import next_scale, retry_note
from fedquery.principal import Principal
from fedquery.result import Result
from fedquery.secrets import drop_chain

if TYPE_CHECKING:
    from fedquery.dbapi import Cursor
    from fedquery.doctor import SourceCheck
    from fedquery.inventory import Inventory
    from fedquery.statistics import StatisticsEntry


F = TypeVar("F", bound=Callable[..., Any])


def _contained(method: F) -> F:
    """Errors leave the API without the driver exceptions they were raised while handling.

    Those may carry secrets (a connection string, a signed URL); the typed error's own
    message says what failed, masked.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except FedQueryError as exc:
            raise drop_chain(exc)  # noqa: B904 - the chain is dropped on purpose
        except RuntimeError as exc:
            if "can't start new thread" not in str(exc):
                raise
            # A process capped in address space or threads (ulimit -v, a container's pids limit).
            raise ResourceError(
                "the process cannot start another thread (its address-space or thread limit is reached)",
                limit=parse_size(args[0].config.settings.memory_limit),
                phase="running the query",
            ) from None

    return wrapper  # type: ignore[return-value]


class Federation:
    def __init__(self, config: Config, principal: Principal | None = None) -> None:
        self.config = config
        #: who this federation's queries run as (declared by the caller: see fedquery.principal)
        self.principal = principal if principal is not None else Principal.from_environment()
        self.catalog = Catalog(config)
        #: plans of earlier identical requests, reused while nothing they were made from changed
        self.plans = PlanCache(config.settings.plan_cache)
        #: set by close(): DB-API cursors of a closed connection raise InterfaceError
        self.closed = False
        #: the deadlines of the queries running now (``interrupt`` cancels them)
        self._running: weakref.WeakSet[Deadline] = weakref.WeakSet()
        self._running_lock = threading.Lock()
        #: called with each Execution as it starts (the CLI's progress line reads its fragments' counters)
        self.on_execution: Callable[[Execution], None] | None = None
        path = log_path(config)
        #: the hash-chained audit log every query appends to (None: ``audit_log = false``, or a dict config)
        self.audit = AuditLog(path) if path is not None else None

    @_contained
    def explain(
        self,
        sql: str,
        *,
        pushdown: str = "auto",
        analyze: bool = False,
        timeout: float | None = None,
        params: Params = None,
        verbose: bool = False,
    ) -> Plan:
        """Plan ``sql``; with ``analyze=True`` also run it and record what each fragment did.

        ``pushdown``: ``none`` (fetch whole tables), ``filters`` (projections and filters
        only), ``full`` (largest single-source subtrees) or ``auto`` (the default).
        ``timeout`` and ``params``: as for :meth:`sql`. ``verbose``: the plan prints long key lists
        in full (by default ``IN (<2,911 keys>)``).
        """
        if not analyze:
            audit = QueryAudit(self.audit, sql, self.principal, "explain", self.config.departments)
            try:
                the_plan = self._plan(sql, pushdown, 1, self.principal, params)
            except BaseException as exc:
                audit.failed(exc)
                raise
            the_plan.verbose = verbose
            audit.ended(plan=the_plan)
            return the_plan
        started = time.perf_counter()
        result = self._sql(sql, pushdown, timeout, "explain analyze", params)
        rows = sum(batch.num_rows for batch in result.reader())
        the_plan = result.plan
        the_plan.actuals = {s.fragment: s for s in result.stats}
        the_plan.result_rows = rows
        the_plan.execution_seconds = time.perf_counter() - started
        the_plan.verbose = verbose
        return the_plan

    @_contained
    def sql(
        self, sql: str, *, pushdown: str = "auto", timeout: float | None = None, params: Params = None
    ) -> Result:
        """Plan and run ``sql``; the result streams. ``pushdown`` as for :meth:`explain`.

        ``params``: values for the query's parameters, bound as literals (never pasted into text) and
        pushed to sources like any literal: a list for ``?`` / ``$1``, a dict for ``$name`` / ``:name``
        (see :mod:`fedquery.planner.parameters` for the type mapping).

        ``timeout``: seconds the whole query may take, reading the result included (default
        ``[settings] query_timeout``); past it every source's statement is cancelled, the local
        DuckDB interrupted, and :class:`~fedquery.errors.QueryTimeoutError` raised. ``Result.cancel()``
        and :meth:`interrupt` stop it from another thread (:class:`~fedquery.errors.QueryCancelledError`).
        """
        return self._sql(sql, pushdown, timeout, "sql", params)

    def _sql(
        self,
        sql: str,
        pushdown: str,
        timeout: float | None,
        entry: str,
        params: Params = None,
        principal: Principal | None = None,
    ) -> Result:
        """Run ``sql`` as ``principal`` (default: this federation's), audited as ``entry``."""
        principal = principal or self.principal
        audit = QueryAudit(self.audit, sql, principal, entry, self.config.departments)
        try:
            seconds = self.config.settings.query_timeout
            if timeout is not None:
                seconds = check_timeout(timeout, "timeout", QueryError)
            deadline = Deadline(seconds)
        except BaseException as exc:
            audit.failed(exc)
            raise
        with self._running_lock:
            self._running.add(deadline)
        try:
            return self._run(sql, pushdown, deadline, audit, params, principal)
        except BaseException as exc:
            deadline.finish()
            audit.failed(exc)
            raise

    def _statistics_sql(self, sql: str) -> Result:
        """Run ``analyze``'s aggregate query over whole tables: the planner's statistics describe tables as
        stored, whoever asked. Callers see them only through the rules (see fedquery.policy.views)."""
        from fedquery.policy.access import STATISTICS

        return self._sql(sql, "full", None, "analyze", principal=STATISTICS)

    def _run(
        self,
        sql: str,
        pushdown: str,
        deadline: Deadline,
        audit: QueryAudit,
        params: Params,
        principal: Principal,
    ) -> Result:
        scale, attempt, earlier = 1, 1, list[FragmentStats]()
        while True:
            deadline.phase = "planning"
            try:
                with bound(deadline):  # catalog queries at sources register their cancel requests
                    the_plan = self._plan(sql, pushdown, scale, principal, params)
            except FedQueryError:
                if deadline.stopped:
                    raise deadline.error() from None
                raise
            deadline.check()
            if attempt == 1:
                audit.planned(the_plan)  # before anything is sent: no start record, no query
            execution = Execution(the_plan, self.catalog, self.config.settings, earlier=earlier, deadline=deadline)
            if self.on_execution is not None:
                self.on_execution(execution)
            try:
                reader = execution.start()
            except TopNIncomplete as retry:
                # The top-N driver's first rows were too few: again with more, finally without top-N.
                scale = next_scale(scale, unlimited=retry.unlimited)
                earlier = [_attempt(s.stats, attempt) for s in execution.streams] + earlier
                attempt += 1
                continue
            if attempt > 1:
                the_plan.notes.append(retry_note(attempt, scale))
            if the_plan.disclosure is not None:
                # Read whole and protected before anyone sees a row; its end record counts the rows shown.
                protected = protect(reader.read_all(), the_plan.disclosure)
                execution.rows_out = protected.num_rows
                _closed(deadline, audit, execution)
                return Result(protected.to_reader(), execution)
            execution.on_close = functools.partial(_closed, deadline, audit, execution)
            result = Result(reader, execution)
            weakref.finalize(result, _dropped, execution)
            return result

    def _plan(self, sql: str, pushdown: str, scale: int, principal: Principal, params: Params) -> Plan:
        """The plan of this request: reused from an identical earlier one where nothing changed, else made."""
        started = time.perf_counter()
        key = self.plans.key(self.catalog, sql, pushdown, scale, principal, params)
        kept = self.plans.get(key)
        if kept is not None:
            kept.planning_seconds = time.perf_counter() - started
            return kept
        made = plan(sql, self.catalog, pushdown=pushdown, top_n_scale=scale, principal=principal, params=params)
        self.plans.put(key, made, self.catalog)
        return made

    def interrupt(self) -> None:
        """Cancel every query of this federation that is running now (from any thread): each source's
        statement gets its cancel request, the local DuckDB is interrupted, and the thread running or
        reading the query gets :class:`~fedquery.errors.QueryCancelledError`."""
        with self._running_lock:
            running = list(self._running)
        for deadline in running:
            if not deadline.finished:
                deadline.cancel()

    @_contained
    def tables(self, department: str | None = None) -> list[dict[str, Any]]:
        """Department, table, source, kind, columns and ``error`` of every table.

        A broken table (a corrupt file, a view that no longer resolves) or a source that
        cannot be listed is reported beside the others, never hiding them: its row has
        no columns and says why in ``error`` (None for every table that works); a source
        that cannot be listed has ``table`` None.
        """
        rows = []
        for table in self.catalog.tables(department):
            try:
                columns, error = [(f.name, str(f.type)) for f in table.arrow_schema()], None
            except FedQueryError as exc:
                columns, error = [], exc.message
            rows.append(
                {
                    "department": table.department,
                    "table": table.sql_name,
                    "source": table.source,
                    "kind": table.kind,
                    "columns": columns,
                    "error": error,
                }
            )
        for problem in self.catalog.problems(department):
            source = self.config.departments[problem.department or ""].sources[problem.source or ""]
            rows.append(
                {
                    "department": problem.department,
                    "table": None,
                    "source": problem.source,
                    "kind": source.kind,
                    "columns": [],
                    "error": problem.message,
                }
            )
        from fedquery.notebook import Listing
        from fedquery.policy.views import governed_tables

        return Listing(governed_tables(self.catalog, self.principal, rows), title="tables")

    @_contained
    def analyze(self, target: str | None = None) -> list[StatisticsEntry]:
        """Refresh the planner's statistics of every table, of a ``department``, or of ``department.table``.

        One aggregate query per table (run inside SQL sources): exact row counts, null
        counts, min/max and distinct counts. Cached until the next analyze.
        """
        from fedquery.analyze import analyze, target_tables
        from fedquery.notebook import Listing
        from fedquery.policy.views import governed_statistics

        if target and "." in target:
            from fedquery.policy import table_access

            for table in target_tables(self, target):
                table_access(self.catalog, self.principal, table)  # AccessDenied before anything is read
        tables = {t.sql_name: t for t in target_tables(self, target)}
        shown = (governed_statistics(self.catalog, self.principal, e, tables[e.table]) for e in analyze(self, target))
        return Listing([e for e in shown if e is not None], title="statistics")

    @_contained
    def statistics(self, target: str | None = None) -> list[StatisticsEntry]:
        """The statistics the planner uses (cached; read from the sources where missing or expired)."""
        from fedquery.analyze import target_tables
        from fedquery.policy.views import governed_statistics

        store = self.catalog.statistics
        from fedquery.notebook import Listing

        entries = []
        for table in target_tables(self, target):
            if target and "." in target:
                from fedquery.policy import table_access

                table_access(self.catalog, self.principal, table)  # names the table: AccessDenied if unreadable
            entry = store.entry(table)
            shown = governed_statistics(self.catalog, self.principal, entry, table) if entry is not None else None
            if shown is not None:
                entries.append(shown)
        return Listing(entries, title="statistics")

    @_contained
    def inventory(self, *, refresh: bool = False, principal: Principal | None = None) -> Inventory:
        """What data exists, where it is stored and how to reach it (discovered facts are cached), as
        ``principal`` (default: this federation's) may see it: each dataset with its access summary."""
        from fedquery.inventory import Inventory
        from fedquery.policy.views import governed_inventory

        full = Inventory.build(self.catalog, refresh=refresh)
        return governed_inventory(self.catalog, principal or self.principal, full)

    def doctor(self) -> list[SourceCheck]:
        """Connect to every source: is it reachable, and can its account do more than read? (See fedquery.doctor.)"""
        from fedquery.doctor import doctor

        return doctor(self)

    def cursor(self) -> Cursor:
        """A DB-API 2.0 (PEP 249) cursor over this federation (see :mod:`fedquery.dbapi`)."""
        from fedquery.dbapi import Cursor
        from fedquery.errors import InterfaceError

        if self.closed:
            raise InterfaceError("the connection is closed")
        return Cursor(self)

    def commit(self) -> None:
        """PEP 249: nothing to commit, fedquery only reads."""

    def rollback(self) -> None:
        """PEP 249: nothing to roll back, fedquery only reads."""

    def close(self) -> None:
        self.closed = True  # its cursors raise InterfaceError from now on
        self.catalog.close()
        self.plans.clear()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.config.path or "dict config"
        return f"<fedquery.Federation {where}: {', '.join(self.config.departments)}>"


def _dropped(execution: Execution) -> None:
    """A result collected before its reader was handed out: the query is closed (its scans stop, its audit
    end record is written) on a thread of its own: the collector may run inside any lock of this thread."""
    if execution.reader_taken or execution.on_close is None:
        return
    try:
        threading.Thread(target=execution.close, name="fedquery-dropped-result", daemon=True).start()
    except RuntimeError:
        pass  # the interpreter is shutting down: the results still open are closed at exit


def _closed(deadline: Deadline, audit: QueryAudit, execution: Execution) -> None:
    """The query's end: its deadline is done, its end record written."""
    deadline.finish()
    audit.ended(execution)


def _attempt(stats: FragmentStats, attempt: int) -> FragmentStats:
    """A fragment's figures from an earlier attempt, named ``name@attempt``."""
    copy = FragmentStats(**stats.to_dict())
    copy.fragment = f"{stats.fragment}@{attempt}"
    return copy


def connect(
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    user: str | None = None,
    groups: Iterable[str] | None = None,
    purpose: str | None = None,
) -> Federation:
    """Open a federation from a ``fedquery.toml`` path, a dict, or the default lookup.

    ``user``, ``groups`` and ``purpose`` declare the principal its queries run as (default: the
    ``FEDQUERY_USER`` / ``FEDQUERY_GROUPS`` / ``FEDQUERY_PURPOSE`` environment variables, else the
    operating system's user name).
    """
    try:
        principal = Principal.from_environment(user, groups, purpose)
        return Federation(load_config(config), principal)
    except FedQueryError as exc:
        raise drop_chain(exc)  # noqa: B904 - the chain is dropped on purpose
