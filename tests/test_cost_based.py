"""Cost-based choices of strategy auto: partial aggregation and derived filters. Same answers, less data."""

from __future__ import annotations

import pytest

import fedquery
from benchmarks import tpch_data
from tests.conftest import assert_same_rows

#: the reduction mechanism on SF 0.01 files, below the sizes where waiting for keys pays (see conftest)
pytestmark = pytest.mark.usefixtures("reductions_at_any_size")
#: partial aggregation into the fixture's DuckDB file at the fractions a server takes
groups_anywhere = pytest.mark.usefixtures("duckdb_file_groups_like_a_server")


def _moved(fed: fedquery.Federation, sql: str, strategy: str, department: str) -> tuple[list, int]:  # type: ignore[type-arg]
    result = fed.sql(sql, pushdown=strategy)
    rows = result.fetchall()
    return rows, sum(s.rows for s in result.stats if s.department == department)


@groups_anywhere
@pytest.mark.parametrize("number", [10, 13])
def test_partial_aggregation_below_the_join(number: int, analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(number))
    plan = analyzed.explain(sql)
    sales = next(f for f in plan.fragments if f.department == "sales")
    assert "partial aggregate" in sales.pushed and "GROUP BY" in sales.sql, str(plan)
    assert any(n.startswith("partial aggregation") for n in plan.notes)
    expected = oracle.sql(tpch_data.query(number)).fetchall()
    auto_rows, auto_moved = _moved(analyzed, sql, "auto", "sales")
    full_rows, full_moved = _moved(analyzed, sql, "full", "sales")
    assert_same_rows(auto_rows, expected, ordered=True)
    assert_same_rows(full_rows, expected, ordered=True)
    assert auto_moved * 2 < full_moved


def test_having_estimate_makes_the_subquery_side_the_producer(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    """Q18: ``IN (... GROUP BY l_orderkey HAVING sum(l_quantity) > 300)`` keeps few orders (a group of ~4
    lines of quantity 1..50 rarely sums past 300), so the sales fragment is small and its customer keys
    reduce the customer scan, instead of customer being read whole."""
    sql = tpch_data.federate(tpch_data.query(18))
    plan = analyzed.explain(sql)
    sales = next(f for f in plan.fragments if f.department == "sales")
    crm = next(f for f in plan.fragments if f.department == "crm")
    assert sales.estimated_rows is not None and sales.estimated_rows < 50_000, str(plan)
    assert [p for p, _, _ in crm.reducers] == [sales.name], str(plan)
    expected = oracle.sql(tpch_data.query(18)).fetchall()
    auto_rows, auto_moved = _moved(analyzed, sql, "auto", "crm")
    full_rows, full_moved = _moved(analyzed, sql, "full", "crm")
    assert_same_rows(auto_rows, expected, ordered=True)
    assert_same_rows(full_rows, expected, ordered=True)
    assert auto_moved * 10 < full_moved


@groups_anywhere
def test_partial_counts_over_no_rows_are_zero(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT count(*) AS n, count(l_quantity) AS q, sum(l_quantity) AS s, min(l_shipdate) AS first, "
        "max(c_name) AS who FROM customer, orders, lineitem "
        "WHERE c_custkey = o_custkey AND o_orderkey = l_orderkey AND o_comment LIKE '%no such comment%'"
    )
    plan = analyzed.explain(tpch_data.federate(sql))
    assert any("partial aggregate" in f.pushed for f in plan.fragments), str(plan)
    got = analyzed.sql(tpch_data.federate(sql)).fetchall()
    assert got == oracle.sql(sql).fetchall() == [(0, 0, None, None, None)]


@groups_anywhere
def test_partial_counts_and_extremes(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT c_mktsegment, count(*) AS lines, count(DISTINCT c_custkey) AS customers, sum(l_quantity) AS qty, "
        "min(l_shipdate) AS first, max(l_receiptdate) AS last, max(c_acctbal) AS richest "
        "FROM customer, orders, lineitem WHERE c_custkey = o_custkey AND o_orderkey = l_orderkey "
        "AND o_orderdate < DATE '1993-01-01' GROUP BY c_mktsegment HAVING sum(l_quantity) > 10 ORDER BY c_mktsegment"
    )
    plan = analyzed.explain(tpch_data.federate(sql))
    assert any("partial aggregate" in f.pushed for f in plan.fragments), str(plan)
    assert_same_rows(analyzed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall(), ordered=True)


@groups_anywhere
def test_no_partial_aggregation_where_it_would_change_the_answer(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # SUM over customer columns would count each customer once per pre-aggregated group; AVG is not split.
    for sql in (
        "SELECT o_orderpriority, sum(c_acctbal) FROM customer, orders WHERE c_custkey = o_custkey "
        "GROUP BY o_orderpriority ORDER BY 1",
        "SELECT c_mktsegment, avg(o_totalprice) FROM customer, orders WHERE c_custkey = o_custkey "
        "GROUP BY c_mktsegment ORDER BY 1",
        "SELECT c_mktsegment, sum(o_totalprice * c_acctbal) FROM customer, orders WHERE c_custkey = o_custkey "
        "GROUP BY c_mktsegment ORDER BY 1",
    ):
        plan = analyzed.explain(tpch_data.federate(sql))
        assert not any("partial aggregate" in f.pushed for f in plan.fragments), str(plan)
        assert_same_rows(analyzed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall(), ordered=True)


def test_filters_derived_from_a_disjunction(tpch_fed, analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(19))
    plan = tpch_fed.explain(sql, pushdown="filters")
    part = next(f for f in plan.fragments if f.tables == ("catalogue.part",))
    lineitem = next(f for f in plan.fragments if f.tables == ("sales.lineitem",))
    assert "Brand#12" in part.sql and "Brand#34" in part.sql
    assert "DELIVER IN PERSON" in lineitem.sql and "Brand" not in lineitem.sql
    expected = oracle.sql(tpch_data.query(19)).fetchall()
    assert_same_rows(tpch_fed.sql(sql, pushdown="filters").fetchall(), expected)
    result = analyzed.sql(sql)
    assert_same_rows(result.fetchall(), expected)
    lines = next(s for s in result.stats if s.department == "sales")
    assert lines.reduced_keys  # the few matching parts reduce lineitem (auto)


def test_no_filter_is_derived_for_a_table_one_branch_leaves_free(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT count(*) FROM part, partsupp, supplier WHERE p_partkey = ps_partkey AND ps_suppkey = s_suppkey "
        "AND ((p_size = 1 AND s_acctbal > 5000) OR (p_size = 2))"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    supplier = next(f for f in plan.fragments if f.tables == ("suppliers.supplier",))
    part = next(f for f in plan.fragments if "catalogue.part" in f.tables)  # joined to partsupp in its source
    assert "WHERE" not in supplier.sql and "p_size" in part.sql
    assert tpch_fed.sql(tpch_data.federate(sql)).fetchall() == oracle.sql(sql).fetchall()


def test_existence_subqueries_read_distinct_keys(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(22))
    plan = tpch_fed.explain(sql)
    orders = next(f for f in plan.fragments if f.tables == ("sales.orders",))
    assert orders.sql.startswith("SELECT DISTINCT") and "distinct" in orders.pushed, str(plan)
    result = tpch_fed.sql(sql)
    assert_same_rows(result.fetchall(), oracle.sql(tpch_data.query(22)).fetchall(), ordered=True)
    moved = next(s.rows for s in result.stats if s.fragment == orders.name)
    assert moved == oracle.sql("SELECT count(DISTINCT o_custkey) FROM orders").fetchall()[0][0]


def test_no_distinct_where_the_subquery_counts(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT count(*) FROM customer c WHERE EXISTS (SELECT o_custkey FROM orders o "
        "WHERE o.o_custkey = c.c_custkey GROUP BY o_custkey HAVING count(*) > 15)"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    assert not any("distinct" in f.pushed for f in plan.fragments), str(plan)
    assert tpch_fed.sql(tpch_data.federate(sql)).fetchall() == oracle.sql(sql).fetchall()


def test_tables_of_one_file_source_are_joined_inside_it(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q16: part and partsupp are both Parquet files of catalogue: their own DuckDB joins them and filters
    # the parts there (before local file sources answered fragments, the parts' keys reduced partsupp).
    sql = tpch_data.federate(tpch_data.query(16))
    plan = analyzed.explain(sql)
    joined = next(f for f in plan.fragments if "catalogue.partsupp" in f.tables)
    assert sorted(joined.tables) == ["catalogue.part", "catalogue.partsupp"], str(plan)
    result = analyzed.sql(sql)
    assert_same_rows(result.fetchall(), oracle.sql(tpch_data.query(16)).fetchall(), ordered=True)
    stats = next(s for s in result.stats if s.fragment == joined.name)
    assert stats.rows < oracle.sql("SELECT count(*) FROM partsupp").fetchall()[0][0] / 2


@groups_anywhere
def test_partial_aggregation_on_the_null_extended_side(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q13: customer LEFT JOIN orders, COUNT(o_orderkey) per customer: orders is grouped by o_custkey first.
    sql = tpch_data.federate(tpch_data.query(13))
    plan = analyzed.explain(sql)
    orders = next(f for f in plan.fragments if f.tables == ("sales.orders",))
    assert "partial aggregate" in orders.pushed, str(plan)
    assert_same_rows(analyzed.sql(sql).fetchall(), oracle.sql(tpch_data.query(13)).fetchall(), ordered=True)
    # COUNT(*) counts a customer without orders once: no partial aggregation may hide that.
    star = (
        "SELECT c_mktsegment, count(*) AS n, count(o_orderkey) AS orders FROM customer LEFT JOIN orders "
        "ON c_custkey = o_custkey AND o_orderpriority = '1-URGENT' GROUP BY c_mktsegment ORDER BY 1"
    )
    plan = analyzed.explain(tpch_data.federate(star))
    assert not any("partial aggregate" in f.pushed for f in plan.fragments), str(plan)
    assert_same_rows(analyzed.sql(tpch_data.federate(star)).fetchall(), oracle.sql(star).fetchall(), ordered=True)


def test_transitive_equalities_join_inside_the_source(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q5 links customer to nation only through supplier (c_nationkey = s_nationkey = n_nationkey):
    # the implied c_nationkey = n_nationkey lets crm join them itself instead of a cross product.
    sql = tpch_data.federate(tpch_data.query(5))
    plan = tpch_fed.explain(sql)
    crm = next(f for f in plan.fragments if f.department == "crm")
    assert {"crm.customer", "crm.nation", "crm.region"} <= set(crm.tables)
    assert '"customer"."c_nationkey" = "nation"."n_nationkey"' in crm.sql, str(plan)
    assert_same_rows(tpch_fed.sql(sql).fetchall(), oracle.sql(tpch_data.query(5)).fetchall(), ordered=True)


def test_a_source_is_never_sent_a_cross_product(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT r_name, count(*) FROM nation, region, supplier "
        "WHERE n_nationkey = s_nationkey AND r_regionkey = s_suppkey % 5 GROUP BY r_name ORDER BY r_name"
    )
    plan = tpch_fed.explain(tpch_data.federate(sql))
    crm = [f for f in plan.fragments if f.department == "crm"]
    assert len(crm) == 2 and all(len(f.tables) == 1 for f in crm), str(plan)
    assert tpch_fed.sql(tpch_data.federate(sql)).fetchall() == oracle.sql(sql).fetchall()


def test_an_expanding_join_is_pulled_apart(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # orders and lineitem share a source, but joined on dates (many to many) they would send ~20x
    # their own rows: the cost model reads them apart and DuckDB joins them.
    sql = (
        "SELECT count(*) AS n, sum(l.l_quantity) AS q FROM {orders} o, {lineitem} l, {customer} c "
        "WHERE o.o_orderdate = l.l_shipdate AND o.o_custkey = c.c_custkey AND c.c_mktsegment = 'BUILDING'"
    )
    federated = sql.format(orders="sales.orders", lineitem="sales.lineitem", customer="crm.customer")
    plan = analyzed.explain(federated)
    assert any(n.startswith("join of") and "cost: the join would send" in n for n in plan.notes), plan.notes
    assert sorted(len(f.tables) for f in plan.fragments if f.department == "sales") == [1, 1], str(plan)
    expected = oracle.sql(sql.format(orders="orders", lineitem="lineitem", customer="customer")).fetchall()
    auto_rows, auto_moved = _moved(analyzed, federated, "auto", "sales")
    full_rows, full_moved = _moved(analyzed, federated, "full", "sales")
    assert auto_rows == full_rows == expected
    assert auto_moved * 5 < full_moved


def test_a_duckdb_file_joins_and_groups_only_where_it_sends_far_less(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A DuckDB file answers with the local step's own engine: a join that only adds a text column to
    every sale is read apart (it would send more than its tables), one that keeps a thirtieth of the
    sales is pushed; under ``full`` both are pushed. It pre-aggregates only where that removes nine rows
    in ten. Every answer is the oracle's."""
    import duckdb

    database = tmp_path / "web.duckdb"
    con = duckdb.connect(str(database))
    con.execute(
        "CREATE TABLE sales AS SELECT i AS id, 1 + i % 30 AS site_sk, i % 365 AS day, (i * 7919) % 1000 AS amount "
        "FROM range(60000) t(i)"
    )
    con.execute("CREATE TABLE site AS SELECT i AS site_sk, 'site number ' || i AS site_name FROM range(1, 31) t(i)")
    con.close()
    days = tmp_path / "calendar"
    days.mkdir()
    duckdb.sql(f"COPY (SELECT i AS day, i // 30 AS month FROM range(365) t(i)) TO '{days / 'days.parquet'}'")
    fed = fedquery.connect(
        {
            "departments": {
                "web": {"sources": {"db": {"kind": "duckdb", "url": str(database)}}},
                "cal": {"sources": {"files": {"kind": "parquet", "url": str(days)}}},
            }
        }
    )
    fed.analyze()
    oracle = duckdb.connect()
    oracle.execute(f"ATTACH '{database}' AS web (READ_ONLY)")
    oracle.execute(f"CREATE VIEW days AS SELECT * FROM read_parquet('{days / 'days.parquet'}')")
    widening = (
        "SELECT t.site_name, d.month, sum(s.amount) AS total FROM web.sales s, web.site t, {days} d "
        "WHERE s.site_sk = t.site_sk AND s.day = d.day GROUP BY ALL ORDER BY ALL"
    )
    filtering = widening.replace("GROUP BY", "AND t.site_name = 'site number 7' GROUP BY")
    for sql, pushed in ((widening, False), (filtering, True)):
        federated = sql.format(days="cal.days")
        plan = fed.explain(federated)
        web = [f for f in plan.fragments if f.department == "web"]
        assert (len(web) == 1) is pushed, str(plan)
        if not pushed:
            assert any("joins no faster than the local step" in n for n in plan.notes), plan.notes
        full = fed.explain(federated, pushdown="full")
        assert len([f for f in full.fragments if f.department == "web"]) == 1, str(full)
        expected = oracle.sql(sql.format(days="days").replace("web.", "web.main.")).fetchall()
        assert fed.sql(federated).fetchall() == expected
        assert fed.sql(federated, pushdown="full").fetchall() == expected
    # Pre-aggregation there only where it removes nine rows in ten: 365 days of 60,000 sales, yes;
    # days x sites (~10,900 groups expected, 0.18 of the rows), no (a server would: up to 0.7).
    by_day = (
        "SELECT d.month, sum(s.amount) AS total FROM web.sales s, {days} d WHERE s.day = d.day "
        "GROUP BY ALL ORDER BY ALL"
    )
    by_day_and_site = by_day.replace("d.month,", "d.month, s.site_sk,")
    for sql, grouped in ((by_day, True), (by_day_and_site, False)):
        plan = fed.explain(sql.format(days="cal.days"))
        (web,) = [f for f in plan.fragments if f.department == "web"]
        assert ("partial aggregate" in web.pushed) is grouped, str(plan)
        expected = oracle.sql(sql.format(days="days").replace("web.", "web.main.")).fetchall()
        assert fed.sql(sql.format(days="cal.days")).fetchall() == expected
    fed.close()


def test_an_anti_join_is_estimated_by_its_unmatched_rows(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    """``customer LEFT JOIN orders ... WHERE o_orderkey IS NULL`` keeps the customers without an order
    (a third of them in TPC-H), not the orders whose key is NULL (none); a LEFT JOIN keeps at least its
    left side. Estimates within 2x of the oracle's counts."""
    import sqlglot

    from fedquery.planner.context import PlanContext
    from fedquery.planner.estimate import estimate_query

    context = PlanContext(catalog=analyzed.catalog, sql="")
    context.tables.update(
        customer=analyzed.catalog.resolve(["crm", "customer"]), orders=analyzed.catalog.resolve(["sales", "orders"])
    )
    joined = "SELECT c.c_custkey FROM customer c LEFT JOIN orders o ON o.o_custkey = c.c_custkey"
    for sql in (joined + " WHERE o.o_orderkey IS NULL", joined + " WHERE NOT o.o_orderkey IS NULL", joined):
        estimate = estimate_query(sqlglot.parse_one(sql, read="duckdb"), context)
        ((actual,),) = oracle.sql(f"SELECT count(*) FROM ({sql})").fetchall()
        assert estimate is not None and actual / 2 <= estimate <= actual * 2, (sql, estimate, actual)
