"""Hostile names round-trip: quotes, semicolons, comments, newlines, backticks and long unicode in
table and column names, on every source kind, through joins, semi-join reduction, top-N and
parallel reads, with the same rows as the oracle.

Every statement fedquery builds quotes identifiers through sqlglot's generator, so a column named
``k" + 1000 + "k`` is a name, never SQL (it once changed the semi-join keys sent to PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

import fedquery
from fedquery.planner import top_n
from tests.conftest import PG_DSN, assert_same_rows, mysql_admin, mysql_url, own_schema_and_database, pg_admin

K = 'k" + 1000 + "k'
NUM = "n;um) --"
V = "v'; --\nx"
B = "b`q"
U = "ünï_名前_ß" + "é" * 20
FACTS, DIM = 'fa"cts;', "di'm"
KINDS = ("pg", "my", "lite", "duck", "parquet", "csv")
FILE_KINDS = ("parquet", "csv")


def _names(kind: str) -> dict[str, str]:
    # CSV headers hold no newline (a line break ends the header row for most readers).
    return {"K": K, "NUM": NUM, "V": V.replace("\n", " ") if kind == "csv" else V, "B": B, "U": U}


def _table_name(kind: str, table: str) -> str:
    # File tables are named in the config, which takes SQL identifiers only.
    if kind in FILE_KINDS:
        return "facts" if table == FACTS else "dim"
    return table


def _facts(kind: str) -> pa.Table:
    n = _names(kind)
    ids = list(range(3000))
    return pa.table(
        {n["K"]: pa.array([i % 300 for i in ids], pa.int32()), n["NUM"]: pa.array(ids, pa.int64()),
         n["V"]: [f"v{i}" for i in ids]}
    )  # fmt: skip


def _dim(kind: str) -> pa.Table:
    n = _names(kind)
    ids = list(range(300))
    return pa.table(
        {n["K"]: pa.array(ids, pa.int32()), n["B"]: ["x" if j % 30 == 0 else "y" for j in ids],
         n["U"]: [f"u{j % 7}" for j in ids]}
    )  # fmt: skip


def q(name: str, dialect: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect)


_SQL_TYPES = {pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.string(): "TEXT"}


def _create(cur: Any, dialect: str, prefix: str, name: str, table: pa.Table) -> None:
    text = "VARCHAR(40)" if dialect == "mysql" else "TEXT"
    columns = ", ".join(
        f"{q(f.name, dialect)} {_SQL_TYPES[f.type] if f.type != pa.string() else text}" for f in table.schema
    )
    cur.execute(f"CREATE TABLE {prefix}{q(name, dialect)} ({columns})")
    marks = ", ".join(["%s" if dialect == "mysql" else "?"] * table.num_columns)
    rows = list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns))))
    insert = f"INSERT INTO {prefix}{q(name, dialect)} VALUES ({marks})"
    if dialect == "postgres":
        values = ", ".join("(" + ", ".join(exp.convert(v).sql("postgres") for v in row) + ")" for row in rows)
        cur.execute(f"INSERT INTO {prefix}{q(name, dialect)} VALUES {values}")
    else:
        cur.executemany(insert, rows)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Own schema and database: analyze() reads every table in them.
    with own_schema_and_database("fq_hostile") as name:
        yield from _hostile(name, tmp_path_factory)


def _hostile(pg_schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    mysql_database = pg_schema
    root = tmp_path_factory.mktemp("hostile")
    sources: dict[str, dict[str, Any]] = {}
    pg = pg_admin()
    with pg.cursor() as cur:
        for name, table in ((FACTS, _facts("pg")), (DIM, _dim("pg"))):
            _create(cur, "postgres", f"{q(pg_schema, 'postgres')}.", name, table)
            cur.execute(f"ANALYZE {q(pg_schema, 'postgres')}.{q(name, 'postgres')}")
    pg.close()
    sources["pg"] = {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "schemas": [pg_schema]}
    my = mysql_admin()
    with my.cursor() as cur:
        for name, table in ((FACTS, _facts("my")), (DIM, _dim("my"))):
            _create(cur, "mysql", f"{q(mysql_database, 'mysql')}.", name, table)
    my.close()
    sources["my"] = {"kind": "mysql", "url": mysql_url(mysql_database)}
    lite = sqlite3.connect(root / "lite.db")
    for name, table in ((FACTS, _facts("lite")), (DIM, _dim("lite"))):
        _create(lite, "sqlite", "", name, table)
    lite.commit()
    lite.close()
    sources["lite"] = {"kind": "sqlite", "path": str(root / "lite.db")}
    duck = duckdb.connect(str(root / "duck.duckdb"))
    for name, table in ((FACTS, _facts("duck")), (DIM, _dim("duck"))):
        duck.register("_t", table)
        duck.execute(f"CREATE TABLE {q(name, 'duckdb')} AS SELECT * FROM _t")
        duck.unregister("_t")
    duck.close()
    sources["duck"] = {"kind": "duckdb", "path": str(root / "duck.duckdb")}
    for kind, write, suffix in (("parquet", pq.write_table, "parquet"), ("csv", pacsv.write_csv, "csv")):
        folder = root / kind
        folder.mkdir()
        write(_facts(kind), folder / f"facts.{suffix}")
        write(_dim(kind), folder / f"dim.{suffix}")
        tables: dict[str, Any] = {"facts": {"path": f"facts.{suffix}"}, "dim": {"path": f"dim.{suffix}"}}
        if kind == "csv":
            for t in tables.values():
                t["columns"] = {K: "integer", NUM: "bigint"}
        sources[kind] = {"kind": kind, "url": str(folder), "tables": tables}
    config = {
        "settings": {"parallel_min_rows": 1, "parallel_min_bytes": 0, "parallel_reads": 2},
        "departments": {kind: {"sources": {"s": source}} for kind, source in sources.items()},
    }
    fed = fedquery.connect(config)
    fed.analyze()
    oracle = duckdb.connect()
    for kind in KINDS:
        oracle.execute(f"CREATE SCHEMA {kind}")
        for name, table in ((FACTS, _facts(kind)), (DIM, _dim(kind))):
            oracle.register("_t", table)
            oracle.execute(f"CREATE TABLE {kind}.{q(_table_name(kind, name), 'duckdb')} AS SELECT * FROM _t")
            oracle.unregister("_t")
    yield fed, oracle
    fed.close()
    oracle.close()


def _ref(kind: str, table: str) -> str:
    return f"{kind}.{q(_table_name(kind, table), 'duckdb')}"


def _queries(facts: str, dim: str) -> dict[str, str]:
    f, d = _names(facts), _names(dim)

    def c(alias: str, name: str) -> str:
        return f"{alias}.{q(name, 'duckdb')}"

    return {
        "reduced join": (
            f"SELECT {c('d', d['U'])}, count(*) AS n, sum({c('f', f['NUM'])}) AS total, max({c('f', f['V'])}) AS v "
            f"FROM {_ref(facts, FACTS)} f JOIN {_ref(dim, DIM)} d ON {c('f', f['K'])} = {c('d', d['K'])} "
            f"WHERE {c('d', d['B'])} = 'x' GROUP BY 1 ORDER BY 1"
        ),
        "top-N": (
            f"SELECT {c('f', f['NUM'])}, {c('f', f['V'])}, {c('d', d['U'])} "
            f"FROM {_ref(facts, FACTS)} f JOIN {_ref(dim, DIM)} d ON {c('f', f['K'])} = {c('d', d['K'])} "
            f"ORDER BY {c('f', f['NUM'])} DESC LIMIT 5"
        ),
        "one source": (
            f"SELECT {q(f['V'], 'duckdb')} AS {q(V, 'duckdb')}, {q(f['K'], 'duckdb')} FROM {_ref(facts, FACTS)} "
            f"WHERE {q(f['NUM'], 'duckdb')} % 1000 = 7 ORDER BY 2"
        ),
        "in subquery": (
            f"SELECT count(*) FROM {_ref(facts, FACTS)} f WHERE {c('f', f['K'])} IN "
            f"(SELECT {q(d['K'], 'duckdb')} FROM {_ref(dim, DIM)} WHERE {q(d['B'], 'duckdb')} = 'x')"
        ),
    }


PAIRS = [(facts, KINDS[(i + 1) % len(KINDS)]) for i, facts in enumerate(KINDS)]


@pytest.fixture
def small_drivers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(top_n, "MIN_DRIVER_ROWS", 0)


@pytest.mark.parametrize(("facts", "dim"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_hostile_names_match_the_oracle(hostile: Any, facts: str, dim: str, small_drivers: None) -> None:
    fed, oracle = hostile
    for label, sql in _queries(facts, dim).items():
        expected = oracle.sql(sql).fetchall()
        assert expected, label
        for strategy in ("none", "filters", "full", "auto"):
            result = fed.sql(sql, pushdown=strategy)
            assert_same_rows(result.fetchall(), expected, ordered="ORDER BY" in sql)


def test_hostile_names_reach_every_run_time_path(hostile: Any, small_drivers: None) -> None:
    """The planner features whose SQL is built while the query runs all saw a hostile name."""
    fed, oracle = hostile
    reduced = top = ranged = 0
    for facts, dim in PAIRS:
        for sql in _queries(facts, dim).values():
            result = fed.sql(sql)
            result.fetchall()
            reduced += sum(1 for s in result.stats if s.reduced_keys)
            ranged += sum(1 for s in result.stats if s.ranges)
            top += sum(1 for f in result.plan.fragments if f.top_n is not None)
    assert reduced and top and ranged, (reduced, top, ranged)


def test_hostile_names_in_output_names(hostile: Any) -> None:
    fed, _ = hostile
    result = fed.sql(
        f"SELECT {q(V, 'duckdb')}, {q(K, 'duckdb')} AS {q(B, 'duckdb')} FROM pg.{q(FACTS, 'duckdb')} LIMIT 1"
    )
    assert result.arrow().schema.names == [V, B]


def test_a_csv_header_cannot_change_the_keys(tmp_path: Path, pg_schema: str) -> None:
    """The reported case: a CSV header ``k" + 1000 + "k`` joined to PostgreSQL keys (answer 3, not 0)."""
    pacsv.write_csv(pa.table({K: [1, 2, 3]}), tmp_path / "keys.csv")
    pg = pg_admin()
    with pg.cursor() as cur:
        cur.execute(f"CREATE TABLE {q(pg_schema, 'postgres')}.hostile_ids (id INT PRIMARY KEY)")
        cur.execute(f"INSERT INTO {q(pg_schema, 'postgres')}.hostile_ids SELECT generate_series(1, 5000)")
        cur.execute(f"ANALYZE {q(pg_schema, 'postgres')}.hostile_ids")
    pg.close()
    config = {
        "departments": {
            "f": {"sources": {"s": {"kind": "csv", "url": str(tmp_path / "keys.csv")}}},
            "p": {
                "sources": {
                    "s": {"kind": "postgres", "url": PG_DSN, "schema": pg_schema, "tables": {"hostile_ids": {}}}
                }
            },
        }
    }
    with fedquery.connect(config) as fed:
        fed.analyze()
        sql = f"SELECT count(*) FROM f.s JOIN p.hostile_ids AS ids ON ids.id = s.{q(K, 'duckdb')}"
        for strategy in ("none", "filters", "full", "auto"):
            assert fed.sql(sql, pushdown=strategy).fetchall() == [(3,)]
