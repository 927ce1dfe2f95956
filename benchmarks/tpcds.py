"""The TPC-DS harness: the 99 queries over six departments, fedquery's strategies against one DuckDB.

    python -m benchmarks.tpcds --sf 1 --strategies filters,auto --runs 1
    python -m benchmarks.tpcds --sf 0.1 --queries 1-20 --timeout 120

The split is ``benchmarks.tpcds_data.SPLIT`` (PostgreSQL, MariaDB, a DuckDB file, SQLite, Parquet,
CSV). Data set-up is idempotent per scale factor (tpcgen-cli; server tables reloaded only when
their row counts differ). ``local`` is one in-memory DuckDB holding all 24 tables: the floor, and
the oracle every answer is checked against. Each query runs every strategy in turn (interleaved),
each under ``--timeout``; a timeout or error is reported, never timed. The peer,
``duckdb_scanners`` (DuckDB 1.5.5's postgres, mysql and sqlite extensions, the DuckDB file and
the Parquet/CSV files read directly; see peer.py), runs each query after the strategies, under
the same timeout (``--no-peer`` skips it). The report lists the queries where ``auto`` is slower
than 1.2x ``filters``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

import fedquery
from benchmarks import peer as peer_module
from benchmarks import report, tpcds_data
from benchmarks.tpch import HERE, MYSQL_URL, PG_DSN, _by_source, _summary, _timed, analyze, planning_seconds
from benchmarks.tpch_data import federate

STRATEGIES = ("none", "filters", "full", "auto")


def setup(scale: float, data_dir: Path) -> Path:
    name = "tpcds_sf" + f"{scale:g}".replace(".", "_")
    parquet = tpcds_data.generate(scale, data_dir / name / "parquet")
    base = MYSQL_URL.rsplit("/", 1)[0] if MYSQL_URL.count("/") > 2 else MYSQL_URL
    return tpcds_data.build_federation(
        parquet, data_dir / name / "federation", {"postgres": (PG_DSN, name), "mysql": (f"{base}/{name}", name)}
    )


def run(
    scale: float,
    strategies: list[str],
    runs: int,
    queries: list[int],
    timeout: float,
    data_dir: Path,
    *,
    peer: bool = True,
    partial: Path | None = None,
    plan_cache: int | None = None,
) -> dict:
    """``partial``: where the results so far are written after each query (a run cut short keeps them)."""
    from tests.conftest import same_rows

    started = time.perf_counter()
    config = setup(scale, data_dir)
    setup_seconds = time.perf_counter() - started
    analyze_seconds = analyze(config)
    local = tpcds_data.oracle(config.parent.parent / "parquet")
    results: list[dict[str, Any]] = []
    peer_run: peer_module.Peer | str | None = peer_module.start(tpcds_data.SPLIT, config) if peer else None
    with fedquery.connect(config) as fed:
        if plan_cache is not None:  # 0: every timed run plans again (the warm-up's plan is not reused)
            fed.plans.size = plan_cache
        for n in queries:
            sql = tpcds_data.query(n)
            times, expected = _timed(lambda sql=sql: local.execute(sql).fetchall(), runs)
            results.append({"query": n, "strategy": "local", "correct": True, **_summary(times)})
            federated = federate(sql, tpcds_data.SPLIT)
            for strategy in strategies:
                holder: dict[str, Any] = {}

                def once(federated: str = federated, strategy: str = strategy, holder: dict[str, Any] = holder) -> Any:
                    result = fed.sql(federated, pushdown=strategy, timeout=timeout)
                    rows = result.fetchall()
                    holder["stats"], holder["plan"] = result.stats, result.plan
                    return rows

                try:
                    times, rows = _timed(once, runs)
                except fedquery.FedQueryError as exc:
                    results.append({"query": n, "strategy": strategy, "correct": False, "error": str(exc)[:300]})
                    continue
                correct = same_rows(rows, expected)
                results.append({
                    "query": n, "strategy": strategy, "correct": correct, **(_summary(times) if correct else {}),
                    "planning_s": planning_seconds(fed, federated, strategy),
                    "rows_moved": sum(s.rows for s in holder["stats"]),
                    "bytes_moved": sum(s.bytes for s in holder["stats"]),
                    "by_source": _by_source(holder["stats"]),
                })  # fmt: skip
            if isinstance(peer_run, peer_module.Peer):
                results.append(peer_run.query(n, sql, runs, expected, timeout))
            if partial is not None:
                partial.write_text(json.dumps({"scale_factor": scale, "results": results}, default=str))
            print(n, {r["strategy"]: r.get("median_s", r.get("error", "WRONG")) for r in results if r["query"] == n},
                  file=sys.stderr, flush=True)  # fmt: skip
    if isinstance(peer_run, peer_module.Peer):
        peer_run.close()
    peer_note = peer_run.note if isinstance(peer_run, peer_module.Peer) else peer_run
    return {
        "benchmark": "TPC-DS",
        "scale_factor": scale,
        "runs": runs,
        "strategies": strategies,
        "split": {t: list(v) for t, v in tpcds_data.SPLIT.items()},
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "versions": {"fedquery": fedquery.__version__, "duckdb": duckdb.__version__},
        "setup_seconds": setup_seconds,
        "analyze_seconds": analyze_seconds,
        "total_seconds": time.perf_counter() - started,
        "peer": {"note": peer_note} if peer_note else None,
        "results": results,
    }


def slower_than_filters(result: dict[str, Any], factor: float = 1.2) -> list[str]:
    by = {(r["query"], r["strategy"]): r for r in result["results"]}
    out = []
    for (q, s), r in sorted(by.items()):
        base = by.get((q, "filters"), {}).get("median_s")
        if s == "auto" and base and r.get("median_s") and r["median_s"] > factor * base:
            out.append(f"Q{q}: auto {r['median_s']:.2f} s vs filters {base:.2f} s ({r['median_s'] / base:.1f}x)")
        elif s == "auto" and not r.get("correct"):
            out.append(f"Q{q}: auto {r.get('error', 'WRONG')}")
    return out


def _numbers(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.tpcds", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--strategies", default="filters,auto")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--queries", default="1-99")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per query run")
    parser.add_argument("--no-peer", action="store_true", help="skip the duckdb_scanners baseline")
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument(
        "--plan-cache", type=int, help="plans kept for reuse (default: the catalog's plan_cache; 0: plan every run)"
    )
    args = parser.parse_args(argv)
    strategies = [s for s in args.strategies.split(",") if s]
    if set(strategies) - set(STRATEGIES):
        parser.error(f"unknown strategies; choose from {', '.join(STRATEGIES)}")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = f"tpcds-sf{args.sf:g}-{time.strftime('%Y%m%d-%H%M%S')}"
    partial = args.out / f"{stem}.partial.json"
    result = run(
        args.sf, strategies, args.runs, _numbers(args.queries), args.timeout, args.data,
        peer=not args.no_peer, partial=partial, plan_cache=args.plan_cache,
    )  # fmt: skip
    partial.unlink(missing_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2, default=str))
    text = report.markdown(result)
    slow = slower_than_filters(result)
    text += "\nauto slower than 1.2x filters:\n\n" + ("\n".join(f"- {line}" for line in slow) or "- none") + "\n"
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    return 0 if all(r.get("correct") for r in result["results"]) else 1


if __name__ == "__main__":
    sys.exit(main())
