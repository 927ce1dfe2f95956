"""The benchmarks' peer (duckdb 1.5.5 and its scanners in their own environment) over SQLite and DuckDB files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from benchmarks import peer


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("peer")
    con = sqlite3.connect(root / "stock.sqlite")
    con.execute("CREATE TABLE reason (r_reason_sk INTEGER PRIMARY KEY, r_reason_desc VARCHAR(100))")
    con.executemany("INSERT INTO reason VALUES (?, ?)", [(1, "late"), (2, "broken"), (3, None)])
    con.commit()
    con.close()
    with duckdb.connect(str(root / "web.duckdb")) as web:  # this project's duckdb, its own storage
        web.execute("CREATE TABLE web_returns (wr_reason_sk INTEGER, wr_amount DECIMAL(7,2))")
        web.execute("INSERT INTO web_returns VALUES (1, 10.50), (1, 2.25), (2, 7.00), (NULL, 1.00)")
    config = root / "fedquery.toml"
    config.write_text(
        '[departments.stock.sources.sqlite]\nkind = "sqlite"\npath = "stock.sqlite"\n'
        '[departments.web.sources.duckdb]\nkind = "duckdb"\npath = "web.duckdb"\n'
    )
    split = {"reason": ("stock", "sqlite"), "web_returns": ("web", "duckdb")}
    running = peer.start(split, config)
    if isinstance(running, str):
        assert running.startswith("skipped: cannot install"), running
        pytest.skip(running)
    yield running, root
    running.close()


def test_the_peer_joins_sqlite_and_a_duckdb_file_and_is_checked(started) -> None:  # type: ignore[no-untyped-def]
    running, root = started
    sql = (
        "SELECT r_reason_desc, sum(wr_amount) FROM web_returns JOIN reason ON wr_reason_sk = r_reason_sk "
        "GROUP BY r_reason_desc"
    )
    record = running.query("j", sql, 1, [("late", 12.75), ("broken", 7.0)])
    assert record["correct"] and record["median_s"] > 0, record
    wrong = running.query("j", sql, 1, [("late", 12.75), ("broken", 7.5)])
    assert wrong["correct"] is False and "median_s" not in wrong  # a wrong answer is never timed
    # the peer read a copy in the storage duckdb 1.5.5 opens; the department's file is untouched
    assert (root / f"web.storage-{peer.STORAGE}.duckdb").exists()


def test_errors_and_timeouts_are_reported_and_the_peer_goes_on(started) -> None:  # type: ignore[no-untyped-def]
    running, _ = started
    bad = running.query("bad", "SELECT no_such_column FROM reason", 1, [])
    assert bad["correct"] is False and "no_such_column" in bad["error"]
    slow = running.query("slow", "SELECT count(*) FROM range(100000000000) a", 1, [(0,)], timeout=0.5)
    assert slow["correct"] is False and slow["error"] == "timed out after 0.5 s"
    after = running.query("after", "SELECT count(*) FROM reason", 1, [(3,)])
    assert after["correct"], after


def test_a_split_the_peer_cannot_attach_is_skipped_with_the_reason(tmp_path: Path) -> None:
    note = peer.start({"t": ("d", "json")}, tmp_path / "fedquery.toml")
    assert note == "skipped: the split uses ['json'], which the peer cannot attach"
