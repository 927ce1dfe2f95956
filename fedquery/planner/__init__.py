"""The planner: a tuple of passes over sqlglot trees, each ``pass(expression, *, context)``.

parse -> (parameters) -> introspect -> validate -> bind -> enforce (access rules) -> pseudonymise -> disclosure
-> normalise -> prune_views -> bound_builders -> decorrelate -> derive_filters -> place -> split
-> distinct_keys -> semijoin -> partial_aggregate -> top_n -> parallel (the cost passes: strategy ``auto``)
-> boundary_pseudonyms -> render.

Passes never edit a fragment: they put a new value of it in the plan (``PlanContext.evolve``); what
EXPLAIN prints and the hash names is what runs. Callers can pass their own tuple of passes to :func:`plan`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.deep import deep_call
from fedquery.errors import PlanError

# The cost passes' modules stay reachable by their names (tests tune their constants): the passes are
# taken from them, not imported over them.
from fedquery.planner import distinct_keys as _distinct_keys
from fedquery.planner import parallel as _parallel
from fedquery.planner import partial_aggregate as _partial_aggregate
from fedquery.planner import semijoin as _semijoin
from fedquery.planner import top_n as _top_n
from fedquery.planner.bind import bind
from fedquery.planner.bound_builders import bound_builders
from fedquery.planner.boundary_pseudonyms import boundary_pseudonyms
from fedquery.planner.context import PlanContext
from fedquery.planner.decorrelate import decorrelate
from fedquery.planner.derive_filters import derive_filters
from fedquery.planner.disclosure import HIDDEN, disclosure
from fedquery.planner.introspect import introspect
from fedquery.planner.normalise import normalise
from fedquery.planner.parameters import Params, bind_parameters
from fedquery.planner.parse import parse
from fedquery.planner.place import place
from fedquery.planner.plan import Plan
from fedquery.planner.pseudonymise import pseudonymise
from fedquery.planner.render import render
from fedquery.planner.split import split
from fedquery.planner.validate import validate
from fedquery.policy.enforce import enforce, hide_estimates, prune_views

if TYPE_CHECKING:
    from fedquery.catalog import Catalog
    from fedquery.principal import Principal

Pass = Callable[..., exp.Expr]
PASSES: tuple[Pass, ...] = (
    introspect,
    validate,
    bind,
    enforce,
    pseudonymise,
    disclosure,
    normalise,
    prune_views,
    bound_builders,
    decorrelate,
    derive_filters,
    place,
    split,
    _distinct_keys.distinct_keys,
    _semijoin.semijoin,
    _partial_aggregate.partial_aggregate,
    _top_n.top_n,
    _parallel.parallel,
    boundary_pseudonyms,
    render,
)


STRATEGIES = ("none", "filters", "full", "auto")


def plan(
    sql: str,
    catalog: Catalog,
    passes: Sequence[Pass] = PASSES,
    *,
    pushdown: str = "auto",
    top_n_scale: int = 1,
    principal: Principal | None = None,
    params: Params = None,
) -> Plan:
    """Plan ``sql`` over ``catalog`` as ``principal`` (default: the environment's, see
    :mod:`fedquery.principal`); on a thread with room for deep queries (see :mod:`fedquery.deep`).

    ``params`` are bound into the parsed tree as literals before any pass (see parameters.py)."""
    return deep_call(
        _plan, sql, catalog, passes, pushdown=pushdown, top_n_scale=top_n_scale, principal=principal, params=params
    )


def _plan(
    sql: str,
    catalog: Catalog,
    passes: Sequence[Pass],
    *,
    pushdown: str,
    top_n_scale: int,
    principal: Principal | None,
    params: Params,
) -> Plan:
    if pushdown not in STRATEGIES:
        raise PlanError(f"unknown pushdown strategy {pushdown!r}; choose one of {', '.join(STRATEGIES)}")
    started = time.perf_counter()
    context = PlanContext(catalog=catalog, sql=sql, pushdown=pushdown, top_n_scale=top_n_scale, principal=principal)
    expression = bind_parameters(parse(sql, context=context), params)
    for step in passes:
        expression = step(expression, context=context)
    local_sql = expression.sql(dialect="duckdb")
    if any(a.filter is not None or a.masks for a in context.accesses.values()):
        hide_estimates(context)
    return Plan(
        sql=sql,
        fragments=context.fragments,
        local_sql=local_sql,
        notes=context.notes,
        output_names=[n for n in context.output_names if not n.startswith(HIDDEN)],  # disclosure's own columns
        planning_seconds=time.perf_counter() - started,
        pushdown=pushdown,
        rules_applied=list(context.rules_applied),
        local_relations=context.local_relations,
        unanalyzed=_unanalyzed(context) if context.fragments else [],
        output_rules=context.output_rules,
        disclosure=context.disclosure,
    )


def _unanalyzed(context: PlanContext) -> list[str]:
    """The plan's catalog tables without analyze statistics (their estimates use default selectivities)."""
    store = context.catalog.statistics
    names = {t.sql_name for t in context.tables.values() if not store.analyzed(t)}
    return sorted(names)


__all__ = ["PASSES", "STRATEGIES", "Plan", "PlanContext", "plan"]
