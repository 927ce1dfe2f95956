"""The harness's SF 0.01 smoke run, for correctness only (no timing assertions): every strategy, the peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import report, tpch, tpch_data


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory, tpch_dir: Path, pg_schema: str, mysql_database: str):  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("bench")
    (data / "sf0.01").mkdir()
    (data / "sf0.01" / "parquet").symlink_to(tpch_dir)  # the suite's data, generated once
    queries = tpch._queries("all")  # the 22 TPC-H queries and our cross-department ones
    return tpch.run(0.01, list(tpch.STRATEGIES), 1, queries, data_dir=data, names=(pg_schema, mysql_database))


def test_every_strategy_answers_every_query_correctly(smoke) -> None:  # type: ignore[no-untyped-def]
    for strategy in ("local", *tpch.STRATEGIES):
        rows = [r for r in smoke["results"] if r["strategy"] == strategy]
        assert len(rows) == 22 + len(tpch_data.department_queries()) and len(tpch_data.department_queries()) >= 4
        wrong = [(r["query"], r.get("error")) for r in rows if not r["correct"]]
        assert not wrong, (strategy, wrong)
    fed_rows = [r for r in smoke["results"] if r["strategy"] in tpch.STRATEGIES]
    assert all(r["rows_moved"] >= 0 and r["plan_hash"] and r["by_source"] for r in fed_rows)
    by = {(r["query"], r["strategy"]): r for r in fed_rows}
    ids = tpch._queries("all")
    assert sum(by[(q, "none")]["rows_moved"] for q in ids) > sum(by[(q, "full")]["rows_moved"] for q in ids)


def test_the_peer_ran_or_says_why_not(smoke) -> None:  # type: ignore[no-untyped-def]
    peer_rows = [r for r in smoke["results"] if r["strategy"] == "duckdb_scanners"]
    if peer_rows:
        assert len(peer_rows) == len(tpch._queries("all"))
        assert all(r["correct"] for r in peer_rows), [r for r in peer_rows if not r["correct"]]
    else:
        assert smoke["peer"]["note"].startswith("skipped: cannot install"), smoke["peer"]


def test_reports(smoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = report.markdown(smoke)
    assert "| Q22 |" in text and "| dept/top_customers_1997 |" in text and "geomean × local" in text
    assert "**WRONG**" not in text and "geomean × duckdb_scanners" in text
    pytest.importorskip("matplotlib")
    assert report.chart(smoke, tmp_path / "chart.png") and (tmp_path / "chart.png").stat().st_size > 10_000
    later = json.loads(json.dumps(smoke))
    later["results"][30]["plan_hash"] = "different"
    diff = report.compare(smoke, later)
    assert "1 plan(s) changed" in diff and "| changed |" in diff


def test_split_file(tmp_path: Path) -> None:
    good = tmp_path / "split.toml"
    good.write_text(
        "[tables]\n"
        + "\n".join(f'{t} = {{ department = "d{i}", kind = "parquet" }}' for i, t in enumerate(tpch_data.TABLES))
    )
    assert tpch_data.read_split(good)["orders"] == ("d3", "parquet")
    bad = tmp_path / "bad.toml"
    bad.write_text('[tables]\norders = { department = "sales", kind = "postgres" }\n')
    with pytest.raises(ValueError, match="does not place"):
        tpch_data.read_split(bad)
