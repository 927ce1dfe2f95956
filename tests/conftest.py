from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import math
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from benchmarks import tpch_data

SCALE = 0.01


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Statistics and inventory caches of the test federations go to a temporary directory."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(autouse=True)
def _plans_per_test() -> Iterator[None]:
    """No plan is reused across tests: tests change the planner's constants (``monkeypatch``) under
    session-wide federations, and a plan depends on them. Within a test, plans are reused as in use."""
    from fedquery.plan_cache import clear_all

    clear_all()
    yield
    clear_all()


@pytest.fixture(scope="session")
def tpch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tpch_data.generate(SCALE, tmp_path_factory.mktemp("tpch"))


@pytest.fixture(scope="session")
def tpch_config(tpch_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tpch_data.build_federation(tpch_dir, tmp_path_factory.mktemp("federation"))


@pytest.fixture(scope="session")
def tpch_fed(tpch_config: Path):  # type: ignore[no-untyped-def]
    import fedquery

    fed = fedquery.connect(tpch_config)
    yield fed
    fed.close()


@pytest.fixture(scope="session")
def analyzed(tpch_config: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The TPC-H federation with exact statistics (``fed.analyze()``), cached in a private directory."""
    import fedquery

    fed = fedquery.connect(tpch_config)
    fed.config.settings = type(fed.config.settings)(cache_directory=str(tmp_path_factory.mktemp("stats")))
    fed.analyze()
    yield fed
    fed.close()


@pytest.fixture(scope="session")
def oracle(tpch_dir: Path):  # type: ignore[no-untyped-def]
    con = tpch_data.oracle(tpch_dir)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fedquery.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("demo"))


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return round(value, 6)
    if isinstance(value, decimal.Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def same_rows(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], *, ordered: bool = False) -> bool:
    """Rows equal as multisets (or sequences), numbers compared to 6 decimal places."""
    a = [tuple(_normal(v) for v in r) for r in got]
    b = [tuple(_normal(v) for v in r) for r in expected]
    if not ordered:
        a, b = sorted(a, key=repr), sorted(b, key=repr)
    return a == b


def assert_same_rows(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], *, ordered: bool = False) -> None:
    assert len(got) == len(expected), f"{len(got)} rows, oracle has {len(expected)}"
    assert same_rows(got, expected, ordered=ordered), f"rows differ: {got[:5]} vs oracle {expected[:5]}"


# -- real database servers --------------------------------------------------------------------------
PG_DSN = os.environ.get("FEDQUERY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("FEDQUERY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


def _unreachable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(f"{message}; set FEDQUERY_TEST_PG_DSN / FEDQUERY_TEST_MYSQL_URL to run these tests")


def pg_admin() -> Any:
    try:
        import adbc_driver_postgresql.dbapi as adbc
    except ImportError as exc:
        _unreachable("adbc-driver-postgresql (the postgres extra)", exc)
    try:
        return adbc.connect(PG_DSN, autocommit=True)
    except Exception as exc:  # noqa: BLE001
        _unreachable(f"PostgreSQL at {PG_DSN}", exc)


def pg_run(*statements: str) -> None:
    """Run set-up statements on the test PostgreSQL server as its admin."""
    con = pg_admin()
    try:
        with con.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        con.close()


@contextlib.contextmanager
def killing_pg_queries(condition: str, params: tuple[Any, ...] = ()) -> Iterator[threading.Event]:
    """While the block runs, a second session terminates fedquery's active PostgreSQL queries that
    also match ``condition`` (over pg_stat_activity); the event is set once one was killed."""
    killed = threading.Event()
    done = threading.Event()

    def killer() -> None:
        # Keeps killing until the block ends: a statement killed as it starts on a reused pooled
        # connection is retried once on a fresh one (the pool's rule), and that one must die too.
        admin = pg_admin()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not done.is_set():
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fedquery' "
                    f"AND state = 'active' AND {condition}",
                    params or None,
                )
                if any(r[0] for r in cur.fetchall()):
                    killed.set()
            time.sleep(0.005)
        admin.close()

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        yield killed
    finally:
        done.set()
        thread.join()


def mysql_admin() -> Any:
    try:
        import pymysql
    except ImportError as exc:
        _unreachable("pymysql (the mysql extra)", exc)
    parts = urlsplit(MYSQL_URL)
    try:
        return pymysql.connect(
            host=parts.hostname, port=parts.port or 3306, user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""), autocommit=True,
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        _unreachable(f"MariaDB/MySQL at {MYSQL_URL}", exc)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A uniquely named PostgreSQL schema, dropped afterwards."""
    con = pg_admin()
    name = f"fq_test_{uuid.uuid4().hex[:10]}"
    with con.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{name}"')
    yield name
    with con.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{name}" CASCADE')
    con.close()


@pytest.fixture(scope="session")
def mysql_database() -> Iterator[str]:
    """A uniquely named MariaDB/MySQL database, dropped afterwards."""
    con = mysql_admin()
    name = f"fq_test_{uuid.uuid4().hex[:10]}"
    with con.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    yield name
    with con.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")
    con.close()


@contextlib.contextmanager
def own_schema_and_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL schema and a MariaDB database of one fresh name, dropped afterwards (for fixtures
    whose sources must list only their own tables)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    pg_run(f'CREATE SCHEMA "{name}"')
    my = mysql_admin()
    with my.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        yield name
    finally:
        pg_run(f'DROP SCHEMA "{name}" CASCADE')
        with my.cursor() as cur:
            cur.execute(f"DROP DATABASE `{name}`")
        my.close()


def mysql_url(database: str) -> str:
    base = MYSQL_URL.rsplit("/", 1)[0] if MYSQL_URL.count("/") > 2 else MYSQL_URL
    return f"{base}/{database}"


def without_output_rules(config: Path) -> Path:
    """Drop the demo catalog's output rules (disclosure control) in place, keeping its access rules: for
    tests of access rules alone, whose principals (the support project) would otherwise be aggregate-only."""
    import re

    text = re.sub(r"\[departments\.\w+\.output\]\n(?:[^\[\n].*\n)*", "", config.read_text())
    assert "output]" not in text
    config.write_text(text)
    return config


@pytest.fixture
def duckdb_file_groups_like_a_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A DuckDB file pre-aggregates wherever a server would (groups up to ``MAX_GROUP_FRACTION`` of the
    rows): the partial-aggregation tests run on the TPC-H fixture's DuckDB file, whose own limit
    (``Capabilities.max_group_fraction``, 0.1: it answers in this process) leaves SF 0.01 below it."""
    from dataclasses import replace

    from connectors.duckdb_file import DuckDBConnector
    from fedquery.planner.partial_aggregate import MAX_GROUP_FRACTION

    caps = replace(DuckDBConnector.capabilities, max_group_fraction=MAX_GROUP_FRACTION)
    monkeypatch.setattr(DuckDBConnector, "capabilities", caps)


@pytest.fixture
def reductions_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """Semi-join reductions planned whatever the consumer's size: tests of the mechanism run on SF 0.01
    files and the demo, far below where waiting for keys pays for a local file
    (``Capabilities.reduction_min_rows``)."""
    from fedquery.planner import semijoin

    monkeypatch.setattr(semijoin, "MIN_ROWS_SCALE", 0.0)
