"""Inventory at scale: 1,000 tables across 50 departments (many small Parquet files and SQLite tables).

    python -m benchmarks.inventory [--departments 50] [--tables 20]

Measures, in one process: building the inventory from the sources (cold, the
baseline), building it from the cache, and answering searches; reports seconds
and each as a ratio to the cold build.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import fedquery

WORDS = ["benefit", "pupil", "income", "stock", "order", "claim", "school", "trust", "hospital", "tax", "grant",
         "housing", "court", "licence", "vehicle", "passport", "pension", "payment", "survey", "census"]  # fmt: skip


def write_federation(root: Path, departments: int, tables: int) -> Path:
    parquet_tables = tables * 7 // 10
    lines = []
    for d in range(departments):
        dept = f"dept{d:02d}"
        files = root / dept / "files"
        files.mkdir(parents=True)
        for t in range(parquet_tables):
            word = WORDS[(d + t) % len(WORDS)]
            table = pa.table(
                {"id": list(range(10)), f"{word}_ref": [f"{word}{i}" for i in range(10)], "amount": [1.5] * 10}
            )
            pq.write_table(table, files / f"{word}_{t:02d}.parquet")
        db = sqlite3.connect(root / dept / "records.db")
        for t in range(tables - parquet_tables):
            word = WORDS[(d * 3 + t) % len(WORDS)]
            db.execute(f"CREATE TABLE {word}_register_{t} (id INTEGER PRIMARY KEY, {word}_code TEXT, opened DATE)")
            db.executemany(
                f"INSERT INTO {word}_register_{t} VALUES (?, ?, ?)", [(i, f"c{i}", "2020-01-01") for i in range(5)]
            )
        db.commit()
        db.close()
        lines += [
            f'[departments.{dept}]\ntitle = "Department {d}"\ncontact = "data@{dept}.example"\nlicence = "OGL-UK-3.0"',
            f'[departments.{dept}.sources.files]\nkind = "parquet"\nurl = "{dept}/files"',
            f'[departments.{dept}.sources.records]\nkind = "sqlite"\npath = "{dept}/records.db"',
        ]
    config = root / "fedquery.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--departments", type=int, default=50)
    parser.add_argument("--tables", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = write_federation(root / "fed", args.departments, args.tables)
        cache = root / "cache"

        def connect() -> fedquery.Federation:
            fed = fedquery.connect(config)
            fed.config.settings = type(fed.config.settings)(cache_directory=str(cache))
            return fed

        start = time.perf_counter()
        with connect() as fed:
            inventory = fed.inventory(refresh=True)
        cold = time.perf_counter() - start
        n = len(inventory)

        cached_runs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            with connect() as fed:
                inventory = fed.inventory()
            cached_runs.append(time.perf_counter() - start)

        queries = ["benefit", "pupil register", "income amount", "hospital trust", "census", "passport ref", "zzz"]
        inventory.search("warm the index")
        search_runs = []
        for q in queries * args.runs:
            start = time.perf_counter()
            inventory.search(q)
            search_runs.append(time.perf_counter() - start)
        cached = statistics.median(cached_runs)
        search = statistics.median(search_runs)
        print(f"Inventory of {n} tables across {args.departments} departments ({time.strftime('%Y-%m-%d')})")
        print("")
        print("| measure | seconds | × cold build |")
        print("| --- | --- | --- |")
        print(f"| cold build (read every source) | {cold:.3f} | 1.00 |")
        print(f"| build from cache (median of {args.runs}) | {cached:.3f} | {cached / cold:.4f} |")
        print(f"| search (median of {len(search_runs)}) | {search:.5f} | {search / cold:.6f} |")
        print(f"| search (max) | {max(search_runs):.5f} | {max(search_runs) / cold:.6f} |")


if __name__ == "__main__":
    main()
