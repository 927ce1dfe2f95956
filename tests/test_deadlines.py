"""Deadlines and cancellation, end to end, against the real servers: a query's timeout or cancel ends
its statements at PostgreSQL and MariaDB (gone from pg_stat_activity / the processlist), interrupts the
local DuckDB, and raises a typed error; Ctrl-C stops the CLI in every phase with exit 130; a client
that dies leaves no statement running.

Slowness is built at the servers (views that sleep), since fedquery pushes only allowlisted functions.
Time bounds are correctness bounds with room for a loaded 2-core machine, not benchmarks.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fedquery
from fedquery.errors import QueryCancelledError, QueryTimeoutError
from tests.conftest import PG_DSN, mysql_admin, mysql_url, pg_admin, pg_run

ROOT = Path(__file__).resolve().parents[1]


def _fed(**sources: dict[str, Any]) -> fedquery.Federation:
    return fedquery.connect({"departments": {name: {"sources": {"db": src}} for name, src in sources.items()}})


# -- PostgreSQL -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_slow() -> Iterator[str]:
    """``slow``: 2 rows, each taking 10 s at the server; ``steady``: 200 k rows, streamed slowly; ``small``: 3
    rows; ``big``: 300 k rows."""
    pg_schema = f"fq_deadline_{uuid.uuid4().hex[:10]}"
    pg_run(
        f'CREATE SCHEMA "{pg_schema}"',
        f'CREATE FUNCTION "{pg_schema}".slow_id(i int) RETURNS int LANGUAGE sql VOLATILE '
        "AS $$ SELECT pg_sleep(10); SELECT i $$",
        f'CREATE VIEW "{pg_schema}".slow AS SELECT "{pg_schema}".slow_id(g) AS id FROM generate_series(1, 2) g',
        f'CREATE VIEW "{pg_schema}".steady AS SELECT g AS id, md5(g::text) AS payload '
        "FROM generate_series(1, 200000) g "
        "WHERE (CASE WHEN g % 5000 = 0 THEN pg_sleep(0.05)::text END) IS NULL",
        f'CREATE TABLE "{pg_schema}".small AS SELECT g AS id FROM generate_series(1, 3) g',
        f'CREATE TABLE "{pg_schema}".big AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 300000) g',
    )
    yield pg_schema
    pg_run(f'DROP SCHEMA "{pg_schema}" CASCADE')


def _pg_config(schema: str) -> dict[str, Any]:
    return {"kind": "postgres", "url": PG_DSN, "schema": schema, "schemas": [schema]}


def pg_statements(marker: str) -> list[tuple[int, str]]:
    """fedquery's statements at PostgreSQL whose text contains ``marker`` and that are still active."""
    con = pg_admin()
    with con.cursor() as cur:
        cur.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = 'fedquery' "
            "AND state <> 'idle' AND position($1 in query) > 0 AND pid <> pg_backend_pid()",
            (marker,),
        )
        rows = [(int(p), str(s)) for p, s in cur.fetchall()]
    con.close()
    return rows


def _gone(probe: Any, marker: str, within: float) -> float:
    """Seconds until no statement matches (fails past ``within``)."""
    started = time.monotonic()
    while probe(marker):
        assert time.monotonic() - started < within, f"a statement on {marker} still runs after {within}s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_postgres_statement_ends_at_the_deadline(pg_slow: str) -> None:
    fed = _fed(dept=_pg_config(pg_slow))
    fed.tables()  # connect and read the catalog before timing
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as info:
        fed.sql("SELECT id FROM dept.slow", timeout=1).arrow()
    took = time.monotonic() - started
    assert took < 1.5, took
    assert info.value.phase == "fetch" and info.value.running == ["dept.db"]
    assert info.value.department == "dept" and "deadline of 1 s" in str(info.value)
    _gone(pg_statements, f'"{pg_slow}"."slow"', within=0.5)
    # The connection is not reused with the short timeout: the next query runs normally.
    assert fed.sql("SELECT count(*) FROM dept.steady WHERE id < 100").fetchall() == [(99,)]
    fed.close()


def test_result_cancel_from_another_thread(pg_slow: str) -> None:
    """The reader is in the output phase (reading slowly); another thread cancels the result."""
    fed = fedquery.connect(
        {"settings": {"batch_size": 1000}, "departments": {"dept": {"sources": {"db": _pg_config(pg_slow)}}}}
    )
    result = fed.sql("SELECT id FROM dept.steady WHERE id < 20000", timeout=60)
    threading.Timer(0.3, result.cancel).start()
    started, batches = time.monotonic(), 0
    with pytest.raises(QueryCancelledError) as info:
        for _ in result.reader():
            batches += 1
            time.sleep(0.05)
    assert not isinstance(info.value, QueryTimeoutError) and info.value.phase == "output"
    assert 0 < batches < 19 and time.monotonic() - started < 2.0
    fed.close()


def test_federation_interrupt_during_fetch(pg_slow: str) -> None:
    fed = _fed(dept=_pg_config(pg_slow))
    fed.tables()
    threading.Timer(0.5, fed.interrupt).start()
    started = time.monotonic()
    with pytest.raises(QueryCancelledError) as info:
        fed.sql("SELECT id FROM dept.slow").arrow()
    assert time.monotonic() - started < 1.5
    assert info.value.phase == "fetch" and "dept.db" in str(info.value)
    _gone(pg_statements, f'"{pg_slow}"."slow"', within=0.5)
    fed.close()


# -- MariaDB --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mysql_slow() -> Iterator[str]:
    """``slow``: 2 rows, 5 s of SLEEP each at the server."""
    database = f"fq_deadline_{uuid.uuid4().hex[:10]}"
    con = mysql_admin()
    with con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        cur.execute(f"CREATE VIEW `{database}`.slow AS SELECT seq AS id FROM test.seq_1_to_2 WHERE SLEEP(5) = 0")
    yield database
    with con.cursor() as cur:
        cur.execute(f"DROP DATABASE `{database}`")
    con.close()


def mysql_statements(marker: str) -> list[int]:
    """Connections whose running statement's text contains ``marker`` (not the probe itself)."""
    con = mysql_admin()
    with con.cursor() as cur:
        cur.execute(
            "SELECT id FROM information_schema.processlist WHERE info LIKE %s AND info NOT LIKE '%%processlist%%' "
            "AND id <> CONNECTION_ID()",
            (f"%{marker}%",),
        )
        rows = [int(r[0]) for r in cur.fetchall()]
    con.close()
    return rows


@pytest.mark.parametrize("driver", ["auto", "pymysql"])
def test_mysql_statement_ends_at_the_deadline(mysql_slow: str, driver: str) -> None:
    fed = _fed(dept={"kind": "mysql", "url": mysql_url(mysql_slow), "driver": driver})
    fed.tables()
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as info:
        fed.sql("SELECT id FROM dept.slow", timeout=1).arrow()
    assert time.monotonic() - started < 1.5
    assert info.value.phase == "fetch" and info.value.running == ["dept.db"]
    _gone(mysql_statements, f"`{mysql_slow}`.`slow`", within=0.5)
    connector = fed.catalog.connector("dept", "db")
    assert set(connector.drivers.values()) == {"connectorx" if driver == "auto" else "pymysql"}
    fed.close()


def test_mysql_server_failure_is_not_run_again_through_pymysql(mysql_slow: str) -> None:
    """A statement the server stopped (here its max_statement_time) fails the query; it is not sent a
    second time through the fallback driver (watched in the processlist: one connection ran it)."""
    fed = _fed(dept={"kind": "mysql", "url": mysql_url(mysql_slow), "statement_timeout": 0.5})
    fed.tables()
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(mysql_statements(f"`{mysql_slow}`.`slow`"))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    try:
        with pytest.raises(fedquery.SourceError) as info:
            fed.sql("SELECT id FROM dept.slow").arrow()
    finally:
        time.sleep(0.3)
        stop.set()
        watcher.join()
    assert time.monotonic() - started < 1.5
    assert "max_statement_time" in str(info.value) and info.value.remote_sql
    assert set(fed.catalog.connector("dept", "db").drivers.values()) == {"connectorx"}
    assert len(seen) == 1, f"the statement ran on {len(seen)} connections"
    fed.close()


# -- the CLI: Ctrl-C in every phase, and a client that dies ----------------------------------------
@pytest.fixture(scope="module")
def cli_config(pg_slow: str, mysql_slow: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "fedquery.toml"
    path.write_text(
        f'[departments.dept.sources.db]\nkind = "postgres"\nurl = "{PG_DSN}"\nschema = "{pg_slow}"\n'
        f'schemas = ["{pg_slow}"]\n\n'
        f'[departments.shop.sources.db]\nkind = "mysql"\nurl = "{mysql_url(mysql_slow)}"\n'
    )
    return path


def _cli(config: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "fedquery.cli", "-c", str(config), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip


def _wait_for(condition: Any, within: float, what: str) -> None:
    until = time.monotonic() + within
    while not condition():
        assert time.monotonic() < until, f"never saw {what}"
        time.sleep(0.02)


def _interrupt(proc: subprocess.Popen[bytes]) -> float:
    """SIGINT; the seconds until the process exited (it must exit 130 within 1 s, without a traceback)."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=5)
    finally:
        proc.kill()
    took = time.monotonic() - sent
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 130, (proc.returncode, stderr)
    assert "Traceback" not in stderr and "Interrupted" in stderr, stderr
    assert took < 1.0, took
    return took


def test_ctrl_c_during_fetch(cli_config: Path, pg_slow: str) -> None:
    proc = _cli(cli_config, "query", "SELECT id FROM dept.slow")
    marker = f'"{pg_slow}"."slow"'
    _wait_for(lambda: pg_statements(marker), 30, "the remote statement")
    _interrupt(proc)
    _gone(pg_statements, marker, within=2.0)


def test_ctrl_c_during_mysql_fetch(cli_config: Path, mysql_slow: str) -> None:
    proc = _cli(cli_config, "query", "SELECT id FROM shop.slow")
    marker = f"`{mysql_slow}`.`slow`"
    _wait_for(lambda: mysql_statements(marker), 30, "the remote statement")
    _interrupt(proc)
    _gone(mysql_statements, marker, within=2.0)


def _pg_done(marker: str) -> bool:
    """fedquery ran a statement naming ``marker`` and it has finished (its session is idle again)."""
    con = pg_admin()
    with con.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fedquery' AND state = 'idle' "
            "AND position($1 in query) > 0",
            (marker,),
        )
        (n,) = cur.fetchone()
    con.close()
    return bool(n)


def test_ctrl_c_during_the_local_step(cli_config: Path, pg_slow: str) -> None:
    """The fragment is read; the local DuckDB sleeps 60 s in pg_sleep."""
    proc = _cli(cli_config, "query", "SELECT pg_sleep(60) AS s, id FROM dept.small")
    _wait_for(lambda: _pg_done(f'"{pg_slow}"."small"'), 30, "the fetch finish")
    time.sleep(0.2)
    _interrupt(proc)


def test_ctrl_c_during_output(cli_config: Path) -> None:
    """The result is being written to a pipe nobody reads (the write blocks once the pipe is full)."""
    proc = _cli(cli_config, "query", "--format", "csv", "SELECT id, payload FROM dept.big")
    assert proc.stdout is not None
    _wait_for(lambda: select.select([proc.stdout], [], [], 0)[0], 60, "output")
    time.sleep(0.3)
    assert proc.poll() is None, "still writing"
    _interrupt(proc)


def test_local_sleep_is_bounded_by_the_deadline(pg_slow: str) -> None:
    fed = _fed(dept=_pg_config(pg_slow))
    fed.tables()
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError) as info:
        fed.sql("SELECT pg_sleep(60) AS s, id FROM dept.small", timeout=1).arrow()
    assert time.monotonic() - started < 1.5
    assert info.value.phase == "local step"
    fed.close()


@pytest.mark.parametrize("department", ["dept", "shop"])
def test_killed_client_leaves_no_statement_running(
    cli_config: Path, pg_slow: str, mysql_slow: str, department: str
) -> None:
    """SIGKILL: no cancel request can be sent. PostgreSQL notices the dead client itself
    (client_connection_check_interval); MariaDB ends the statement at its max_statement_time, which follows
    the query's deadline (and SLEEP notices the closed connection within about 5 s)."""
    probe, marker = (
        (pg_statements, f'"{pg_slow}"."slow"') if department == "dept" else (mysql_statements, f"`{mysql_slow}`.`slow`")
    )
    # PostgreSQL: the default deadline (an hour); MariaDB: a deadline of 4 s is what ends the statement.
    deadline = [] if department == "dept" else ["--timeout", "4"]
    proc = _cli(cli_config, "query", *deadline, f"SELECT id FROM {department}.slow")
    _wait_for(lambda: probe(marker), 30, "the remote statement")
    proc.kill()
    proc.wait()
    time.sleep(5)
    assert not probe(marker), "a statement still runs 5 s after its client died"


# -- the API and the settings ---------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1, "ten", True, float("nan")])
def test_query_timeout_setting_is_a_positive_number(bad: Any) -> None:
    config = {"settings": {"query_timeout": bad}, "departments": {"d": {"sources": {}}}}
    with pytest.raises(fedquery.ConfigError, match="query_timeout must be a positive number"):
        fedquery.connect(config)
    with pytest.raises(fedquery.QueryError, match="timeout must be a positive number"):
        fedquery.connect({"departments": {"d": {"sources": {}}}}).sql("SELECT 1", timeout=bad)


def test_default_deadline_from_settings_and_explain_analyze(pg_slow: str) -> None:
    fed = fedquery.connect(
        {"settings": {"query_timeout": 1}, "departments": {"dept": {"sources": {"db": _pg_config(pg_slow)}}}}
    )
    assert fed.config.settings.query_timeout == 1.0
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        fed.sql("SELECT id FROM dept.slow").arrow()
    with pytest.raises(QueryTimeoutError):
        fed.explain("SELECT id FROM dept.slow", analyze=True, timeout=0.5)
    assert time.monotonic() - started < 3.0
    plan = fed.explain("SELECT count(*) FROM dept.small", analyze=True, timeout=30)
    assert plan.result_rows == 1
    fed.close()


def test_cli_timeout_exit_code(cli_config: Path) -> None:
    from click.testing import CliRunner

    from fedquery.cli import main

    for command in ("query", "explain"):
        extra = ["--analyze"] if command == "explain" else []
        result = CliRunner().invoke(
            main, ["-c", str(cli_config), command, *extra, "--timeout", "0.5", "SELECT id FROM dept.slow"]
        )
        assert result.exit_code == 6, result.output
        assert "timed out" in result.output and "Traceback" not in result.output
