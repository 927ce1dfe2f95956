"""How fast fedquery reads a SQLite table: its two readers side by side in one run.

    python -m benchmarks.sqlite_read [--rows 5000000] [--runs 3] [--dir DIR]

Writes (once, into ``--dir``) a SQLite file whose table is shaped like TPC-DS ``inventory`` plus a
decimal and a text column, then times each query through three Federations, interleaved:
``driver = "sqlite3"`` (Python's sqlite3: the reader before ADBC), ``driver = "auto"`` with
``parallel_reads = 1`` (plain scans through ADBC, one connection) and with ``parallel_reads = 2``
(a large plain scan as two rowid ranges at once), and reports medians and ratios. The small and
aggregate queries are read through sqlite3 by all three (SQLite computes the aggregate; a handful
of rows come back): their ratios show the noise.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUERIES = {
    "scan": "SELECT * FROM lite.inventory",
    "filtered scan": "SELECT inv_item_sk, inv_quantity_on_hand, price FROM lite.inventory WHERE inv_warehouse_sk < 3",
    "LIMIT 5": "SELECT * FROM lite.inventory LIMIT 5",
    "one row": "SELECT * FROM lite.inventory WHERE inv_item_sk = 17 AND inv_date_sk = 2450832",
    "aggregate": "SELECT inv_warehouse_sk, sum(inv_quantity_on_hand) AS q FROM lite.inventory GROUP BY 1",
}


def write_file(path: Path, rows: int) -> None:
    if path.exists():
        with sqlite3.connect(path) as con:
            if con.execute("SELECT count(*) FROM inventory").fetchone() == (rows,):
                return
        path.unlink()
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE inventory (inv_date_sk INTEGER, inv_item_sk INTEGER, inv_warehouse_sk INTEGER, "
        "inv_quantity_on_hand INTEGER, price DECIMAL(7,2), name TEXT)"
    )
    con.execute(
        "INSERT INTO inventory WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < ?) "
        "SELECT 2450815 + i % 261, i % 18000, i % 5, CASE WHEN i % 20 = 0 THEN NULL ELSE i % 1000 END, "
        "(i % 10000) / 100.0, 'item' || (i % 777) FROM r",
        (rows - 1,),
    )
    con.commit()
    con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "fedquery-sqlite-read")
    args = parser.parse_args(argv)

    import fedquery

    args.dir.mkdir(parents=True, exist_ok=True)
    path = args.dir / f"inventory-{args.rows}.db"
    write_file(path, args.rows)
    def federation(driver: str, ranges: int) -> Any:
        source = {"kind": "sqlite", "path": str(path), "driver": driver}
        settings = {"parallel_reads": ranges, "parallel_min_rows": 100_000, "parallel_min_bytes": 0}
        return fedquery.connect({"settings": settings, "departments": {"lite": {"sources": {"db": source}}}})

    feds = {"sqlite3": federation("sqlite3", 1), "adbc": federation("auto", 1), "adbc, 2 ranges": federation("auto", 2)}
    times: dict[tuple[str, str], list[float]] = {(q, d): [] for q in QUERIES for d in feds}
    answers: dict[tuple[str, str], int] = {}
    for fed in feds.values():  # warm-up: imports, the first connection
        fed.sql(QUERIES["LIMIT 5"]).arrow()
    for _ in range(args.runs):
        for name, sql in QUERIES.items():
            for label, fed in feds.items():
                started = time.perf_counter()
                table = fed.sql(sql, pushdown="auto").arrow()
                times[(name, label)].append(time.perf_counter() - started)
                answers[(name, label)] = table.num_rows
    for fed in feds.values():
        fed.close()
    print(f"SQLite read, {args.rows:,} rows, median of {args.runs} interleaved runs (seconds)")
    print("| query | rows | sqlite3 | adbc | adbc, 2 ranges | adbc ÷ sqlite3 | 2 ranges ÷ adbc |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in QUERIES:
        plain, adbc, ranged = (statistics.median(times[(name, label)]) for label in feds)
        if len({answers[(name, label)] for label in feds}) != 1:
            print(f"{name}: the readers disagree on the row count", file=sys.stderr)
            return 1
        print(
            f"| {name} | {answers[(name, 'adbc')]:,} | {plain:.3f} | {adbc:.3f} | {ranged:.3f} | "
            f"{adbc / plain:.2f}× | {ranged / adbc:.2f}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
