"""Parallel reads (strategy auto): a large PostgreSQL fragment read as ctid ranges at once, on
several connections sharing one exported snapshot. Same rows as one read; nothing left open."""

from __future__ import annotations

import pytest

import fedquery
from tests.conftest import PG_DSN, killing_pg_queries, pg_admin, pg_run


@pytest.fixture(scope="module")
def ranged(pg_schema: str):  # type: ignore[no-untyped-def]
    pg_run(
        f'CREATE TABLE "{pg_schema}".events AS SELECT g AS id, g % 97 AS kind, md5(g::text) AS payload '
        "FROM generate_series(1, 120000) g",
        f'ALTER TABLE "{pg_schema}".events ADD PRIMARY KEY (id)',
        f'CREATE VIEW "{pg_schema}".events_view AS SELECT * FROM "{pg_schema}".events',
        f'CREATE TABLE "{pg_schema}".wide AS SELECT g AS id, repeat(md5(g::text), 16) AS payload '
        "FROM generate_series(1, 200000) g",
        f'ANALYZE "{pg_schema}".events',
        f'ANALYZE "{pg_schema}".wide',
    )
    fed = fedquery.connect(
        {
            "settings": {"parallel_reads": 3, "parallel_min_rows": 1000, "parallel_min_bytes": 0},
            "departments": {"dept": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema}}}},
        }
    )
    yield fed
    fed.close()


def _fragment_stats(result: fedquery.Result):  # type: ignore[no-untyped-def]
    (stats,) = result.stats
    return stats


def test_ranges_give_the_same_rows_as_one_read(ranged) -> None:  # type: ignore[no-untyped-def]
    sql = "SELECT id, kind, payload FROM dept.events WHERE kind <> 5"
    result = ranged.sql(sql)
    rows = sorted(result.fetchall())
    stats = _fragment_stats(result)
    assert stats.ranges == 3 and stats.rows == len(rows)
    plan = result.plan
    assert plan.fragments[0].to_dict()["ranges"] == {"parts": 3, "of": "events"}
    assert any(n.startswith("parallel reads") for n in plan.notes)
    single = sorted(ranged.sql(sql, pushdown="full").fetchall())  # full: no cost-based choices, one read
    assert rows == single and len(rows) == sum(1 for g in range(1, 120001) if g % 97 != 5)
    assert "read as 3 ranges" in str(ranged.explain(sql, analyze=True))


def test_no_range_transaction_is_left_open(ranged, pg_schema: str) -> None:  # type: ignore[no-untyped-def]
    ranged.sql("SELECT id FROM dept.events").fetchall()
    connector = ranged.catalog.connector("dept", "db")
    assert connector.pool.open >= 3  # three connections read at once, then went back to the pool
    admin = pg_admin()
    with admin.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fedquery' "
            "AND state LIKE 'idle in transaction%' AND position($1 in query) > 0",
            (pg_schema,),
        )
        assert cur.fetchone()[0] == 0
    admin.close()


def test_aggregates_and_views_are_one_read(ranged) -> None:  # type: ignore[no-untyped-def]
    result = ranged.sql("SELECT kind, count(*) AS n FROM dept.events GROUP BY kind ORDER BY kind")
    rows = result.fetchall()
    assert len(rows) == 97 and sum(n for _, n in rows) == 120000
    assert _fragment_stats(result).ranges is None  # an aggregate would need merging: not split
    view = ranged.sql("SELECT id FROM dept.events_view")
    assert len(view.fetchall()) == 120000  # planned as ranges, but a view has no pages: read once


def test_a_killed_range_fails_the_query(ranged, pg_schema: str) -> None:  # type: ignore[no-untyped-def]
    """One of the range connections killed mid-stream: a typed error, no partial result."""
    killing = killing_pg_queries("query LIKE '%ctid%' AND position($1 in query) > 0", (pg_schema,))
    with killing, pytest.raises(fedquery.SourceError) as info:
        for _ in range(20):  # until the killer catches a range in flight
            ranged.sql("SELECT id, payload FROM dept.wide").fetchall()
    assert info.value.department == "dept" and "ctid" in (info.value.remote_sql or "")
    assert len(ranged.sql("SELECT id FROM dept.events").fetchall()) == 120000  # fresh connections work
    assert ranged.catalog.connector("dept", "db").pool.open <= 4


def test_a_narrow_read_is_not_cut_into_ranges(ranged, pg_schema: str) -> None:  # type: ignore[no-untyped-def]
    """Below ``parallel_min_bytes`` (default 100 MB) one connection reads the fragment: the events table's
    120,000 rows are a few MB."""
    settings = {"parallel_reads": 3, "parallel_min_rows": 1000}
    source = {"kind": "postgres", "url": PG_DSN, "schema": pg_schema}
    with fedquery.connect({"settings": settings, "departments": {"dept": {"sources": {"db": source}}}}) as fed:
        result = fed.sql("SELECT id, kind, payload FROM dept.events WHERE kind <> 5")
        assert len(result.fetchall()) == sum(1 for g in range(1, 120001) if g % 97 != 5)
        assert _fragment_stats(result).ranges is None
        assert not any(n.startswith("parallel reads") for n in result.plan.notes)
