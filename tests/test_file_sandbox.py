"""Local file sources answered by their own sandboxed DuckDB: whole subtrees pushed, the oracle's
answers, nothing outside the source's files reachable, types unchanged, deadlines obeyed."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

import fedquery
from connectors.file_sandbox import duckdb_types
from fedquery.errors import ConfigError, QueryTimeoutError, SourceError

N = 20_000


@pytest.fixture(scope="module")
def department(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Parquet source of two tables and a hive-partitioned one, one CSV source of two tables."""
    root = tmp_path_factory.mktemp("files")
    (root / "pq").mkdir()
    (root / "csv").mkdir()
    payments = pa.table(
        {
            "id": pa.array(range(N), pa.int64()),
            "person": pa.array([i % 997 for i in range(N)], pa.int32()),
            "amount": pa.array([i * 7919 % 10_000 for i in range(N)], pa.int64()),  # pence: sums exact
            "region": [["North", "South", "East", "West", None][i % 5] for i in range(N)],
        }
    )
    people = pa.table({"person": pa.array(range(997), pa.int32()), "band": [f"band {i % 7}" for i in range(997)]})
    pq.write_table(payments, root / "pq" / "payments.parquet", row_group_size=2_000)
    pq.write_table(people, root / "pq" / "people.parquet")
    pq.write_to_dataset(payments, root / "pq" / "by_region", partition_cols=["region"])
    pacsv.write_csv(payments, root / "csv" / "payments.csv")
    pacsv.write_csv(people, root / "csv" / "people.csv")
    return root


def _fed(root: Path, engine: str | None = None) -> fedquery.Federation:
    extra = {"engine": engine} if engine else {}
    return fedquery.connect(
        {
            "departments": {
                "p": {"sources": {"files": {"kind": "parquet", "url": str(root / "pq"), **extra}}},
                "c": {"sources": {"files": {"kind": "csv", "url": str(root / "csv"), **extra}}},
            }
        }
    )


def _oracle(root: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for schema, reader, pattern in [("p", "read_parquet", "pq/{}.parquet"), ("c", "read_csv", "csv/{}.csv")]:
        con.execute(exp.Create(kind="SCHEMA", this=exp.to_identifier(schema)).sql("duckdb"))
        for name in ("payments", "people"):
            source = exp.Anonymous(this=reader, expressions=[exp.Literal.string(str(root / pattern.format(name)))])
            view = exp.Create(
                kind="VIEW", this=exp.table_(name, db=schema), expression=exp.select("*").from_(exp.Table(this=source))
            )
            con.execute(view.sql("duckdb"))
    return con


QUERIES = [
    # a join of two tables of one source, aggregated, ordered
    "SELECT b.band, count(*) AS n, sum(x.amount) AS total FROM {d}.payments x JOIN {d}.people b "
    "ON x.person = b.person WHERE x.amount > 1000 GROUP BY b.band ORDER BY b.band",
    "SELECT count(*) FROM {d}.payments",
    "SELECT DISTINCT region FROM {d}.payments ORDER BY region NULLS LAST",
    "SELECT id, amount FROM {d}.payments ORDER BY amount DESC, id LIMIT 7",
    "SELECT person, id, row_number() OVER (PARTITION BY person ORDER BY amount DESC, id) AS r FROM {d}.payments "
    "QUALIFY r = 1 ORDER BY person LIMIT 20",
    "SELECT person FROM {d}.people WHERE person < 30 EXCEPT SELECT person FROM {d}.payments WHERE amount > 5000 "
    "ORDER BY person",
    "SELECT band, (SELECT max(amount) FROM {d}.payments x WHERE x.person = b.person) AS top FROM {d}.people b "
    "ORDER BY b.person LIMIT 10",
]


@pytest.mark.parametrize("department_name", ["p", "c"])
@pytest.mark.parametrize("sql", QUERIES)
def test_a_whole_subtree_is_one_fragment_with_the_oracle_answer(
    department: Path, department_name: str, sql: str
) -> None:
    fed = _fed(department)
    query = sql.format(d=department_name)
    result = fed.sql(query)
    rows = result.fetchall()
    (fragment,) = result.plan.fragments  # joins, aggregates, windows, set operations: all inside the source
    assert fragment.dialect == "duckdb"
    expected = _oracle(department).sql(query).fetchall()
    assert rows == expected
    (stat,) = result.stats
    assert stat.rows == len(expected)  # only the answer leaves the source
    fed.close()


def test_explain_shows_the_join_and_aggregate_at_the_source(department: Path) -> None:
    fed = _fed(department)
    text = str(fed.explain(QUERIES[0].format(d="p")))
    assert "1 fragment(s)" in text
    assert "pushed: projection, filter, join, aggregate, order" in text.replace("joins", "join"), text
    fed.close()


def test_hive_partitions_keep_their_types_and_are_pruned(department: Path) -> None:
    fed = _fed(department)
    arrow = _fed(department, engine="arrow")
    sql = "SELECT region, count(*) AS n, sum(amount) AS s FROM p.by_region WHERE region = 'East' GROUP BY region"
    result = fed.sql(sql)
    assert result.arrow() == arrow.sql(sql).arrow()
    (stat,) = result.stats
    assert stat.rows == 1
    connector = fed.catalog.connector("p", "files")
    assert connector.io[stat.fragment].rows_scanned == N // 5  # only East's files were read
    fed.close()
    arrow.close()


# -- types: what users see does not change --------------------------------------------------------
@pytest.fixture
def typed_csv(tmp_path: Path) -> Path:
    (tmp_path / "d" / "year=2024").mkdir(parents=True)
    (tmp_path / "d" / "year=2024" / "events.csv").write_text(
        "id,ratio,flag,day,at,note,code\n"
        "1,0.5,true,2024-01-02,2024-01-02 10:11:12,hello,007\n"
        "2,,false,2024-02-29,2024-02-29T23:59:59,,010\n"
        '3,1e3,,2023-12-31,,"a, quoted",\n'
    )
    return tmp_path / "d"


def test_csv_types_are_the_catalogs_not_duckdbs_sniffer(typed_csv: Path) -> None:
    sandboxed = fedquery.connect({"departments": {"d": {"sources": {"s": {"kind": "csv", "url": str(typed_csv)}}}}})
    arrow = fedquery.connect(
        {"departments": {"d": {"sources": {"s": {"kind": "csv", "url": str(typed_csv), "engine": "arrow"}}}}}
    )
    assert sandboxed.tables() == arrow.tables()
    got, expected = (
        sandboxed.sql("SELECT * FROM d.s ORDER BY id").arrow(),
        arrow.sql("SELECT * FROM d.s ORDER BY id").arrow(),
    )
    assert got.schema == expected.schema
    assert got == expected  # "007" stays 7 (an integer column, as Arrow typed it), "" is NULL
    sandboxed.close()
    arrow.close()


def _view_types(fed: fedquery.Federation) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """For every file table: its name, the DuckDB types of the catalog's schema, and the view's types."""
    out = []
    for entry in fed.tables():
        if entry["kind"] not in ("parquet", "csv"):
            continue
        department, name = entry["table"].split(".", 1)
        connector = fed.catalog.connector(department, entry["source"])
        fed.sql(f"SELECT * FROM {entry['table']} LIMIT 1").fetchall()  # defines the view
        table = next(t for t in connector.list_tables() if t.name == name)
        relation = connector._sandbox.connection.sql(exp.select("*").from_(connector.remote_table(table)).sql("duckdb"))
        seen = {column: str(t) for column, t in zip(relation.columns, relation.types)}
        out.append((entry["table"], duckdb_types(connector.table_schema(table)), seen))
    return out


def test_every_demo_file_table_keeps_its_types(tmp_path: Path) -> None:
    from fedquery.demo import write_demo

    fed = fedquery.connect(write_demo(tmp_path / "demo"))
    checked = _view_types(fed)
    assert len(checked) >= 3
    for name, pinned, seen in checked:
        assert seen == pinned, name
    fed.close()


def test_every_fixture_file_table_keeps_its_types(department: Path, typed_csv: Path) -> None:
    for fed in (
        _fed(department),
        fedquery.connect({"departments": {"d": {"sources": {"s": {"kind": "csv", "url": str(typed_csv)}}}}}),
    ):
        for name, pinned, seen in _view_types(fed):
            assert seen == pinned, name
        fed.close()


# -- the sandbox ----------------------------------------------------------------------------------
@pytest.fixture
def sandboxed(tmp_path: Path) -> tuple[Any, Path]:
    """A source's sandbox after one query, beside a file outside its root and a link out of it."""
    root = tmp_path / "root"
    root.mkdir()
    other = tmp_path / "other"
    other.mkdir()
    pacsv.write_csv(pa.table({"a": [1, 2]}), root / "t.csv")
    pacsv.write_csv(pa.table({"secret": ["hunter2"]}), other / "s.csv")
    pacsv.write_csv(pa.table({"b": [3]}), root / "sibling.txt")  # in the root, but no table of the source
    os.symlink(other / "s.csv", root / "link.dat")  # not a table (suffix), a way out if DuckDB followed it
    fed = fedquery.connect({"departments": {"d": {"sources": {"s": {"kind": "csv", "url": str(root)}}}}})
    assert fed.sql("SELECT sum(a) FROM d.t").fetchall() == [(3,)]
    connector = fed.catalog.connector("d", "s")
    assert connector._sandbox is not None
    yield connector._sandbox.connection, tmp_path
    fed.close()


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_csv('{tmp}/other/s.csv')",
        "SELECT * FROM read_csv('{tmp}/root/../other/s.csv')",
        "SELECT * FROM read_csv('{tmp}/root/link.dat')",
        "SELECT * FROM read_csv('{tmp}/root/sibling.txt')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '{tmp}/root/out.csv'",
        "COPY (SELECT 1) TO '{tmp}/elsewhere.csv'",
        "ATTACH '{tmp}/x.duckdb'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_csv('https://example.com/x.csv')",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET memory_limit = '100GB'",
        "RESET lock_configuration",
    ],
)
def test_nothing_else_is_reachable_from_the_sandbox(sandboxed: tuple[Any, Path], statement: str) -> None:
    con, tmp = sandboxed
    with pytest.raises(duckdb.Error, match="disabled|locked|Permission"):
        con.execute(statement.format(tmp=tmp)).fetchall()
    assert not (tmp / "root" / "out.csv").exists() and not (tmp / "elsewhere.csv").exists()


def test_the_source_runs_only_queries(department: Path) -> None:
    """DuckDB lets an allowed path be written: the connector sends nothing but one query."""
    fed = _fed(department)
    connector = fed.catalog.connector("p", "files")
    fragment = fed.explain("SELECT count(*) FROM p.payments").fragments[0]
    target = str(department / "pq" / "payments.parquet")
    fragment = fragment.evolve(
        expression=exp.Copy(this=fragment.expression.copy(), kind=False, files=[exp.Literal.string(target)])
    )
    with pytest.raises(SourceError, match="only queries"):
        connector.scan(fragment)
    assert pq.read_table(target).num_rows == N
    fed.close()


def test_a_symlink_out_of_the_root_is_still_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    pacsv.write_csv(pa.table({"secret": ["hunter2"]}), tmp_path / "outside" / "s.csv")
    os.symlink(tmp_path / "outside" / "s.csv", tmp_path / "root" / "leak.csv")
    pacsv.write_csv(pa.table({"a": [1]}), tmp_path / "root" / "fine.csv")
    fed = fedquery.connect({"departments": {"d": {"sources": {"s": {"kind": "csv", "url": str(tmp_path / "root")}}}}})
    assert [t["table"] for t in fed.tables()] == ["d.fine"]  # discovery skipped the link
    fed.close()


def test_a_file_added_to_the_directory_is_read(tmp_path: Path) -> None:
    """A new file of a table is outside the sandbox's allowed paths: a new sandbox covers it."""
    (tmp_path / "t").mkdir()
    pq.write_table(pa.table({"a": [1, 2]}), tmp_path / "t" / "part-0.parquet")
    fed = fedquery.connect({"departments": {"d": {"sources": {"s": {"kind": "parquet", "url": str(tmp_path)}}}}})
    assert fed.sql("SELECT sum(a) FROM d.t").fetchall() == [(3,)]
    pq.write_table(pa.table({"a": [10]}), tmp_path / "t" / "part-1.parquet")
    assert fed.sql("SELECT sum(a) FROM d.t").fetchall() == [(13,)]
    fed.close()


# -- deadlines ------------------------------------------------------------------------------------
def test_a_long_file_query_ends_at_its_deadline(department: Path) -> None:
    fed = _fed(department)
    fed.tables()
    slow = "SELECT count(*) FROM p.payments a, p.payments b, p.people c WHERE (a.id * b.id + c.person) % 1000003 = 17"
    started = time.monotonic()
    with pytest.raises(QueryTimeoutError):
        fed.sql(slow, timeout=1).fetchall()
    assert time.monotonic() - started < 3
    assert fed.sql("SELECT count(*) FROM p.people").fetchall() == [(997,)]  # the source still answers
    fed.close()


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"kind": "parquet", "url": "s3://bucket/x.parquet", "engine": "duckdb"}, "reads local files only"),
        ({"kind": "csv", "url": "data", "engine": "polars"}, "engine must be one of 'duckdb', 'arrow'"),
    ],
)
def test_a_bad_engine_is_a_config_error_naming_the_source(source: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        fedquery.connect({"departments": {"d": {"sources": {"files": source}}}})
    assert info.value.source == "files"


# -- fixed cost: cursors kept, one file listed without discovery ----------------------------------
def _sandbox(fed: fedquery.Federation, department: str) -> Any:
    return fed.catalog.connector(department, "files")._sandbox  # type: ignore[attr-defined]


def _closed_soon(cursor: Any) -> bool:
    """Is ``cursor`` closed within a few seconds (its scan's end runs on the reader's thread)? One still
    holding its scan's result refuses a statement without running it."""
    for _ in range(500):
        try:
            cursor.execute("SELECT 1")
        except duckdb.ConnectionException:
            return True
        except duckdb.ResourceInUseException:
            pass
        time.sleep(0.01)
    return False


def test_a_cursor_is_kept_only_after_a_scan_that_ran_to_its_end(department: Path) -> None:
    fed = _fed(department)
    oracle = _oracle(department)
    query = "SELECT person, sum(amount) FROM p.payments GROUP BY person ORDER BY person"
    assert fed.sql(query).fetchall() == oracle.sql(query).fetchall()
    sandbox = _sandbox(fed, "p")
    (kept,) = sandbox.idle
    assert fed.sql(query).fetchall() == oracle.sql(query).fetchall()
    assert sandbox.idle == [kept]  # the same cursor answered again
    # A scan stopped part-way (the reader closed after one batch) does not give its cursor back.
    small = fedquery.connect(
        {
            "departments": {
                "p": {"sources": {"files": {"kind": "parquet", "url": str(department / "pq"), "batch_size": 100}}}
            }
        }
    )
    assert small.sql(query).fetchall() == oracle.sql(query).fetchall()
    (small_kept,) = _sandbox(small, "p").idle
    # 20 M rows in batches of 100: far more than the reader queues, so the scan is still running here
    reader = small.sql("SELECT a.id FROM p.payments a, p.people b").reader()
    assert (
        len(reader.read_next_batch()) and len(small.explain("SELECT a.id FROM p.payments a, p.people b").fragments) == 1
    )
    reader.close()
    time.sleep(0.5)
    assert small_kept not in _sandbox(small, "p").idle  # its statement was interrupted: never reused
    small.close()
    # Nor does one stopped by its deadline; the next query is still the oracle's, on a new cursor.
    slow = "SELECT count(*) FROM p.payments a, p.payments b WHERE (a.id * b.id) % 1000003 = 17"
    with pytest.raises(QueryTimeoutError):
        fed.sql(slow, timeout=0.5).fetchall()
    assert _closed_soon(kept)  # the timed-out scan took it, and closed it
    assert sandbox.idle == []
    assert fed.sql(query).fetchall() == oracle.sql(query).fetchall()
    (fresh,) = sandbox.idle
    assert fresh is not kept
    fed.close()
    assert sandbox.idle == [] and sandbox.closed


def test_one_file_listed_directly_is_what_discovery_finds(department: Path) -> None:
    fed = _fed(department)
    connector = fed.catalog.connector("p", "files")
    fed.tables()
    for table in connector._known.values():  # type: ignore[attr-defined]
        discovered = tuple(connector.dataset(table, schema=connector.table_schema(table)).files)  # type: ignore[attr-defined]
        assert connector._files(table) == discovered  # type: ignore[attr-defined]
    fed.close()


def test_a_file_replaced_by_a_symlink_out_of_the_root_is_refused_at_scan(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    pq.write_table(pa.table({"a": [1]}), tmp_path / "root" / "t.parquet")
    pq.write_table(pa.table({"a": [99]}), tmp_path / "outside" / "secret.parquet")
    fed = fedquery.connect(
        {"departments": {"d": {"sources": {"s": {"kind": "parquet", "url": str(tmp_path / "root")}}}}}
    )
    assert fed.sql("SELECT a FROM d.t").fetchall() == [(1,)]
    (tmp_path / "root" / "t.parquet").unlink()
    os.symlink(tmp_path / "outside" / "secret.parquet", tmp_path / "root" / "t.parquet")
    with pytest.raises(SourceError, match="symbolic link .* outside the source's root"):
        fed.sql("SELECT a FROM d.t").fetchall()
    fed.close()
