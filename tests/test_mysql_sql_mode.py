"""A MariaDB server whose sql_mode changes how SQL reads answers as DuckDB does all the same.

``PIPES_AS_CONCAT``, ``ANSI_QUOTES``, ``NO_BACKSLASH_ESCAPES``, ``HIGH_NOT_PRECEDENCE`` and
``PAD_CHAR_TO_FULL_LENGTH`` change what a pushed statement means (a backslash in a literal, NOT's
precedence, CHAR values arriving padded). fedquery sets the session's sql_mode itself
(``connectors.mysql.SQL_MODE``). The shared server cannot be reconfigured, so this starts a private
MariaDB (``mariadb-install-db`` + ``mariadbd`` on a free port) with those modes as its default.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import fedquery
from tests.conftest import assert_same_rows

MODES = "PIPES_AS_CONCAT,ANSI_QUOTES,NO_BACKSLASH_ESCAPES,HIGH_NOT_PRECEDENCE,PAD_CHAR_TO_FULL_LENGTH"
ROWS = [(1, "a\\b", "ab", 1), (2, "ab", "ab ", 0), (3, "x", None, 2), (4, "a\\\\b", "xyz", None)]


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def odd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    install, server = shutil.which("mariadb-install-db"), shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    if install is None or not Path(server).exists():
        _unavailable("mariadb-install-db / mariadbd are not installed")
    root = tmp_path_factory.mktemp("mariadb")
    data, port = root / "data", _free_port()
    user = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal", "--skip-test-db",
         *user],
        check=True, capture_output=True,
    )  # fmt: skip
    proc = subprocess.Popen(
        [server, "--no-defaults", f"--datadir={data}", f"--port={port}", "--bind-address=127.0.0.1",
         f"--socket={root / 'sock'}", f"--pid-file={root / 'pid'}", f"--sql-mode={MODES}", "--skip-log-bin",
         "--innodb-buffer-pool-size=16M", *user],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import pymysql

        for _ in range(100):
            try:
                con = pymysql.connect(host="127.0.0.1", port=port, user="root", autocommit=True)
                break
            except pymysql.MySQLError:
                time.sleep(0.2)
        else:
            _unavailable("the private MariaDB did not start")
        with con.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.sql_mode")
            assert "NO_BACKSLASH_ESCAPES" in cur.fetchone()[0]
            cur.execute("CREATE DATABASE odd")
            cur.execute("CREATE TABLE odd.t (id INT PRIMARY KEY, name VARCHAR(10), code CHAR(5), v INT)")
            cur.executemany("INSERT INTO odd.t VALUES (%s, %s, %s, %s)", ROWS)
        con.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def odd(odd_server: int) -> Iterator[tuple[Any, Any]]:
    fed = fedquery.connect(
        {
            "departments": {
                "my": {"sources": {"db": {"kind": "mysql", "url": f"mysql://root@127.0.0.1:{odd_server}/odd"}}}
            }
        }
    )
    oracle = duckdb.connect()
    oracle.execute("CREATE SCHEMA my")
    oracle.execute("CREATE TABLE my.t (id INT, name VARCHAR, code VARCHAR, v INT)")
    oracle.executemany(
        "INSERT INTO my.t VALUES (?, ?, ?, ?)", [(i, n, c if c is None else c.rstrip(), v) for i, n, c, v in ROWS]
    )
    yield fed, oracle
    fed.close()
    oracle.close()


QUERIES = [
    "SELECT id FROM my.t WHERE name = 'a\\b'",
    "SELECT id FROM my.t WHERE name IN ('a\\b', 'x')",
    "SELECT id, code, length(code) FROM my.t",
    "SELECT id FROM my.t WHERE code = 'ab'",
    "SELECT id FROM my.t WHERE NOT v = 1",
    "SELECT id FROM my.t WHERE NOT v BETWEEN 1 AND 2",
    "SELECT id, v || 'x' FROM my.t",
    "SELECT id, v + 1 FROM my.t WHERE v IS NOT NULL OR id = 4",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_a_server_with_odd_modes_answers_as_duckdb(odd: tuple[Any, Any], sql: str) -> None:
    fed, oracle = odd
    expected = oracle.sql(sql).fetchall()
    for strategy in ("filters", "full", "auto"):
        assert_same_rows(fed.sql(sql, pushdown=strategy).fetchall(), expected)


def test_explain_shows_the_sql_mode(odd: tuple[Any, Any]) -> None:
    fed, _ = odd
    text = str(fed.explain("SELECT id FROM my.t WHERE v = 1"))
    assert "sql_mode" in text and "ONLY_FULL_GROUP_BY" in text
