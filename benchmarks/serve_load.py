"""The served app under load from loopback clients, against the same work done directly through the API.

    python -m benchmarks.serve_load [--clients 8] [--requests 50] [--dashboard-requests 10]

Writes the demo federation to a temporary folder, starts ``fedquery serve`` on it in a child
process (127.0.0.1, a free port), then ``--clients`` threads each send ``--requests`` GETs of
``/sql?q=…`` cycling through the demo's three cross-department questions (each answer a
table and a chart), and ``--dashboard-requests`` loads of the pandemic dashboard (four panels
re-run each time). The baseline, in the same run: the same queries and dashboard runs through
the Python API (``fed.sql(q).arrow()``, ``dashboard.run``) from the same number of threads.
Reports errors (any non-200 answer or an error message in the page), median and p95 latency,
and p95 as a ratio to the API's. Results in ``benchmarks/results/serve-load-*.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fedquery
from fedquery.demo import QUERIES, write_demo
from fedquery.viz import dashboard as boards

RESULTS = Path(__file__).resolve().parent / "results"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(clients: int, requests: int, work: Callable[[int], bool]) -> dict[str, Any]:
    """``clients`` threads, each calling ``work(i)`` ``requests`` times; latencies and failures."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(c: int) -> None:
        for r in range(requests):
            started = time.perf_counter()
            ok = work(c * requests + r)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                failures[0] += 0 if ok else 1

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": failures[0],
        "median_s": statistics.median(latencies),
        "p95_s": latencies[max(0, int(round(0.95 * len(latencies))) - 1)],
        "wall_s": wall,
        "per_second": len(latencies) / wall,
    }


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read().decode()
            return response.status == 200 and 'class="error"' not in body
    except (urllib.error.URLError, OSError):
        return False


def run(clients: int, requests: int, dashboard_requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_demo(Path(tmp) / "demo")
        port = _free_port()
        env = dict(os.environ)
        server = subprocess.Popen(
            [sys.executable, "-m", "fedquery.cli", "-c", str(config), "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while not _get(base + "/") and time.monotonic() < deadline:
                time.sleep(0.2)
            sqls = [sql for _, sql in QUERIES]
            urls = [f"{base}/sql?{urllib.parse.urlencode({'q': sql})}" for sql in sqls]
            for url in urls:  # warm-up: the chart libraries, the catalog's first reads
                _get(url)
            _get(base + "/dashboards/pandemic")
            served_sql = _load(clients, requests, lambda i: _get(urls[i % len(urls)]))
            served_board = _load(clients, dashboard_requests, lambda i: _get(base + "/dashboards/pandemic"))
        finally:
            server.terminate()
            server.wait(10)
        with fedquery.connect(config) as fed:
            board = boards.get(config, "pandemic")

            def api_sql(i: int) -> bool:
                fed.sql(sqls[i % len(sqls)]).arrow()
                return True

            def api_board(i: int) -> bool:
                return not boards.run(fed, board).errors

            api_sql(0)
            api_board(0)
            direct_sql = _load(clients, requests, api_sql)
            direct_board = _load(clients, dashboard_requests, api_board)
    return {
        "clients": clients,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "sql": {"served": served_sql, "api": direct_sql, "p95_ratio": served_sql["p95_s"] / direct_sql["p95_s"]},
        "dashboard": {
            "served": served_board, "api": direct_board, "p95_ratio": served_board["p95_s"] / direct_board["p95_s"],
        },  # fmt: skip
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['clients']} concurrent clients on loopback; latency in seconds",
        "",
        "| workload | path | requests | errors | median | p95 | req/s | p95 × API |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("sql", "dashboard"):
        for path in ("api", "served"):
            r = result[name][path]
            ratio = f"{result[name]['p95_ratio']:.2f}×" if path == "served" else "1×"
            lines.append(
                f"| {name} | {path} | {r['requests']} | {r['errors']} | {r['median_s']:.3f} | {r['p95_s']:.3f} "
                f"| {r['per_second']:.1f} | {ratio} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="SQL-page requests per client")
    parser.add_argument("--dashboard-requests", type=int, default=10, help="dashboard loads per client")
    args = parser.parse_args()
    result = run(args.clients, args.requests, args.dashboard_requests)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"serve-load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(markdown(result))
    print(f"\n(results: {out})")


if __name__ == "__main__":
    main()
