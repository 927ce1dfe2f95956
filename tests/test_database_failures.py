"""Remote sources that are down, refuse the login, time out or drop the connection mid-stream:
a typed error naming the department, the source (password hidden) and the remote SQL; no partial
result; no connection left open. And the sessions themselves are read-only and identify themselves."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from tests.conftest import PG_DSN, killing_pg_queries, mysql_admin, mysql_url, pg_admin, pg_run

CANARY = "canary-pw-4417"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fed(kind: str, url: str, **options: object) -> fedquery.Federation:
    return fedquery.connect({"departments": {"dept": {"sources": {"db": {"kind": kind, "url": url, **options}}}}})


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_server_down(kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FQ_DB_PASSWORD", CANARY)
    scheme = "postgresql" if kind == "postgres" else "mysql"
    url = f"{scheme}://ana:${{ENV:FQ_DB_PASSWORD}}@127.0.0.1:{_free_port()}/benefits"
    fed = _fed(kind, url)
    with pytest.raises(fedquery.SourceUnavailableError) as info:
        fed.sql("SELECT * FROM dept.claims")
    assert info.value.department == "dept" and info.value.source == "db"
    assert "ana:***@127.0.0.1" in str(info.value)
    assert CANARY not in str(info.value) and CANARY not in repr(fed.config.departments["dept"].sources["db"])
    config = tmp_path / "fedquery.toml"
    config.write_text(f'[departments.dept.sources.db]\nkind = "{kind}"\nurl = "{url}"\n')
    result = CliRunner().invoke(main, ["-c", str(config), "query", "SELECT * FROM dept.claims"])
    assert result.exit_code == 4 and CANARY not in result.output and "Traceback" not in result.output


def test_mysql_login_refused(mysql_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mysql_admin().close()  # skip/fail clearly if the server is absent
    monkeypatch.setenv("FQ_DB_PASSWORD", CANARY)
    url = mysql_url(mysql_database).replace("://root@", "://root:${ENV:FQ_DB_PASSWORD}@")
    with pytest.raises(fedquery.SourceUnavailableError) as info:
        _fed("mysql", url).sql("SELECT * FROM dept.claims")
    assert "Access denied" in str(info.value) and CANARY not in str(info.value)


def test_postgres_unknown_role_refused(pg_schema: str) -> None:
    url = PG_DSN.replace("://postgres@", "://no_such_role_fq@")
    with pytest.raises(fedquery.SourceUnavailableError) as info:
        _fed("postgres", url).sql("SELECT * FROM dept.claims")
    assert "no_such_role_fq" in str(info.value)


@pytest.fixture(scope="module")
def big_pg(pg_schema: str):  # type: ignore[no-untyped-def]
    pg_run(
        f'CREATE TABLE "{pg_schema}".big AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 600000) g',
        f'CREATE VIEW "{pg_schema}".slow AS SELECT pg_sleep(3)::text AS s',
        # Streams steadily: a short pause every 20,000 rows, so a second session can kill it mid-stream.
        f'CREATE VIEW "{pg_schema}".trickle AS SELECT id, payload FROM "{pg_schema}".big '
        "WHERE (CASE WHEN id % 20000 = 0 THEN pg_sleep(0.05)::text END) IS NULL",
    )
    fed = _fed("postgres", PG_DSN, schema=pg_schema, schemas=[pg_schema])
    yield fed
    fed.close()


def _fedquery_backends(schema: str = "") -> list[tuple[int, str]]:
    """fedquery sessions; with ``schema``, only those whose latest query names it (never another process's)."""
    con = pg_admin()
    with con.cursor() as cur:
        cur.execute(
            "SELECT pid, state FROM pg_stat_activity WHERE application_name = 'fedquery' AND position($1 in query) > 0",
            (schema,),
        )
        rows = [(int(p), str(s)) for p, s in cur.fetchall()]
    con.close()
    return rows


def test_sessions_are_read_only_and_named(pg_schema: str, big_pg) -> None:  # type: ignore[no-untyped-def]
    assert big_pg.sql("SELECT count(*) FROM dept.big").fetchall() == [(600000,)]
    assert _fedquery_backends(pg_schema), "the pooled session shows application_name = fedquery"
    connector = big_pg.catalog.connector("dept", "db")
    con = connector.pool.acquire()
    try:
        with con.cursor() as cur, pytest.raises(Exception, match="read-only"):
            cur.execute("CREATE TABLE should_not_exist (x int)")
    finally:
        connector.pool.discard(con)


def test_mysql_sessions_are_read_only(mysql_database: str) -> None:
    admin = mysql_admin()
    with admin.cursor() as cur:
        cur.execute(f"CREATE TABLE `{mysql_database}`.ro (x INT)")
    admin.close()
    fed = _fed("mysql", mysql_url(mysql_database))
    assert fed.sql("SELECT count(*) FROM dept.ro").fetchall() == [(0,)]
    connector = fed.catalog.connector("dept", "db")
    con = connector.pool.acquire()
    try:
        with con.cursor() as cur, pytest.raises(Exception, match="(?i)read.only"):
            cur.execute("START TRANSACTION READ ONLY")
            cur.execute(f"INSERT INTO `{mysql_database}`.ro VALUES (1)")
    finally:
        connector.pool.discard(con)
    fed.close()
    assert connector.pool.open == 0


def test_statement_timeout(pg_schema: str, big_pg) -> None:  # type: ignore[no-untyped-def]
    fed = _fed("postgres", PG_DSN, schema=pg_schema, schemas=[pg_schema], statement_timeout=0.5)
    started = time.perf_counter()
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM dept.slow").arrow()
    assert time.perf_counter() - started < 2.5
    assert "statement timeout" in str(info.value) and info.value.remote_sql
    fed.close()


def test_connection_killed_mid_stream(pg_schema: str, big_pg) -> None:  # type: ignore[no-untyped-def]
    """pg_terminate_backend from a second session while batches are flowing."""
    plan = big_pg.explain("SELECT id, payload FROM dept.big")
    (fragment,) = plan.fragments
    connector = big_pg.catalog.connector("dept", "db")
    connector.pool.close()
    reader = connector.scan(fragment)
    first = reader.read_next_batch()
    assert first.num_rows > 0
    active = [pid for pid, state in _fedquery_backends(pg_schema) if state != "idle"]
    assert active
    admin = pg_admin()
    with admin.cursor() as cur:
        for pid in active:
            cur.execute("SELECT pg_terminate_backend($1::int)", (pid,))
    admin.close()
    with pytest.raises(fedquery.SourceError) as info:
        reader.read_all()
    assert info.value.department == "dept" and info.value.source == "db"
    assert info.value.remote_sql == fragment.sql
    assert connector.pool.open == 0, "the broken connection was closed, not pooled"


def test_killed_query_fails_the_federated_query_with_no_partial_result(big_pg) -> None:  # type: ignore[no-untyped-def]
    """The same through fed.sql: the query fails as a whole; the next query works on a fresh connection."""
    with killing_pg_queries("query LIKE '%trickle%'"), pytest.raises(fedquery.SourceError) as info:
        big_pg.sql("SELECT count(*), max(payload) FROM dept.trickle").fetchall()
    assert info.value.department == "dept" and info.value.remote_sql and "trickle" in info.value.remote_sql
    assert big_pg.sql("SELECT count(*) FROM dept.big").fetchall() == [(600000,)]


def test_idle_pooled_connection_killed_between_queries(pg_schema: str, big_pg) -> None:  # type: ignore[no-untyped-def]
    assert big_pg.sql("SELECT count(*) FROM dept.big WHERE id < 10").fetchall() == [(9,)]
    admin = pg_admin()
    with admin.cursor() as cur:
        for pid, _ in _fedquery_backends(pg_schema):
            cur.execute("SELECT pg_terminate_backend($1::int)", (pid,))
    admin.close()
    time.sleep(0.1)
    assert big_pg.sql("SELECT count(*) FROM dept.big WHERE id < 10").fetchall() == [(9,)]


def test_close_leaves_no_connection_open(pg_schema: str, big_pg) -> None:  # type: ignore[no-untyped-def]
    before = {pid for pid, _ in _fedquery_backends()}
    with _fed("postgres", PG_DSN, schema=pg_schema, schemas=[pg_schema]) as fed:
        fed.sql("SELECT count(*) FROM dept.big").fetchall()
        connector = fed.catalog.connector("dept", "db")
        assert connector.pool.open >= 1
    assert connector.pool.open == 0
    time.sleep(0.1)
    assert {pid for pid, _ in _fedquery_backends()} <= before


@pytest.fixture(scope="module")
def big_mysql(mysql_database: str):  # type: ignore[no-untyped-def]
    con = mysql_admin()
    with con.cursor() as cur:
        cur.execute(
            f"CREATE TABLE `{mysql_database}`.big (id BIGINT PRIMARY KEY, payload CHAR(32), precise DECIMAL(30,12))"
        )
        cur.execute(
            f"INSERT INTO `{mysql_database}`.big SELECT seq, MD5(seq), seq + 0.123456789012 FROM test.seq_1_to_200000"
        )
        cur.execute(
            f"CREATE VIEW `{mysql_database}`.trickle AS SELECT id, payload FROM `{mysql_database}`.big "
            "WHERE IF(id % 10000 = 0, SLEEP(0.05), 0) = 0"
        )
    con.close()
    yield mysql_database


@pytest.mark.parametrize("driver", ["auto", "pymysql"])
def test_mysql_connection_killed_mid_stream(big_mysql: str, driver: str) -> None:
    """KILL from a second session while the statement runs (connectorx reads a fragment whole, PyMySQL
    streams it): a typed error, and the killed statement is not run again through the other driver."""
    fed = _fed("mysql", mysql_url(big_mysql), driver=driver, batch_size=1000)
    (fragment,) = fed.explain("SELECT id, payload FROM dept.trickle").fragments
    connector = fed.catalog.connector("dept", "db")
    killed = threading.Event()

    def killer() -> None:
        admin = mysql_admin()
        until = time.monotonic() + 20
        with admin.cursor() as cur:
            while not killed.is_set() and time.monotonic() < until:
                cur.execute(
                    "SELECT id FROM information_schema.processlist WHERE info LIKE '%trickle%' "
                    "AND info NOT LIKE '%processlist%' AND time >= 0 AND id <> CONNECTION_ID()"
                )
                for (pid,) in cur.fetchall():
                    cur.execute("KILL %s", (pid,))
                    killed.set()
                time.sleep(0.02)
        admin.close()

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        with pytest.raises(fedquery.SourceError) as info:
            connector.scan(fragment).read_all()
    finally:
        killed.set()
        thread.join()
    assert connector.drivers[fragment.name] == ("connectorx" if driver == "auto" else "pymysql")
    assert info.value.department == "dept" and info.value.remote_sql == fragment.sql
    fed.close()
    assert connector.pool.open == 0


def test_mysql_drivers_exact_decimals(big_mysql: str) -> None:
    from decimal import Decimal

    fed = _fed("mysql", mysql_url(big_mysql))
    connector = fed.catalog.connector("dept", "db")
    result = fed.sql("SELECT id, precise FROM dept.big WHERE id IN (1, 3)")
    rows = sorted(result.fetchall())
    assert rows == [(1, Decimal("1.123456789012")), (3, Decimal("3.123456789012"))]  # 12 digits: PyMySQL
    assert str(result.arrow().schema.field("precise").type) == "decimal128(30, 12)"
    assert set(connector.drivers.values()) == {"pymysql"}
    connector.drivers.clear()
    assert fed.sql("SELECT count(*), max(payload) FROM dept.big").fetchall()[0][0] == 200000
    assert set(connector.drivers.values()) == {"connectorx"}  # Arrow-native when it can be exact
    fed.close()
