"""All 22 TPC-H queries over four source kinds equal one DuckDB holding everything."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from benchmarks import tpch_data
from tests.conftest import assert_same_rows


@pytest.mark.parametrize("strategy", ["auto", "full", "filters", "none"])
@pytest.mark.parametrize("number", range(1, 23))
def test_tpch_query_matches_oracle(number: int, strategy: str, tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.query(number)
    result = tpch_fed.sql(tpch_data.federate(sql), pushdown=strategy)
    got = result.fetchall()
    expected = oracle.sql(sql).fetchall()
    # The TPC-H ORDER BYs are total at the validation parameters: the sequence must match too.
    ordered = sqlglot.parse_one(sql, dialect="duckdb").args.get("order") is not None
    assert_same_rows(got, expected, ordered=ordered)
    assert result.stats, "at least one fragment ran"
    assert all(s.finished for s in result.stats)


def _fragment_tables(plan) -> list[set[str]]:  # type: ignore[no-untyped-def]
    return [set(f.tables) for f in plan.fragments]


@pytest.mark.parametrize("number", [3, 5, 10, 18])
def test_same_source_joins_are_pushed(number: int, tpch_fed) -> None:  # type: ignore[no-untyped-def]
    plan = tpch_fed.explain(tpch_data.federate(tpch_data.query(number)))
    tables = _fragment_tables(plan)
    assert {"sales.orders", "sales.lineitem"} in tables, str(plan)
    sales = next(f for f in plan.fragments if set(f.tables) == {"sales.orders", "sales.lineitem"})
    assert "join" in sales.pushed
    assert '"orders"' in sales.sql and '"lineitem"' in sales.sql
    if number in (5, 10):
        assert any({"crm.customer", "crm.nation"} <= t for t in tables), str(plan)
    assert "sales.orders" in str(plan) and "remote SQL" in str(plan)


def test_single_source_query_is_sent_whole(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT o_orderpriority, count(*) AS n FROM orders JOIN lineitem ON l_orderkey = o_orderkey "
        "WHERE l_shipmode = 'MAIL' GROUP BY o_orderpriority HAVING count(*) > 10 ORDER BY n DESC LIMIT 3"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    assert len(plan.fragments) == 1
    fragment = plan.fragments[0]
    assert {"join", "aggregate", "order", "limit"} <= set(fragment.pushed)
    assert plan.local_sql.startswith("SELECT") and "__fq_f0" in plan.local_sql and "JOIN" not in plan.local_sql
    assert_same_rows(tpch_fed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall(), ordered=True)


def test_whole_query_to_sqlite_keeps_duckdb_null_order(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # SQLite sorts NULLs first; DuckDB last. The pushed ORDER BY must say which.
    sql = (
        "SELECT c_custkey, CASE WHEN c_nationkey > 20 THEN NULL ELSE c_nationkey END AS k "
        "FROM customer ORDER BY k DESC, c_custkey LIMIT 20"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    assert len(plan.fragments) == 1 and plan.fragments[0].dialect == "sqlite"
    assert "IS NULL" in plan.fragments[0].sql
    assert tpch_fed.sql(tpch_data.federate(sql)).fetchall() == oracle.sql(sql).fetchall()


def test_sqlite_decimal_arithmetic_is_not_pushed(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # SQLite stores DECIMAL as binary floating point: 0.06 + 0.01 <> 0.07 there.
    sql = (
        "SELECT count(*) FROM customer WHERE c_acctbal BETWEEN 0.06 - 0.01 AND 0.06 + 0.01 OR c_acctbal > 9999.0 - 0.01"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    for fragment in plan.fragments:
        assert "0.06 + 0.01" not in fragment.sql
    assert any("DECIMAL arithmetic" in n for n in plan.notes)
    assert tpch_fed.sql(tpch_data.federate(sql)).fetchall() == oracle.sql(sql).fetchall()


def test_union_of_sources_and_cte_reused(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "WITH big AS (SELECT o_custkey AS k, o_totalprice AS v FROM orders WHERE o_totalprice > 400000) "
        "SELECT 'order' AS what, count(*) AS n FROM big "
        "UNION ALL SELECT 'supplier', count(*) FROM supplier WHERE s_acctbal > (SELECT avg(v) / 100 FROM big) "
        "UNION ALL SELECT 'part', count(*) FROM part WHERE p_size > 40"
    )
    assert_same_rows(tpch_fed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall())


def test_federate_helper_rewrites_names_as_a_tree() -> None:
    sql = tpch_data.federate("SELECT l.l_orderkey FROM lineitem l, nation WHERE n_name = 'lineitem'")
    tables = {t.sql() for t in sqlglot.parse_one(sql).find_all(exp.Table)}
    assert tables == {"sales.lineitem AS l", "crm.nation AS nation"}
    assert "'lineitem'" in sql


def test_strategies_move_less_data_as_they_push_more(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(3))
    moved = {}
    for strategy in ("none", "filters", "full"):
        result = tpch_fed.sql(sql, pushdown=strategy)
        result.fetchall()
        moved[strategy] = sum(s.rows for s in result.stats)
        assert tpch_fed.explain(sql, pushdown=strategy).to_dict()["pushdown"] == strategy
    assert moved["none"] > moved["filters"] > moved["full"]
    none_plan = tpch_fed.explain(sql, pushdown="none")
    assert all("WHERE" not in f.sql for f in none_plan.fragments)  # whole tables
    assert all(len(f.tables) == 1 for f in tpch_fed.explain(sql, pushdown="filters").fragments)  # no joins sent


def test_unknown_strategy(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    import fedquery

    with pytest.raises(fedquery.PlanError, match="unknown pushdown strategy 'most'"):
        tpch_fed.sql("SELECT 1", pushdown="most")
