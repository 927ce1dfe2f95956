"""Runs inside the peer virtual environment (duckdb 1.5.5 + its extensions): no fedquery here.

Reads JSON lines on stdin: first ``{"extensions": [...], "setup": [...]}`` (answered with
``{"ok": true}`` or ``{"error": ...}``), then one ``{"query", "sql", "runs", "timeout"}`` per
query, answered with one line: the median and min seconds of ``runs`` runs after a warm-up and
the rows, normalised so the parent can check them against its oracle, or ``{"error": ...}``.
A run past ``timeout`` seconds is interrupted and reported as an error, never timed. An error
that invalidates the database (the mysql extension's internal errors do) is reported for its
query, and the next query runs on a new connection set up the same way, as an analyst would
restart.
"""

import datetime
import decimal
import json
import statistics
import sys
import threading
import time

import duckdb


def normal(value):
    if isinstance(value, (float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def timed(con, sql, timeout):
    timer = threading.Timer(timeout, con.interrupt) if timeout else None
    if timer:
        timer.start()
    try:
        start = time.perf_counter()
        rows = con.execute(sql).fetchall()
        return time.perf_counter() - start, rows
    finally:
        if timer:
            timer.cancel()


def run(con, job):
    timeout = job.get("timeout")
    try:
        timed(con, job["sql"], timeout)  # warm-up
        times, rows = [], []
        for _ in range(job["runs"]):
            seconds, rows = timed(con, job["sql"], timeout)
            times.append(seconds)
    except duckdb.InterruptException:
        return {"query": job["query"], "error": f"timed out after {timeout:g} s"}
    except duckdb.Error as exc:
        return {"query": job["query"], "error": str(exc)[:300]}
    return {
        "query": job["query"],
        "median_s": statistics.median(times),
        "min_s": min(times),
        "rows": [[normal(v) for v in r] for r in rows],
    }


def connect(first):
    con = duckdb.connect()
    for path in first["extensions"]:
        con.execute(f"LOAD '{path}'")
    for statement in first["setup"]:
        con.execute(statement)
    return con


def main():
    first = json.loads(sys.stdin.readline())
    try:
        con = connect(first)
    except duckdb.Error as exc:
        answer({"error": str(exc)[:300]})
        return
    answer({"ok": True})
    for line in sys.stdin:
        if line.strip():
            result = run(con, json.loads(line))
            if "error" in result and ("FATAL" in result["error"] or "INTERNAL" in result["error"]):
                con.close()
                con = connect(first)
            answer(result)


if __name__ == "__main__":
    main()
