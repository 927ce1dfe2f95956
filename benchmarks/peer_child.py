"""Runs inside the peer virtual environment (duckdb 1.5.5 + its postgres/mysql extensions): no fedquery here.

Reads a JSON job on stdin, prints JSON results: per query the median and min seconds
and the rows, normalised so the parent can check them against its oracle.
"""

import datetime
import decimal
import json
import statistics
import sys
import time

import duckdb


def normal(value):
    if isinstance(value, (float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def main():
    job = json.load(sys.stdin)
    con = duckdb.connect()
    for path in job["extensions"]:
        con.execute(f"LOAD '{path}'")
    for statement in job["setup"]:
        con.execute(statement)
    out = []
    for number, sql in job["queries"]:
        try:
            con.execute(sql).fetchall()  # warm-up
            times = []
            for _ in range(job["runs"]):
                start = time.perf_counter()
                rows = con.execute(sql).fetchall()
                times.append(time.perf_counter() - start)
            out.append(
                {
                    "query": number,
                    "median_s": statistics.median(times),
                    "min_s": min(times),
                    "rows": [[normal(v) for v in r] for r in rows],
                }
            )
        except duckdb.Error as exc:
            out.append({"query": number, "error": str(exc)[:300]})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
