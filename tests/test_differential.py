"""Differential testing: seeded random queries over six kinds of source, every strategy, against the oracle.

The same edge-value rows (NULLs, multibyte and case variants, blanks, extreme integers, negative and
large floats, leap days) live in PostgreSQL, MariaDB, SQLite, a DuckDB file, Parquet and CSV, and in
one DuckDB (the oracle). A small grammar draws queries — joins across departments (inner and left),
filters with every comparison, IN, BETWEEN, LIKE, IS NULL, AND/OR/NOT, aggregates with GROUP BY and
HAVING, DISTINCT, ORDER BY … LIMIT, scalar and IN subqueries, CASE — and each runs under every pushdown
strategy. Beside plain comparison, TLP (ternary logic partitioning, from SQLancer) checks that the
rows of ``WHERE p``, ``WHERE NOT p`` and ``WHERE p IS NULL`` add up to the unfiltered rows.

``FEDQUERY_DIFF_QUERIES`` sets how many queries a run draws (default 2,000 when ``CI=true``, 300
otherwise); ``FEDQUERY_DIFF_SEED`` the first seed. A mismatch names its seed; shrunk, it becomes a
fixture in ``REGRESSIONS`` below. ``python -m benchmarks.differential`` runs a long campaign.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
import random
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fedquery
from tests.conftest import PG_DSN, mysql_admin, mysql_url, pg_admin

DEPARTMENTS = ("pg", "my", "lite", "duck", "pq", "csv")
STRATEGIES = ("none", "filters", "full", "auto")
ROWS_PER_TABLE = 24

# Value pools: edge values every source stores exactly. (CSV cannot tell '' from NULL, and MySQL has
# no NaN: those are exercised by the type-map tests instead.)
KEYS = [0, 1, 2, 3, 4, None]
INTS = [0, 1, -1, 7, 42, -2147483647, 2147483647, 1000, None]
TEXTS = ["a", "A", "abc", "ABC", "Abc", "é", "e", "straße", "STRASSE", " x", "x ", "名前", "a%b", "a_b", "z", None]
FLOATS = [0.5, -1.25, 1e10, 3.0, -0.0, 123.456, None]
DATES = [dt.date(2020, 1, 1), dt.date(1999, 12, 31), dt.date(2024, 2, 29), dt.date(1970, 1, 1), None]
COLUMNS = {"k": KEYS, "i": INTS, "s": TEXTS, "f": FLOATS, "d": DATES}
ARROW = {"k": pa.int32(), "i": pa.int32(), "s": pa.string(), "f": pa.float64(), "d": pa.date32()}
SQL = {"k": "INTEGER", "i": "INTEGER", "s": "VARCHAR(20)", "f": "DOUBLE PRECISION", "d": "DATE"}


def _rows(department: str) -> list[tuple[Any, ...]]:
    rng = random.Random(f"rows-{department}")
    return [(n, *(rng.choice(pool) for pool in COLUMNS.values())) for n in range(ROWS_PER_TABLE)]


def _table(department: str) -> pa.Table:
    rows = _rows(department)
    data = {"id": pa.array([r[0] for r in rows], pa.int32())}
    for j, name in enumerate(COLUMNS, start=1):
        data[name] = pa.array([r[j] for r in rows], ARROW[name])
    return pa.table(data)


def _ddl(table: str, dialect: str) -> str:
    types = {**SQL, "f": "DOUBLE" if dialect == "mysql" else SQL["f"]}
    return f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, " + ", ".join(f"{c} {t}" for c, t in types.items()) + ")"


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    name = f"fq_diff_{uuid.uuid4().hex[:10]}"
    root: Path = tmp_path_factory.mktemp("differential")
    pg = pg_admin()
    with pg.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{name}"')
        cur.execute(_ddl(f'"{name}".t', "postgres"))
        cur.adbc_ingest("t", _table("pg"), mode="append", db_schema_name=name)
    my = mysql_admin()
    with my.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cur.execute(_ddl(f"`{name}`.t", "mysql"))
        cur.executemany(f"INSERT INTO `{name}`.t VALUES (%s, %s, %s, %s, %s, %s)", _rows("my"))
    lite = sqlite3.connect(root / "lite.db")
    lite.execute(_ddl("t", "sqlite"))
    lite.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", [(*r[:5], r[5] and r[5].isoformat()) for r in _rows("lite")]
    )
    lite.commit()
    lite.close()
    duck = duckdb.connect(str(root / "duck.duckdb"))
    duck.register("_t", _table("duck"))
    duck.execute("CREATE TABLE t AS SELECT * FROM _t")
    duck.close()
    (root / "pq").mkdir()
    pq.write_table(_table("pq"), root / "pq" / "t.parquet")
    (root / "csv").mkdir()
    pacsv.write_csv(_table("csv"), root / "csv" / "t.csv")
    csv_types = {"id": "integer", "k": "integer", "i": "integer", "s": "varchar", "f": "double", "d": "date"}
    config = {
        "departments": {
            "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name, "tables": {"t": {}}}}},
            "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
            "lite": {"sources": {"db": {"kind": "sqlite", "path": str(root / "lite.db")}}},
            "duck": {"sources": {"db": {"kind": "duckdb", "path": str(root / "duck.duckdb")}}},
            "pq": {"sources": {"t": {"kind": "parquet", "url": str(root / "pq" / "t.parquet")}}},
            "csv": {
                "sources": {
                    "t": {
                        "kind": "csv",
                        "url": str(root / "csv" / "t.csv"),
                        "tables": {"t": {"path": "", "columns": csv_types}},
                    }
                }
            },
        }
    }
    fed = fedquery.connect(config)
    oracle = duckdb.connect()
    for department in DEPARTMENTS:
        oracle.execute(f"CREATE SCHEMA {department}")
        oracle.register("_t", _table(department))
        oracle.execute(f"CREATE TABLE {department}.t AS SELECT * FROM _t")
        oracle.unregister("_t")
    yield fed, oracle
    fed.close()
    oracle.close()
    with pg.cursor() as cur:
        cur.execute(f'DROP SCHEMA "{name}" CASCADE')
    pg.close()
    with my.cursor() as cur:
        cur.execute(f"DROP DATABASE `{name}`")
    my.close()


# -- the grammar -------------------------------------------------------------------------------------
def _literal(rng: random.Random, column: str) -> str:
    value = rng.choice([v for v in COLUMNS[column] if v is not None])
    if column == "s":
        return "'" + str(value).replace("'", "''") + "'"
    if column == "d":
        return f"DATE '{value.isoformat()}'"
    return repr(value)


def _predicate(rng: random.Random, alias: str, depth: int = 0) -> str:
    column = rng.choice(list(COLUMNS))
    ref = f"{alias}.{column}"
    roll = rng.random()
    if depth < 2 and roll < 0.15:
        joiner = rng.choice([" AND ", " OR "])
        return f"({_predicate(rng, alias, depth + 1)}{joiner}{_predicate(rng, alias, depth + 1)})"
    if depth < 2 and roll < 0.2:
        return f"NOT ({_predicate(rng, alias, depth + 1)})"
    if roll < 0.3:
        return f"{ref} IS {rng.choice(['', 'NOT '])}NULL"
    if roll < 0.4:
        items = ", ".join(_literal(rng, column) for _ in range(rng.randint(1, 3)))
        return f"{ref} {rng.choice(['', 'NOT '])}IN ({items})"
    if roll < 0.5:
        low, high = sorted([_literal(rng, column), _literal(rng, column)]) if column == "s" else (
            _literal(rng, column), _literal(rng, column))  # fmt: skip
        return f"{ref} BETWEEN {low} AND {high}"
    if column == "s" and roll < 0.6:
        return f"{ref} {rng.choice(['LIKE', 'NOT LIKE'])} '{rng.choice(['a%', '%b', '_b%', '%', 'A%', '%ß%', 'x_'])}'"
    return f"{ref} {rng.choice(['=', '<>', '<', '<=', '>', '>='])} {_literal(rng, column)}"


def _query(seed: int) -> str:
    rng = random.Random(seed)
    left = rng.choice(DEPARTMENTS)
    right = rng.choice([d for d in DEPARTMENTS if d != left]) if rng.random() < 0.6 else None
    aliases = ["a"] + (["b"] if right else [])
    source = f"{left}.t a"
    if right:
        join = rng.choice(["JOIN", "LEFT JOIN"])
        on = "a.k = b.k" + (f" AND {_predicate(rng, 'b')}" if rng.random() < 0.3 else "")
        source += f" {join} {right}.t b ON {on}"
    where = [_predicate(rng, rng.choice(aliases)) for _ in range(rng.randint(0, 2))]
    if rng.random() < 0.1:
        other = rng.choice(DEPARTMENTS)
        where.append(f"a.k IN (SELECT x.k FROM {other}.t x WHERE {_predicate(rng, 'x')})")
    shape = rng.random()
    if shape < 0.45:  # aggregate
        group = [f"{rng.choice(aliases)}.{rng.choice(['k', 's', 'd'])}" for _ in range(rng.randint(0, 2))]
        group = list(dict.fromkeys(group))
        pick = [
            "count(*)", "count({}.s)", "sum({}.i)", "min({}.s)", "max({}.d)", "sum({}.f)", "count(DISTINCT {}.k)",
            "avg({}.i)",
        ]  # fmt: skip
        aggregates = [rng.choice(pick).format(rng.choice(aliases)) for _ in range(rng.randint(1, 3))]
        outputs = group + [f"{a} AS agg{n}" for n, a in enumerate(aggregates)]
        sql = f"SELECT {', '.join(outputs)} FROM {source}"
        sql += f" WHERE {' AND '.join(where)}" if where else ""
        sql += f" GROUP BY {', '.join(group)}" if group else ""
        if group and rng.random() < 0.3:
            sql += f" HAVING count(*) {rng.choice(['>', '>=', '='])} {rng.randint(1, 3)}"
        return sql
    columns = [f"{rng.choice(aliases)}.{c}" for c in rng.sample(list(COLUMNS), rng.randint(1, 3))]
    if rng.random() < 0.15:
        columns.append(f"CASE WHEN {_predicate(rng, 'a')} THEN 'y' ELSE 'n' END AS c")
    if rng.random() < 0.1:
        other = rng.choice(DEPARTMENTS)
        columns.append(f"(SELECT max(i) FROM {other}.t x WHERE x.k = a.k) AS sub")
    distinct = "DISTINCT " if rng.random() < 0.15 else ""
    sql = f"SELECT {distinct}{', '.join(dict.fromkeys(columns))} FROM {source}"
    sql += f" WHERE {' AND '.join(where)}" if where else ""
    if rng.random() < 0.3:
        order = ", ".join(f"{n} NULLS LAST" for n in range(1, len(dict.fromkeys(columns)) + 1))
        sql += f" ORDER BY {order} LIMIT {rng.randint(1, 10)}"
    return sql


def _tlp(seed: int) -> tuple[str, list[str]]:
    """A query and its three partitions by a predicate (p, NOT p, p IS NULL)."""
    rng = random.Random(seed)
    department = rng.choice(DEPARTMENTS)
    predicate = _predicate(rng, "a")
    base = f"SELECT a.id, a.s, a.i FROM {department}.t a"
    return base, [f"{base} WHERE {p}" for p in (predicate, f"NOT ({predicate})", f"({predicate}) IS NULL")]


# -- the runs ------------------------------------------------------------------------------------------
COUNT = int(os.environ.get("FEDQUERY_DIFF_QUERIES") or (2000 if os.environ.get("CI") == "true" else 300))
FIRST_SEED = int(os.environ.get("FEDQUERY_DIFF_SEED") or 0)
CHUNKS = 10

#: Mismatches the generator found, shrunk by hand: kept so that they never come back.
REGRESSIONS: list[str] = [
    # An empty semi-join producer sends FALSE to a CSV scan, which Arrow's filter translation refused
    # ("Untranslatable: Boolean") under auto.
    "SELECT b.k, a.d FROM csv.t a JOIN lite.t b ON a.k = b.k AND b.k > 0 WHERE (b.i = 7 AND b.d BETWEEN "
    "DATE '1970-01-01' AND DATE '2024-02-29') AND a.i < 42 ORDER BY 1 NULLS LAST, 2 NULLS LAST LIMIT 8",
    # Arrow's is_in hashes float bits: -0.0 missed the rows holding -0.0 ... or 0.0 (SQL's = matches both).
    "SELECT a.f FROM pq.t a WHERE a.f IN (-0.0, 3.0) ORDER BY 1 NULLS LAST LIMIT 3",
    "SELECT a.f FROM csv.t a WHERE a.f IN (0.0, 0.5) ORDER BY 1 NULLS LAST",
    # TPC-DS Q87: parenthesised set-operation branches were never cut into fragments, so a placeholder
    # table name reached the last gate (CatalogEscapeError) under every strategy.
    "SELECT count(*) FROM ((SELECT DISTINCT a.s FROM pg.t a) EXCEPT (SELECT DISTINCT b.s FROM my.t b) "
    "EXCEPT (SELECT c.s FROM pq.t c WHERE c.i > 0)) x",
    "(SELECT a.k FROM csv.t a ORDER BY 1 NULLS LAST LIMIT 3) UNION ALL (SELECT b.k FROM lite.t b) "
    "ORDER BY 1 NULLS LAST",
    "SELECT * FROM (((SELECT a.i FROM duck.t a ORDER BY 1 NULLS LAST LIMIT 4))) x ORDER BY 1 NULLS LAST",
    # TPC-DS Q49: a derived table aliased CATALOG and read as catalog.item (aliases match case-insensitively).
    "SELECT cat.k FROM (SELECT a.k FROM pg.t a WHERE a.k IS NOT NULL) CAT ORDER BY 1 NULLS LAST",
    # TPC-DS Q54: an unquoted upper-case output name (SELECT SEG ... ORDER BY SEG) did not bind.
    "SELECT SEG, count(*) AS n, SEG * 2 AS b FROM (SELECT a.i AS SEG FROM pg.t a) s GROUP BY SEG "
    "ORDER BY SEG NULLS FIRST, n NULLS FIRST, b",
]


def _value(v: Any) -> Any:
    """Numbers to 9 significant digits (float sums depend on the order rows are added), -0.0 as 0.0."""
    if isinstance(v, (float, decimal.Decimal, int)) and not isinstance(v, bool):
        # (a SUM of integers is HUGEINT in DuckDB: Decimal(38,0) through Arrow, int from DuckDB itself)
        v = float(v)
        return "NaN" if math.isnan(v) else float(f"{v:.9g}") + 0.0
    return v


def _same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], *, ordered: bool) -> bool:
    a = [tuple(_value(v) for v in r) for r in got]
    b = [tuple(_value(v) for v in r) for r in expected]
    if not ordered:
        a, b = sorted(a, key=repr), sorted(b, key=repr)
    return a == b


def _check(fed: Any, oracle: Any, sql: str) -> str | None:
    try:
        expected = oracle.sql(sql).fetchall()
    except duckdb.Error:
        return None  # the grammar drew a query DuckDB itself refuses: not a federation question
    # ORDER BY covers every output column, so even with LIMIT the answer is one sequence.
    ordered = " ORDER BY " in sql
    for strategy in STRATEGIES:
        try:
            got = fed.sql(sql, pushdown=strategy).fetchall()
        except Exception as exc:  # noqa: BLE001 - reported with the query that raised it
            return f"{strategy}: {type(exc).__name__}: {exc}"
        if not _same(got, expected, ordered=ordered):
            return f"{strategy}: {got[:4]} vs oracle {expected[:4]} ({len(got)} vs {len(expected)} rows)"
    return None


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_queries_match_the_oracle(federation: tuple[Any, Any], chunk: int) -> None:
    fed, oracle = federation
    failures = []
    per_chunk = -(-COUNT // CHUNKS)
    for seed in range(FIRST_SEED + chunk * per_chunk, FIRST_SEED + min(COUNT, (chunk + 1) * per_chunk)):
        sql = _query(seed)
        problem = _check(fed, oracle, sql)
        if problem:
            failures.append(f"seed {seed}: {sql}\n    {problem}")
    assert not failures, f"{len(failures)} mismatches:\n" + "\n".join(failures[:10])


def test_ternary_logic_partitions_add_up(federation: tuple[Any, Any]) -> None:
    fed, _ = federation
    failures = []
    for seed in range(FIRST_SEED, FIRST_SEED + max(20, COUNT // 10)):
        base, parts = _tlp(seed)
        for strategy in ("full", "auto"):
            whole = fed.sql(base, pushdown=strategy).fetchall()
            pieces = [row for part in parts for row in fed.sql(part, pushdown=strategy).fetchall()]
            if not _same(pieces, whole, ordered=False):
                failures.append(f"seed {seed} ({strategy}): {parts[0]}: {len(pieces)} rows vs {len(whole)}")
    assert not failures, "\n".join(failures[:10])


@pytest.mark.parametrize("sql", REGRESSIONS)
def test_regressions(federation: tuple[Any, Any], sql: str) -> None:
    fed, oracle = federation
    assert _check(fed, oracle, sql) is None
