"""Correlated scalar aggregate subqueries become grouped derived tables (auto) only where that is exact."""

from __future__ import annotations

import pytest

from benchmarks import tpch_data
from tests.conftest import assert_same_rows


def _decorrelated(plan) -> bool:  # type: ignore[no-untyped-def]
    return '"_dv"' in plan.local_sql or any('"_dv"' in f.sql for f in plan.fragments)


@pytest.mark.usefixtures("reductions_at_any_size")
def test_q20_subquery_is_grouped_by_both_keys_in_the_source(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(20))
    plan = tpch_fed.explain(sql)
    grouped = next(f for f in plan.fragments if f.department == "sales")
    assert "SUM(" in grouped.sql and '"lineitem"."l_partkey", "lineitem"."l_suppkey"' in grouped.sql, str(plan)
    assert grouped.reducers  # and only the keys of the candidate parts are asked for
    result = tpch_fed.sql(sql)
    assert_same_rows(result.fetchall(), oracle.sql(tpch_data.query(20)).fetchall(), ordered=True)
    assert not _decorrelated(tpch_fed.explain(sql, pushdown="full"))


@pytest.mark.parametrize(
    "sql",
    [
        # COUNT is 0, not NULL, over no rows: customers without orders must stay.
        "SELECT count(*) FROM customer c WHERE (SELECT count(*) FROM orders o WHERE o.o_custkey = c.c_custkey) = 0",
        # Not an equality correlation.
        "SELECT count(*) FROM part p WHERE p.p_retailprice > "
        "(SELECT avg(ps_supplycost) FROM partsupp WHERE ps_partkey > p.p_partkey AND ps_partkey < p.p_partkey + 3)",
        # Inside OR: a missing group must not drop the row.
        "SELECT count(*) FROM part p WHERE p.p_size = 1 OR "
        "p.p_retailprice < (SELECT min(ps_supplycost) FROM partsupp WHERE ps_partkey = p.p_partkey)",
        # Columns outside the aggregate.
        "SELECT count(*) FROM orders o WHERE o.o_totalprice < "
        "(SELECT max(l_extendedprice) + o.o_totalprice FROM lineitem WHERE l_orderkey = o.o_orderkey)",
    ],
)
def test_not_decorrelated_where_it_would_change_the_answer(sql: str, tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    plan = tpch_fed.explain(tpch_data.federate(sql))
    assert not _decorrelated(plan), str(plan)
    assert tpch_fed.sql(tpch_data.federate(sql)).fetchall() == oracle.sql(sql).fetchall()


def test_decorrelated_answer_keeps_null_semantics(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Customers without orders have no group: their AVG is NULL, the comparison not true, the row gone.
    sql = (
        "SELECT c_mktsegment, count(*) FROM customer c WHERE c.c_acctbal * 10 > "
        "(SELECT avg(o.o_totalprice) FROM orders o WHERE o.o_custkey = c.c_custkey AND o.o_orderstatus = 'O') "
        "GROUP BY c_mktsegment ORDER BY 1"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    assert _decorrelated(plan), str(plan)
    assert_same_rows(tpch_fed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall(), ordered=True)
