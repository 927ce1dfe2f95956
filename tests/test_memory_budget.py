"""One memory budget that holds: memory bombs under ``memory_limit = "500MB"``.

Each bomb runs in a child process (``benchmarks.memory.run``) that the parent samples and
kills past 2 GiB resident, under an ``RLIMIT_AS`` of 6 GiB, so a bomb that escapes fails the
test without taking the machine down. Each must end in a correct answer or a ResourceError (the
queries that fit by spilling: a correct answer),
with a peak resident set of at most the budget plus the documented fixed overhead: the
process before its first query (python, duckdb, pyarrow, fedquery, the catalog and the local
DuckDB open) and the watchdog's headroom.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import fedquery
from benchmarks.memory import BOMBS, CONCURRENT, SPILLS, Outcome, run, write_federation
from fedquery.memory import headroom, local_database, parse_size

LIMIT = "500MB"
CAP = 2 * 2**30
#: python + duckdb + pyarrow + fedquery imported, the catalog and the local DuckDB open (measured ~200 MB)
BASELINE_CEILING = 300 * 10**6


@pytest.fixture(scope="module")
def bomb_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_federation(tmp_path_factory.mktemp("bombs"), LIMIT, threads=2)


def _check(outcome: Outcome) -> None:
    limit = parse_size(LIMIT)
    allowed = ("answer",) if outcome.name in SPILLS else ("answer", "ResourceError")
    assert outcome.result in allowed, (outcome.name, outcome.result, outcome.message)
    if outcome.result == "answer":
        assert outcome.correct, outcome
    else:
        assert "memory_limit 500MB" in outcome.message and "while " in outcome.message, outcome.message
    assert 0 < outcome.baseline <= BASELINE_CEILING, outcome
    assert outcome.peak <= outcome.baseline + limit + headroom(limit), (
        f"{outcome.name}: peak {outcome.peak / 1e6:.0f} MB over baseline {outcome.baseline / 1e6:.0f} MB "
        f"+ limit + headroom"
    )


@pytest.mark.parametrize("name", list(BOMBS))
def test_memory_bomb(bomb_config: Path, name: str) -> None:
    (outcome,) = run(bomb_config, [name], cap=CAP, address_space=4 * CAP, timeout=45)
    _check(outcome)


@pytest.mark.parametrize("name", ["string_agg over 1e8 rows", "list() over 1e8 rows"])
def test_a_bomb_in_a_local_files_own_duckdb_is_a_resource_error(bomb_config: Path, tmp_path: Path, name: str) -> None:
    """The same bombs where the Parquet source answers them in its sandboxed DuckDB (the default engine):
    that DuckDB has the same memory_limit, and running out of it is a ResourceError, not a source error."""
    config = tmp_path / "fedquery.toml"
    config.write_text(bomb_config.read_text().replace('engine = "arrow"\n', ""))
    (outcome,) = run(config, [name], cap=CAP, address_space=4 * CAP, timeout=45)
    _check(outcome)


def test_four_concurrent_heavy_queries_share_one_budget(bomb_config: Path) -> None:
    outcomes = run(bomb_config, [CONCURRENT] * 4, cap=CAP, address_space=4 * CAP, timeout=60)
    for outcome in outcomes:
        _check(outcome)


def test_the_literal_bombs_are_refused_at_planning(bomb_config: Path) -> None:
    with fedquery.connect(bomb_config) as fed:
        with pytest.raises(fedquery.ResourceError) as info:
            fed.explain("SELECT count(*) FROM (SELECT unnest(range(200000000)))")
        assert info.value.phase == "planning" and info.value.limit == 500 * 10**6
        assert "RANGE()" in str(info.value) and "memory_limit 500MB" in str(info.value)
        guarded = fed.explain("SELECT max(length(repeat(s, n))) FROM d.t").local_sql
        assert "ERROR(" in guarded  # a per-row builder is checked before DuckDB allocates
        assert fed.sql("SELECT count(*) FROM (SELECT unnest(range(100000)))").fetchall() == [(100_000,)]


def test_concurrent_queries_share_one_database_without_sharing_tables(bomb_config: Path) -> None:
    """Same fragment names in four queries at once: each sees its own tables; all dropped after."""
    with fedquery.connect(bomb_config) as fed:
        results: dict[int, object] = {}

        def one(i: int) -> None:
            results[i] = fed.sql(f"SELECT count(*), sum(id) FROM d.t WHERE id < {1000 * (i + 1)}").fetchall()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for i in range(4):
            n = 1000 * (i + 1)
            assert results[i] == [(n, n * (n - 1) // 2)]
        database = local_database(fed.config.settings)
        assert _query_schemas(fed) == []
        assert local_database(fed.config.settings) is database


def _query_schemas(fed: fedquery.Federation) -> list[tuple[str]]:
    cursor = local_database(fed.config.settings).cursor()
    try:
        return cursor.sql("SELECT schema_name FROM duckdb_schemas() WHERE schema_name LIKE 'fedquery%'").fetchall()
    finally:
        cursor.close()


def test_a_result_dropped_unread_frees_its_tables(bomb_config: Path) -> None:
    import gc

    with fedquery.connect(bomb_config) as fed:
        result = fed.sql("SELECT * FROM d.t ORDER BY 1")  # a local step: its fragment is loaded into DuckDB
        assert len(_query_schemas(fed)) == 1
        del result
        gc.collect()
        fed.sql("SELECT 1").fetchall()  # the next query frees what the collector found
        assert _query_schemas(fed) == []


def test_the_watchdog_stops_a_query_past_the_budget(bomb_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fedquery.memory import LocalDatabase

    monkeypatch.setattr(LocalDatabase, "allowance", property(lambda self: -(10**12)))
    with fedquery.connect(bomb_config) as fed:
        with pytest.raises(fedquery.ResourceError) as info:
            fed.sql("SELECT a.id, count(*) FROM d.t AS a, d.t AS b WHERE b.id < 2000 GROUP BY a.id").fetchall()
    assert info.value.phase in ("loading fragments", "running the local step", "streaming the result")
    assert "grew past the budget" in str(info.value)


def test_memory_limit_must_parse() -> None:
    config = {"settings": {"memory_limit": "lots"}, "departments": {"d": {"sources": {}}}}
    with pytest.raises(fedquery.ConfigError, match="memory_limit"):
        fedquery.connect(config)


def test_the_cli_reports_a_resource_error(bomb_config: Path) -> None:
    from click.testing import CliRunner

    from fedquery.cli import main

    sql = "SELECT count(*) FROM (SELECT unnest(range(200000000)))"
    result = CliRunner().invoke(main, ["-c", str(bomb_config), "query", sql], catch_exceptions=False)
    assert result.exit_code == fedquery.ResourceError.exit_code == 8
    assert "memory_limit 500MB" in result.output and "Traceback" not in result.output
