"""Memory bombs: the peak resident memory of each against ``[settings] memory_limit``.

    python -m benchmarks.memory [--limit 500MB] [--threads 2] [--cap 4GB]

Each bomb runs in a fresh child process (one Parquet table of 100,000 rows in one
department) and ends in an answer (checked against the expected one) or in a typed
error. The child reports its kernel-measured peak (``VmHWM``) and its resident set
before the query (python + duckdb + pyarrow imported, the catalog open, the local DuckDB
opened: the fixed overhead). The parent samples the child every 5 ms and kills it past
``--cap`` (and the child runs under ``RLIMIT_AS``), so a bomb that escapes cannot take
the machine down: it is reported as ``KILLED``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: name -> (SQL, the correct answer's first row, or None when only a typed error is expected)
BOMBS: dict[str, tuple[str, tuple[Any, ...] | None]] = {
    "unnest(range(2e8))": ("SELECT count(*) FROM (SELECT unnest(range(200000000)))", (200_000_000,)),
    "unnest(range(2e8)) over a table": (
        "SELECT count(*) FROM (SELECT unnest(range(200000000)) AS x FROM d.t WHERE id = 1) AS u",
        (200_000_000,),
    ),
    "repeat('x', 1e9)": ("SELECT length(repeat('x', 1000000000))", (1_000_000_000,)),
    "repeat() over a column": ("SELECT max(length(repeat(s, 1000000))) FROM d.t", (5_000_000,)),
    "repeat() pushed to a DuckDB file (in process)": (
        "SELECT max(length(repeat(s, 1000000))) FROM f.t",
        (5_000_000,),
    ),
    "unnest(range(2e8)) pushed to a DuckDB file": (
        "SELECT count(*) FROM (SELECT unnest(range(200000000)) AS x FROM f.t WHERE id = 1) AS u",
        (200_000_000,),
    ),
    "DISTINCT of 3.6e7 pushed to a DuckDB file": (
        "SELECT count(DISTINCT a.id * 100000 + b.id) FROM f.t AS a, f.t AS b WHERE a.id < 6000 AND b.id < 6000",
        (36_000_000,),
    ),
    "string_agg pushed to a local Parquet source's DuckDB": (
        "SELECT length(string_agg(a.s || b.s, ',')) FROM g.t AS a, g.t AS b WHERE b.id < 1000",
        (1_099_999_999,),
    ),
    "DISTINCT of 3.6e7 pushed to a local Parquet source's DuckDB": (
        "SELECT count(DISTINCT a.id * 100000 + b.id) FROM g.t AS a, g.t AS b WHERE a.id < 6000 AND b.id < 6000",
        (36_000_000,),
    ),
    "string_agg over 1e8 rows": (
        "SELECT length(string_agg(a.s || b.s, ',')) FROM d.t AS a, d.t AS b WHERE b.id < 1000",
        (1_099_999_999,),
    ),
    "list() over 1e8 rows": ("SELECT len(list(a.id + b.id)) FROM d.t AS a, d.t AS b WHERE b.id < 1000", (100_000_000,)),
    "cross join, distinct of 9e6": (
        "SELECT count(DISTINCT a.id * 100000 + b.id) FROM d.t AS a, d.t AS b WHERE a.id < 3000 AND b.id < 3000",
        (9_000_000,),
    ),
    "wide strings sorted (30k x 15 KB)": (
        "SELECT max(length(w)) FROM "
        "(SELECT lpad(s, 15000, 'x') AS w FROM d.t WHERE id < 30000 ORDER BY w LIMIT 30000) AS q",
        (15_000,),
    ),
    "unnest(range(3.9e6)), just under the cap": ("SELECT count(*) FROM (SELECT unnest(range(3900000)))", (3_900_000,)),
    "unnest(range(id)) per row": (
        "SELECT count(*) FROM (SELECT unnest(range(a.id)) FROM d.t AS a WHERE a.id < 30000) AS q",
        (449_985_000,),
    ),
    "big constant concatenated per row": ("SELECT max(length(repeat('x', 60000000) || s)) FROM d.t", (60_000_005,)),
    "doubling chain of CTEs": (
        "WITH a AS (SELECT repeat('x', 60000000) AS s), b AS (SELECT s || s AS s FROM a), "
        "c AS (SELECT s || s AS s FROM b), e AS (SELECT s || s AS s FROM c), f AS (SELECT s || s AS s FROM e), "
        "g AS (SELECT s || s AS s FROM f) SELECT length(s) FROM g",
        (1_920_000_000,),
    ),
    "sort of 1e7 rows that spills": (
        "SELECT count(*), max(x) FROM (SELECT a.s || b.s || a.id AS x FROM d.t AS a, d.t AS b WHERE b.id < 100 "
        "ORDER BY x DESC) AS q",
        (10_000_000, "v0999v009999999"),
    ),
    "group by of 1e7 keys that spills": (
        "SELECT count(*), sum(c)::BIGINT FROM (SELECT a.id * 100 + b.id AS k, count(*) AS c, max(a.s) AS m "
        "FROM d.t AS a, d.t AS b WHERE b.id < 100 GROUP BY k) AS q",
        (10_000_000, 10_000_000),
    ),
}

#: queries that fit by spilling: they must answer, never be stopped
SPILLS = (
    "sort of 1e7 rows that spills",
    "group by of 1e7 keys that spills",
    "cross join, distinct of 9e6",
    "DISTINCT of 3.6e7 pushed to a DuckDB file",
    "DISTINCT of 3.6e7 pushed to a local Parquet source's DuckDB",
)

#: the heavy query four threads run at once (one budget for all four)
CONCURRENT = "cross join, distinct of 9e6"

ROWS = 100_000


@dataclass
class Outcome:
    name: str
    #: "answer", an error class name, or "KILLED" (past the parent's cap or its timeout)
    result: str
    correct: bool | None
    peak: int
    baseline: int
    seconds: float
    message: str = ""


def write_federation(directory: Path, limit: str = "500MB", threads: int = 2) -> Path:
    """A one-table federation with the given memory limit: ``d.t`` (id, s, n) in Parquet read with
    Arrow scans (``engine = "arrow"``: its queries run in the local DuckDB, which the bombs aim at),
    the same table as ``f.t`` in a DuckDB file and as ``g.t`` in Parquet answered by the source's own
    DuckDB (sources that answer inside this process)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "id": pa.array(range(ROWS), pa.int64()),
            "s": pa.array([f"v{i % 1000:04d}" for i in range(ROWS)]),
            "n": pa.array([i % 97 for i in range(ROWS)], pa.int64()),
        }
    )
    pq.write_table(table, data / "t.parquet")
    in_process = directory / "f.duckdb"
    if not in_process.exists():
        import duckdb

        with duckdb.connect(str(in_process)) as con:
            con.register("source", table)
            con.execute("CREATE TABLE t AS SELECT * FROM source")
    config = directory / "fedquery.toml"
    config.write_text(
        f'[settings]\nmemory_limit = "{limit}"\nthreads = {threads}\ntemp_directory = "{directory / "spill"}"\n'
        f'[departments.d.sources.files]\nkind = "parquet"\npath = "{data}"\nengine = "arrow"\n'
        f'[departments.g.sources.files]\nkind = "parquet"\npath = "{data}"\n'
        f'[departments.f.sources.db]\nkind = "duckdb"\npath = "{in_process}"\n'
    )
    return config


def run(
    config: Path, names: list[str], *, cap: int = 4 * 2**30, address_space: int | None = None, timeout: float = 60.0
) -> list[Outcome]:
    """Run the bombs ``names`` at once (threads) in one child process, killed past ``cap`` resident
    bytes; its ``RLIMIT_AS`` is ``address_space`` (default: twice the cap, the allocators reserve)."""
    space = address_space or 2 * cap
    command = [sys.executable, "-m", "benchmarks.memory", "--child", str(config), *names]
    root = Path(__file__).resolve().parent.parent

    def bound() -> None:  # the child's address space: a backstop well above the cap (allocators reserve)
        resource.setrlimit(resource.RLIMIT_AS, (space, space))

    started = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=bound
    )
    peak, killed = 0, False
    while child.poll() is None:
        rss = _rss(child.pid)
        peak = max(peak, rss)
        if rss > cap or time.perf_counter() - started > timeout:
            child.kill()
            killed = True
            break
        time.sleep(0.005)
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    if killed or child.returncode != 0:
        why = "past the cap" if peak > cap else f"exit {child.returncode}: {err.strip()[-300:]}"
        return [Outcome(n, "KILLED", None, peak, 0, seconds, why) for n in names]
    report = json.loads(out.strip().splitlines()[-1])
    outcomes = []
    for name, (result, message, row) in zip(names, report["results"]):
        expected = BOMBS[name][1]
        correct = None if result != "answer" else (expected is not None and tuple(row) == expected)
        outcomes.append(Outcome(name, result, correct, max(peak, report["peak"]), report["baseline"], seconds, message))
    return outcomes


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _child(config: str, names: list[str]) -> None:
    import fedquery

    fed = fedquery.connect(config)
    fed.tables()
    fed.sql("SELECT count(*) FROM d.t").fetchall()  # the local DuckDB is open: the fixed overhead
    baseline = _status("VmRSS")
    results: list[Any] = [None] * len(names)

    def one(index: int, name: str) -> None:
        try:
            row = fed.sql(BOMBS[name][0]).fetchall()[0]
            results[index] = ("answer", "", list(row))
        except fedquery.FedQueryError as exc:
            results[index] = (type(exc).__name__, str(exc).splitlines()[0][:200], None)
        except Exception as exc:  # noqa: BLE001 - reported as untyped, which the test refuses
            results[index] = (f"untyped {type(exc).__name__}", str(exc)[:200], None)

    threads = [threading.Thread(target=one, args=(i, n)) for i, n in enumerate(names)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"baseline": baseline, "peak": _status("VmHWM"), "results": results}))


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", default="500MB")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cap", default="4GB", help="kill a child past this resident size")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], args.child[1:])
        return 0
    from fedquery.memory import headroom, parse_size

    limit, cap = parse_size(args.limit), parse_size(args.cap)
    with tempfile.TemporaryDirectory(prefix="fedquery-memory-") as tmp:
        config = write_federation(Path(tmp), args.limit, args.threads)
        print(f"memory bombs at memory_limit {args.limit}, threads {args.threads} (MB = 10^6 bytes)\n")
        print("| bomb | outcome | peak RSS MB | baseline MB | peak - baseline MB | limit + headroom MB | s |")
        print("|---|---|--:|--:|--:|--:|--:|")
        runs = [[name] for name in BOMBS] + [[CONCURRENT] * 4]
        for names in runs:
            outcomes = run(config, names, cap=cap)
            label = names[0] if len(names) == 1 else f"4 x {names[0]} at once"
            results = ", ".join(sorted({_shown(o) for o in outcomes}))
            o = outcomes[0]
            if o.result == "KILLED":
                results += f" ({o.message})"
            print(
                f"| {label} | {results} | {o.peak / 1e6:.0f} | {o.baseline / 1e6:.0f} | "
                f"{(o.peak - o.baseline) / 1e6:.0f} | {(limit + headroom(limit)) / 1e6:.0f} | {o.seconds:.1f} |"
            )
    return 0


def _shown(outcome: Outcome) -> str:
    if outcome.result == "answer":
        return "correct answer" if outcome.correct else "WRONG answer"
    return outcome.result if outcome.result == "KILLED" else f"{outcome.result}"


if __name__ == "__main__":
    raise SystemExit(main())
