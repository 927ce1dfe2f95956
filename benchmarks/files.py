"""Files: what an analyst starts with, through fedquery and through DuckDB alone, side by side.

    python -m benchmarks.files [--rows 30000000] [--runs 3]

Writes a Parquet file of ``--rows`` payments (id, region, amount, paid_on; once, under
benchmarks/data/files/), then times each query interleaved — fedquery (a warm Federation,
strategies ``auto`` and ``filters``) against one in-process DuckDB reading the same file
(``read_parquet``) — median of ``--runs`` after a warm-up, and prints seconds, rows moved
into fedquery's local step, and each as a ratio to DuckDB alone. Every answer is checked
against DuckDB's (row counts for LIMIT, whose rows may be any).
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from pathlib import Path

import duckdb
from sqlglot import exp

import fedquery

DATA = Path(__file__).resolve().parent / "data" / "files"
QUERIES = {
    "LIMIT 5": "SELECT * FROM {t} LIMIT 5",
    "filtered LIMIT": "SELECT id, amount FROM {t} WHERE region = 'North East' LIMIT 10",
    "count(*)": "SELECT count(*) FROM {t}",
    "filtered aggregate": "SELECT sum(amount) FROM {t} WHERE paid_on >= DATE '2024-06-01'",
    "GROUP BY": "SELECT region, count(*), avg(amount) FROM {t} GROUP BY region ORDER BY region",
    "ORDER BY … LIMIT": "SELECT id, amount FROM {t} ORDER BY amount DESC, id LIMIT 10",
}


def write_data(rows: int) -> Path:
    path = DATA / f"payments-{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT i AS id, ['North East','North West','Yorkshire','Midlands','East','London','South East',"
        "'South West'][1 + i % 8] AS region, round((i * 7919 % 100000) / 100.0, 2) AS amount, "
        "DATE '2024-01-01' + CAST(i % 366 AS INTEGER) AS paid_on FROM range(?) t(i)) TO ? (FORMAT parquet)",
        [rows, str(path)],
    )
    con.close()
    return path


def _same(got: list[tuple[object, ...]], expected: list[tuple[object, ...]]) -> bool:
    """Equal rows, floating-point sums to 1e-9 relative (their order of addition differs)."""

    def close(a: object, b: object) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(float(a), float(b), rel_tol=1e-9)  # type: ignore[arg-type]
        return a == b

    return all(len(g) == len(e) and all(close(a, b) for a, b in zip(g, e)) for g, e in zip(got, expected))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = write_data(args.rows)
    fed = fedquery.connect({"departments": {"d": {"sources": {"payments": {"kind": "parquet", "url": str(path)}}}}})
    alone = duckdb.connect()
    reader = exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(path))]))
    alone.execute(
        exp.Create(kind="VIEW", this=exp.to_table("payments"), expression=exp.select("*").from_(reader)).sql("duckdb")
    )
    print(f"# {args.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB Parquet; {platform.node()}, median of {args.runs}")
    print("| query | DuckDB alone (s) | fedquery auto (s) | ratio | fedquery filters (s) | ratio | rows moved (auto) |")
    print("|---|---|---|---|---|---|---|")
    for label, template in QUERIES.items():
        times: dict[str, list[float]] = {"duckdb": [], "auto": [], "filters": []}
        moved = 0
        for run in range(args.runs + 1):  # the first is a warm-up
            started = time.perf_counter()
            expected = alone.sql(template.format(t="payments")).fetchall()
            elapsed = {"duckdb": time.perf_counter() - started}
            for strategy in ("auto", "filters"):
                started = time.perf_counter()
                result = fed.sql(template.format(t="d.payments"), pushdown=strategy)
                got = result.fetchall()
                elapsed[strategy] = time.perf_counter() - started
                assert len(got) == len(expected) and ("LIMIT" in label or _same(got, expected)), (label, strategy)
                if strategy == "auto":
                    moved = sum(s.rows for s in result.stats)
            if run:
                for key, value in elapsed.items():
                    times[key].append(value)
        base, auto, filters = (statistics.median(times[k]) for k in ("duckdb", "auto", "filters"))
        print(
            f"| {label} | {base:.3f} | {auto:.3f} | {auto / base:.1f}× | {filters:.3f} | {filters / base:.1f}× "
            f"| {moved:,} |"
        )
    fed.close()


if __name__ == "__main__":
    main()
