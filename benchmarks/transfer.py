"""Which driver moves rows from PostgreSQL / MariaDB into Arrow fastest, and at what memory?

    python -m benchmarks.transfer [--rows 1000000]

Loads a TPC-H-lineitem-like table of ``--rows`` rows into each server (once, in a
``fedquery_bench`` schema/database), then reads all of it with each candidate, each
in a fresh subprocess so peak RSS is its own. Reports rows/s and peak RSS, each as
a ratio to the best candidate for that server. Candidates that are not installed
are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

PG_DSN = os.environ.get("FEDQUERY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("FEDQUERY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
QUERY = (
    "SELECT l_orderkey, l_partkey, l_quantity, l_extendedprice, l_discount, l_shipdate, "
    "l_returnflag, l_shipmode, l_comment FROM {schema}.lineitem_like"
)


def _pg_setup(rows: int) -> None:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS fedquery_bench")
        have = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema='fedquery_bench' "
            "AND table_name='lineitem_like'"
        ).fetchone()
        if have and have[0]:
            n = con.execute("SELECT count(*) FROM fedquery_bench.lineitem_like").fetchone()
            if n and n[0] == rows:
                return
            con.execute("DROP TABLE fedquery_bench.lineitem_like")
        con.execute(
            "CREATE TABLE fedquery_bench.lineitem_like (l_orderkey BIGINT, l_partkey INT, l_quantity NUMERIC(15,2), "
            "l_extendedprice NUMERIC(15,2), l_discount NUMERIC(15,2), l_shipdate DATE, l_returnflag CHAR(1), "
            "l_shipmode VARCHAR(10), l_comment VARCHAR(44))"
        )
        con.execute(
            "INSERT INTO fedquery_bench.lineitem_like SELECT g, mod(g, 200000), mod(g, 50) + 1, "
            "mod(g, 100000) / 100.0 + 900, mod(g, 11) / 100.0, DATE '1992-01-01' + mod(g, 2500)::int, "
            "chr(65 + mod(g, 3)::int), (ARRAY['AIR','MAIL','SHIP','TRUCK','RAIL','FOB','REG AIR'])[1 + mod(g, 7)], "
            "md5(g::text) FROM generate_series(1, %s::bigint) g",
            (rows,),
        )


def _mysql_setup(rows: int) -> None:
    import pymysql

    con = pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", autocommit=True)
    cur = con.cursor()
    cur.execute("CREATE DATABASE IF NOT EXISTS fedquery_bench")
    cur.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema='fedquery_bench' AND table_name='lineitem_like'"
    )
    if cur.fetchone()[0]:
        cur.execute("SELECT count(*) FROM fedquery_bench.lineitem_like")
        if cur.fetchone()[0] == rows:
            return
        cur.execute("DROP TABLE fedquery_bench.lineitem_like")
    cur.execute(
        "CREATE TABLE fedquery_bench.lineitem_like (l_orderkey BIGINT, l_partkey INT, l_quantity DECIMAL(15,2), "
        "l_extendedprice DECIMAL(15,2), l_discount DECIMAL(15,2), l_shipdate DATE, l_returnflag CHAR(1), "
        "l_shipmode VARCHAR(10), l_comment VARCHAR(44))"
    )
    cur.execute(
        "INSERT INTO fedquery_bench.lineitem_like SELECT seq, seq % 200000, (seq % 50) + 1, "
        "(seq % 100000) / 100.0 + 900, (seq % 11) / 100.0, DATE '1992-01-01' + INTERVAL (seq % 2500) DAY, "
        "CHAR(65 + seq % 3), "
        "ELT(1 + seq % 7, 'AIR','MAIL','SHIP','TRUCK','RAIL','FOB','REG AIR'), MD5(seq) "
        f"FROM seq_1_to_{rows}"
    )
    con.close()


# -- candidates: each returns the number of rows read as Arrow --------------------------------------


def pg_adbc() -> int:
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(PG_DSN) as con, con.cursor() as cur:
        cur.execute(QUERY.format(schema="fedquery_bench"))
        return sum(b.num_rows for b in cur.fetch_record_batch())


def pg_connectorx() -> int:
    import connectorx as cx

    reader = cx.read_sql(PG_DSN, QUERY.format(schema="fedquery_bench"), return_type="arrow_stream", batch_size=65536)
    return sum(b.num_rows for b in reader)


def pg_psycopg() -> int:
    import psycopg
    import pyarrow as pa

    total = 0
    with psycopg.connect(PG_DSN) as con, con.cursor(name="bench") as cur:
        cur.itersize = 65536
        cur.execute(QUERY.format(schema="fedquery_bench"))
        while rows := cur.fetchmany(65536):
            batch = pa.RecordBatch.from_arrays(
                [pa.array(c) for c in zip(*rows)], names=[d.name for d in cur.description]
            )
            total += batch.num_rows
    return total


def mysql_connectorx() -> int:
    import connectorx as cx

    reader = cx.read_sql(MYSQL_URL, QUERY.format(schema="fedquery_bench"), return_type="arrow_stream", batch_size=65536)
    return sum(b.num_rows for b in reader)


def mysql_connectorx_whole() -> int:
    """As fedquery reads MariaDB: the whole result at once (the streaming reader holds the GIL while the
    server works, so nothing else in the process, cancels included, could run)."""
    import connectorx as cx

    return int(cx.read_sql(MYSQL_URL, QUERY.format(schema="fedquery_bench"), return_type="arrow").num_rows)


def mysql_pymysql() -> int:
    import pyarrow as pa
    import pymysql
    import pymysql.cursors

    con = pymysql.connect(host="127.0.0.1", port=3306, user="root", cursorclass=pymysql.cursors.SSCursor)
    total = 0
    with con.cursor() as cur:
        cur.execute(QUERY.format(schema="fedquery_bench"))
        while rows := cur.fetchmany(65536):
            batch = pa.RecordBatch.from_arrays([pa.array(c) for c in zip(*rows)], names=[d[0] for d in cur.description])
            total += batch.num_rows
    con.close()
    return total


CANDIDATES = {
    "postgres": {"adbc-driver-postgresql": pg_adbc, "connectorx": pg_connectorx, "psycopg (server cursor)": pg_psycopg},
    "mysql": {
        "connectorx": mysql_connectorx,
        "connectorx (whole result)": mysql_connectorx_whole,
        "pymysql (SSCursor)": mysql_pymysql,
    },
}


def _child(server: str, name: str) -> None:
    fn = CANDIDATES[server][name]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    rows = fn()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak / 1024, "import_rss_mb": base / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    _pg_setup(args.rows)
    _mysql_setup(args.rows)
    results: dict[str, dict[str, Any]] = {}
    for server, candidates in CANDIDATES.items():
        results[server] = {}
        for name in candidates:
            proc = subprocess.run(
                [sys.executable, "-m", "benchmarks.transfer", "--child", server, name], capture_output=True, text=True
            )
            if proc.returncode != 0:
                results[server][name] = {"error": proc.stderr.strip().splitlines()[-1][:200]}
                continue
            results[server][name] = json.loads(proc.stdout.strip().splitlines()[-1])
    lines = [f"Transfer of {args.rows:,} TPC-H-lineitem-like rows into Arrow ({time.strftime('%Y-%m-%d')})", ""]
    lines += [
        "| server | driver | rows/s | × best rows/s | peak RSS (MB) | × best RSS |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for server, by_name in results.items():
        ok = {n: r for n, r in by_name.items() if "error" not in r}
        best_rate = max((r["rows"] / r["seconds"] for r in ok.values()), default=1)
        best_rss = min((r["peak_rss_mb"] for r in ok.values()), default=1)
        for name, r in by_name.items():
            if "error" in r:
                lines.append(f"| {server} | {name} | failed: {r['error']} | | | |")
                continue
            rate = r["rows"] / r["seconds"]
            lines.append(
                f"| {server} | {name} | {rate:,.0f} | {rate / best_rate:.2f} | {r['peak_rss_mb']:.0f} | "
                f"{r['peak_rss_mb'] / best_rss:.2f} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
