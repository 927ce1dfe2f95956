"""Plans reused while nothing they were made from has changed (``[settings] plan_cache``).

Planning costs a query over small tables most of its time (about 10-20 ms of a 25 ms warm
query: parsing, binding, the passes, rendering each fragment's SQL); a dashboard re-runs the
same statements every refresh. A plan is a value (frozen fragments; run-time reductions are
data handed to connectors at run time), so the plan of an identical request can be run again.

An entry is found only when everything the planner read is the same:

* the SQL text, the pushdown strategy and the top-N retry scale;
* the principal (user, groups, purpose) and the parameter values (of plain types only);
* the catalog's generation: ``analyze`` (any change to the statistics store) and closing the
  catalog move it on (:attr:`fedquery.catalog.Catalog.generation`); a plan made while it moved
  is not kept;
* each department's rules file, by modification time and size (rules are reloaded on change);
* the pseudonymisation keys in the environment (a digest: a changed key is a new plan).

Not kept: a plan under disclosure control (its protection records what it suppressed), and any
plan made while a source could not be listed (the next query tries that source again). A
failed plan is never kept. Each caller gets its own copy of the plan's lists, so notes a run
adds (a top-N retry) or EXPLAIN ANALYZE's figures never reach the entry.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from fedquery.policy.rules import file_stamp
from fedquery.pseudonym import keys_digest

if TYPE_CHECKING:
    from fedquery.catalog import Catalog
    from fedquery.planner.parameters import Params
    from fedquery.planner.plan import Plan
    from fedquery.principal import Principal

#: parameter values whose ``repr`` is their value (anything else: the plan is not kept)
_PLAIN = (
    str, bytes, int, float, bool, type(None), decimal.Decimal,
    datetime.date, datetime.datetime, datetime.time, datetime.timedelta, uuid.UUID,
)  # fmt: skip
#: the parameters' text past which a plan is not kept (a long IN list bound from a Python list)
MAX_PARAMS_TEXT = 100_000
#: every cache of the process (see :func:`clear_all`)
_CACHES: weakref.WeakSet[PlanCache] = weakref.WeakSet()


@dataclasses.dataclass(frozen=True)
class PlanKey:
    """What a plan was made from: the request, the rules files, the keys, and the catalog's generation."""

    request: Hashable
    generation: int


class PlanCache:
    """At most ``size`` plans, least recently used first out; safe to share between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._plans: OrderedDict[PlanKey, Plan] = OrderedDict()
        self._lock = threading.Lock()
        #: lookups that found a plan, and that did not (for tests and ``benchmarks/``)
        self.hits = 0
        self.misses = 0
        _CACHES.add(self)

    def key(
        self, catalog: Catalog, sql: str, pushdown: str, scale: int, principal: Principal, params: Params
    ) -> PlanKey | None:
        """The request's key, taken before it is planned; None: not to be kept (or the cache is off)."""
        if self.size <= 0:
            return None
        values = _params_key(params)
        rules = _rules_key(catalog)
        if values is None or rules is None:
            return None
        request = (sql, pushdown, scale, principal, values, rules, keys_digest())
        return PlanKey(request, catalog.generation)

    def get(self, key: PlanKey | None) -> Plan | None:
        """A copy of the plan kept under ``key``, or None."""
        if key is None:
            return None
        with self._lock:
            kept = self._plans.get(key)
            if kept is None:
                self.misses += 1
                return None
            self._plans.move_to_end(key)
            self.hits += 1
        return _copy(kept, reused=True)

    def put(self, key: PlanKey | None, plan: Plan, catalog: Catalog) -> None:
        """Keep ``plan``, made for ``key``, unless the catalog changed while it was made."""
        if key is None or plan.disclosure is not None or catalog.problems():
            return
        if key.generation != catalog.generation:
            return  # statistics changed (or the catalog closed) meanwhile: the plan may predate them
        with self._lock:
            self._plans[key] = _copy(plan, reused=False)
            self._plans.move_to_end(key)
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()

    def __len__(self) -> int:
        return len(self._plans)


def clear_all() -> None:
    """Forget every kept plan of the process: for whoever changes the planner's own constants at run
    time (the test suite does, per test); a plan depends on them, and they are not in its key."""
    for cache in list(_CACHES):
        cache.clear()


def _params_key(params: Params) -> Hashable | None:
    """The parameter values as a hashable key (type names included: 1, 1.0 and True differ), or None
    where a value is not of a plain type."""
    if params is None:
        return ()
    items: list[tuple[Any, ...]]
    if isinstance(params, dict):
        items = [(k, *(_value_key(v))) for k, v in params.items()]
    elif isinstance(params, (list, tuple)):
        items = [_value_key(v) for v in params]
    else:
        return None
    if any(item[-1] is None for item in items) or sum(len(item[-1]) for item in items) > MAX_PARAMS_TEXT:
        return None
    return (type(params).__name__, tuple(items))


def _value_key(value: Any) -> tuple[str, str | None]:
    if not isinstance(value, _PLAIN):
        return (type(value).__name__, None)
    return (type(value).__name__, repr(value))


def _rules_key(catalog: Catalog) -> tuple[tuple[str, int, int], ...] | None:
    """Each rules file's modification time and size; None where one cannot be read (planning says why)."""
    stamps = []
    for department in catalog.config.departments.values():
        if department.rules is None:
            continue
        try:
            stamps.append((str(department.rules), *file_stamp(department.rules)))
        except OSError:
            return None
    return tuple(stamps)


def _copy(plan: Plan, *, reused: bool) -> Plan:
    """The plan with lists of its own and no run's figures (fragments are immutable, shared)."""
    return dataclasses.replace(
        plan,
        fragments=list(plan.fragments),
        notes=list(plan.notes),
        output_names=list(plan.output_names),
        actuals={},
        result_rows=None,
        execution_seconds=None,
        rules_applied=list(plan.rules_applied),
        local_relations=dict(plan.local_relations),
        verbose=False,
        unanalyzed=list(plan.unanalyzed),
        output_rules=list(plan.output_rules),
        reused=reused,
    )
