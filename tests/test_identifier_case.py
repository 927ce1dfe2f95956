"""Identifiers resolve as DuckDB resolves them: case-insensitively, to the case the source stores.

A PostgreSQL column ``"OrderId"`` is found by ``orderid``, ``ORDERID`` or ``"OrderId"``, sent to the
source exactly as stored, and the result column is named as DuckDB names it (``OrderId``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from fedquery.errors import UnknownColumnError
from tests.conftest import PG_DSN, assert_same_rows, mysql_admin, mysql_url, pg_admin

ORDERS = pa.table({"OrderId": pa.array([1, 2, 3], pa.int32()), "Amount": pa.array([5, 7, 9], pa.int32())})
LINES = pa.table({"OrderId": pa.array([1, 2, 2], pa.int32()), "Qty": pa.array([3, 4, 6], pa.int32())})
ITEMS = pa.table({"ItemCode": ["a", "b"], "OrderID": pa.array([1, 3], pa.int32())})


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    name = f"fq_case_{uuid.uuid4().hex[:10]}"
    pg = pg_admin()
    with pg.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{name}"')
        cur.execute(f'CREATE TABLE "{name}"."Orders" ("OrderId" INT PRIMARY KEY, "Amount" INT)')
        cur.execute(f'INSERT INTO "{name}"."Orders" VALUES (1, 5), (2, 7), (3, 9)')
    my = mysql_admin()
    with my.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.`Lines` (`OrderId` INT, `Qty` INT)")
        cur.execute(f"INSERT INTO `{name}`.`Lines` VALUES (1, 3), (2, 4), (2, 6)")
    root: Path = tmp_path_factory.mktemp("case")
    pq.write_table(ITEMS, root / "items.parquet")
    config = {
        "departments": {
            "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name, "schemas": [name]}}},
            "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
            "files": {"sources": {"items": {"kind": "parquet", "url": str(root / "items.parquet")}}},
        }
    }
    oracle = duckdb.connect()
    for schema, table, data in (("pg", "Orders", ORDERS), ("my", "Lines", LINES), ("files", "items", ITEMS)):
        oracle.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        oracle.register("_t", data)
        oracle.execute(f'CREATE TABLE {schema}."{table}" AS SELECT * FROM _t')
        oracle.unregister("_t")
    fed = fedquery.connect(config)
    yield fed, oracle
    fed.close()
    with pg.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{name}" CASCADE')
    pg.close()
    with my.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")
    my.close()


QUERIES = [
    'SELECT "OrderId", amount FROM pg."Orders" ORDER BY 1',
    'SELECT orderid FROM pg.orders WHERE "OrderId" = 1',
    "SELECT ORDERID, AMOUNT * 2 AS Doubled FROM PG.ORDERS WHERE amount > 5 ORDER BY doubled",
    'SELECT o."OrderId", l.qty FROM pg."Orders" o JOIN my.lines l ON l.OrderId = o.orderid ORDER BY 1, 2',
    "SELECT OrderId, sum(Amount) AS Total FROM pg.Orders GROUP BY ORDERID HAVING TOTAL > 5 ORDER BY total",
    'WITH c AS (SELECT orderid AS "Key" FROM pg.orders) SELECT key, KEY + 1 AS Next FROM c ORDER BY next',
    "SELECT s.k FROM (SELECT orderid AS K FROM my.lines) s ORDER BY s.K",
    "SELECT i.itemcode, o.amount FROM files.items i JOIN pg.orders o ON o.orderid = i.orderid ORDER BY 1",
    "SELECT count(*) FROM my.lines WHERE orderid IN (SELECT ORDERID FROM pg.orders WHERE amount < 9)",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_mixed_case_names_match_the_oracle(mixed: tuple[Any, Any], sql: str) -> None:
    fed, oracle = mixed
    expected = oracle.sql(sql)
    names, rows = expected.columns, expected.fetchall()
    for strategy in ("none", "filters", "full", "auto"):
        table = fed.sql(sql, pushdown=strategy).arrow()
        assert table.schema.names == names, strategy
        assert_same_rows([tuple(r.values()) for r in table.to_pylist()], rows, ordered=True)


def test_an_ambiguous_or_unknown_name_still_fails_with_a_suggestion(mixed: tuple[Any, Any]) -> None:
    fed, _ = mixed
    with pytest.raises(UnknownColumnError, match="OrderId"):
        fed.sql("SELECT order_id FROM pg.orders")
