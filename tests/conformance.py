"""The connector conformance suite: every source kind passes the same tests.

A connector's test class subclasses :class:`ConnectorConformance` and supplies one
fixture, ``people_fed``: a federation whose department ``conf`` has the table
``people`` (the rows of :data:`PEOPLE`) in that kind of source.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import ClassVar

import duckdb
import pyarrow as pa
import pytest

import fedquery
from tests.conftest import assert_same_rows

PEOPLE = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "name": pa.array(["Ada", "Brian", None, "Dee", "ada"], pa.string()),
        "amount": pa.array(
            [Decimal("10.50"), Decimal("0.00"), Decimal("-3.25"), None, Decimal("7.10")], pa.decimal128(10, 2)
        ),
        "born": pa.array([dt.date(1990, 1, 2), None, dt.date(1985, 5, 6), dt.date(2000, 12, 31), dt.date(1990, 1, 2)]),
        "active": pa.array([True, False, None, True, False]),
    }
)

QUERIES = [
    "SELECT * FROM {t} ORDER BY id",
    "SELECT name FROM {t} WHERE amount > 0 ORDER BY name",
    "SELECT count(*), count(name), sum(amount), min(born), max(born), min(amount) FROM {t}",
    "SELECT active, count(*) AS n FROM {t} GROUP BY active ORDER BY active NULLS LAST",
    "SELECT id FROM {t} WHERE born BETWEEN DATE '1980-01-01' AND DATE '1995-01-01'",
    "SELECT id FROM {t} WHERE name IS NULL OR amount IS NULL",
    "SELECT id FROM {t} WHERE id IN (1, 3, 5) AND NOT active",
    "SELECT id FROM {t} WHERE name = 'Ada'",
    "SELECT id FROM {t} WHERE name LIKE 'A%'",
    "SELECT a.id, b.id FROM {t} a JOIN {t} b ON a.id = b.id + 1",
    "SELECT a.id, count(b.id) FROM {t} a LEFT JOIN {t} b ON a.born = b.born AND a.id <> b.id GROUP BY a.id",
    "SELECT id, amount FROM {t} ORDER BY amount DESC, id LIMIT 3",
    "SELECT born, sum(amount) FROM {t} GROUP BY born HAVING count(*) > 1",
    "SELECT id FROM {t} WHERE id > (SELECT avg(id) FROM {t})",
]


class ConnectorConformance:
    kind: ClassVar[str]

    @pytest.fixture(scope="class")
    @classmethod
    def oracle(cls):  # type: ignore[no-untyped-def]
        con = duckdb.connect()
        con.register("people", PEOPLE)
        yield con
        con.close()

    def test_table_is_discovered(self, people_fed: fedquery.Federation) -> None:
        tables = {t["table"]: t for t in people_fed.tables("conf")}
        assert "conf.people" in tables and tables["conf.people"]["kind"] == self.kind
        assert [c[0] for c in tables["conf.people"]["columns"]] == PEOPLE.column_names

    def test_types_round_trip(self, people_fed: fedquery.Federation) -> None:
        table = people_fed.sql("SELECT * FROM conf.people ORDER BY id").arrow()
        assert table.schema.field("id").type == pa.int64()
        assert table.schema.field("name").type in (pa.string(), pa.large_string(), pa.string_view())
        assert table.schema.field("amount").type == pa.decimal128(10, 2)
        assert table.schema.field("born").type == pa.date32()
        assert table.schema.field("active").type == pa.bool_()
        assert table.to_pylist() == PEOPLE.to_pylist()

    @pytest.mark.parametrize("sql", QUERIES)
    def test_matches_oracle(self, people_fed: fedquery.Federation, oracle, sql: str) -> None:  # type: ignore[no-untyped-def]
        got = people_fed.sql(sql.format(t="conf.people")).fetchall()
        expected = oracle.sql(sql.format(t="people")).fetchall()
        assert_same_rows(got, expected, ordered="ORDER BY" in sql)

    def test_filter_is_pushed(self, people_fed: fedquery.Federation) -> None:
        plan = people_fed.explain("SELECT name FROM conf.people WHERE id = 2")
        (fragment,) = plan.fragments
        assert fragment.kind == self.kind and "filter" in fragment.pushed and "2" in fragment.sql
        assert "amount" not in fragment.sql  # projection pushed too

    def test_unknown_table_names_department(self, people_fed: fedquery.Federation) -> None:
        with pytest.raises(fedquery.UnknownTableError) as info:
            people_fed.sql("SELECT * FROM conf.peple")
        assert "conf.people" in str(info.value)
