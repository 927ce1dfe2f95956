"""TPC-DS: all 99 queries over six departments (PostgreSQL, MariaDB, a DuckDB file, SQLite, Parquet,
CSV), under every pushdown strategy, each answer equal to one DuckDB holding all the data.

Scale factor 0.01 (tpcgen-cli), with the two fixed-size dimensions trimmed to what the facts reach
(``benchmarks.tpcds_data.trim``); the oracle reads the same trimmed data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlglot

import fedquery
from benchmarks import tpcds_data
from benchmarks.tpch_data import federate
from tests.conftest import PG_DSN, assert_same_rows, mysql_url, own_schema_and_database

SCALE = 0.01
STRATEGIES = ("auto", "full", "filters", "none")


@pytest.fixture(scope="module")
def tpcds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    generated = tpcds_data.generate(SCALE, tmp_path_factory.mktemp("tpcds"))
    data = tpcds_data.trim(generated, tmp_path_factory.mktemp("tpcds-trimmed"))
    with own_schema_and_database("fq_tpcds") as name:
        config = tpcds_data.build_federation(
            data,
            tmp_path_factory.mktemp("tpcds-federation"),
            {"postgres": (PG_DSN, name), "mysql": (mysql_url(name), name)},
        )
        oracle = tpcds_data.oracle(data)
        fed = fedquery.connect(config)
        yield fed, oracle
        fed.close()
        oracle.close()


_expected: dict[int, list[tuple[Any, ...]]] = {}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("number", range(1, 100))
def test_tpcds_query(number: int, strategy: str, tpcds: tuple[Any, Any]) -> None:
    fed, oracle = tpcds
    sql = tpcds_data.query(number)
    if number not in _expected:
        _expected[number] = oracle.sql(sql).fetchall()
    federated = federate(sql, tpcds_data.SPLIT)
    result = fed.sql(federated, pushdown=strategy)
    got = result.fetchall()
    ordered = sqlglot.parse_one(sql, dialect="duckdb").args.get("order") is not None
    assert_same_rows(got, _expected[number], ordered=ordered)
    if strategy == "auto":
        # The plan is a value: running it changes nothing the hash names (run-time reductions are data).
        assert result.plan.hash == fed.explain(federated).hash, str(result.plan)


def test_the_split_spans_six_kinds_of_source(tpcds: tuple[Any, Any]) -> None:
    fed, _ = tpcds
    kinds = {t["department"]: t["kind"] for t in fed.tables()}
    assert sorted(set(kinds.values())) == ["csv", "duckdb", "mysql", "parquet", "postgres", "sqlite"]
    assert len(kinds) == 6 and len(fed.tables()) == 24


def test_char_business_keys_come_back_unpadded(tpcds: tuple[Any, Any]) -> None:
    fed, oracle = tpcds
    # CHAR(16) at both servers; the oracle's values are the unpadded text.
    for table, column in (("retail.store", "s_store_id"), ("catalog.call_center", "cc_call_center_id")):
        got = fed.sql(f"SELECT {column} FROM {table} ORDER BY 1").fetchall()
        assert_same_rows(
            got, oracle.sql(f"SELECT {column} FROM {table.split('.')[1]} ORDER BY 1").fetchall(), ordered=True
        )
    padded = fed.sql("SELECT count(*) FROM retail.store WHERE s_store_id = 'AAAAAAAABAAAAAAA'").fetchall()
    assert padded == oracle.sql("SELECT count(*) FROM store WHERE s_store_id = 'AAAAAAAABAAAAAAA'").fetchall()


def test_correlated_subqueries_reach_mariadb_only_through_a_key(tpcds: tuple[Any, Any]) -> None:
    fed, oracle = tpcds
    # Q16: EXISTS/NOT EXISTS correlated on cs_order_number, which no MariaDB index leads with. Pushed,
    # MariaDB scanned catalog_sales once per outer row (217 s at SF 0.01); DuckDB decorrelates it.
    plan = fed.explain(federate(tpcds_data.query(16), tpcds_data.SPLIT), pushdown="full")
    catalog = [f for f in plan.fragments if f.department == "catalog"]
    assert catalog and not any("EXISTS" in f.sql.upper() for f in catalog), str(plan)
    assert any("once per row without an index" in note for note in plan.notes), plan.notes
    # Correlated on call_center's primary key: an index lookup per row, so it goes with the scan.
    sql = (
        "SELECT count(*) FROM {cs} cs WHERE EXISTS (SELECT 1 FROM {cc} cc "
        "WHERE cc.cc_call_center_sk = cs.cs_call_center_sk AND cc.cc_employees > 0)"
    )
    federated = sql.format(cs="catalog.catalog_sales", cc="catalog.call_center")
    keyed = fed.explain(federated, pushdown="full")
    assert any(f.department == "catalog" and "EXISTS" in f.sql.upper() for f in keyed.fragments), str(keyed)
    expected = oracle.sql(sql.format(cs="catalog_sales", cc="call_center")).fetchall()
    assert fed.sql(federated, pushdown="full").fetchall() == expected


def test_keys_reach_postgresql_as_an_array_of_the_columns_type(tpcds: tuple[Any, Any]) -> None:
    """Q73: household_demographics' keys (CSV) reduce store_sales (PostgreSQL, INTEGER keys) as one
    INTEGER[] literal; a BIGINT[] there is compared across types, which PostgreSQL cannot hash."""
    fed, oracle = tpcds
    sql = tpcds_data.query(73)
    result = fed.sql(federate(sql, tpcds_data.SPLIT), pushdown="auto")
    rows = result.fetchall()
    retail = [s for s in result.stats if s.department == "retail" and s.reduced_keys]
    assert retail and all("AS INT[])" in s.sql or "AS INTEGER[])" in s.sql for s in retail), [s.sql for s in retail]
    assert_same_rows(rows, oracle.sql(sql).fetchall(), ordered=True)


def test_independent_subqueries_are_read_at_once(tpcds: tuple[Any, Any]) -> None:
    """Q28: six aggregates over store_sales, cross-joined. As one statement PostgreSQL runs the six scans
    one after another on one backend; under auto each is its own fragment, read at once. Under full
    (no cost model) the query still goes whole; both answer as the oracle does."""
    fed, oracle = tpcds
    sql = tpcds_data.query(28)
    federated = federate(sql, tpcds_data.SPLIT)
    plan = fed.explain(federated)
    assert len(plan.fragments) == 6 and {f.department for f in plan.fragments} == {"retail"}, str(plan)
    assert any("6 independent subqueries" in note for note in plan.notes), plan.notes
    assert len(fed.explain(federated, pushdown="full").fragments) == 1
    expected = oracle.sql(sql).fetchall()
    assert_same_rows(fed.sql(federated).fetchall(), expected)
    assert_same_rows(fed.sql(federated, pushdown="full").fetchall(), expected)
    # a filter linking two of them (or a join condition) keeps the query whole
    linked = (
        "SELECT * FROM (SELECT count(*) AS a FROM retail.store_sales WHERE ss_quantity < 5) x, "
        "(SELECT count(*) AS b FROM retail.store_sales WHERE ss_quantity > 90) y WHERE x.a > y.b"
    )
    assert len(fed.explain(linked).fragments) == 1


def test_no_chain_of_reductions_inside_mariadb(tpcds: tuple[Any, Any]) -> None:
    """Q16's shape: a MariaDB fragment that waits for keys never sends keys on to another fragment of the
    same MariaDB source (each is a full scan there: chained, they ran one after another); and an
    existence test is sent DISTINCT there only where that removes most rows."""
    fed, oracle = tpcds
    for number in (16, 94, 95, 99):
        sql = tpcds_data.query(number)
        plan = fed.explain(federate(sql, tpcds_data.SPLIT))
        by_name = {f.name: f for f in plan.fragments}
        for fragment in plan.fragments:
            if fragment.department != "catalog":
                continue
            for producer, _, _ in fragment.reducers:
                inside = by_name[producer].department == "catalog"
                assert not (inside and by_name[producer].reducers), f"Q{number}: {plan}"
        if number == 16:
            # DISTINCT of order numbers keeps over half of catalog_sales: not worth a MariaDB GROUP BY
            assert not any(f.department == "catalog" and "distinct" in f.pushed for f in plan.fragments), str(plan)
        assert_same_rows(fed.sql(federate(sql, tpcds_data.SPLIT)).fetchall(), oracle.sql(sql).fetchall())
