"""What governed sharing costs per query: the audit log, pseudonymise and disclosure control.

    python -m benchmarks.governance [--queries 200]

Runs on the demo federation (written to a temporary directory), each figure beside its baseline in
the same run, the two interleaved so that the machine's load hits both alike:

* audit: a small query with the audit log on (two fsync'ed records per query) and off;
* pseudonymise: ``count(DISTINCT pseudonymise(person_id, 'bench'))`` against ``count(DISTINCT person_id)``
  over the income DuckDB file (computed inside it) and the claims Parquet (at the fragment boundary);
* disclosure control: a GROUP BY under the demo's output rule (purpose ``support``) and without.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import fedquery
from fedquery.demo import write_demo


def _time(fed: Any, sql: str) -> float:
    started = time.perf_counter()
    fed.sql(sql).fetchall()
    return time.perf_counter() - started


def _pair(name: str, fed_a: Any, sql_a: str, fed_b: Any, sql_b: str, runs: int) -> None:
    a, b = [], []
    _time(fed_a, sql_a), _time(fed_b, sql_b)  # warm both
    for _ in range(runs):
        a.append(_time(fed_a, sql_a))
        b.append(_time(fed_b, sql_b))
    ma, mb = statistics.median(a) * 1000, statistics.median(b) * 1000
    print(f"{name:<44} {ma:8.2f} ms  baseline {mb:8.2f} ms  ratio {ma / mb:5.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200, help="runs per measured query (median reported)")
    args = parser.parse_args()
    os.environ.setdefault("FEDQUERY_PSEUDONYM_KEY_BENCH", "benchmark key, not a secret")
    with tempfile.TemporaryDirectory() as tmp:
        config = write_demo(Path(tmp))
        text = config.read_text().replace("[settings]\n", "[settings]\naudit_log = false\n", 1)
        (Path(tmp) / "no-audit.toml").write_text(text)
        audited = fedquery.connect(config)
        plain = fedquery.connect(Path(tmp) / "no-audit.toml")
        ruled = fedquery.connect(Path(tmp) / "no-audit.toml", purpose="support")  # the demo's output rules
        print(f"{'query':<44} {'median':>11}  {'':9}{'median':>11}")
        small = "SELECT count(*) FROM dwp.claims WHERE region = 'London'"
        _pair("audit on vs off (small query)", audited, small, plain, small, args.queries)
        income = "SELECT count(DISTINCT {}) FROM hmrc.income"
        _pair(
            "pseudonymise in a DuckDB file (12,000 rows)",
            plain, income.format("pseudonymise(person_id, 'bench')"), plain, income.format("person_id"),
            max(10, args.queries // 10),
        )  # fmt: skip
        claims = "SELECT count(DISTINCT {}) FROM dwp.claims"
        _pair(
            "pseudonymise at the boundary (Parquet)",
            plain, claims.format("pseudonymise(person_id, 'bench')"), plain, claims.format("person_id"),
            max(10, args.queries // 10),
        )  # fmt: skip
        grouped = "SELECT region, benefit, count(*) FROM dwp.claims GROUP BY ROLLUP (region, benefit)"
        _pair("disclosure control on vs off (ROLLUP)", ruled, grouped, plain, grouped, args.queries)
        for fed in (audited, plain, ruled):
            fed.close()


if __name__ == "__main__":
    main()
