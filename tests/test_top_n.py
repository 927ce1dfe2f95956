"""Top-N through cross-source joins (strategy auto): the driver sends its first rows only, the
answer is checked at run time and never cut short."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import fedquery
from benchmarks import tpch_data
from fedquery.planner import top_n
from tests.conftest import assert_same_rows


@pytest.fixture(autouse=True)
def _small_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test data is SF 0.01: its fragments are far below the size where top-N pays on its own.
    monkeypatch.setattr(top_n, "MIN_DRIVER_ROWS", 0)


def _run(fed: fedquery.Federation, sql: str, strategy: str = "auto") -> tuple[list, int, fedquery.Plan]:  # type: ignore[type-arg]
    result = fed.sql(sql, pushdown=strategy)
    rows = result.fetchall()
    return rows, sum(s.rows for s in result.stats), result.plan


def _driver(plan: fedquery.Plan):  # type: ignore[no-untyped-def]
    return next((f for f in plan.fragments if f.top_n is not None), None)


@pytest.mark.parametrize("number", [3, 10])
def test_tpch_top_n_moves_a_few_rows(number: int, analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    """Q3 (customer is a filter) and Q10 (customer a lookup) group by keys the sources enforce."""
    sql = tpch_data.federate(tpch_data.query(number))
    rows, moved, plan = _run(analyzed, sql)
    driver = _driver(plan)
    assert driver is not None and driver.department == "sales", str(plan)
    assert "top-N" in driver.pushed and "ORDER BY" in driver.sql and "LIMIT" in driver.sql
    assert driver.to_dict()["top_n"]["limit"] == driver.top_n.limit
    others = [f for f in plan.fragments if f is not driver]
    assert all(f.reducers and f.reducers[0][0] == driver.name for f in others), str(plan)
    expected = oracle.sql(tpch_data.query(number)).fetchall()
    assert_same_rows(rows, expected, ordered=True)
    full_rows, full_moved, _ = _run(analyzed, sql, "full")
    assert_same_rows(full_rows, expected, ordered=True)
    assert moved * 10 <= full_moved


def test_without_grouping_any_join_may_follow(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT o_orderkey, o_totalprice, c_name FROM {orders} o, {customer} c "
        "WHERE o.o_custkey = c.c_custkey AND c.c_mktsegment = 'BUILDING' "
        "ORDER BY o_totalprice DESC, o_orderkey LIMIT 10 OFFSET 3"
    )
    rows, _, plan = _run(analyzed, sql.format(orders="sales.orders", customer="crm.customer"))
    assert _driver(plan) is not None, str(plan)
    expected = oracle.sql(sql.format(orders="orders", customer="customer")).fetchall()
    assert len(expected) == 10
    assert_same_rows(rows, expected, ordered=True)


def test_ties_at_the_cut_are_not_lost(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # ~6 orders per date: the fetch ends inside a run of equal dates, whose rest it has not seen.
    sql = (
        "SELECT o_orderdate FROM {orders} o, {customer} c WHERE o.o_custkey = c.c_custkey "
        "AND c.c_mktsegment = 'MACHINERY' ORDER BY o_orderdate DESC LIMIT 23"
    )
    result = analyzed.sql(sql.format(orders="sales.orders", customer="crm.customer"))
    rows = result.fetchall()
    driver = _driver(result.plan)
    assert driver is not None, str(result.plan)
    fetched = next(s.rows for s in result.stats if s.fragment == driver.name)
    assert fetched == driver.top_n.limit  # the fetch was cut, inside a run of equal dates
    expected = oracle.sql(sql.format(orders="orders", customer="customer")).fetchall()
    assert rows == expected


def test_too_few_rows_run_again_with_more(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # The estimator guesses the expression filter keeps a quarter of the customers; it keeps ~1%,
    # so the first fetch gives too few rows and the query runs again, finally without top-N.
    sql = (
        "SELECT o_orderkey, o_totalprice FROM {orders} o, {customer} c WHERE o.o_custkey = c.c_custkey "
        "AND c.c_custkey % 97 = 0 ORDER BY o_totalprice DESC, o_orderkey LIMIT 10"
    )
    rows, moved, plan = _run(analyzed, sql.format(orders="sales.orders", customer="crm.customer"))
    assert_same_rows(rows, oracle.sql(sql.format(orders="orders", customer="customer")).fetchall(), ordered=True)
    assert any("this is attempt" in n for n in plan.notes), plan.notes
    result = analyzed.sql(sql.format(orders="sales.orders", customer="crm.customer"))
    result.fetchall()
    assert any("@1" in s.fragment for s in result.stats)  # the first attempt's rows are counted too


def test_not_applied_where_a_partner_may_repeat(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # supplier is a CSV file: no enforced key, so a supplier key could match several rows and a
    # group's SUM would not be its driver row's: no top-N (the answer is still right).
    sql = (
        "SELECT s_suppkey, s_name, sum(l_extendedprice) AS revenue FROM {lineitem}, {supplier} "
        "WHERE l_suppkey = s_suppkey GROUP BY s_suppkey, s_name ORDER BY revenue DESC LIMIT 5"
    )
    rows, _, plan = _run(analyzed, sql.format(lineitem="sales.lineitem", supplier="suppliers.supplier"))
    assert _driver(plan) is None, str(plan)
    assert_same_rows(rows, oracle.sql(sql.format(lineitem="lineitem", supplier="supplier")).fetchall(), ordered=True)


def test_text_sort_keys_are_not_pushed(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT o_clerk, o_orderkey FROM {orders} o, {customer} c WHERE o.o_custkey = c.c_custkey "
        "ORDER BY o_clerk, o_orderkey LIMIT 5"
    )
    rows, _, plan = _run(analyzed, sql.format(orders="sales.orders", customer="crm.customer"))
    assert _driver(plan) is None and any("not numbers or dates" in n for n in plan.notes), str(plan)
    assert_same_rows(rows, oracle.sql(sql.format(orders="orders", customer="customer")).fetchall(), ordered=True)


@pytest.fixture(scope="module")
def nulls_fed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB file whose sort key is mostly NULL, and a CSV of tags."""
    root = tmp_path_factory.mktemp("topn")
    con = duckdb.connect(str(root / "scores.duckdb"))
    con.execute("CREATE TABLE score (id INTEGER PRIMARY KEY, v DECIMAL(10, 2))")
    con.execute("INSERT INTO score SELECT i, CASE WHEN i % 400 = 0 THEN i / 4 END FROM range(1, 2001) t(i)")
    con.close()
    (root / "tags.csv").write_text("id,tag\n" + "".join(f"{i},t{i % 7}\n" for i in range(1, 2001)))
    (root / "fedquery.toml").write_text(
        f"""
[departments.scores.sources.db]
kind = "duckdb"
path = "{root / "scores.duckdb"}"

[departments.tags.sources.files]
kind = "csv"
url = "{root / "tags.csv"}"
"""
    )
    return root


def test_null_sort_keys_fall_back_to_the_whole_driver(nulls_fed: Path) -> None:
    fed = fedquery.connect(nulls_fed / "fedquery.toml")
    sql = (
        "SELECT s.v, s.id FROM scores.score s, tags.files t WHERE s.id = t.id AND t.tag <> 't3' "
        "ORDER BY s.v DESC, s.id LIMIT 8"
    )
    rows, _, plan = _run(fed, sql)
    oracle = duckdb.connect()
    oracle.execute(f"ATTACH '{nulls_fed / 'scores.duckdb'}' AS s (READ_ONLY)")
    expected = oracle.sql(
        f"SELECT s.v, s.id FROM s.score s, read_csv('{nulls_fed / 'tags.csv'}') t "
        "WHERE s.id = t.id AND t.tag <> 't3' ORDER BY s.v DESC, s.id LIMIT 8"
    ).fetchall()
    assert rows == expected and expected[-1][0] is None
    assert any("without top-N" in n for n in plan.notes), plan.notes
    fed.close()


def test_bad_limits_are_left_alone(analyzed) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT o_totalprice FROM sales.orders o, crm.customer c WHERE o.o_custkey = c.c_custkey "
        "ORDER BY 1 DESC LIMIT 0"
    )
    rows, _, plan = _run(analyzed, sql)
    assert rows == [] and _driver(plan) is None


def test_top_n_from_the_command_line(tpch_config: Path, oracle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from fedquery.cli import main

    # The same federation with its own statistics cache, analyzed from the command line.
    text = tpch_config.read_text()
    assert "[settings]" not in text
    config = tpch_config.parent / f"analyzed-{tmp_path.name}.toml"
    config.write_text(f'[settings]\ncache_directory = "{tmp_path}"\n\n' + text)
    assert CliRunner().invoke(main, ["-c", str(config), "analyze"]).exit_code == 0
    tpch_config = config
    sql = (
        "SELECT o_orderkey, o_totalprice FROM sales.orders o, crm.customer c WHERE o.o_custkey = c.c_custkey "
        "AND c.c_mktsegment = 'BUILDING' ORDER BY o_totalprice DESC, o_orderkey LIMIT 5"
    )
    result = CliRunner().invoke(main, ["-c", str(tpch_config), "explain", "--analyze", sql])
    assert result.exit_code == 0, result.output
    pushed = [line for line in result.output.splitlines() if line.strip().startswith("pushed:")]
    assert any(line.endswith("top-N") for line in pushed) and " LIMIT 50" in result.output, result.output
    assert "top-N: __fq_f" in result.output
    result = CliRunner().invoke(main, ["-c", str(tpch_config), "query", "--format", "csv", sql])
    expected = oracle.sql(sql.replace("sales.", "").replace("crm.", "")).fetchall()
    assert result.output.splitlines()[1:] == [f"{k},{p}" for k, p in expected]
