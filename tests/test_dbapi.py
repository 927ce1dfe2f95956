"""DB-API 2.0 (PEP 249), one test per requirement, in the manner of the dbapi20.py compliance suite.

What a read-only engine cannot do (DDL, inserts, commits that persist) is replaced by reads of the
demo federation; everything else follows the suite's checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fedquery

REGIONS = "SELECT DISTINCT region FROM dwp.claims ORDER BY region"
N_REGIONS = 7


@pytest.fixture
def con(demo_config: Path) -> Iterator[Any]:
    connection = fedquery.connect(demo_config)
    yield connection
    connection.close()


def test_apilevel() -> None:
    assert fedquery.apilevel == "2.0"


def test_threadsafety() -> None:
    assert fedquery.threadsafety in (0, 1, 2, 3)


def test_paramstyle() -> None:
    assert fedquery.paramstyle in ("qmark", "numeric", "named", "format", "pyformat")
    assert fedquery.paramstyle == "qmark"


def test_exceptions_hierarchy() -> None:
    assert issubclass(fedquery.Warning, Exception)
    assert issubclass(fedquery.Error, Exception)
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(fedquery, name), fedquery.Error)
    for name in ("DataError", "OperationalError", "IntegrityError", "InternalError", "ProgrammingError",
                 "NotSupportedError"):  # fmt: skip
        assert issubclass(getattr(fedquery, name), fedquery.DatabaseError)
    # fedquery's own typed errors sit in PEP 249's families
    assert issubclass(fedquery.ParseError, fedquery.ProgrammingError)
    assert issubclass(fedquery.UnknownColumnError, fedquery.ProgrammingError)
    assert issubclass(fedquery.SourceError, fedquery.OperationalError)
    assert issubclass(fedquery.QueryTimeoutError, fedquery.OperationalError)
    assert issubclass(fedquery.ParameterValueError, fedquery.DataError)
    assert issubclass(fedquery.PlanError, fedquery.NotSupportedError)


def test_exceptions_as_connection_attributes_are_module_names(con: Any) -> None:
    with pytest.raises(fedquery.ProgrammingError):
        con.cursor().execute("SELEC 1")


def test_commit_and_rollback_do_nothing(con: Any) -> None:
    con.commit()
    con.rollback()  # nothing was written: there is nothing to undo


def test_cursor(con: Any) -> None:
    assert con.cursor() is not con.cursor()


def test_cursor_isolation(con: Any) -> None:
    one, two = con.cursor(), con.cursor()
    one.execute("SELECT 1 AS a")
    two.execute("SELECT 2 AS b")
    assert one.fetchall() == [(1,)] and two.fetchall() == [(2,)]


def test_description(con: Any) -> None:
    cur = con.cursor()
    assert cur.description is None
    cur.execute("SELECT region, weekly_amount, start_date, claim_id FROM dwp.claims LIMIT 1")
    assert len(cur.description) == 4 and all(len(d) == 7 for d in cur.description)
    assert [d[0] for d in cur.description] == ["region", "weekly_amount", "start_date", "claim_id"]
    region, amount, start, claim = (d[1] for d in cur.description)
    assert region == fedquery.STRING and amount == fedquery.NUMBER and start == fedquery.DATETIME
    assert claim == fedquery.NUMBER and region != fedquery.NUMBER
    assert cur.description[1][4:6] == (10, 2)  # DECIMAL(10,2): precision and scale


def test_rowcount(con: Any) -> None:
    cur = con.cursor()
    assert cur.rowcount == -1
    cur.execute(REGIONS)
    assert cur.rowcount == -1  # a stream: unknown until read
    cur.fetchall()
    assert cur.rowcount == N_REGIONS


def test_close(con: Any) -> None:
    cur = con.cursor()
    cur.close()
    for call in (lambda: cur.execute("SELECT 1"), cur.fetchone, cur.fetchall, lambda: cur.fetchmany(2)):
        with pytest.raises(fedquery.InterfaceError):
            call()


def test_closed_connection(con: Any) -> None:
    cur = con.cursor()
    con.close()
    with pytest.raises(fedquery.InterfaceError):
        cur.execute("SELECT 1")
    with pytest.raises(fedquery.InterfaceError):
        con.cursor()


def test_execute_returns_rows(con: Any) -> None:
    cur = con.cursor()
    cur.execute("SELECT count(*) FROM dwp.claims WHERE region = ?", ["London"])
    (count,) = cur.fetchone()
    assert count == con.sql("SELECT count(*) FROM dwp.claims WHERE region = 'London'").fetchall()[0][0]


def test_execute_named(con: Any) -> None:
    cur = con.cursor()
    cur.execute("SELECT 0 + :a + $b AS s", {"a": 40, "b": 2})  # (a SELECT item cannot start with :name)
    assert cur.fetchall() == [(42,)]


def test_executemany(con: Any) -> None:
    cur = con.cursor()
    cur.executemany("SELECT count(*) FROM dwp.claims WHERE region = ?", [["London"], ["Midlands"]])
    expected = con.sql("SELECT count(*) FROM dwp.claims WHERE region = 'Midlands'").fetchall()
    assert cur.fetchall() == expected  # the last set's result is kept
    with pytest.raises(fedquery.ProgrammingError):
        cur.executemany("SELECT ?", [[1], [1, 2]])


def test_fetchone(con: Any) -> None:
    cur = con.cursor()
    with pytest.raises(fedquery.Error):
        cur.fetchone()  # no query yet
    cur.execute("SELECT 1 AS a WHERE false")
    assert cur.fetchone() is None
    cur.execute("SELECT 'x' AS a")
    assert cur.fetchone() == ("x",)
    assert cur.fetchone() is None
    assert cur.rowcount == 1


def test_fetchmany(con: Any) -> None:
    cur = con.cursor()
    with pytest.raises(fedquery.Error):
        cur.fetchmany(4)
    cur.execute(REGIONS)
    assert len(cur.fetchmany()) == 1  # arraysize defaults to 1
    cur.arraysize = 3
    assert len(cur.fetchmany()) == 3
    assert len(cur.fetchmany(2)) == 2
    assert len(cur.fetchmany(5)) == 1  # the rest
    assert cur.fetchmany(5) == []
    assert cur.rowcount == N_REGIONS


def test_fetchall(con: Any) -> None:
    cur = con.cursor()
    with pytest.raises(fedquery.Error):
        cur.fetchall()
    cur.execute(REGIONS)
    rows = cur.fetchall()
    assert rows == con.sql(REGIONS).fetchall() and len(rows) == N_REGIONS
    assert cur.fetchall() == []
    cur.execute(REGIONS)
    cur.fetchone()
    assert len(cur.fetchall()) == N_REGIONS - 1


def test_mixed_fetch(con: Any) -> None:
    cur = con.cursor()
    cur.execute(REGIONS)
    rows = [cur.fetchone()] + cur.fetchmany(2) + cur.fetchall()
    assert rows == con.sql(REGIONS).fetchall()


def test_iteration(con: Any) -> None:
    cur = con.cursor()
    assert list(cur.execute(REGIONS)) == con.sql(REGIONS).fetchall()


def test_arraysize(con: Any) -> None:
    assert con.cursor().arraysize == 1


def test_setinputsizes_and_setoutputsize(con: Any) -> None:
    cur = con.cursor()
    cur.setinputsizes((25,))
    cur.setoutputsize(1000)
    cur.setoutputsize(200, 0)
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]


def test_nextset_and_callproc(con: Any) -> None:
    cur = con.cursor()
    cur.execute("SELECT 1")
    assert cur.nextset() is None
    with pytest.raises(fedquery.NotSupportedError):
        cur.callproc("lower", ("FOO",))


def test_context_managers(demo_config: Path) -> None:
    with fedquery.connect(demo_config) as con:
        with con.cursor() as cur:
            cur.execute("SELECT 1")
        with pytest.raises(fedquery.InterfaceError):
            cur.fetchone()
    with pytest.raises(fedquery.InterfaceError):
        con.cursor()


def test_type_constructors() -> None:
    import datetime as dt

    assert fedquery.Date(2020, 2, 29) == dt.date(2020, 2, 29)
    assert fedquery.Time(13, 45, 30) == dt.time(13, 45, 30)
    assert fedquery.Timestamp(2020, 2, 29, 13, 45, 30) == dt.datetime(2020, 2, 29, 13, 45, 30)
    assert fedquery.DateFromTicks(0) == dt.date.fromtimestamp(0)
    assert fedquery.TimestampFromTicks(0) == dt.datetime.fromtimestamp(0)
    assert fedquery.TimeFromTicks(0) == dt.datetime.fromtimestamp(0).time()
    assert fedquery.Binary("abc") == b"abc"


def test_constructed_values_bind(con: Any) -> None:
    cur = con.cursor()
    cur.execute("SELECT count(*) FROM dwp.claims WHERE start_date >= ?", [fedquery.Date(2020, 1, 1)])
    expected = con.sql("SELECT count(*) FROM dwp.claims WHERE start_date >= DATE '2020-01-01'").fetchall()
    assert cur.fetchall() == expected


def test_cursors_in_threads_share_one_connection(con: Any) -> None:
    """threadsafety 2: threads share the connection, each with its own cursor."""
    results: dict[str, Any] = {}

    def run(region: str) -> None:
        with con.cursor() as cur:
            results[region] = cur.execute("SELECT count(*) FROM dwp.claims WHERE region = ?", [region]).fetchall()

    threads = [threading.Thread(target=run, args=(r,)) for r in ("London", "Midlands", "North West")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for region, rows in results.items():
        assert rows == con.sql("SELECT count(*) FROM dwp.claims WHERE region = ?", params=[region]).fetchall()
    assert len(results) == 3
