"""Parallel reads: one large PostgreSQL fragment read as 1, 2 and 4 ctid ranges at once.

    python -m benchmarks.parallel [--sf 1] [--runs 3]

The TPC-H data of ``benchmarks.tpch`` (loaded if missing); each query runs through
fedquery (strategy auto) with ``parallel_reads`` 1 (the baseline: one connection), 2
and 4, in one process, median of ``--runs`` after a warm-up. Reports seconds, rows
per second and each as a ratio to the one-connection read, and checks every read
returns the same rows (count and a checksum).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import statistics
import time
from pathlib import Path

import pyarrow.compute as pc

import fedquery
from benchmarks import tpch, tpch_data

QUERIES = {
    "lineitem since 1995 (6 columns)": (
        "SELECT l_orderkey, l_partkey, l_suppkey, l_quantity, l_extendedprice, l_shipdate "
        "FROM sales.lineitem WHERE l_shipdate >= DATE '1995-01-01'"
    ),
    "orders (all columns)": "SELECT * FROM sales.orders",
}


def measure(config: Path, parts: int, sql: str, runs: int) -> tuple[float, int, object]:
    """Median seconds, rows, and a checksum of the rows (count, sum of the first column)."""
    with fedquery.connect(config) as fed:
        settings = dataclasses.replace(
            fed.config.settings, parallel_reads=parts, parallel_min_rows=1, parallel_min_bytes=0
        )
        fed.config.settings = settings
        times = []
        check: object = None
        for i in range(runs + 1):
            started = time.perf_counter()
            result = fed.sql(sql)
            table = result.arrow()
            if i:  # the first run warms up
                times.append(time.perf_counter() - started)
            check = (table.num_rows, pc.sum(table.column(0)).as_py())
        assert all((s.ranges or 1) == parts for s in result.stats), [s.ranges for s in result.stats]
    return statistics.median(times), table.num_rows, check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args(argv)
    config = tpch.setup(args.sf, tpch_data.DATABASE_SPLIT, args.data)
    print(f"parallel reads, TPC-H SF {args.sf:g}, {platform.machine()}, median of {args.runs} runs\n")
    print("| query | ranges | seconds | rows/s | × one read (time) |")
    print("| --- | --- | --- | --- | --- |")
    for name, sql in QUERIES.items():
        base = None
        base_check = None
        for parts in (1, 2, 4):
            seconds, rows, check = measure(config, parts, tpch_data.federate(sql), args.runs)
            base = base or seconds
            base_check = base_check or check
            if check != base_check:
                raise SystemExit(f"{name}: {parts} ranges returned other rows than one read: {check} vs {base_check}")
            print(f"| {name} | {parts} | {seconds:.3f} | {rows / seconds:,.0f} | {seconds / base:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
