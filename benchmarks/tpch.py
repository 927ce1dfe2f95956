"""The TPC-H harness: fedquery strategies against DuckDB holding everything, on data split across departments.

    python -m benchmarks.tpch --sf 1 --strategies none,filters,full,auto --runs 3
    python -m benchmarks.tpch --sf 0.01 --runs 1               # smoke: seconds
    python -m benchmarks.tpch --sf 1 --explain                  # also save each plan (JSON and an SVG picture)
    python -m benchmarks.tpch --sf 1 --split my-split.toml      # another assignment of tables
    python -m benchmarks.tpch compare results/a.json results/b.json

Data set-up is idempotent: tpchgen-cli writes Parquet once per scale factor; the
split (default: PostgreSQL orders/lineitem, MariaDB customer/nation/region, Parquet
part/partsupp, CSV supplier) is loaded with the servers' bulk paths into a schema /
database named after the scale factor, and skipped when already loaded.

Baselines in the same process: ``local`` (one in-memory DuckDB with all eight
tables: the floor) and, where it can be installed, ``duckdb_scanners`` (DuckDB's own
postgres/mysql/sqlite extensions in a separate virtual environment, interleaved with the strategies;
see peer.py). Every
answer is checked against ``local``; a wrong answer is reported as wrong, never timed
as if right. Outputs: JSON, a markdown table, and a PNG chart.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

import fedquery
from benchmarks import report, tpch_data

HERE = Path(__file__).parent
STRATEGIES = ("none", "filters", "full", "auto")
#: planning time is the median of this many plans of each query (statistics cached)
PLANNING_RUNS = 5
PG_DSN = os.environ.get("FEDQUERY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("FEDQUERY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


def scale_name(scale: float) -> str:
    return "tpch_sf" + f"{scale:g}".replace(".", "_")


def setup(
    scale: float,
    split: dict[str, tuple[str, str]],
    data_dir: Path,
    names: tuple[str, str] | None = None,
) -> Path:
    """Generate and load the data (idempotent); returns the federation's config path.

    ``names`` are the PostgreSQL schema and the MySQL database (default: named after the scale factor).
    """
    parquet = tpch_data.generate(scale, data_dir / f"sf{scale:g}" / "parquet")
    pg_schema, mysql_database = names or (scale_name(scale), scale_name(scale))
    base = MYSQL_URL.rsplit("/", 1)[0] if MYSQL_URL.count("/") > 2 else MYSQL_URL
    servers = {"postgres": (PG_DSN, pg_schema), "mysql": (f"{base}/{mysql_database}", mysql_database)}
    kinds = "-".join(sorted({kind for _, kind in split.values()}))
    return tpch_data.build_federation(parquet, data_dir / f"sf{scale:g}" / f"federation-{kinds}", split, servers)


def analyze(config: Path) -> float:
    """Statistics for the cost-based planner: ``fed.analyze()`` once per data set (cached), in seconds."""
    started = time.perf_counter()
    with fedquery.connect(config) as fed:
        if any(entry.method != "analyze" for entry in fed.statistics()):
            fed.analyze()
    return time.perf_counter() - started


def planning_seconds(fed: fedquery.Federation, sql: str, strategy: str) -> float:
    """Median seconds to plan ``sql`` (planned each time: the Federation's kept plans are not consulted)."""
    from fedquery.planner import plan

    return statistics.median(
        plan(sql, fed.catalog, pushdown=strategy, principal=fed.principal).planning_seconds
        for _ in range(PLANNING_RUNS)
    )


def _timed(fn: Any, runs: int) -> tuple[list[float], Any]:
    fn()  # warm-up
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return times, value


def run(
    scale: float,
    strategies: list[str],
    runs: int,
    queries: list[str],
    split: dict[str, tuple[str, str]] | None = None,
    *,
    data_dir: Path = HERE / "data",
    names: tuple[str, str] | None = None,
    explain: bool = False,
    peer: bool = True,
    analyze_tables: bool = True,
    plan_cache: int | None = None,
) -> dict[str, Any]:
    from tests.conftest import same_rows

    split = split or tpch_data.DATABASE_SPLIT
    started = time.perf_counter()
    config = setup(scale, split, data_dir, names)
    setup_seconds = time.perf_counter() - started
    analyze_seconds = analyze(config) if analyze_tables else 0.0
    parquet = data_dir / f"sf{scale:g}" / "parquet"
    local = tpch_data.oracle(parquet)
    results: list[dict[str, Any]] = []
    expected: dict[str, list[tuple[Any, ...]]] = {}
    for n in queries:
        sql = tpch_data.query(n)
        times, rows = _timed(lambda sql=sql: local.execute(sql).fetchall(), runs)
        expected[n] = rows
        results.append({"query": n, "strategy": "local", "correct": True, **_summary(times)})
    peak: dict[str, float] = {}
    peer_run = None
    if peer:
        from benchmarks import peer as peer_module

        peer_run = peer_module.start(split, config)
    peer_results: list[dict[str, Any]] = []
    with fedquery.connect(config) as fed:
        if plan_cache is not None:  # 0: every timed run plans again (the warm-up's plan is not reused)
            fed.plans.size = plan_cache
        # Query by query, every strategy in turn: a machine that slows down (or warms up) over a
        # long run then weighs on all strategies of a query alike, not on whichever ran last.
        for n in queries:
            for strategy in strategies:
                federated = tpch_data.federate(tpch_data.query(n), split)
                holder: dict[str, Any] = {}

                def once(federated: str = federated, strategy: str = strategy, holder: dict[str, Any] = holder) -> Any:
                    result = fed.sql(federated, pushdown=strategy)
                    rows = result.fetchall()
                    holder["stats"], holder["plan"] = result.stats, result.plan
                    return rows

                try:
                    times, rows = _timed(once, runs)
                except fedquery.FedQueryError as exc:
                    results.append({"query": n, "strategy": strategy, "correct": False, "error": str(exc)[:300]})
                    continue
                correct = same_rows(rows, expected[n])
                plan = holder["plan"]
                record: dict[str, Any] = {
                    "query": n,
                    "strategy": strategy,
                    "correct": correct,
                    **(_summary(times) if correct else {}),
                    "planning_s": planning_seconds(fed, federated, strategy),
                    "rows_moved": sum(s.rows for s in holder["stats"]),
                    "bytes_moved": sum(s.bytes for s in holder["stats"]),
                    "by_source": _by_source(holder["stats"]),
                    "plan_hash": plan.hash,
                }
                if explain:
                    record["plan"] = plan.to_dict()
                    # the picture of the plan with what each fragment moved in the last run (saved apart by main)
                    plan.actuals, plan.result_rows = {s.fragment: s for s in holder["stats"]}, len(rows)
                    record["plan_svg"] = plan.graph().svg()
                results.append(record)
            if peer_run is not None and not isinstance(peer_run, str):
                peer_results.append(peer_run.query(n, tpch_data.query(n), runs, expected[n]))
        peak["all strategies"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if peer_run is not None and not isinstance(peer_run, str):
        peer_run.close()
    results.extend(peer_results)
    peer_note = peer_run if isinstance(peer_run, str) else peer_run.note if peer_run is not None else None
    return {
        "scale_factor": scale,
        "runs": runs,
        "strategies": strategies,
        "split": {t: list(v) for t, v in split.items()},
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "versions": {"fedquery": fedquery.__version__, "duckdb": duckdb.__version__},
        "setup_seconds": setup_seconds,
        "analyze_seconds": analyze_seconds,
        "total_seconds": time.perf_counter() - started,
        "peak_rss_mb_after": peak,
        "peer": {"note": peer_note} if peer_note else None,
        "results": results,
    }


def _summary(times: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(times), "min_s": min(times)}


def _by_source(stats: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for s in stats:
        key = f"{s.department}.{s.source}"
        entry = out.setdefault(key, {"rows": 0, "bytes": 0})
        entry["rows"] += s.rows
        entry["bytes"] += s.bytes
    return out


def _queries(text: str) -> list[str]:
    """``1-22``, ``3,5,10``, ``dept`` (our cross-department queries) or ``all``, as query ids."""
    out: list[str] = []
    for part in text.split(","):
        if part in ("dept", "all"):
            if part == "all":
                out.extend(f"q{n:02d}" for n in range(1, 23))
            out.extend(tpch_data.department_queries())
        elif "-" in part:
            lo, hi = part.split("-")
            out.extend(f"q{n:02d}" for n in range(int(lo), int(hi) + 1))
        else:
            out.append(part if part.startswith("dept/") else f"q{int(part):02d}")
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["compare"]:
        parser = argparse.ArgumentParser(prog="python -m benchmarks.tpch compare")
        parser.add_argument("before", type=Path)
        parser.add_argument("after", type=Path)
        args = parser.parse_args(argv[1:])
        print(report.compare(json.loads(args.before.read_text()), json.loads(args.after.read_text())))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tpch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sf", type=float, default=1.0, help="scale factor (0.01 is a smoke run)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", default="1-22", help="1-22 (default), 3,5,10, dept (ours) or all")
    parser.add_argument("--split", type=Path, help="TOML assigning tables to departments and source kinds")
    parser.add_argument("--explain", action="store_true", help="save each query's plan per strategy")
    parser.add_argument("--no-peer", action="store_true", help="skip the duckdb_scanners baseline")
    parser.add_argument("--no-analyze", action="store_true", help="plan with the sources' own statistics only")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--plan-cache", type=int, help="plans kept for reuse (default: the catalog's plan_cache; 0: plan every run)"
    )
    args = parser.parse_args(argv)
    strategies = [s for s in args.strategies.split(",") if s]
    unknown = set(strategies) - set(STRATEGIES)
    if unknown:
        parser.error(f"unknown strategies {sorted(unknown)}; choose from {', '.join(STRATEGIES)}")
    split = tpch_data.read_split(args.split) if args.split else None
    result = run(
        args.sf,
        strategies,
        args.runs,
        _queries(args.queries),
        split,
        explain=args.explain,
        peer=not args.no_peer,
        analyze_tables=not args.no_analyze,
        plan_cache=args.plan_cache,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"tpch-sf{args.sf:g}-{time.strftime('%Y%m%d-%H%M%S')}"
    pictures = [r for r in result["results"] if "plan_svg" in r]
    if pictures:
        (args.out / f"{stem}-plans").mkdir()
        for record in pictures:
            name = f"{record['query']}-{record['strategy']}.svg".replace("/", "_")
            (args.out / f"{stem}-plans" / name).write_text(record.pop("plan_svg"))
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str))
    markdown = report.markdown(result)
    (args.out / f"{stem}.md").write_text(markdown)
    chart = report.chart(result, args.out / f"{stem}.png")
    print(markdown)
    print(f"\nwritten: {args.out / stem}.json, .md" + (", .png" if chart else " (no chart: matplotlib missing)"))
    return 0 if all(r.get("correct") for r in result["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
