"""Why is ``auto`` slower than ``filters`` on a query? Both plans run, and their server fragments timed at the server.

    python -m benchmarks.diagnose tpcds 16 99 28 --sf 1
    python -m benchmarks.diagnose tpch 2 11 --sf 1

For each query and each strategy (``filters`` and ``auto``, or ``--strategies``): one warm-up,
then one run recording the whole time and, per fragment, its rows, seconds (from its start to
its last batch, waits for reductions included) and semi-join keys. Then each PostgreSQL and
MariaDB fragment's statement, exactly as it was sent (semi-join keys included), runs again
under ``EXPLAIN (ANALYZE)`` / ``ANALYZE FORMAT=JSON`` at its server, so the server's own time
is set beside what fedquery waited. The plans go to ``benchmarks/results/diagnose-*.txt``; a
markdown summary is printed. Uses the data sets the tpch/tpcds harnesses set up.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fedquery
from benchmarks import tpcds, tpcds_data, tpch, tpch_data
from connectors.mysql import MySQLConnector
from connectors.postgres import PostgresConnector

#: the statement each server fragment was sent, by fragment name (filled while a query runs)
SENT: dict[str, str] = {}


def _record(method: Any) -> Any:
    def wrapper(self: Any, fragment: Any, *args: Any) -> Any:
        SENT[fragment.name] = fragment.sql
        return method(self, fragment, *args)

    return wrapper


def _instrument() -> None:
    """Record the statements as sent; diagnosis only, the benchmarks never do this."""
    for cls in (PostgresConnector, MySQLConnector):
        cls.scan = _record(cls.scan)  # type: ignore[method-assign]
    PostgresConnector.scan_ranges = _record(PostgresConnector.scan_ranges)  # type: ignore[method-assign]


def at_server(kind: str, url: str, sql: str) -> tuple[float | None, str]:
    """The server's own execution time (seconds) of ``sql`` and its analysed plan."""
    try:
        if kind == "postgres":  # through psql: the ADBC driver wraps every statement in COPY
            done = subprocess.run(
                ["psql", url, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                input=f"EXPLAIN (ANALYZE, TIMING OFF) {sql};", capture_output=True, text=True, check=True,
            )  # fmt: skip
            text = done.stdout
            found = re.search(r"Execution Time: ([\d.]+) ms", text)
            return (float(found.group(1)) / 1000 if found else None), text
        from urllib.parse import unquote, urlsplit

        import pymysql

        parts = urlsplit(url)
        con = pymysql.connect(
            host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""), database=parts.path.lstrip("/") or None,
        )  # fmt: skip
        try:
            with con.cursor() as cur:
                cur.execute(f"ANALYZE FORMAT=JSON {sql}")
                text = cur.fetchone()[0]
        finally:
            con.close()
        block = json.loads(text).get("query_block", {})
        total = block.get("r_total_time_ms")
        return (total / 1000 if total is not None else None), text
    except subprocess.CalledProcessError as exc:
        return None, f"failed: {exc.stderr}"
    except Exception as exc:  # noqa: BLE001 - a diagnosis reports what the server said
        return None, f"failed: {exc}"


def diagnose(benchmark: str, scale: float, queries: list[int], strategies: list[str], out: Path) -> str:
    if benchmark == "tpcds":
        config = tpcds.setup(scale, tpch.HERE / "data")
        texts = {n: tpch_data.federate(tpcds_data.query(n), tpcds_data.SPLIT) for n in queries}
    else:
        split = tpch_data.DATABASE_SPLIT
        config = tpch.setup(scale, split, tpch.HERE / "data")
        texts = {n: tpch_data.federate(tpch_data.query(n), split) for n in queries}
    _instrument()
    import tomllib

    urls = {
        (name, kind): source.get("url", "")
        for name, department in tomllib.loads(config.read_text())["departments"].items()
        for kind, source in department["sources"].items()
    }
    lines = ["| query | strategy | total s | fragment | kind | rows | keys | fedquery s | server s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    plans: list[str] = []
    with fedquery.connect(config) as fed:
        for n in queries:
            for strategy in strategies:
                fed.sql(texts[n], pushdown=strategy).fetchall()  # warm-up
                SENT.clear()
                started = time.perf_counter()
                result = fed.sql(texts[n], pushdown=strategy)
                result.fetchall()
                total = time.perf_counter() - started
                plans.append(f"==== Q{n} {strategy}: {total:.3f} s\n{result.plan}")
                for s in result.stats:
                    server = ""
                    if s.kind in ("postgres", "mysql") and s.fragment in SENT:
                        seconds, text = at_server(s.kind, urls[(s.department, s.kind)], SENT[s.fragment])
                        server = f"{seconds:.3f}" if seconds is not None else "?"
                        plans.append(f"---- Q{n} {strategy} {s.fragment} at the server: {server} s\n{text}")
                    keys = f"{s.reduced_keys:,}" if s.reduced_keys is not None else ""
                    lines.append(
                        f"| Q{n} | {strategy} | {total:.3f} | {s.fragment} {s.department} | {s.kind} | {s.rows:,} | "
                        f"{keys} | {s.seconds:.3f} | {server} |"
                    )
            print(f"Q{n} done", file=sys.stderr, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"diagnose-{benchmark}-sf{scale:g}-{time.strftime('%Y%m%d-%H%M%S')}"
    (out / f"{stem}.txt").write_text("\n\n".join(plans) + "\n")
    summary = "\n".join(lines) + "\n"
    (out / f"{stem}.md").write_text(summary)
    return summary + f"\nplans: {out / stem}.txt\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.diagnose", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("benchmark", choices=("tpch", "tpcds"))
    parser.add_argument("queries", nargs="+", type=int)
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--strategies", default="filters,auto")
    parser.add_argument("--out", type=Path, default=tpch.HERE / "results")
    args = parser.parse_args(argv)
    print(diagnose(args.benchmark, args.sf, args.queries, args.strategies.split(","), args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
