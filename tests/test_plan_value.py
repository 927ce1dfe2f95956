"""A plan is a value: passes make new fragments, the executor never edits one, and what EXPLAIN prints,
``to_dict()`` serialises and the hash names is exactly what ran (issue 12).

Run-time reductions are data (``FragmentStats.reductions``) rendered in one place
(``fedquery.planner.render.reduced``): the SQL each fragment ran is the plan's fragment plus them.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

import pytest
import sqlglot

import fedquery
from benchmarks import tpch_data
from fedquery.planner import PASSES, plan
from fedquery.planner.render import reduced
from fedquery.pseudonym import redact_keys
from tests.conftest import PG_DSN, assert_same_rows, mysql_url, own_schema_and_database

COST_PASSES = ["distinct_keys", "semijoin", "partial_aggregate", "top_n", "parallel"]


def _ran_as_planned(fed: fedquery.Federation, sql: str, oracle: Any, expected_sql: str) -> Any:
    """Explain ``sql``, run it, and check the result's plan is the explained one, unchanged by running, and
    that every fragment ran as the plan's value plus its run-time reductions render. The result's stats."""
    explained = fed.explain(sql)
    result = fed.sql(sql)
    before = result.plan.to_dict()
    rows = result.fetchall()
    ordered = sqlglot.parse_one(expected_sql, dialect="duckdb").args.get("order") is not None
    assert_same_rows(rows, oracle.sql(expected_sql).fetchall(), ordered=ordered)
    assert not any("attempt" in n for n in result.plan.notes), "a top-N retry: the result's plan is a re-plan"
    assert result.plan.hash == explained.hash, f"{explained}\n---- after running ----\n{result.plan}"
    assert result.plan.to_dict() == before  # running edited nothing the plan serialises
    fragments = {f.name: f for f in result.plan.fragments}
    for stats in result.stats:
        fragment = fragments[stats.fragment]
        connector = fed.catalog.connector(fragment.department, fragment.source)
        assert stats.sql == redact_keys(reduced(fragment, stats.reductions, connector).sql)
        assert bool(stats.reductions) == bool(fragment.reducers) or not stats.finished
    return result.stats


def test_a_fragment_is_frozen(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    fragment = tpch_fed.explain(tpch_data.federate(tpch_data.query(7))).fragments[0]
    with pytest.raises(FrozenInstanceError):
        fragment.sql = "SELECT 1"  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        fragment.reducers = ()  # type: ignore[misc]
    assert all(isinstance(getattr(fragment, k), tuple) for k in ("tables", "pushed", "reducers", "output_aliases"))
    changed = fragment.evolve(sql="SELECT 1")
    assert changed.sql == "SELECT 1" and fragment.sql != "SELECT 1" and changed.name == fragment.name


@pytest.mark.usefixtures("reductions_at_any_size")
def test_the_cost_steps_are_listed_passes(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    names = [p.__name__ for p in PASSES]
    after_split = names.index("split") + 1
    assert names[after_split : after_split + len(COST_PASSES)] == COST_PASSES
    assert names.index("render") > after_split + len(COST_PASSES)
    # split itself makes no cost-based choice: without the cost passes there are no reductions and no
    # DISTINCT-for-existence, with them there are (TPC-H Q7 and Q22 under auto).
    without = tuple(p for p in PASSES if p.__name__ not in COST_PASSES)
    for number, made in ((7, lambda f: bool(f.reducers)), (22, lambda f: "distinct" in f.pushed)):
        sql = tpch_data.federate(tpch_data.query(number))
        assert any(made(f) for f in plan(sql, tpch_fed.catalog).fragments)
        assert not any(made(f) for f in plan(sql, tpch_fed.catalog, without).fragments)


@pytest.mark.usefixtures("reductions_at_any_size")
def test_running_q7_leaves_its_plan_as_explained(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q7 was the query whose hash changed by running: the executor edited the reduced fragments' trees.
    sql = tpch_data.federate(tpch_data.query(7))
    stats = _ran_as_planned(tpch_fed, sql, oracle, tpch_data.query(7))
    reduced_stats = [s for s in stats if s.reduced_keys]
    assert reduced_stats, "Q7 is reduced at run time"
    plan_sql = {f.name: f.sql for f in tpch_fed.explain(sql).fragments}
    for s in reduced_stats:
        assert s.sql != redact_keys(plan_sql[s.fragment])  # what ran carries the keys ...
        assert " IN (" in s.sql and " IN (" not in plan_sql[s.fragment]  # ... the plan's value does not
        assert all(r.keys is not None and not r.abandoned for r in s.reductions)


@pytest.mark.usefixtures("reductions_at_any_size")
@pytest.mark.parametrize("number", range(1, 23))
def test_tpch_plan_hash_is_what_ran(number: int, tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    _ran_as_planned(tpch_fed, tpch_data.federate(tpch_data.query(number)), oracle, tpch_data.query(number))


@pytest.fixture(scope="module")
def servers_fed(tpch_dir, tmp_path_factory):  # type: ignore[no-untyped-def]
    """TPC-H over PostgreSQL, MariaDB, Parquet and CSV (keys reach the servers as SQL)."""
    with own_schema_and_database("fq_planvalue") as name:
        config = tpch_data.build_federation(
            tpch_dir,
            tmp_path_factory.mktemp("planvalue"),
            split=tpch_data.DATABASE_SPLIT,
            servers={"postgres": (PG_DSN, name), "mysql": (mysql_url(name), name)},
        )
        fed = fedquery.connect(config)
        yield fed
        fed.close()


@pytest.mark.usefixtures("reductions_at_any_size")
@pytest.mark.parametrize("number", range(1, 23))
def test_tpch_over_servers_plan_hash_is_what_ran(number: int, servers_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(number), tpch_data.DATABASE_SPLIT)
    _ran_as_planned(servers_fed, sql, oracle, tpch_data.query(number))
