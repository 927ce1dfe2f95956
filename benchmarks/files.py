"""Files: what an analyst starts with, through fedquery and through DuckDB alone, side by side.

    python -m benchmarks.files [--rows 30000000] [--runs 3] [--layouts parquet,csv,hive] [--arrow]

Writes ``--rows`` payments (id, region, amount, paid_on) three ways (once, under
benchmarks/data/files/): one Parquet file, one CSV file, and a hive-partitioned directory of
Parquet files (``payments/region=.../``), each beside a small ``regions`` table of the same
department. Then times each query interleaved — fedquery (a warm Federation, strategy ``auto``;
with ``--arrow`` also the same source read with ``engine = "arrow"``, the path every file took
before issue 12) against one in-process DuckDB reading the same files (``read_parquet`` /
``read_csv``) — median of ``--runs`` after a warm-up, and prints seconds, rows moved into
fedquery's local step, and the ratio to DuckDB alone; beside each, the process's CPU time (user +
system, every thread) over the same interval, which a shared machine inflates far less than
wall-clock time. Every answer is checked against DuckDB's (row counts for LIMIT, whose rows may
be any).
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
    "join of two tables": "SELECT r.nation, count(*), sum(p.amount) FROM {t} p JOIN {r} r ON p.region = r.region "
    "GROUP BY r.nation ORDER BY r.nation",
}
REGIONS = ["North East", "North West", "Yorkshire", "Midlands", "East", "London", "South East", "South West"]
PAYMENTS = (
    "SELECT i AS id, {regions}[1 + i % 8] AS region, round((i * 7919 % 100000) / 100.0, 2) AS amount, "
    "DATE '2024-01-01' + CAST(i % 366 AS INTEGER) AS paid_on FROM range({rows}) t(i)"
)


def _payments(rows: int) -> exp.Expr:
    regions = exp.Array(expressions=[exp.Literal.string(r) for r in REGIONS])
    return exp.maybe_parse(PAYMENTS.format(regions=regions.sql("duckdb"), rows=int(rows)), dialect="duckdb")


def _copy(con: duckdb.DuckDBPyConnection, query: exp.Expr, target: Path, options: str) -> None:
    template = exp.maybe_parse(f"COPY (SELECT 1) TO 'target' ({options})", dialect="duckdb")  # options: constants
    statement = exp.Copy(
        this=exp.Subquery(this=query),
        kind=False,
        files=[exp.Literal.string(str(target))],
        params=template.args.get("params") or [],
    )
    con.execute(statement.sql("duckdb"))


def write_data(rows: int, layout: str) -> Path:
    """The department's directory for ``layout`` (parquet, csv or hive), written once."""
    root = DATA / f"{layout}-{rows}"
    done = root / ".complete"
    if done.exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    regions = exp.maybe_parse(
        "SELECT region, CASE WHEN region IN ('London', 'South East', 'East') THEN 'South' ELSE 'North' END AS nation "
        "FROM (SELECT unnest(" + exp.Array(expressions=[exp.Literal.string(r) for r in REGIONS]).sql("duckdb") + ") "
        "AS region)",
        dialect="duckdb",
    )
    if layout == "csv":
        _copy(con, _payments(rows), root / "payments.csv", "FORMAT csv, HEADER true")
        _copy(con, regions, root / "regions.csv", "FORMAT csv, HEADER true")
    else:
        if layout == "hive":
            _copy(con, _payments(rows), root / "payments", "FORMAT parquet, PARTITION_BY (region)")
        else:
            _copy(con, _payments(rows), root / "payments.parquet", "FORMAT parquet")
        _copy(con, regions, root / "regions.parquet", "FORMAT parquet")
    con.close()
    done.write_text("")
    return root


def _reader(root: Path, layout: str, table: str) -> exp.Expr:
    if layout == "csv":
        call = exp.Anonymous(this="read_csv", expressions=[exp.Literal.string(str(root / f"{table}.csv"))])
    elif layout == "hive" and table == "payments":
        call = exp.Anonymous(
            this="read_parquet",
            expressions=[
                exp.Literal.string(str(root / "payments" / "*" / "*.parquet")),
                exp.Kwarg(this=exp.var("hive_partitioning"), expression=exp.true()),
            ],
        )
    else:
        call = exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(str(root / f"{table}.parquet"))])
    return exp.Table(this=call)


def _same(got: list[tuple[object, ...]], expected: list[tuple[object, ...]]) -> bool:
    """Equal rows, floating-point sums to 1e-9 relative (their order of addition differs)."""

    def close(a: object, b: object) -> bool:
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(float(a), float(b), rel_tol=1e-9)  # type: ignore[arg-type]
        return a == b

    return all(len(g) == len(e) and all(close(a, b) for a, b in zip(g, e)) for g, e in zip(got, expected))


def _size(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--layouts", default="parquet,csv,hive")
    parser.add_argument("--arrow", action="store_true", help="also time engine = 'arrow' (the pre-issue-12 path)")
    args = parser.parse_args()
    layouts = [layout for layout in args.layouts.split(",") if layout]
    roots = {layout: write_data(args.rows, layout) for layout in layouts}
    kind = {"parquet": "parquet", "hive": "parquet", "csv": "csv"}
    sources = {}
    for layout, root in roots.items():
        sources[layout] = {"kind": kind[layout], "url": str(root)}
        if args.arrow:
            sources[f"{layout}_arrow"] = {"kind": kind[layout], "url": str(root), "engine": "arrow"}
    fed = fedquery.connect({"departments": {name: {"sources": {"files": src}} for name, src in sources.items()}})
    alone = duckdb.connect()
    for layout, root in roots.items():
        alone.execute(exp.Create(kind="SCHEMA", this=exp.to_identifier(layout)).sql("duckdb"))
        for table in ("payments", "regions"):
            view = exp.Create(
                kind="VIEW",
                this=exp.table_(table, db=layout),
                expression=exp.select("*").from_(_reader(root, layout, table)),
            )
            alone.execute(view.sql("duckdb"))
    print(f"# {args.rows:,} rows; {platform.node()}, median of {args.runs} after a warm-up, interleaved")
    for layout, root in roots.items():
        print(f"\n## {layout}: {root.name} ({_size(root):.0f} MB)\n")
        extra = " fedquery arrow (s) | ratio | CPU ratio |" if args.arrow else ""
        print(f"| query | DuckDB alone (s) | its CPU (s) | fedquery (s) | ratio | CPU ratio |{extra} rows moved |")
        print("|---|---|---|---|---|---|" + ("---|---|---|" if args.arrow else "") + "---|")
        variants = [layout] + ([f"{layout}_arrow"] if args.arrow else [])
        for label, template in QUERIES.items():
            times: dict[str, list[float]] = {"duckdb": [], **{v: [] for v in variants}}
            cpu: dict[str, list[float]] = {k: [] for k in times}
            moved = 0
            for run in range(args.runs + 1):  # the first is a warm-up
                started, cpu_started = time.perf_counter(), time.process_time()
                expected = alone.sql(template.format(t=f"{layout}.payments", r=f"{layout}.regions")).fetchall()
                elapsed = {"duckdb": time.perf_counter() - started}
                used = {"duckdb": time.process_time() - cpu_started}
                for variant in variants:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    result = fed.sql(template.format(t=f"{variant}.payments", r=f"{variant}.regions"))
                    got = result.fetchall()
                    elapsed[variant] = time.perf_counter() - started
                    used[variant] = time.process_time() - cpu_started
                    assert len(got) == len(expected) and ("LIMIT" in label or _same(got, expected)), (label, variant)
                    if variant == layout:
                        moved = sum(s.rows for s in result.stats)
                if run:
                    for key, value in elapsed.items():
                        times[key].append(value)
                        cpu[key].append(used[key])
            medians = {k: statistics.median(v) for k, v in times.items()}
            cpus = {k: statistics.median(v) for k, v in cpu.items()}
            base, cpu_base = medians["duckdb"], cpus["duckdb"]
            cells = " | ".join(
                f"{medians[v]:.3f} | {medians[v] / base:.2f}× | {cpus[v] / cpu_base:.2f}×" for v in variants
            )
            print(f"| {label} | {base:.3f} | {cpu_base:.3f} | {cells} | {moved:,} |", flush=True)
    fed.close()


if __name__ == "__main__":
    main()
