"""The planner: a tuple of passes over sqlglot trees, each ``pass(expression, *, context)``.

parse -> validate -> bind -> pseudonymise -> disclosure -> normalise -> bound_builders -> decorrelate -> derive_filters
-> place -> split -> boundary_pseudonyms -> render. Callers can pass their own tuple of passes to :func:`plan`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.deep import deep_call
from fedquery.errors import PlanError
from fedquery.planner.bind import bind
from fedquery.planner.bound_builders import bound_builders
from fedquery.planner.boundary_pseudonyms import boundary_pseudonyms
from fedquery.planner.context import PlanContext
from fedquery.planner.decorrelate import decorrelate
from fedquery.planner.derive_filters import derive_filters
from fedquery.planner.disclosure import HIDDEN, disclosure
from fedquery.planner.normalise import normalise
from fedquery.planner.parse import parse
from fedquery.planner.place import place
from fedquery.planner.plan import Plan
from fedquery.planner.pseudonymise import pseudonymise
from fedquery.planner.render import render
from fedquery.planner.split import split
from fedquery.planner.validate import validate

if TYPE_CHECKING:
    from fedquery.catalog import Catalog
    from fedquery.principal import Principal

Pass = Callable[..., exp.Expr]
PASSES: tuple[Pass, ...] = (
    validate,
    bind,
    pseudonymise,
    disclosure,
    normalise,
    bound_builders,
    decorrelate,
    derive_filters,
    place,
    split,
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
) -> Plan:
    """Plan ``sql`` over ``catalog`` for ``principal``; on a thread with room for deep queries (see fedquery.deep)."""
    return deep_call(_plan, sql, catalog, passes, pushdown=pushdown, top_n_scale=top_n_scale, principal=principal)


def _plan(
    sql: str, catalog: Catalog, passes: Sequence[Pass], *, pushdown: str, top_n_scale: int, principal: Principal | None
) -> Plan:
    if pushdown not in STRATEGIES:
        raise PlanError(f"unknown pushdown strategy {pushdown!r}; choose one of {', '.join(STRATEGIES)}")
    started = time.perf_counter()
    context = PlanContext(catalog=catalog, sql=sql, pushdown=pushdown, top_n_scale=top_n_scale, principal=principal)
    expression = parse(sql, context=context)
    for step in passes:
        expression = step(expression, context=context)
    local_sql = expression.sql(dialect="duckdb")
    return Plan(
        sql=sql,
        fragments=context.fragments,
        local_sql=local_sql,
        notes=context.notes,
        output_names=[n for n in context.output_names if not n.startswith(HIDDEN)],  # disclosure's own columns
        planning_seconds=time.perf_counter() - started,
        pushdown=pushdown,
        output_rules=context.output_rules,
        disclosure=context.disclosure,
    )


__all__ = ["PASSES", "STRATEGIES", "Plan", "PlanContext", "plan"]
