"""Files over fsspec: the Arrow path against DuckDB reading through a registered fsspec filesystem.

    python -m benchmarks.files_remote [--rows 2000000] [--runs 3]

Puts one Parquet file of ``--rows`` payments (benchmarks.files' data) in an S3 bucket served by
moto (in this process, on 127.0.0.1), then times, interleaved, median of ``--runs`` after a
warm-up: fedquery with the source's default engine for s3 (Arrow datasets over s3fs: single-table
scans, the rest in the local DuckDB), and one DuckDB that reads the same object through s3fs
registered as a filesystem (``register_filesystem``: what a sandboxed DuckDB per remote source
would do), each beside DuckDB reading the same file from the local disk.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import duckdb
from sqlglot import exp

import fedquery
from benchmarks.files import QUERIES, write_data

BUCKET = "fq-bench"


def _reader(url: str) -> exp.Expr:
    return exp.Table(this=exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(url)]))


def _view(con: duckdb.DuckDBPyConnection, url: str) -> None:
    view = exp.Create(kind="VIEW", this=exp.to_table("payments"), expression=exp.select("*").from_(_reader(url)))
    con.execute(view.sql("duckdb"))


def main() -> None:
    import s3fs
    from moto.server import ThreadedMotoServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    local = write_data(args.rows, "parquet") / "payments.parquet"
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options: dict[str, Any] = {
            "key": "testing", "secret": "testing",
            "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "eu-west-2"},
        }  # fmt: skip
        fs = s3fs.S3FileSystem(**options)
        fs.mkdir(BUCKET)
        fs.put(str(local), f"{BUCKET}/payments.parquet")
        url = f"s3://{BUCKET}/payments.parquet"
        fed = fedquery.connect(
            {
                "departments": {
                    "d": {"sources": {"payments": {"kind": "parquet", "url": url, "storage_options": options}}}
                }
            }
        )
        alone = duckdb.connect()
        _view(alone, str(local))
        registered = duckdb.connect()
        registered.register_filesystem(s3fs.S3FileSystem(**options))
        _view(registered, url)
        print(f"# {args.rows:,} rows, {local.stat().st_size / 1e6:.0f} MB Parquet in moto S3; median of {args.runs}")
        print("| query | DuckDB local file (s) | fedquery, Arrow over s3fs (s) | DuckDB + registered s3fs (s) |")
        print("|---|---|---|---|")
        for label, template in QUERIES.items():
            if "{r}" in template:
                continue
            times: dict[str, list[float]] = {"local": [], "arrow": [], "registered": []}
            for run in range(args.runs + 1):
                elapsed = {}
                started = time.perf_counter()
                expected = alone.sql(template.format(t="payments")).fetchall()
                elapsed["local"] = time.perf_counter() - started
                started = time.perf_counter()
                got = fed.sql(template.format(t="d.payments")).fetchall()
                elapsed["arrow"] = time.perf_counter() - started
                started = time.perf_counter()
                other = registered.sql(template.format(t="payments")).fetchall()
                elapsed["registered"] = time.perf_counter() - started
                assert len(got) == len(expected) == len(other), label
                if run:
                    for key, value in elapsed.items():
                        times[key].append(value)
            m = {k: statistics.median(v) for k, v in times.items()}
            print(f"| {label} | {m['local']:.3f} | {m['arrow']:.3f} | {m['registered']:.3f} |", flush=True)
        fed.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
