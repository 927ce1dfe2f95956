"""Statistics (from sources, cached, refreshed by analyze), estimates, and EXPLAIN ANALYZE."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import fedquery
from benchmarks import tpch_data
from fedquery.cli import main
from tests.conftest import assert_same_rows


@pytest.fixture()
def fed(tpch_config: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    federation = fedquery.connect(tpch_config)
    federation.config.settings = type(federation.config.settings)(cache_directory=str(tmp_path / "cache"))
    yield federation
    federation.close()


def test_parquet_footers_give_min_max_and_nulls(fed, oracle) -> None:  # type: ignore[no-untyped-def]
    (entry,) = fed.statistics("catalogue.part")
    assert entry.method == "source"
    stats = entry.stats
    expected = oracle.sql(
        "SELECT count(*), min(p_partkey), max(p_partkey), min(p_size), max(p_size) FROM part"
    ).fetchall()[0]
    assert (stats.row_count, stats.columns["p_partkey"].min, stats.columns["p_partkey"].max) == expected[:3]
    assert (stats.columns["p_size"].min, stats.columns["p_size"].max) == expected[3:]
    assert stats.columns["p_partkey"].null_count == 0


def test_analyze_computes_exact_statistics_and_caches_them(fed, oracle, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    entries = fed.analyze("sales.orders")
    assert [e.table for e in entries] == ["sales.orders"]
    stats = entries[0].stats
    count, custs, low, high, nulls = oracle.sql(
        "SELECT count(*), count(DISTINCT o_custkey), min(o_orderdate), max(o_orderdate), "
        "count(*) - count(o_comment) FROM orders"
    ).fetchall()[0]
    assert stats.row_count == count
    assert stats.columns["o_custkey"].distinct == custs
    assert (stats.columns["o_orderdate"].min, stats.columns["o_orderdate"].max) == (low, high)
    assert stats.columns["o_comment"].null_count == nulls
    # Kept on disk: a new federation over the same catalog plans with them without asking the source.
    cached = json.loads(next((tmp_path / "cache").glob("statistics-*.json")).read_text())
    assert cached["tables"]["sales.orders"]["method"] == "analyze"
    again = fedquery.connect(fed.config.path)
    again.config.settings = fed.config.settings
    (entry,) = again.statistics("sales.orders")
    assert entry.method == "analyze" and entry.stats.columns["o_orderdate"].min == dt.date(1992, 1, 1)
    again.close()


def test_analyze_of_a_department_and_of_everything(fed) -> None:  # type: ignore[no-untyped-def]
    assert {e.table for e in fed.analyze("crm")} == {"crm.customer", "crm.nation", "crm.region"}
    assert len(fed.analyze()) == 8


def test_analyze_of_an_unknown_table_names_it(fed) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(fedquery.UnknownTableError, match="Did you mean 'sales.orders'"):
        fed.analyze("sales.order")
    with pytest.raises(fedquery.UnknownDepartmentError):
        fed.analyze("nosuch")


def test_estimates_follow_the_statistics(fed, oracle) -> None:  # type: ignore[no-untyped-def]
    fed.analyze("sales.orders")
    sql = "SELECT o_orderkey FROM orders WHERE o_orderdate < DATE '1993-06-01' AND o_orderpriority = '1-URGENT'"
    fragment = fed.explain(tpch_data.federate(sql)).fragments[0]
    actual = oracle.sql(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    assert fragment.estimated_rows is not None and actual / 2 <= fragment.estimated_rows <= actual * 2
    assert fragment.estimated_bytes == fragment.estimated_rows * 8
    outside = fed.explain(tpch_data.federate("SELECT o_orderkey FROM orders WHERE o_orderdate > DATE '2030-01-01'"))
    assert outside.fragments[0].estimated_rows == 1  # beyond max(o_orderdate)


def test_a_range_on_one_column_is_estimated_as_one_range(fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Two bounds on one column are a range (not independent filters), and constant date arithmetic counts.
    fed.analyze("sales.orders")
    sql = (
        "SELECT o_orderkey FROM orders WHERE o_orderdate >= DATE '1993-10-01' "
        "AND o_orderdate < DATE '1993-10-01' + INTERVAL '3' MONTH"
    )
    fragment = fed.explain(tpch_data.federate(sql)).fragments[0]
    actual = oracle.sql(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    assert fragment.estimated_rows is not None and actual / 2 <= fragment.estimated_rows <= actual * 2


def test_plan_hash_ignores_estimates(fed) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(3))
    plan = fed.explain(sql)
    before = plan.hash
    plan.fragments = [  # fragments are values: new ones with other estimates
        f.evolve(estimated_rows=(f.estimated_rows or 0) * 7 + 1, estimated_bytes=None) for f in plan.fragments
    ]
    assert plan.hash == before  # estimates differ, the plan does not
    plan.fragments[0] = plan.fragments[0].evolve(sql=plan.fragments[0].sql + " ")
    assert plan.hash != before
    assert fed.explain(sql).hash == before  # planned again: the same


def test_explain_analyze_reports_actuals(fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(3))
    plan = fed.explain(sql, analyze=True)
    assert plan.result_rows == len(oracle.sql(tpch_data.query(3)).fetchall())
    record = plan.to_dict()
    assert record["execution_seconds"] > 0
    actual = {f["name"]: f["actual"] for f in record["fragments"]}
    assert all(a["rows"] >= 0 and a["bytes"] >= 0 for a in actual.values())
    text = str(plan)
    assert "actual:" in text and "estimated:" in text and "result:" in text


def test_cli_analyze_and_explain_analyze(tpch_config: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    out = runner.invoke(main, ["-c", str(tpch_config), "analyze", "crm.nation", "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert {r["column"] for r in rows} == {"n_nationkey", "n_name", "n_regionkey", "n_comment"}
    assert all(r["rows"] == 25 and r["method"] == "analyze" for r in rows)
    shown = runner.invoke(main, ["-c", str(tpch_config), "analyze", "--show", "crm.nation", "--format", "csv"], env=env)
    assert shown.exit_code == 0 and "analyze" in shown.output
    bad = runner.invoke(main, ["-c", str(tpch_config), "analyze", "crm.nations"], env=env)
    assert bad.exit_code == 1 and "Did you mean 'crm.nation'" in bad.output and "Traceback" not in bad.output
    sql = tpch_data.federate(tpch_data.query(3))
    explained = runner.invoke(main, ["-c", str(tpch_config), "explain", "--analyze", sql], env=env)
    assert explained.exit_code == 0, explained.output
    assert "actual:" in explained.output and "result: 10 rows" in explained.output


def test_answers_do_not_depend_on_statistics(fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # The same queries before and after analyze (plans may change, answers may not).
    numbers = (3, 5, 7, 10, 18, 21)
    for number in numbers:
        assert_same_rows(
            fed.sql(tpch_data.federate(tpch_data.query(number))).fetchall(),
            oracle.sql(tpch_data.query(number)).fetchall(),
        )
    fed.analyze()
    for number in numbers:
        assert_same_rows(
            fed.sql(tpch_data.federate(tpch_data.query(number))).fetchall(),
            oracle.sql(tpch_data.query(number)).fetchall(),
        )


def test_large_csv_row_counts_are_sampled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.csv as csv_connector

    data = tmp_path / "big.csv"
    data.write_text("id,name\n" + "".join(f"{i},name-{i:06d}\n" for i in range(200_000)))
    monkeypatch.setattr(csv_connector, "COUNT_LIMIT_BYTES", 1024)  # "large": sample instead of counting
    monkeypatch.setattr(csv_connector, "SAMPLE_BYTES", 64 * 1024)
    with fedquery.connect({"departments": {"d": {"sources": {"big": {"kind": "csv", "url": str(data)}}}}}) as fed:
        table = fed.catalog.resolve(["d", "big"])
        estimate = table.connector.statistics(table.info).row_count
        assert estimate is not None and 170_000 <= estimate <= 230_000  # early ids are shorter


@pytest.mark.parametrize(
    ("having", "low", "high"),
    [
        ("count(*) > 5", 1 / 3, 3),  # 1..7 lines an order: about 2 orders in 7 keep more than 5
        ("sum(l_quantity) > 300", 0, 1e3),  # almost none: the estimate stays near its floor
        ("max(l_quantity) >= 49", 1 / 3, 3),
    ],
)
def test_having_is_estimated_from_the_column_and_the_group_size(fed, oracle, having, low, high) -> None:  # type: ignore[no-untyped-def]
    fed.analyze("sales.lineitem")
    sql = f"SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING {having}"
    fragment = fed.explain(tpch_data.federate(sql)).fragments[0]
    actual = max(1, oracle.sql(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])
    assert fragment.estimated_rows is not None and actual * low <= fragment.estimated_rows <= actual * high, (
        fragment.estimated_rows,
        actual,
    )
