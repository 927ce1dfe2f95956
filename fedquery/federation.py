"""The API object: ``fedquery.connect(...)`` returns a :class:`Federation`."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fedquery.catalog import Catalog
from fedquery.config import Config, load_config
from fedquery.executor import Execution, FragmentStats, TopNIncomplete
from fedquery.planner import Plan, plan
from fedquery.planner.top_n import MAX_SCALE, RETRY_SCALE
from fedquery.result import Result

if TYPE_CHECKING:
    from fedquery.doctor import SourceCheck
    from fedquery.inventory import Inventory
    from fedquery.statistics import StatisticsEntry


class Federation:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.catalog = Catalog(config)

    def explain(self, sql: str, *, pushdown: str = "auto", analyze: bool = False) -> Plan:
        """Plan ``sql``; with ``analyze=True`` also run it and record what each fragment did.

        ``pushdown``: ``none`` (fetch whole tables), ``filters`` (projections and filters
        only), ``full`` (largest single-source subtrees) or ``auto`` (the default).
        """
        if not analyze:
            return plan(sql, self.catalog, pushdown=pushdown)
        started = time.perf_counter()
        result = self.sql(sql, pushdown=pushdown)
        rows = sum(batch.num_rows for batch in result.reader())
        the_plan = result.plan
        the_plan.actuals = {s.fragment: s for s in result.stats}
        the_plan.result_rows = rows
        the_plan.execution_seconds = time.perf_counter() - started
        return the_plan

    def sql(self, sql: str, *, pushdown: str = "auto") -> Result:
        """Plan and run ``sql``; the result streams. ``pushdown`` as for :meth:`explain`."""
        scale, attempt, earlier = 1, 1, list[FragmentStats]()
        while True:
            the_plan = plan(sql, self.catalog, pushdown=pushdown, top_n_scale=scale)
            execution = Execution(the_plan, self.catalog, self.config.settings, earlier=earlier)
            try:
                reader = execution.start()
            except TopNIncomplete as retry:
                # The top-N driver's first rows were too few: again with more, finally without top-N.
                scale = 0 if retry.unlimited or scale * RETRY_SCALE > MAX_SCALE else scale * RETRY_SCALE
                earlier = [_attempt(s.stats, attempt) for s in execution.streams] + earlier
                attempt += 1
                continue
            if attempt > 1:
                how = "without top-N" if scale == 0 else f"{scale}x the first fetch"
                the_plan.notes.append(
                    f"top-N: the driver's first rows were too few; this is attempt {attempt} ({how}); "
                    "earlier attempts' fragments are listed as name@attempt"
                )
            return Result(reader, execution)

    def tables(self, department: str | None = None) -> list[dict[str, Any]]:
        """Department, table, source, kind and columns of every table."""
        rows = []
        for table in self.catalog.tables(department):
            rows.append(
                {
                    "department": table.department,
                    "table": table.sql_name,
                    "source": table.source,
                    "kind": table.kind,
                    "columns": [(f.name, str(f.type)) for f in table.arrow_schema()],
                }
            )
        return rows

    def analyze(self, target: str | None = None) -> list[StatisticsEntry]:
        """Refresh the planner's statistics of every table, of a ``department``, or of ``department.table``.

        One aggregate query per table (run inside SQL sources): exact row counts, null
        counts, min/max and distinct counts. Cached until the next analyze.
        """
        from fedquery.analyze import analyze

        return analyze(self, target)

    def statistics(self, target: str | None = None) -> list[StatisticsEntry]:
        """The statistics the planner uses (cached; read from the sources where missing or expired)."""
        from fedquery.analyze import target_tables

        store = self.catalog.statistics
        return [e for e in (store.entry(t) for t in target_tables(self, target)) if e is not None]

    def inventory(self, *, refresh: bool = False) -> Inventory:
        """What data exists, where it is stored and how to reach it (discovered facts are cached)."""
        from fedquery.inventory import Inventory

        return Inventory.build(self.catalog, refresh=refresh)

    def doctor(self) -> list[SourceCheck]:
        """Connect to every source: is it reachable, and can its account do more than read? (See fedquery.doctor.)"""
        from fedquery.doctor import doctor

        return doctor(self)

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Federation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.config.path or "dict config"
        return f"<fedquery.Federation {where}: {', '.join(self.config.departments)}>"


def _attempt(stats: FragmentStats, attempt: int) -> FragmentStats:
    """A fragment's figures from an earlier attempt, named ``name@attempt``."""
    copy = FragmentStats(**stats.to_dict())
    copy.fragment = f"{stats.fragment}@{attempt}"
    return copy


def connect(config: str | os.PathLike[str] | Mapping[str, Any] | None = None) -> Federation:
    """Open a federation from a ``fedquery.toml`` path, a dict, or the default lookup."""
    return Federation(load_config(config))
