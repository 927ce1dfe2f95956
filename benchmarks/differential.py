"""Differential testing: seeded random queries over six kinds of source, every strategy, against the oracle.

The same kind of edge-value rows live in PostgreSQL, MariaDB, SQLite, a DuckDB file, Parquet and CSV
(department ``pg``, ``my``, ``lite``, ``duck``, ``pq``, ``csv``: one table ``t`` each), and the same
rows in one DuckDB (the oracle). Every department holds the columns every source stores exactly
(keys, integers, min/max BIGINT, multibyte/case/accent/blank-padded text, floats, dates); a column
only some sources store exactly lives only in those departments (NaN and ±inf floats; BC and
far-future dates; DST-boundary timestamps and timestamptz; CHAR(n); enums; arrays; booleans; wide
and narrow decimals), and the grammar draws a column only where the department has it.

Three oracles, every query run through fedquery under every pushdown strategy:

* plain: the answer equals the oracle's (floats to 9 significant digits, ``_same``);
* TLP (ternary logic partitioning, SQLancer): the rows of ``WHERE p``, ``WHERE NOT p`` and
  ``WHERE p IS NULL`` add up to the unfiltered rows;
* NoREC (SQLancer): ``count(*) … WHERE p`` equals ``sum(CASE WHEN p THEN 1 ELSE 0 END)`` without
  the filter, both through fedquery.

``python -m benchmarks.differential --queries 50000 [--seed S] [--workers N] [--out FILE]`` runs a
long campaign: each worker builds its own federation (its own PostgreSQL schema and MariaDB
database, dropped after) and takes every N-th seed; failures (seed, strategy, SQL, problem) go to
``--out`` as JSON lines. tests/test_differential.py runs the same generator in the suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import decimal
import json
import logging
import math
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

PG_DSN = os.environ.get("FEDQUERY_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("FEDQUERY_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")

DEPARTMENTS = ("pg", "my", "lite", "duck", "pq", "csv")
STRATEGIES = ("none", "filters", "full", "auto")
ROWS_PER_TABLE = 24
ALL = frozenset(DEPARTMENTS)
D = decimal.Decimal
UTC = dt.timezone.utc


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of ``t``: its Arrow type, value pool, grammar kind, and the departments that hold it."""

    arrow: pa.DataType
    pool: list[Any]
    kind: str  # int, text, float, date, ts, tz, list, bool, dec
    where: frozenset[str] = ALL
    sql: dict[str, str] = dataclasses.field(default_factory=dict)  # dialect -> type, when not the default


#: the far dates of ``dx`` (days since 1970, which Python's date cannot hold) as DuckDB writes them
FAR_DATES = {
    -756000: "0101-02-22 (BC)", -719162: "0001-01-01", 2932896: "9999-12-31", 3000000: "10183-09-21", 0: "1970-01-01",
    -141428: "1582-10-14",
}  # fmt: skip
WIDE = D("1234567890123456789012345678.0123456789")
COLUMNS: dict[str, Column] = {
    "k": Column(pa.int32(), [0, 1, 2, 3, 4, None], "int"),
    "i": Column(pa.int32(), [0, 1, -1, 7, 42, -2147483647, 2147483647, 1000, None], "int"),
    "g": Column(pa.int64(), [-(2**63), 2**63 - 1, 0, 1, -1, 10**15, None], "int"),
    "s": Column(
        pa.string(),
        [
            "a",
            "A",
            "abc",
            "ABC",
            "Abc",
            "é",
            "É",
            "e\u0301",
            "e",
            "straße",
            "STRASSE",
            "ß",
            " x",
            "x ",
            "名前",
            "a%b",
            "a_b",
            "z",
            "Ǆ",
            None,
        ],
        "text",
    ),  # fmt: skip
    "f": Column(pa.float64(), [0.5, -1.25, 1e10, 3.0, -0.0, 123.456, None], "float"),
    "d": Column(
        pa.date32(),
        [dt.date(2020, 1, 1), dt.date(1999, 12, 31), dt.date(2024, 2, 29), dt.date(1970, 1, 1), None],
        "date",
    ),  # fmt: skip
    # MySQL has no NaN or infinity; SQLite reads NaN back as NULL.
    "fx": Column(
        pa.float64(),
        [math.nan, math.inf, -math.inf, 0.0, 1.5, -2.5, None],
        "float",
        frozenset({"pg", "duck", "pq", "csv"}),
    ),  # fmt: skip
    # BC and far-future dates: MySQL DATE stops at 1000..9999, SQLite keeps text (BC sorts wrongly).
    "dx": Column(
        pa.date32(), [-756000, -719162, 2932896, 3000000, 0, -141428, None], "date", frozenset({"pg", "duck", "pq"})
    ),  # fmt: skip
    # Around DST changes (Europe/London 2026-03-29 and 2026-10-25 01:00 UTC, US 2026-03-08 07:00 UTC).
    "ts": Column(
        pa.timestamp("us"),
        [
            dt.datetime(2026, 3, 29, 0, 59, 59, 999999),
            dt.datetime(2026, 3, 29, 1),
            dt.datetime(2026, 10, 25, 0, 30),
            dt.datetime(2026, 10, 25, 1, 30),
            dt.datetime(2026, 3, 8, 7),
            dt.datetime(1969, 12, 31, 23, 59, 59),
            None,
        ],
        "ts",
        frozenset({"pg", "my", "duck", "pq", "csv"}),
        {"mysql": "DATETIME(6)"},
    ),  # fmt: skip
    "tz": Column(
        pa.timestamp("us", tz="UTC"),
        [
            dt.datetime(2026, 3, 29, 0, 59, 59, 999999, UTC),
            dt.datetime(2026, 3, 29, 1, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            dt.datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),
            dt.datetime(2026, 3, 8, 7, tzinfo=UTC),
            None,
        ],
        "tz",
        frozenset({"pg", "duck", "pq"}),
    ),  # fmt: skip
    # CHAR(4): the sources pad, fedquery reads the text value (as DuckDB has no padded type).
    "c": Column(
        pa.string(),
        ["ab", "a", "abcd", " a", "AB", None],
        "text",
        frozenset({"pg", "my"}),
        {"postgres": "CHAR(4)", "mysql": "CHAR(4)"},
    ),  # fmt: skip
    # Enums declared low < medium < high: they arrive as DuckDB ENUMs, ordered as declared.
    "en": Column(
        pa.string(),
        ["low", "medium", "high", None],
        "text",
        frozenset({"pg", "my"}),
        {"postgres": "{schema}.mood", "mysql": "ENUM('low', 'medium', 'high')"},
    ),  # fmt: skip
    "arr": Column(
        pa.list_(pa.int32()),
        [[1, 2, 3], [], [None], [5], [2, 1], None],
        "list",
        frozenset({"pg", "duck", "pq"}),
        {"postgres": "INTEGER[]"},
    ),  # fmt: skip
    "bo": Column(
        pa.bool_(), [True, False, None], "bool", frozenset({"pg", "my", "duck", "pq", "csv"}), {"mysql": "TINYINT(1)"}
    ),  # fmt: skip
    "wd": Column(
        pa.decimal128(38, 10),
        [WIDE, -WIDE, D(0), D("0.0000000001"), D("1.5"), None],
        "dec",
        frozenset({"pg", "my", "duck", "pq", "csv"}),
    ),  # fmt: skip
    "nd": Column(
        pa.decimal128(5, 2),
        [D("999.99"), D("-999.99"), D("0.01"), D("1.50"), D(0), None],
        "dec",
        frozenset({"pg", "my", "duck", "pq", "csv"}),
    ),  # fmt: skip
}
SQL_TYPES = {
    "int": "INTEGER", "text": "VARCHAR(20)", "float": "DOUBLE PRECISION", "date": "DATE", "ts": "TIMESTAMP",
    "tz": "TIMESTAMPTZ", "bool": "BOOLEAN",
}  # fmt: skip
CSV_TYPES = {
    "int": "integer",
    "text": "varchar",
    "float": "double",
    "date": "date",
    "ts": "timestamp",
    "bool": "boolean",
}


def columns(department: str) -> list[str]:
    return [name for name, column in COLUMNS.items() if department in column.where]


def rows(department: str) -> list[dict[str, Any]]:
    rng = random.Random(f"rows-{department}")
    return [
        {"id": n, **{name: rng.choice(COLUMNS[name].pool) for name in columns(department)}}
        for n in range(ROWS_PER_TABLE)
    ]


def table(department: str) -> pa.Table:
    data = rows(department)
    arrays = {"id": pa.array([r["id"] for r in data], pa.int32())}
    for name in columns(department):
        column = COLUMNS[name]
        values = [r[name] for r in data]
        if column.kind == "date" and any(isinstance(v, int) for v in values):
            arrays[name] = pa.array(values, pa.int32()).cast(pa.date32())
        else:
            arrays[name] = pa.array(values, column.arrow)
    return pa.table(arrays)


def _sql_type(name: str, dialect: str, schema: str = "") -> str:
    column = COLUMNS[name]
    if dialect in column.sql:
        return column.sql[dialect].format(schema=schema)
    if column.kind == "dec":
        return f"DECIMAL({column.arrow.precision},{column.arrow.scale})"
    if name == "g":
        return "BIGINT"
    if dialect == "mysql" and column.kind == "float":
        return "DOUBLE"
    return SQL_TYPES[column.kind]


def _ddl(department: str, table_name: str, dialect: str, schema: str = "") -> str:
    cols = ", ".join(f"{c} {_sql_type(c, dialect, schema)}" for c in columns(department))
    return f"CREATE TABLE {table_name} (id INTEGER PRIMARY KEY, {cols})"


# -- building the federation ----------------------------------------------------------------------------
def pg_connect() -> Any:
    import adbc_driver_postgresql.dbapi as adbc

    return adbc.connect(PG_DSN, autocommit=True)


def mysql_connect() -> Any:
    import pymysql

    parts = urlsplit(MYSQL_URL)
    return pymysql.connect(
        host=parts.hostname, port=parts.port or 3306, user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""), autocommit=True, charset="utf8mb4",
    )  # fmt: skip


def mysql_url(database: str) -> str:
    base = MYSQL_URL.rsplit("/", 1)[0] if MYSQL_URL.count("/") > 2 else MYSQL_URL
    return f"{base}/{database}"


@contextmanager
def federation(root: Path) -> Iterator[tuple[Any, Any]]:
    """The six departments (real servers, real files) and the oracle; server objects dropped after."""
    import fedquery

    name = f"fq_diff_{uuid.uuid4().hex[:10]}"
    pg = pg_connect()
    my = mysql_connect()
    try:
        with pg.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{name}"')
            cur.execute(f"CREATE TYPE \"{name}\".mood AS ENUM ('low', 'medium', 'high')")
            cur.execute(_ddl("pg", f'"{name}".t', "postgres", f'"{name}"'))
            cur.adbc_ingest("stage", table("pg"), mode="create", db_schema_name=name)
            casts = ", ".join(
                f"{c}::{_sql_type(c, 'postgres', chr(34) + name + chr(34))}"
                for c in ["id", *columns("pg")]
                if c != "id"
            )
            cur.execute(f'INSERT INTO "{name}".t SELECT id, {casts} FROM "{name}".stage')
            cur.execute(f'DROP TABLE "{name}".stage')
        with my.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            cur.execute(_ddl("my", f"`{name}`.t", "mysql"))
            names = ["id", *columns("my")]
            cur.executemany(
                f"INSERT INTO `{name}`.t ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})",
                [tuple(r[c] for c in names) for r in rows("my")],
            )
        lite = sqlite3.connect(root / "lite.db")
        lite.execute(_ddl("lite", "t", "sqlite"))
        names = ["id", *columns("lite")]
        lite.executemany(
            f"INSERT INTO t VALUES ({', '.join(['?'] * len(names))})",
            [
                tuple(v.isoformat() if isinstance(v, dt.date) else v for v in (r[c] for c in names))
                for r in rows("lite")
            ],
        )
        lite.commit()
        lite.close()
        duck = duckdb.connect(str(root / "duck.duckdb"))
        duck.register("_t", table("duck"))
        duck.execute("CREATE TABLE t AS SELECT * FROM _t")
        duck.close()
        (root / "pq").mkdir()
        pq.write_table(table("pq"), root / "pq" / "t.parquet")
        (root / "csv").mkdir()
        pacsv.write_csv(table("csv"), root / "csv" / "t.csv")
        csv_types = {"id": "integer"} | {
            c: (_sql_type(c, "csv").lower() if COLUMNS[c].kind == "dec" else "bigint" if c == "g"
                else CSV_TYPES[COLUMNS[c].kind])
            for c in columns("csv")
        }  # fmt: skip
        config = {
            "departments": {
                "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name, "tables": {"t": {}}}}},
                "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
                # every plain SQLite scan through ADBC (its typed first row), however few its rows
                "lite": {"sources": {"db": {"kind": "sqlite", "path": str(root / "lite.db"), "adbc_min_rows": 0}}},
                "duck": {"sources": {"db": {"kind": "duckdb", "path": str(root / "duck.duckdb")}}},
                "pq": {"sources": {"t": {"kind": "parquet", "url": str(root / "pq" / "t.parquet")}}},
                "csv": {"sources": {"t": {
                    "kind": "csv", "url": str(root / "csv" / "t.csv"),
                    "tables": {"t": {"path": "", "columns": csv_types}},
                }}},
            }
        }  # fmt: skip
        fed = fedquery.connect(config)
        oracle = duckdb.connect()
        for department in DEPARTMENTS:
            oracle.execute(f"CREATE SCHEMA {department}")
            oracle.register("_t", table(department))
            # enums arrive as DuckDB ENUMs in declaration order (README type map): so the oracle holds them
            enum = " REPLACE (CAST(en AS ENUM('low', 'medium', 'high')) AS en)" if "en" in columns(department) else ""
            oracle.execute(f"CREATE TABLE {department}.t AS SELECT *{enum} FROM _t")
            oracle.unregister("_t")
        try:
            yield fed, oracle
        finally:
            fed.close()
            oracle.close()
    finally:
        with pg.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        pg.close()
        with my.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        my.close()


# -- the grammar ----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Case:
    """What one seed checks: ``plain`` (sqls[0] against the oracle), ``tlp`` (sqls[0] = the union of
    sqls[1:]) or ``norec`` (sqls[0] and sqls[1] give the same single number)."""

    oracle: str
    sqls: tuple[str, ...]
    ordered: bool = False


class Grammar:
    """Draws from one seed; ``aliases`` maps each alias in scope to its department."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    # values --------------------------------------------------------------------------------------------
    def literal(self, name: str) -> str:
        column = COLUMNS[name]
        value = self.rng.choice([v for v in column.pool if v is not None])
        return render(column, value)

    def typed_literal(self, kind: str) -> str:
        name = self.rng.choice([n for n, c in COLUMNS.items() if c.kind == kind])
        return self.literal(name)

    def column(self, aliases: dict[str, str], kinds: tuple[str, ...] | None = None) -> tuple[str, str]:
        """A column reference (alias.name) of one of ``kinds``, and its name."""
        choices = [
            (alias, name)
            for alias, department in aliases.items()
            for name in columns(department)
            if kinds is None or COLUMNS[name].kind in kinds
        ]
        alias, name = self.rng.choice(choices)
        return f"{alias}.{name}", name

    def expression(self, aliases: dict[str, str], kind: str, depth: int = 0) -> str:
        """A scalar expression of ``kind`` a DuckDB user writes: functions, arithmetic, CASE, CAST."""
        rng = self.rng
        have = {COLUMNS[n].kind for d in aliases.values() for n in columns(d)}
        if depth > 1 or rng.random() < 0.45 or kind not in have:
            if kind in have:
                return self.column(aliases, (kind,))[0]
            return self.typed_literal(kind)
        inner = self.expression(aliases, kind, depth + 1)
        roll = rng.random()
        if roll < 0.12:
            return f"coalesce({inner}, {self.typed_literal(kind)})"
        if roll < 0.2:
            return f"nullif({inner}, {self.typed_literal(kind)})"
        if roll < 0.3:
            return (
                f"CASE WHEN {self.predicate(aliases, depth + 2)} THEN {inner} "
                f"ELSE {self.expression(aliases, kind, depth + 1)} END"
            )
        if kind == "int":
            choice = rng.choice([
                f"abs({inner})", f"({inner} + {rng.randint(-3, 3)})", f"({inner} * 2)", f"({inner} % 3)",
                f"({inner} // 2)", f"length({self.expression(aliases, 'text', depth + 1)})",
                f"extract(year FROM {self.expression(aliases, 'date', depth + 1)})",
                f"date_part('{rng.choice(['month', 'day', 'dow', 'doy', 'quarter'])}', "
                f"{self.expression(aliases, rng.choice(['date', 'ts']), depth + 1)})",
                f"extract(hour FROM {self.expression(aliases, rng.choice(['ts', 'tz']), depth + 1)})",
                f"CAST({self.expression(aliases, 'float', depth + 1)} AS INTEGER)",
                f"CAST({self.expression(aliases, 'dec', depth + 1)} AS BIGINT)",
                f"sign({inner})", f"({inner} - {self.expression(aliases, 'int', depth + 1)})",
            ] + ([f"len({self.column(aliases, ('list',))[0]})", f"{self.column(aliases, ('list',))[0]}[1]"]
                 if "list" in have else []))  # fmt: skip
            return str(choice)
        if kind == "text":
            start, length = rng.randint(-1, 3), rng.randint(0, 3)
            return str(rng.choice([
                f"upper({inner})", f"lower({inner})", f"substring({inner}, {start}, {length})",
                f"substr({inner}, {start})", f"({inner} || '{rng.choice(['x', 'é', ' '])}')", f"trim({inner})",
                f"CAST({self.expression(aliases, 'int', depth + 1)} AS VARCHAR)",
                f"CAST({self.expression(aliases, 'date', depth + 1)} AS VARCHAR)",
                f"concat({inner}, {self.expression(aliases, 'text', depth + 1)})", f"left({inner}, {length})",
                f"replace({inner}, 'a', 'b')", f"reverse({inner})",
            ]))  # fmt: skip
        if kind == "float":
            return str(rng.choice([
                f"abs({inner})", f"round({inner}, {rng.randint(0, 2)})", f"({inner} * 2)", f"({inner} + 0.25)",
                f"({inner} / {rng.choice(['2', '4.0', '0'])})",
                f"CAST({self.expression(aliases, 'int', depth + 1)} AS DOUBLE)",
                f"floor({inner})", f"ceil({inner})", f"({self.expression(aliases, 'int', depth + 1)} / 4)",
            ]))  # fmt: skip
        if kind == "dec":
            return str(rng.choice([
                f"abs({inner})", f"round({inner}, {rng.randint(0, 2)})", f"({inner} * 2)", f"({inner} + 1)",
                f"({inner} - {self.expression(aliases, 'dec', depth + 1)})",
            ]))  # fmt: skip
        if kind == "date":
            return str(rng.choice([
                f"({inner} + {rng.randint(-2, 40)})", f"CAST({self.expression(aliases, 'ts', depth + 1)} AS DATE)",
                f"CAST({self.expression(aliases, 'tz', depth + 1)} AS DATE)",
                f"CAST(date_trunc('{rng.choice(['month', 'year', 'day'])}', {inner}) AS DATE)",
                f"CAST({inner} + INTERVAL {rng.randint(1, 40)} DAY AS DATE)",
            ]))  # fmt: skip
        if kind == "ts":
            return str(rng.choice([
                f"date_trunc('{rng.choice(['hour', 'day', 'month'])}', {inner})", f"({inner} + INTERVAL 1 HOUR)",
                f"CAST({self.expression(aliases, 'date', depth + 1)} AS TIMESTAMP)", f"({inner} - INTERVAL 30 MINUTE)",
            ]))  # fmt: skip
        if kind == "tz":
            return str(rng.choice([f"({inner} + INTERVAL 1 HOUR)", f"date_trunc('hour', {inner})"]))
        if kind == "bool":
            return f"({self.predicate(aliases, depth + 1)})"
        return inner

    def predicate(self, aliases: dict[str, str], depth: int = 0) -> str:
        rng = self.rng
        ref, name = self.column(aliases, ("int", "text", "float", "date", "ts", "tz", "bool", "dec", "list"))
        kind = COLUMNS[name].kind
        if kind == "list":
            return rng.choice([
                f"list_contains({ref}, {rng.choice([1, 2, 5])})",
                f"len({ref}) {rng.choice(['=', '>'])} {rng.randint(0, 2)}",
                f"{ref}[1] = {rng.choice([1, 2, 5])}", f"{ref} IS NULL",
            ])  # fmt: skip
        if kind == "bool":
            return rng.choice([ref, f"NOT {ref}", f"{ref} = TRUE", f"{ref} IS {rng.choice(['TRUE', 'FALSE', 'NULL'])}"])
        if rng.random() < 0.3:
            ref = self.expression(aliases, kind, depth + 1)
        roll = rng.random()
        if depth < 2 and roll < 0.15:
            joiner = rng.choice([" AND ", " OR "])
            return f"({self.predicate(aliases, depth + 1)}{joiner}{self.predicate(aliases, depth + 1)})"
        if depth < 2 and roll < 0.2:
            return f"NOT ({self.predicate(aliases, depth + 1)})"
        if roll < 0.27:
            return f"{ref} IS {rng.choice(['', 'NOT '])}NULL"
        if roll < 0.35:
            items = ", ".join(self.literal(name) for _ in range(rng.randint(1, 3)))
            return f"{ref} {rng.choice(['', 'NOT '])}IN ({items})"
        if roll < 0.42:
            return f"{ref} BETWEEN {self.literal(name)} AND {self.literal(name)}"
        if kind == "text" and roll < 0.55:
            pattern = rng.choice(["a%", "%b", "_b%", "%", "A%", "%ß%", "x_", "%é%", "a\\%%", "%e_"])
            return f"{ref} {rng.choice(['LIKE', 'NOT LIKE', 'ILIKE', 'NOT ILIKE'])} '{pattern}'"
        if roll < 0.6:
            return f"{ref} IS {rng.choice(['', 'NOT '])}DISTINCT FROM {self.literal(name)}"
        if roll < 0.68 and len(aliases) > 1:
            other = self.expression(aliases, kind, depth + 1)
            return f"{ref} {rng.choice(['=', '<>', '<', '>='])} {other}"
        return f"{ref} {rng.choice(['=', '<>', '<', '<=', '>', '>=', '!='])} {self.literal(name)}"

    # query shapes --------------------------------------------------------------------------------------
    def department(self) -> str:
        return self.rng.choice(DEPARTMENTS)

    def source(self) -> tuple[str, dict[str, str]]:
        """FROM: one table, or an inner/left join of two or three departments."""
        rng = self.rng
        first = self.department()
        aliases = {"a": first}
        text = f"{first}.t a"
        for alias in ["b", "c"][: rng.choice([0, 0, 1, 1, 1, 2])]:
            department = self.department()
            join = rng.choice(["JOIN", "LEFT JOIN", "JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
            partner = rng.choice(list(aliases))
            on = f"{partner}.k = {alias}.k"
            aliases[alias] = department
            if rng.random() < 0.25:
                on += f" AND {self.predicate({alias: department})}"
            text += f" {join} {department}.t {alias} ON {on}"
        return text, aliases

    def filters(self, aliases: dict[str, str]) -> list[str]:
        rng = self.rng
        where = [self.predicate(aliases) for _ in range(rng.randint(0, 2))]
        roll = rng.random()
        other = self.department()
        if roll < 0.06:
            where.append(
                f"a.k {rng.choice(['', 'NOT '])}IN (SELECT x.k FROM {other}.t x WHERE {self.predicate({'x': other})})"
            )
        elif roll < 0.12:
            where.append(
                f"{rng.choice(['', 'NOT '])}EXISTS (SELECT 1 FROM {other}.t x WHERE x.k = a.k "
                f"AND {self.predicate({'x': other})})"
            )
        elif roll < 0.16:
            where.append(f"a.i {rng.choice(['<', '>=', '='])} (SELECT max(x.i) FROM {other}.t x WHERE x.k = a.k)")
        elif roll < 0.19:
            where.append(f"a.i > (SELECT avg(x.i) FROM {other}.t x)")
        return where

    def outputs(self, aliases: dict[str, str]) -> list[str]:
        rng = self.rng
        out = [self.column(aliases)[0] for _ in range(rng.randint(1, 3))]
        for _ in range(rng.choice([0, 0, 1, 2])):
            kind = rng.choice(["int", "text", "float", "date", "ts", "dec", "bool"])
            out.append(self.expression(aliases, kind))
        if rng.random() < 0.08:
            other = self.department()
            out.append(f"(SELECT max(x.i) FROM {other}.t x WHERE x.k = a.k)")
        return [f"{e} AS o{n}" for n, e in enumerate(dict.fromkeys(out))]

    def select(self) -> tuple[str, bool]:
        """A whole SELECT: the shape drawn, and whether its answer is one sequence (full ORDER BY)."""
        rng = self.rng
        source, aliases = self.source()
        where = self.filters(aliases)
        clause = f" FROM {source}" + (f" WHERE {' AND '.join(where)}" if where else "")
        shape = rng.random()
        if shape < 0.35:  # aggregate
            group = list(dict.fromkeys(
                self.expression(aliases, rng.choice(["int", "text", "date", "bool", "dec"]))
                if rng.random() < 0.3 else self.column(aliases, ("int", "text", "date", "ts", "bool", "dec"))[0]
                for _ in range(rng.randint(0, 2))
            ))  # fmt: skip
            aggregates = [self.aggregate(aliases) for _ in range(rng.randint(1, 3))]
            outputs = [f"{g} AS g{n}" for n, g in enumerate(group)] + [
                f"{a} AS agg{n}" for n, a in enumerate(aggregates)
            ]
            sql = f"SELECT {', '.join(outputs)}{clause}"
            if group:
                sql += f" GROUP BY {', '.join(group)}"
                if rng.random() < 0.3:
                    sql += f" HAVING {rng.choice(['count(*)', 'count(DISTINCT a.k)', 'sum(a.i)'])} " \
                           f"{rng.choice(['>', '>=', '=', '<'])} {rng.randint(0, 3)}"  # fmt: skip
            return self.maybe_order(sql, len(outputs))
        if shape < 0.5:  # window functions over a full order (ids are unique per table)
            ids = ", ".join(f"{alias}.id" for alias in aliases)
            part = self.column(aliases, ("int", "text", "date", "bool"))[0]
            value, _ = self.column(aliases, ("int", "dec", "float"))
            window = rng.choice([
                f"row_number() OVER (PARTITION BY {part} ORDER BY {ids})",
                f"rank() OVER (ORDER BY {part} NULLS LAST, {ids})",
                f"dense_rank() OVER (PARTITION BY {part} ORDER BY {self.column(aliases, ('int', 'date'))[0]})",
                f"sum({value}) OVER (PARTITION BY {part} ORDER BY {ids})",
                f"sum({value}) OVER (PARTITION BY {part})", f"count(*) OVER (PARTITION BY {part})",
                f"lag({value}) OVER (ORDER BY {ids})", f"min({value}) OVER (PARTITION BY {part})",
            ])  # fmt: skip
            sql = f"SELECT {ids}, {part} AS p, {window} AS w{clause}"
            names = len(aliases) + 2
            return self.maybe_order(sql, names)
        distinct = "DISTINCT " if rng.random() < 0.15 else ""
        outputs = self.outputs(aliases)
        return self.maybe_order(f"SELECT {distinct}{', '.join(outputs)}{clause}", len(outputs))

    def maybe_order(self, sql: str, width: int) -> tuple[str, bool]:
        if self.rng.random() < 0.35:
            order = ", ".join(f"{n} NULLS LAST" for n in range(1, width + 1))
            return f"{sql} ORDER BY {order} LIMIT {self.rng.randint(1, 10)}", True
        return sql, False

    def aggregate(self, aliases: dict[str, str]) -> str:
        rng = self.rng
        number, _ = self.column(aliases, ("int", "float", "dec"))
        anything, _ = self.column(aliases, ("int", "text", "float", "date", "ts", "tz", "dec", "bool"))
        return str(rng.choice([
            "count(*)", f"count({anything})", f"count(DISTINCT {anything})", f"sum({number})", f"avg({number})",
            f"min({anything})", f"max({anything})", f"sum({self.expression(aliases, 'int')})",
            f"max({self.expression(aliases, 'text')})", f"sum(CASE WHEN {self.predicate(aliases)} THEN 1 ELSE 0 END)",
            f"bool_or({self.predicate(aliases)})", f"count(*) FILTER (WHERE {self.predicate(aliases)})",
        ]))  # fmt: skip

    def setop(self) -> tuple[str, bool]:
        rng = self.rng
        kind = rng.choice(["int", "text", "date", "dec"])
        branches = []
        for alias in ("a", "b"):
            department = self.department()
            aliases = {alias: department}
            where = f" WHERE {self.predicate(aliases)}" if rng.random() < 0.6 else ""
            branches.append(f"SELECT {self.expression(aliases, kind)} AS v FROM {department}.t {alias}{where}")
        op = rng.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT", "INTERSECT ALL", "EXCEPT ALL"])
        sql = f"{branches[0]} {op} {branches[1]}"
        if rng.random() < 0.4:
            return f"{sql} ORDER BY 1 NULLS LAST LIMIT {rng.randint(1, 10)}", True
        return sql, False

    def cte(self) -> tuple[str, bool]:
        rng = self.rng
        first = self.department()
        inner = {"x": first}
        body = (
            f"SELECT x.k, count(*) AS n, max({self.column(inner, ('int', 'text', 'date'))[0]}) AS m "
            f"FROM {first}.t x WHERE {self.predicate(inner)} GROUP BY x.k"
        )
        second = self.department()
        outer = {"a": second}
        sql = (
            f"WITH w AS ({body}) SELECT a.id, a.k, w.n, w.m, "
            f"{self.expression(outer, rng.choice(['int', 'text']))} AS e "
            f"FROM {second}.t a {rng.choice(['JOIN', 'LEFT JOIN'])} w ON a.k = w.k"
        )
        if rng.random() < 0.5:
            sql += f" WHERE {self.predicate(outer)}"
        return self.maybe_order(sql, 5)


def render(column: Column, value: Any) -> str:
    """A value of ``column`` as a DuckDB literal."""
    if column.kind == "text":
        return "'" + str(value).replace("'", "''") + "'"
    if column.kind == "date":
        if isinstance(value, int):
            return f"DATE '{FAR_DATES[value]}'"
        return f"DATE '{value.isoformat()}'"
    if column.kind == "ts":
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if column.kind == "tz":
        return f"TIMESTAMPTZ '{value.isoformat(sep=' ')}'"
    if column.kind == "float":
        return f"CAST('{value}' AS DOUBLE)" if math.isnan(value) or math.isinf(value) else repr(value)
    if column.kind == "bool":
        return "TRUE" if value else "FALSE"
    if column.kind == "dec":
        return f"CAST('{value}' AS DECIMAL({column.arrow.precision},{column.arrow.scale}))"
    return str(value)


def draw(seed: int) -> Case:
    """The check one seed makes."""
    grammar = Grammar(seed)
    rng = grammar.rng
    roll = rng.random()
    if roll < 0.08:  # TLP
        source, aliases = grammar.source()
        p = grammar.predicate(aliases)
        base = f"SELECT {', '.join(f'{a}.id' for a in aliases)}, {grammar.column(aliases)[0]} AS v FROM {source}"
        parts = tuple(f"{base} WHERE {q}" for q in (p, f"NOT ({p})", f"({p}) IS NULL"))
        return Case("tlp", (base, *parts))
    if roll < 0.16:  # NoREC
        source, aliases = grammar.source()
        p = grammar.predicate(aliases)
        return Case("norec", (
            f"SELECT count(*) FROM {source} WHERE {p}",
            f"SELECT sum(CASE WHEN {p} THEN 1 ELSE 0 END) FROM {source}",
            f"SELECT count(*) FROM {source} WHERE ({p}) IS TRUE",
        ))  # fmt: skip
    if roll < 0.24:
        sql, ordered = grammar.setop()
    elif roll < 0.3:
        sql, ordered = grammar.cte()
    else:
        sql, ordered = grammar.select()
    return Case("plain", (sql,), ordered)


# -- the oracles ------------------------------------------------------------------------------------------
def _value(v: Any) -> Any:
    """Floats to 9 significant digits (float sums depend on the order rows are added), -0.0 as 0.0;
    integers and decimals exactly (a SUM of integers is HUGEINT in DuckDB: Decimal(38,0) through Arrow)."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, decimal.Decimal):
        if v.is_nan():
            return "NaN"
        return int(v) if v == v.to_integral_value() else v.normalize()
    if isinstance(v, float):
        return "NaN" if math.isnan(v) else float(f"{v:.9g}") + 0.0
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], *, ordered: bool) -> bool:
    a = [tuple(_value(v) for v in r) for r in got]
    b = [tuple(_value(v) for v in r) for r in expected]
    if not ordered:
        a, b = sorted(a, key=repr), sorted(b, key=repr)
    return a == b


def _run(fed: Any, sql: str, strategy: str) -> list[tuple[Any, ...]]:
    return list(fed.sql(sql, pushdown=strategy, timeout=60).fetchall())


def check(fed: Any, oracle: Any, case: Case, strategies: tuple[str, ...] = STRATEGIES) -> dict[str, str]:
    """Problems per strategy (empty when every strategy agrees with the oracle)."""
    problems: dict[str, str] = {}
    if case.oracle == "plain":
        try:
            expected = oracle.sql(case.sqls[0]).fetchall()
        except duckdb.Error:
            return {}  # the grammar drew a query DuckDB itself refuses: not a federation question
    else:
        try:
            for sql in case.sqls:
                oracle.sql(sql).fetchall()
        except duckdb.Error:
            return {}
    for strategy in strategies:
        try:
            if case.oracle == "plain":
                got = _run(fed, case.sqls[0], strategy)
                if not same(got, expected, ordered=case.ordered):
                    problems[strategy] = (
                        f"mismatch: {got[:4]} vs oracle {expected[:4]} ({len(got)} vs {len(expected)} rows)"
                    )
            elif case.oracle == "tlp":
                whole = _run(fed, case.sqls[0], strategy)
                pieces = [row for sql in case.sqls[1:] for row in _run(fed, sql, strategy)]
                if not same(pieces, whole, ordered=False):
                    problems[strategy] = f"mismatch: TLP partitions hold {len(pieces)} rows, the whole {len(whole)}"
            else:
                counts = [_run(fed, sql, strategy)[0][0] or 0 for sql in case.sqls]
                if len(set(counts)) != 1:
                    problems[strategy] = f"mismatch: NoREC counts {counts} (where p / sum(CASE) / IS TRUE)"
        except Exception as exc:  # noqa: BLE001 - reported with the query that raised it
            problems[strategy] = f"error: {type(exc).__name__}: {str(exc)[:400]}"
    return problems


# -- the campaign ------------------------------------------------------------------------------------------
def _worker(args: tuple[int, int, int, int, str, bool, Any]) -> None:
    first, count, workers, index, out, rotate, queue = args
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # Pool.terminate(): still drop the server objects
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    logging.getLogger("sqlglot").setLevel(logging.ERROR)  # its warnings about EXTRACT on TIMESTAMPTZ
    with tempfile.TemporaryDirectory(prefix="fq_diff_") as tmp, federation(Path(tmp)) as (fed, oracle):
        for seed in range(first + index, first + count, workers):
            case = draw(seed)
            strategies = (STRATEGIES[seed % 4],) if rotate else STRATEGIES
            problems = check(fed, oracle, case, strategies)
            if problems:
                with open(out, "a", encoding="utf-8") as f:
                    f.write(
                        json.dumps({"seed": seed, "oracle": case.oracle, "sqls": case.sqls, "problems": problems})
                        + "\n"
                    )
            queue.put((seed, case.oracle, strategies, sorted(problems.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.differential", description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=0, help="first seed (seeds S .. S+queries-1)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="differential-failures.jsonl", help="failing seeds and SQL (JSON lines)")
    parser.add_argument(
        "--rotate", action="store_true", help="run each query under one strategy, the four in turn (4x faster)"
    )
    args = parser.parse_args(argv)
    Path(args.out).write_text("")
    queue: Any = multiprocessing.get_context("spawn").Manager().Queue()
    started = time.monotonic()
    pool = multiprocessing.get_context("spawn").Pool(args.workers)
    jobs = pool.map_async(
        _worker, [(args.seed, args.queries, args.workers, w, args.out, args.rotate, queue) for w in range(args.workers)]
    )
    kinds, mismatches, errors = Counter[str](), Counter[str](), Counter[str]()
    ran = Counter[str]()
    failing: set[int] = set()
    try:
        _collect(args.queries, jobs, queue, started, kinds, ran, mismatches, errors, failing)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        pool.terminate()
        pool.join()
        print(_summary(kinds, ran, mismatches, errors, failing, time.monotonic() - started), flush=True)
        return 130
    pool.close()
    pool.join()
    print(_summary(kinds, ran, mismatches, errors, failing, time.monotonic() - started), flush=True)
    print(f"failing seeds and SQL: {args.out}")
    return 1 if failing else 0


def _collect(queries: int, jobs: Any, queue: Any, started: float, kinds: Counter[str], ran: Counter[str],
             mismatches: Counter[str],
             errors: Counter[str], failing: set[int]) -> int:  # fmt: skip
    """Tally the workers' reports as they come; a progress line every 500 queries."""
    done = 0
    while done < queries:
        try:
            seed, oracle, strategies, problems = queue.get(timeout=5)
        except Exception:  # noqa: BLE001 - queue.Empty: see whether a worker died
            if jobs.ready():
                jobs.get()  # re-raises a worker's exception
                break
            continue
        done += 1
        kinds[oracle] += 1
        ran.update(strategies)
        for strategy, problem in problems:
            (errors if problem.startswith("error") else mismatches)[strategy] += 1
            failing.add(seed)
        if done % 500 == 0:
            print(_summary(kinds, ran, mismatches, errors, failing, time.monotonic() - started), flush=True)
    return done


def _summary(kinds: Counter[str], ran: Counter[str], mismatches: Counter[str], errors: Counter[str],
             failing: set[int], elapsed: float) -> str:  # fmt: skip
    done = sum(kinds.values())
    per = ", ".join(f"{s}: {ran[s]} run, {mismatches[s]} mismatches, {errors[s]} errors" for s in STRATEGIES)
    return (
        f"{done} queries ({dict(kinds)}) in {elapsed:.0f} s ({done / max(elapsed, 1e-9):.1f}/s); "
        f"{len(failing)} failing seeds; {per}"
    )


if __name__ == "__main__":
    sys.exit(main())
