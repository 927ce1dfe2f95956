"""LIMIT flows back (issue 12): a plain LIMIT over a cross-source join, with and without the cut.

    python -m benchmarks.limit_flow [--rows 2000000] [--runs 3]

A PostgreSQL table of ``--rows`` rows joined to a 100-row Parquet table, ``LIMIT 10``. ``cut``
is fedquery as it is (the big fragment is read a slice at a time and cancelled once the rows
are found); ``loaded`` is the same Federation in the same process with the cut turned off (the
big fragment is loaded whole before DuckDB starts, as before). Interleaved runs after a warm-up;
the medians of seconds and of rows read from PostgreSQL. Needs the test PostgreSQL
(``FEDQUERY_TEST_PG_DSN``, default ``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import fedquery
from fedquery import executor

PG_DSN = os.environ.get("FEDQUERY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SQL = "SELECT b.id, s.name FROM db.big AS b JOIN files.small AS s ON s.kind = b.kind LIMIT 10"


def _admin(statements: list[str]) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    con = adbc.connect(PG_DSN, autocommit=True)
    try:
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    schema = f"fq_bench_{uuid.uuid4().hex[:10]}"
    # identifiers below are generated here (a hex suffix), never user input
    _admin(
        [
            f'CREATE SCHEMA "{schema}"',
            f'CREATE TABLE "{schema}".big AS SELECT g AS id, g % 100 AS kind, md5(g::text) AS payload '
            f"FROM generate_series(1, {int(args.rows)}) g",
            f'ANALYZE "{schema}".big',
        ]
    )
    streamed = executor._streamed_fragment
    try:
        with tempfile.TemporaryDirectory() as root:
            pq.write_table(
                pa.table({"kind": pa.array(range(100), pa.int32()), "name": [f"k{k}" for k in range(100)]}),
                Path(root) / "small.parquet",
            )
            fed = fedquery.connect(
                {
                    "settings": {"parallel_reads": 1},
                    "departments": {
                        "db": {"sources": {"pg": {"kind": "postgres", "url": PG_DSN, "schema": schema}}},
                        "files": {"sources": {"pq": {"kind": "parquet", "url": root}}},
                    },
                }
            )
            figures: dict[str, list[tuple[float, int]]] = {"cut": [], "loaded": []}
            for run in range(args.runs + 1):  # the first round warms up
                for mode in ("cut", "loaded"):
                    executor._streamed_fragment = streamed if mode == "cut" else (lambda plan: None)  # type: ignore[assignment]
                    started = time.perf_counter()
                    result = fed.sql(SQL)
                    assert len(result.fetchall()) == 10
                    seconds = time.perf_counter() - started
                    read = sum(s.rows for s in result.stats if s.department == "db")
                    if run:
                        figures[mode].append((seconds, read))
            fed.close()
    finally:
        executor._streamed_fragment = streamed  # type: ignore[assignment]
        _admin([f'DROP SCHEMA "{schema}" CASCADE'])
    print(f"{SQL}\n(PostgreSQL table of {args.rows:,} rows, median of {args.runs} interleaved runs)")
    medians = {m: (statistics.median(s for s, _ in v), statistics.median(r for _, r in v)) for m, v in figures.items()}
    for mode, (seconds, read) in medians.items():
        print(f"  {mode:7} {seconds:7.3f} s  {int(read):>10,} rows read from PostgreSQL")
    print(f"  cut / loaded: {medians['cut'][0] / medians['loaded'][0]:.3f}x the time")


if __name__ == "__main__":
    main()
