"""How fast fedquery reads a SQLite table: its two readers side by side in one run.

    python -m benchmarks.sqlite_read [--rows 5000000] [--runs 3] [--dir DIR]

Writes (once, into ``--dir``) a SQLite file whose table is shaped like TPC-DS ``inventory`` plus a
decimal and a text column, then times each query through a Federation whose source reads with
``driver = "auto"`` (plain scans through ADBC) and one with ``driver = "sqlite3"`` (Python's
sqlite3: the reader before ADBC), interleaved, and reports medians and the ratio. The aggregate
is read through sqlite3 by both (SQLite computes it; a handful of rows come back): its ratio shows
the noise.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

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
    feds = {
        driver: fedquery.connect({"departments": {"lite": {"sources": {"db": {"kind": "sqlite", "path": str(path),
                                                                            "driver": driver}}}}})
        for driver in ("auto", "sqlite3")
    }  # fmt: skip
    times: dict[tuple[str, str], list[float]] = {(q, d): [] for q in QUERIES for d in feds}
    answers: dict[tuple[str, str], int] = {}
    for fed in feds.values():  # warm-up: imports, the first connection
        fed.sql(QUERIES["LIMIT 5"]).arrow()
    for _ in range(args.runs):
        for name, sql in QUERIES.items():
            for driver, fed in feds.items():
                started = time.perf_counter()
                table = fed.sql(sql, pushdown="auto").arrow()
                times[(name, driver)].append(time.perf_counter() - started)
                answers[(name, driver)] = table.num_rows
    for fed in feds.values():
        fed.close()
    print(f"SQLite read, {args.rows:,} rows, median of {args.runs} interleaved runs (seconds)")
    print("| query | rows | driver auto (ADBC) | driver sqlite3 | auto ÷ sqlite3 |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in QUERIES:
        auto, plain = (statistics.median(times[(name, d)]) for d in ("auto", "sqlite3"))
        if answers[(name, "auto")] != answers[(name, "sqlite3")]:
            print(f"{name}: the readers disagree on the row count", file=sys.stderr)
            return 1
        print(f"| {name} | {answers[(name, 'auto')]:,} | {auto:.3f} | {plain:.3f} | {auto / plain:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
