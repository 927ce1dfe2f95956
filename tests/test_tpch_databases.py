"""TPC-H with orders/lineitem in PostgreSQL, customer/nation/region in MariaDB, part/partsupp in Parquet
and supplier in CSV: every answer equals one DuckDB holding everything."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

import fedquery
from benchmarks import tpch_data
from tests.conftest import PG_DSN, assert_same_rows, mysql_url

SPLIT = tpch_data.DATABASE_SPLIT


@pytest.fixture(scope="module")
def db_fed(tpch_dir: Path, tmp_path_factory: pytest.TempPathFactory, pg_schema: str, mysql_database: str):  # type: ignore[no-untyped-def]
    config = tpch_data.build_federation(
        tpch_dir,
        tmp_path_factory.mktemp("dbfed"),
        split=SPLIT,
        servers={"postgres": (PG_DSN, pg_schema), "mysql": (mysql_url(mysql_database), mysql_database)},
    )
    fed = fedquery.connect(config)
    yield fed
    fed.close()


@pytest.mark.parametrize("strategy", ["auto", "full", "filters", "none"])
@pytest.mark.parametrize("number", range(1, 23))
def test_tpch_over_database_servers(number: int, strategy: str, db_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.query(number)
    got = db_fed.sql(tpch_data.federate(sql, SPLIT), pushdown=strategy).fetchall()
    expected = oracle.sql(sql).fetchall()
    ordered = sqlglot.parse_one(sql, dialect="duckdb").args.get("order") is not None
    assert_same_rows(got, expected, ordered=ordered)


@pytest.mark.parametrize("number", [3, 5, 10])
def test_joins_run_inside_each_database(number: int, db_fed) -> None:  # type: ignore[no-untyped-def]
    plan = db_fed.explain(tpch_data.federate(tpch_data.query(number), SPLIT))
    by_tables = {frozenset(f.tables): f for f in plan.fragments}
    sales = by_tables[frozenset({"sales.orders", "sales.lineitem"})]
    assert sales.kind == "postgres" and "join" in sales.pushed and " FROM " in sales.sql
    if number in (5, 10):
        crm = next(f for f in plan.fragments if {"crm.customer", "crm.nation"} <= set(f.tables))
        assert crm.kind == "mysql" and "join" in crm.pushed
    text = str(plan)
    assert "remote SQL" in text and '"orders"' in text


def test_types_round_trip(db_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    table = db_fed.sql("SELECT * FROM sales.orders LIMIT 5").arrow()
    assert str(table.schema.field("o_totalprice").type) == "decimal128(15, 2)"
    assert str(table.schema.field("o_orderdate").type) == "date32[day]"
    assert table.schema.field("o_orderstatus").type == "string"
    customers = db_fed.sql("SELECT c_mktsegment, c_acctbal FROM crm.customer ORDER BY c_custkey LIMIT 3").fetchall()
    expected = oracle.sql("SELECT c_mktsegment, c_acctbal FROM customer ORDER BY c_custkey LIMIT 3").fetchall()
    assert customers == expected  # CHAR(10) comes back unpadded, DECIMAL exact


@pytest.mark.parametrize(("number", "marker"), [(18, " IN (SELECT"), (21, "NOT EXISTS")])
def test_subquery_filters_run_inside_postgres(number: int, marker: str, db_fed) -> None:  # type: ignore[no-untyped-def]
    plan = db_fed.explain(tpch_data.federate(tpch_data.query(number), SPLIT))
    sales = next(f for f in plan.fragments if f.kind == "postgres")
    assert marker in sales.sql and "join" in sales.pushed, str(plan)


@pytest.fixture(scope="module")
def db_analyzed(db_fed, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    fed = fedquery.connect(db_fed.config.path)
    fed.config.settings = type(fed.config.settings)(cache_directory=str(tmp_path_factory.mktemp("dbstats")))
    fed.analyze()
    yield fed
    fed.close()


@pytest.mark.parametrize("number", [3, 10])
def test_top_n_driven_by_postgresql(number: int, db_analyzed, oracle, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Top-N through the cross-source join: PostgreSQL sends its first rows (ORDER BY ... LIMIT in its
    dialect, NULLS LAST), MariaDB then only the customers they name; keys are the servers' own."""
    from fedquery.planner import top_n

    monkeypatch.setattr(top_n, "MIN_DRIVER_ROWS", 0)  # SF 0.01 is far below where it pays on its own
    sql = tpch_data.query(number)
    result = db_analyzed.sql(tpch_data.federate(sql, SPLIT))
    got = result.fetchall()
    assert_same_rows(got, oracle.sql(sql).fetchall(), ordered=True)
    driver = next((f for f in result.plan.fragments if f.top_n is not None), None)
    assert driver is not None and driver.kind == "postgres", str(result.plan)
    assert " LIMIT " in driver.sql and "DESC NULLS LAST" in driver.sql
    crm = next(f for f in result.plan.fragments if f.department == "crm")
    assert crm.reducers and crm.reducers[0][0] == driver.name


def test_keys_reach_postgresql_as_one_array(db_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q3: the BUILDING customers' keys filter PostgreSQL's orders as one BIGINT[] literal, which it
    # parses far faster than an IN-list of as many items; the answer is the same.
    sql = tpch_data.query(3)
    result = db_fed.sql(tpch_data.federate(sql, SPLIT))
    rows = result.fetchall()
    sales = next(s for s in result.stats if s.department == "sales")
    assert sales.reduced_keys and '"o_custkey" = ANY(CAST(\'{' in sales.sql and "AS BIGINT[])" in sales.sql
    assert_same_rows(rows, oracle.sql(sql).fetchall(), ordered=True)


def test_mariadb_joins_only_where_they_remove_rows(db_analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    """MariaDB joins row by row: customer ⋈ nation (Q10) removes no customer, so the two are read apart
    and DuckDB joins them; Q5's customer ⋈ nation ⋈ region WHERE r_name = 'ASIA' keeps a fifth of the
    customers, so MariaDB joins it. The answers are the oracle's either way, and under full (no cost
    model) the join is pushed as before."""
    q10 = tpch_data.federate(tpch_data.query(10), SPLIT)
    plan = db_analyzed.explain(q10)
    crm = [f for f in plan.fragments if f.department == "crm"]
    assert len(crm) == 2 and all(len(f.tables) == 1 for f in crm), str(plan)
    assert any("mysql joins row by row" in n for n in plan.notes), plan.notes
    full = db_analyzed.explain(q10, pushdown="full")
    assert any({"crm.customer", "crm.nation"} <= set(f.tables) for f in full.fragments)
    assert_same_rows(db_analyzed.sql(q10).fetchall(), oracle.sql(tpch_data.query(10)).fetchall(), ordered=True)
    q5 = tpch_data.federate(tpch_data.query(5), SPLIT)
    plan = db_analyzed.explain(q5)
    assert any({"crm.customer", "crm.nation", "crm.region"} <= set(f.tables) for f in plan.fragments), str(plan)
    assert_same_rows(db_analyzed.sql(q5).fetchall(), oracle.sql(tpch_data.query(5)).fetchall(), ordered=True)


def test_postgresql_groups_only_where_it_saves_more_than_it_costs(db_analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL's hash aggregate costs about what sending 24 bytes of a row does: Q13's orders grouped by
    o_custkey (two BIGINTs a row, a tenth as many groups) are sent as rows; the same grouping with a
    NUMERIC and a date beside them is done at the server. Both answers are the oracle's."""
    q13 = tpch_data.query(13)
    result = db_analyzed.sql(tpch_data.federate(q13, SPLIT))
    assert_same_rows(result.fetchall(), oracle.sql(q13).fetchall(), ordered=True)
    (orders,) = [f for f in result.plan.fragments if f.department == "sales"]
    assert "partial aggregate" not in orders.pushed, str(result.plan)
    wide = (
        "SELECT c.c_mktsegment, count(*) AS n, sum(o.o_totalprice) AS total, min(o.o_orderdate) AS first "
        "FROM {orders} o JOIN {customer} c ON c.c_custkey = o.o_custkey GROUP BY 1 ORDER BY 1"
    )
    federated = wide.format(orders="sales.orders", customer="crm.customer")
    result = db_analyzed.sql(federated)
    assert_same_rows(
        result.fetchall(), oracle.sql(wide.format(orders="orders", customer="customer")).fetchall(), ordered=True
    )
    (orders,) = [f for f in result.plan.fragments if f.department == "sales"]
    assert "partial aggregate" in orders.pushed, str(result.plan)


def test_a_grouping_that_removes_few_rows_is_done_locally(db_analyzed, oracle, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL's hash aggregate costs more than sending the rows it groups: a query of PostgreSQL alone
    whose GROUP BY keeps (nearly) every row is not sent whole, its table is read and DuckDB groups it; one
    that groups into four rows is sent whole. Both answers are the oracle's."""
    import importlib

    split = importlib.import_module("fedquery.planner.split")  # the module, not the pass of that name
    monkeypatch.setattr(split, "GROUPING_MIN_ROWS", 0)  # SF 0.01: far below where the difference shows
    each_line = "SELECT l_orderkey, l_linenumber, sum(l_quantity) AS q FROM {l} GROUP BY 1, 2 ORDER BY 1, 2"
    by_flag = "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS q FROM {l} GROUP BY 1, 2 ORDER BY 1, 2"
    for sql, whole in ((each_line, False), (by_flag, True)):
        federated = sql.format(l="sales.lineitem")  # PostgreSQL in this split
        plan = db_analyzed.explain(federated)
        (fragment,) = plan.fragments
        assert ("GROUP BY" in fragment.sql) is whole, str(plan)
        if not whole:
            assert any("costs more there than sending the rows" in n for n in plan.notes), plan.notes
        expected = oracle.sql(sql.format(l="lineitem")).fetchall()
        assert_same_rows(db_analyzed.sql(federated).fetchall(), expected, ordered=True)
