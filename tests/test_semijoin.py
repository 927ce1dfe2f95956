"""Semi-join reduction across sources (strategy auto): fewer rows cross the wire, same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

import fedquery
from benchmarks import tpch_data
from tests.conftest import assert_same_rows

#: the reduction mechanism on SF 0.01 files, below the sizes where waiting for keys pays (see conftest)
pytestmark = pytest.mark.usefixtures("reductions_at_any_size")


def _moved(fed: fedquery.Federation, sql: str, strategy: str) -> tuple[list, list]:  # type: ignore[type-arg]
    result = fed.sql(sql, pushdown=strategy)
    rows = result.fetchall()
    return rows, result.stats


def test_q7_moves_ten_times_fewer_rows_than_full(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(7))
    full_rows, full_stats = _moved(tpch_fed, sql, "full")
    auto_rows, auto_stats = _moved(tpch_fed, sql, "auto")
    expected = oracle.sql(tpch_data.query(7)).fetchall()
    assert_same_rows(auto_rows, expected, ordered=True)
    assert_same_rows(full_rows, expected, ordered=True)
    assert sum(s.rows for s in full_stats) >= 10 * sum(s.rows for s in auto_stats)
    reduced = [s for s in auto_stats if s.reduced_keys]
    assert reduced and " IN (" in reduced[0].sql  # the keys travelled in the remote SQL
    plan = tpch_fed.explain(sql)
    assert any(n.startswith("semi-join reduction") for n in plan.notes)
    assert any(f.to_dict()["reduced_by"] for f in plan.fragments)


def test_past_the_key_budget_the_key_range_is_sent(tpch_config: Path, oracle, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Q3: ~300 BUILDING customers reduce sales. With a budget of 200 keys the plan still
    # reduces (estimates are rough), but at run time the keys do not fit: their range goes instead.
    # (The producer's 300 rows are far past its estimate: whether the consumer saw them arrive and
    # abandoned the reduction first depended on timing. That is tested on its own below.)
    monkeypatch.setattr("fedquery.executor.ABANDON_FACTOR", 10**9)
    fed = fedquery.connect(tpch_config)
    fed.config.settings = type(fed.config.settings)(semijoin_max_keys=200)
    sql = tpch_data.federate(tpch_data.query(3))
    assert any(f.reducers for f in fed.explain(sql).fragments)
    rows, stats = _moved(fed, sql, "auto")
    assert all(s.reduced_keys is None for s in stats)  # more keys than the budget: no IN-list
    sales = next(s for s in stats if s.department == "sales")
    assert " BETWEEN " in sales.sql and " IN (" not in sales.sql
    assert_same_rows(rows, oracle.sql(tpch_data.query(3)).fetchall(), ordered=True)
    fed.close()


def test_reductions_chain(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q21: nation (crm) reduces supplier (csv), whose keys then reduce lineitem (sales).
    sql = tpch_data.federate(tpch_data.query(21))
    plan = tpch_fed.explain(sql)
    by_name = {f.name: f for f in plan.fragments}
    sales = next(f for f in plan.fragments if f.department == "sales")
    (producer, _, _) = sales.reducers[0]
    assert by_name[producer].department == "suppliers" and by_name[producer].reducers
    auto_rows, auto_stats = _moved(tpch_fed, sql, "auto")
    full_rows, full_stats = _moved(tpch_fed, sql, "full")
    expected = oracle.sql(tpch_data.query(21)).fetchall()
    assert_same_rows(auto_rows, expected, ordered=True)
    assert_same_rows(full_rows, expected, ordered=True)
    assert sum(s.rows for s in full_stats) >= 10 * sum(s.rows for s in auto_stats)


def test_an_empty_producer_empties_the_consumer(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = (
        "SELECT o_orderpriority, count(*) FROM customer, orders WHERE c_custkey = o_custkey "
        "AND c_mktsegment = 'NO SUCH SEGMENT' GROUP BY o_orderpriority"
    )
    result = tpch_fed.sql(tpch_data.federate(sql))
    assert result.fetchall() == oracle.sql(sql).fetchall() == []
    sales = next(s for s in result.stats if s.department == "sales")
    assert sales.rows == 0 and sales.reduced_keys == 0 and "FALSE" in sales.sql.upper()


@pytest.mark.parametrize("number", [3, 7, 8, 9])
def test_reduced_queries_match_the_oracle_with_a_small_budget(number: int, tpch_config: Path, oracle) -> None:  # type: ignore[no-untyped-def]
    fed = fedquery.connect(tpch_config)
    fed.config.settings = type(fed.config.settings)(semijoin_max_keys=300)
    sql = tpch_data.query(number)
    assert_same_rows(fed.sql(tpch_data.federate(sql)).fetchall(), oracle.sql(sql).fetchall(), ordered=True)
    fed.close()


def test_invalid_budget_is_a_config_error() -> None:
    with pytest.raises(fedquery.ConfigError, match="semijoin_max_keys"):
        fedquery.connect({"settings": {"semijoin_max_keys": 0}, "departments": {"d": {"sources": {}}}})


@pytest.mark.parametrize("negated", [False, True])
def test_existence_subqueries_are_reduced_by_the_outer_keys(
    negated: bool, tpch_config: Path, tmp_path: Path, oracle
) -> None:  # type: ignore[no-untyped-def]
    # Only orders of the selected customers can decide EXISTS / NOT EXISTS: sales reads those only.
    tpch_fed = fedquery.connect(tpch_config)
    tpch_fed.config.settings = type(tpch_fed.config.settings)(cache_directory=str(tmp_path))
    tpch_fed.analyze("sales.orders")
    tpch_fed.analyze("crm.customer")
    sql = (
        f"SELECT c_mktsegment, count(*) FROM customer c WHERE c_acctbal > 9000 AND {'NOT ' if negated else ''}"
        "EXISTS (SELECT 1 FROM orders o WHERE o.o_custkey = c.c_custkey AND o.o_orderpriority = '1-URGENT') "
        "GROUP BY c_mktsegment ORDER BY 1"
    )
    result = tpch_fed.sql(tpch_data.federate(sql))
    assert_same_rows(result.fetchall(), oracle.sql(sql).fetchall(), ordered=True)
    orders = next(s for s in result.stats if s.department == "sales")
    assert orders.reduced_keys and " IN (" in orders.sql
    urgent = oracle.sql("SELECT count(DISTINCT o_custkey) FROM orders WHERE o_orderpriority = '1-URGENT'").fetchall()
    assert orders.rows < urgent[0][0] / 2
    tpch_fed.close()


def test_keys_reach_into_a_derived_table(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # Q2's decorrelated subquery (SELECT ps_partkey, MIN(ps_supplycost) ... GROUP BY ps_partkey) is
    # joined to the outer part on its grouping key: its partsupp reads only the outer parts' keys.
    sql = tpch_data.federate(tpch_data.query(2))
    result = analyzed.sql(sql)
    rows = result.fetchall()
    assert_same_rows(rows, oracle.sql(tpch_data.query(2)).fetchall(), ordered=True)
    plan = result.plan
    # part is joined to the outer partsupp inside the Parquet source (its own DuckDB); the subquery's
    # partsupp is reduced by that fragment's part keys
    part = next(f for f in plan.fragments if "catalogue.part" in f.tables)
    partsupps = [f for f in plan.fragments if f.tables == ("catalogue.partsupp",)]
    assert partsupps and all(part.name in [p for p, _, _ in f.reducers] for f in partsupps), str(plan)


def test_no_keys_into_a_derived_aggregate_column(analyzed, oracle) -> None:  # type: ignore[no-untyped-def]
    # k is MAX(l_partkey) per supplier, not a column passed through: filtering lineitem by the
    # parts' keys would change the maxima, so the derived table is read whole. (lineitem lives in
    # another department than part: two tables of one file source are joined inside it.)
    sql = (
        "SELECT p_partkey, d.l_suppkey FROM {part} p, "
        "(SELECT max(l_partkey) AS k, l_suppkey FROM {lineitem} GROUP BY l_suppkey) d "
        "WHERE p.p_partkey = d.k AND p.p_partkey >= 1990 ORDER BY 1, 2"
    )
    result = analyzed.sql(sql.format(part="catalogue.part", lineitem="sales.lineitem"))
    rows = result.fetchall()
    lineitem = next(f for f in result.plan.fragments if f.tables == ("sales.lineitem",))
    assert not lineitem.reducers, str(result.plan)
    expected = oracle.sql(sql.format(part="part", lineitem="lineitem")).fetchall()
    assert rows == expected and len(expected) > 5


def test_hostile_key_column_name_round_trips(pg_schema: str, tmp_path: Path) -> None:
    """A CSV header that would change the local key query if spliced into it (issue 10: it made the
    keys sent to PostgreSQL wrong and the answer 0 instead of 3); the executor quotes it through sqlglot."""
    from tests.conftest import PG_DSN, pg_run

    pg_run(
        f'CREATE TABLE "{pg_schema}".hostile_people AS SELECT g AS id FROM generate_series(1, 200000) g',
        f'ANALYZE "{pg_schema}".hostile_people',
    )
    hostile = 'k" + 1000 + "k'
    (tmp_path / "keys.csv").write_text('"k"" + 1000 + ""k"\n1\n2\n3\n')
    fed = fedquery.connect(
        {
            "departments": {
                "files": {"sources": {"csv": {"kind": "csv", "path": str(tmp_path)}}},
                "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema,
                                          "schemas": [pg_schema]}}},
            }
        }
    )  # fmt: skip
    column = '"k"" + 1000 + ""k"'
    result = fed.sql(f"SELECT count(*) FROM files.keys k JOIN pg.hostile_people p ON k.{column} = p.id")
    assert result.fetchall() == [(3,)]
    people = next(s for s in result.stats if s.department == "pg")
    assert people.reduced_keys == 3 and people.rows == 3, people
    assert hostile in [f.name for f in fed.sql("SELECT * FROM files.keys").arrow().schema]
    fed.close()


def test_small_local_files_are_not_made_to_wait_for_keys(tpch_fed, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Below ``reduction_min_rows`` a file or DuckDB-file consumer is read in parallel, unreduced: waiting for
    a producer's keys costs more than reading it (TPC-DS Q12, Q84); the answer is the same."""
    from fedquery.plan_cache import clear_all
    from fedquery.planner import semijoin

    monkeypatch.setattr(semijoin, "MIN_ROWS_SCALE", 1.0)
    sql = tpch_data.federate(tpch_data.query(7))
    plan = tpch_fed.explain(sql)
    assert not any(f.reducers for f in plan.fragments if f.kind in ("csv", "parquet", "duckdb")), str(plan)
    monkeypatch.setattr(semijoin, "MIN_ROWS_SCALE", 0.0)
    clear_all()  # the planner's constant changed: the plan above is not this one
    reduced = tpch_fed.explain(sql)
    assert any(f.reducers for f in reduced.fragments if f.kind in ("csv", "parquet", "duckdb")), str(reduced)


def test_a_producer_far_past_its_estimate_is_abandoned_not_waited_on(pg_schema: str, tmp_path: Path) -> None:
    """Adaptivity at run time: statistics say ``few`` holds 10 rows (analyzed, then grown to 5,000,000 with
    autovacuum off), so the plan reduces the Parquet facts by its keys. At run time it sends far more than
    that: the facts are read unreduced at once, and the stats and EXPLAIN ANALYZE say why. (Five million
    rows arrive in several driver batches: the consumer sees them coming before the producer is loaded;
    one million came as one batch, loaded before a busy machine's consumer looked.)"""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from tests.conftest import PG_DSN, pg_run

    pg_run(
        f'CREATE TABLE "{pg_schema}".few (k integer) WITH (autovacuum_enabled = false)',
        f'INSERT INTO "{pg_schema}".few SELECT g FROM generate_series(1, 10) g',
        f'ANALYZE "{pg_schema}".few',
        f'INSERT INTO "{pg_schema}".few SELECT g FROM generate_series(11, 5000000) g',
    )
    pq.write_table(pa.table({"k": pa.array(range(1, 200_001), pa.int32())}), tmp_path / "facts.parquet")
    fed = fedquery.connect(
        {
            "settings": {"semijoin_max_keys": 1000},
            "departments": {
                "db": {"sources": {"pg": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema}}},
                "files": {"sources": {"pq": {"kind": "parquet", "url": str(tmp_path)}}},
            },
        }
    )
    try:
        sql = "SELECT count(*) AS n FROM db.few AS f JOIN files.facts AS t ON t.k = f.k"
        plan = fed.explain(sql)
        facts = next(f for f in plan.fragments if f.department == "files")
        assert facts.reducers, str(plan)  # planned: ~10 keys would keep almost none of the facts
        result = fed.sql(sql)
        assert result.fetchall() == [(200_000,)]
        stats = next(s for s in result.stats if s.fragment == facts.name)
        (reduction,) = stats.reductions
        assert reduction.abandoned and "past 10x its estimate" in reduction.abandoned, reduction
        assert stats.reduced_keys is None and stats.rows == 200_000  # read unreduced ...
        producer = next(s for s in result.stats if s.fragment != facts.name)
        assert producer.rows == 5_000_000
        assert result.plan.hash == plan.hash  # ... by the plan as explained: abandoning is run-time data
        assert "not reduced" in str(fed.explain(sql, analyze=True))
    finally:
        fed.close()
        pg_run(f'DROP TABLE "{pg_schema}".few')
