"""Filters with subqueries go to the source of the tables they read, with the scan or join they filter."""

from __future__ import annotations

import pytest

from benchmarks import tpch_data
from tests.conftest import assert_same_rows


def _run(fed, sql: str, strategy: str = "auto"):  # type: ignore[no-untyped-def]
    result = fed.sql(sql, pushdown=strategy)
    rows = result.fetchall()
    return rows, sum(s.rows for s in result.stats)


@pytest.mark.parametrize(("number", "marker"), [(18, " IN (SELECT"), (21, "NOT EXISTS(SELECT 1")])
def test_subquery_filter_runs_inside_the_source(number: int, marker: str, tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(number))
    plan = tpch_fed.explain(sql, pushdown="full")
    sales = next(f for f in plan.fragments if f.department == "sales")
    assert marker in sales.sql, str(plan)
    assert "subquery" in sales.pushed or "EXISTS" in sales.sql
    assert "__fq_f" not in sales.sql  # the subquery reads the source's own tables
    expected = oracle.sql(tpch_data.query(number)).fetchall()
    full_rows, full_moved = _run(tpch_fed, sql, "full")
    filters_rows, filters_moved = _run(tpch_fed, sql, "filters")
    assert_same_rows(full_rows, expected, ordered=True)
    assert_same_rows(filters_rows, expected, ordered=True)
    assert full_moved * 10 < filters_moved  # the subquery's table no longer crosses the wire


def test_subquery_over_another_source_stays_local(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT c_nationkey, count(*) AS n FROM customer "
        "WHERE c_acctbal > 0 AND NOT EXISTS (SELECT * FROM orders WHERE o_custkey = c_custkey) "
        "GROUP BY c_nationkey ORDER BY c_nationkey"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    crm = next(f for f in plan.fragments if f.department == "crm")
    assert "EXISTS" not in crm.sql and "orders" not in crm.sql
    assert any("of another source" in n for n in plan.notes), plan.notes
    assert_same_rows(tpch_fed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall(), ordered=True)


def test_correlation_to_another_source_stays_local(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q17: the subquery reads lineitem (sales) but is correlated to part (catalogue).
    # Under full it stays local as written; auto decorrelates it into a grouped derived table that
    # sales computes itself (GROUP BY the correlation key), joined locally.
    sql = tpch_data.federate(tpch_data.query(17))
    plan = tpch_fed.explain(sql, pushdown="full")
    assert all("AVG" not in f.sql for f in plan.fragments if f.department == "sales"), str(plan)
    assert_same_rows(tpch_fed.sql(sql, pushdown="full").fetchall(), oracle.sql(tpch_data.query(17)).fetchall())
    auto = tpch_fed.explain(sql)
    grouped = [f for f in auto.fragments if f.department == "sales" and "AVG" in f.sql]
    assert grouped and 'GROUP BY "lineitem"."l_partkey"' in grouped[0].sql, str(auto)
    assert_same_rows(tpch_fed.sql(sql).fetchall(), oracle.sql(tpch_data.query(17)).fetchall())


def test_shadowed_aliases_keep_their_meaning(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # The subquery's ``o`` is its own orders, not the outer one; ``l`` is correlated to the outer lineitem.
    sql = (
        "SELECT c.c_mktsegment, count(*) AS n, sum(o.o_totalprice) AS total "
        "FROM orders o JOIN customer c ON c.c_custkey = o.o_custkey "
        "WHERE o.o_totalprice > (SELECT avg(o.o_totalprice) FROM orders o WHERE o.o_orderstatus = 'F') "
        "AND EXISTS (SELECT 1 FROM lineitem o WHERE o.l_orderkey = o_orderkey AND o.l_quantity > 45) "
        "GROUP BY c.c_mktsegment ORDER BY c.c_mktsegment"
    )
    federated = tpch_data.federate(sql)
    plan = tpch_fed.explain(federated)
    sales = next(f for f in plan.fragments if f.department == "sales")
    assert "AVG" in sales.sql and "EXISTS" in sales.sql, str(plan)
    assert_same_rows(tpch_fed.sql(federated).fetchall(), oracle.sql(sql).fetchall(), ordered=True)


def test_exists_with_an_aggregate_keeps_its_projection(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # EXISTS (SELECT count(*) ...) is always true: its projection must not be replaced by 1.
    sql = (
        "SELECT count(*) FROM orders o WHERE EXISTS "
        "(SELECT count(*) FROM lineitem l WHERE l.l_orderkey = o.o_orderkey AND l.l_quantity > 1000)"
    )
    federated = tpch_data.federate(sql)
    assert tpch_fed.sql(federated).fetchall() == oracle.sql(sql).fetchall() == [(15000,)]
