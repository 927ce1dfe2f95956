"""TPC-H over the default four-kind split, against one in-memory DuckDB holding everything.

    python -m benchmarks.tpch --sf 0.1 --runs 3

Per query: median and min seconds for ``local`` (one DuckDB with all eight tables:
no data movement, the floor) and for fedquery; their ratio; planning time; rows
and bytes moved from the sources; and whether the answer matched ``local`` (a
wrong answer is reported as wrong, never timed as if right). Writes a JSON file
and prints a markdown table. Both sides run in this process, one after another.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

import fedquery
from benchmarks import tpch_data

HERE = Path(__file__).parent


def _timed(fn: Any, runs: int) -> tuple[list[float], Any]:
    fn()  # warm-up
    times, value = [], None
    for _ in range(runs):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return times, value


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    from tests.conftest import same_rows

    return same_rows(a, b)


def run(scale: float, runs: int, queries: list[int]) -> dict[str, Any]:
    data = tpch_data.generate(scale, HERE / "data" / f"sf{scale}")
    config = tpch_data.build_federation(data, HERE / "data" / f"sf{scale}" / "federation")
    local = tpch_data.oracle(data)
    table_rows = {t: local.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tpch_data.TABLES}
    fed = fedquery.connect(config)
    results = []
    for n in queries:
        sql = tpch_data.query(n)
        federated = tpch_data.federate(sql)
        local_times, expected = _timed(lambda sql=sql: local.sql(sql).fetchall(), runs)
        stats_holder: dict[str, Any] = {}

        def federated_run(federated: str = federated, holder: dict[str, Any] = stats_holder) -> list[tuple[Any, ...]]:
            result = fed.sql(federated)
            rows = result.fetchall()
            holder["stats"] = result.stats
            holder["plan"] = result.plan
            return rows

        fed_times, got = _timed(federated_run, runs)
        plan = stats_holder["plan"]
        referenced = {t.split(".")[-1] for f in plan.fragments for t in f.tables}
        results.append(
            {
                "query": n,
                "correct": _same(got, expected),
                "local_median_s": statistics.median(local_times),
                "local_min_s": min(local_times),
                "fedquery_median_s": statistics.median(fed_times),
                "fedquery_min_s": min(fed_times),
                "planning_s": fed.explain(federated).planning_seconds,
                "rows_moved": sum(s.rows for s in stats_holder["stats"]),
                "bytes_moved": sum(s.bytes for s in stats_holder["stats"]),
                "rows_in_referenced_tables": sum(table_rows[t] for t in referenced),
                "fragments": len(plan.fragments),
                "plan_hash": plan.hash,
            }
        )
    fed.close()
    return {
        "scale_factor": scale,
        "runs": runs,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "versions": {"fedquery": fedquery.__version__, "duckdb": duckdb.__version__},
        "queries": results,
    }


def markdown(report: dict[str, Any]) -> str:
    rows = report["queries"]
    lines = [
        f"TPC-H SF {report['scale_factor']}, {report['runs']} runs after a warm-up, {report['machine']}, "
        f"{report['date']}, duckdb {report['versions']['duckdb']}",
        "",
        "| query | correct | local (s) | fedquery (s) | ratio | planning (ms) | rows moved | % of referenced rows |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        ratio = r["fedquery_median_s"] / r["local_median_s"]
        share = 100 * r["rows_moved"] / max(1, r["rows_in_referenced_tables"])
        lines.append(
            f"| Q{r['query']:02d} | {'yes' if r['correct'] else '**WRONG**'} | {r['local_median_s']:.4f} | "
            f"{r['fedquery_median_s']:.4f} | {ratio:.2f} | {1000 * r['planning_s']:.1f} | "
            f"{r['rows_moved']} | {share:.1f}% |"
        )
    geo = math.exp(statistics.mean(math.log(r["fedquery_median_s"] / r["local_median_s"]) for r in rows))
    moved = sum(r["rows_moved"] for r in rows)
    referenced = sum(r["rows_in_referenced_tables"] for r in rows)
    lines += [
        "",
        f"Geometric mean of fedquery/local time: {geo:.2f}. "
        f"Rows moved: {moved} of {referenced} in the referenced tables ({100 * moved / referenced:.1f}%). "
        f"Correct: {sum(r['correct'] for r in rows)}/{len(rows)}. "
        f"Max planning time: {1000 * max(r['planning_s'] for r in rows):.1f} ms.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sf", type=float, default=0.1, help="TPC-H scale factor (default 0.1)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--queries", default="1-22", help="e.g. 1-22 or 3,5,10")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args()
    if "-" in args.queries:
        lo, hi = args.queries.split("-")
        queries = list(range(int(lo), int(hi) + 1))
    else:
        queries = [int(q) for q in args.queries.split(",")]
    report = run(args.sf, args.runs, queries)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"tpch-sf{args.sf}.json"
    path.write_text(json.dumps(report, indent=2))
    print(markdown(report))
    print(f"\n(written to {path})")


if __name__ == "__main__":
    main()
