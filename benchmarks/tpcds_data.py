"""TPC-DS data for tests and benchmarks: generate it, split it over six departments, build the oracle.

The split puts the 24 tables in six kinds of source, both database servers included:

* ``retail``   (PostgreSQL): store_sales, store_returns, store, date_dim
* ``catalog``  (MariaDB):    catalog_sales, catalog_returns, catalog_page, call_center, warehouse, ship_mode
* ``web``      (DuckDB file): web_sales, web_returns, web_page, web_site
* ``stock``    (SQLite file): inventory, time_dim, reason
* ``products`` (Parquet):    item, promotion, customer_demographics, income_band
* ``people``   (CSV):        customer, customer_address, household_demographics

The data comes from ``tpcgen-cli`` (PyPI); the 99 query texts, with their standard validation
parameters, are those of DuckDB's tpcds extension (``benchmarks/queries/tpcds``). Business keys
(``*_id``) are CHAR(16) at the servers, as the specification declares them, so padded-CHAR
semantics are exercised; text keeps its leading and trailing blanks (street names have them).
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from benchmarks.tpch_data import _mysql_rows, _plain_strings, _sqlite_value, load_postgres

QUERIES = Path(__file__).parent / "queries" / "tpcds"

SPLIT: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("store_sales", "store_returns", "store", "date_dim"), ("retail", "postgres")),
    **dict.fromkeys(
        ("catalog_sales", "catalog_returns", "catalog_page", "call_center", "warehouse", "ship_mode"),
        ("catalog", "mysql"),
    ),
    **dict.fromkeys(("web_sales", "web_returns", "web_page", "web_site"), ("web", "duckdb")),
    **dict.fromkeys(("inventory", "time_dim", "reason"), ("stock", "sqlite")),
    **dict.fromkeys(("item", "promotion", "customer_demographics", "income_band"), ("products", "parquet")),
    **dict.fromkeys(("customer", "customer_address", "household_demographics"), ("people", "csv")),
}
TABLES = tuple(sorted(SPLIT))

#: fact tables' keys; every dimension's key is its first column (``*_sk``)
FACT_KEYS = {
    "store_sales": ("ss_item_sk", "ss_ticket_number"),
    "store_returns": ("sr_item_sk", "sr_ticket_number"),
    "catalog_sales": ("cs_item_sk", "cs_order_number"),
    "catalog_returns": ("cr_item_sk", "cr_order_number"),
    "web_sales": ("ws_item_sk", "ws_order_number"),
    "web_returns": ("wr_item_sk", "wr_order_number"),
    "inventory": ("inv_date_sk", "inv_item_sk", "inv_warehouse_sk"),
}


def query(n: int) -> str:
    """TPC-DS query ``n`` (1-99) as text."""
    return (QUERIES / f"q{n:02d}.sql").read_text().strip().rstrip(";")


def generate(scale: float, directory: Path) -> Path:
    """Generate the 24 tables as Parquet with tpcgen-cli (skipped if present)."""
    directory.mkdir(parents=True, exist_ok=True)
    if all((directory / f"{t}.parquet").exists() for t in TABLES):
        return directory
    exe = shutil.which("tpcgen-cli") or str(Path(sys.executable).parent / "tpcgen-cli")
    subprocess.run([exe, "tpcds", "parquet", "-s", str(scale), f"--output-dir={directory}"], check=True,
                   capture_output=True)  # fmt: skip
    return directory


def oracle(parquet_dir: Path) -> duckdb.DuckDBPyConnection:
    """One DuckDB holding all 24 tables: the answer every plan must match."""
    con = duckdb.connect()
    for t in TABLES:
        con.register("src", pq.read_table(parquet_dir / f"{t}.parquet"))
        con.execute(f'CREATE TABLE "{t}" AS SELECT * FROM src')
        con.unregister("src")
    return con


def primary_key(table: str, schema: pa.Schema) -> tuple[str, ...]:
    return FACT_KEYS.get(table, (schema.names[0],))


def _sql_type(field: pa.Field) -> str:
    t = field.type
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_integer(t):
        return "INTEGER"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_date(t):
        return "DATE"
    return "CHAR(16)" if field.name.endswith("_id") else "VARCHAR(200)"


def _ddl(table: str, schema: pa.Schema, quote: str, name: str) -> str:
    keys = primary_key(table, schema)
    columns = [f"{quote}{f.name}{quote} {_sql_type(f)}{' NOT NULL' if f.name in keys else ''}" for f in schema]
    key_list = ", ".join(f"{quote}{k}{quote}" for k in keys)
    return f"CREATE TABLE {name} ({', '.join(columns)}, PRIMARY KEY ({key_list}))"


def build_federation(parquet_dir: Path, out_dir: Path, servers: dict[str, tuple[str, str]]) -> Path:
    """Write the six departments' sources and their ``fedquery.toml``; returns the config path.

    ``servers`` maps ``postgres`` to ``(dsn, schema)`` and ``mysql`` to ``(url, database)``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    by_department: dict[tuple[str, str], list[str]] = {}
    for table, placed in SPLIT.items():
        by_department.setdefault(placed, []).append(table)
    lines = ["# TPC-DS split across six departments (generated)"]
    for (department, kind), tables in sorted(by_department.items()):
        lines.append(f'\n[departments.{department}]\ntitle = "TPC-DS {", ".join(sorted(tables))}"')
        lines.append(f'\n[departments.{department}.sources.{kind}]\nkind = "{kind}"')
        if kind == "postgres":
            dsn, schema = servers["postgres"]
            _load_postgres(parquet_dir, dsn, schema, tables)
            lines.append(f'url = "{dsn}"\nschema = "{schema}"\nschemas = ["{schema}"]')
        elif kind == "mysql":
            url, database = servers["mysql"]
            _load_mysql(parquet_dir, url, database, tables)
            base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
            lines.append(f'url = "{base}/{database}"')
        elif kind == "duckdb":
            if not (out_dir / f"{department}.duckdb").exists():  # written once per directory
                _write_duckdb(parquet_dir, tables, out_dir / f"{department}.duckdb")
            lines.append(f'path = "{department}.duckdb"')
        elif kind == "sqlite":
            if not (out_dir / f"{department}.sqlite").exists():
                _write_sqlite(parquet_dir, tables, out_dir / f"{department}.sqlite")
            lines.append(f'path = "{department}.sqlite"')
        elif kind == "parquet":
            (out_dir / department).mkdir(exist_ok=True)
            for t in tables:
                shutil.copy(parquet_dir / f"{t}.parquet", out_dir / department / f"{t}.parquet")
            lines.append(f'url = "{department}"')
        else:  # csv: typed columns declared, as a department would
            (out_dir / department).mkdir(exist_ok=True)
            lines.append(f'url = "{department}"')
            for t in tables:
                table = _plain_strings(pq.read_table(parquet_dir / f"{t}.parquet"))
                pacsv.write_csv(table, out_dir / department / f"{t}.csv")
                typed = {f.name: _sql_type(f).lower() for f in table.schema if not pa.types.is_string(f.type)}
                typed |= {f.name: "varchar" for f in table.schema if pa.types.is_string(f.type)}
                inner = ", ".join(f'{k} = "{v}"' for k, v in typed.items())
                lines.append(f'\n[departments.{department}.sources.{kind}.tables.{t}]\npath = "{t}.csv"')
                lines.append(f"columns = {{ {inner} }}")
    config = out_dir / "fedquery.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _write_duckdb(parquet_dir: Path, tables: list[str], path: Path) -> None:
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    for t in tables:
        table = pq.read_table(parquet_dir / f"{t}.parquet")
        con.register("src", table)
        con.execute(_ddl(t, table.schema, '"', f'"{t}"'))
        con.execute(f'INSERT INTO "{t}" SELECT * FROM src')
        con.unregister("src")
    con.close()


def _write_sqlite(parquet_dir: Path, tables: list[str], path: Path) -> None:
    path.unlink(missing_ok=True)
    con = sqlite3.connect(path)
    for t in tables:
        table = pq.read_table(parquet_dir / f"{t}.parquet")
        con.execute(_ddl(t, table.schema, '"', f'"{t}"'))
        marks = ", ".join("?" for _ in table.schema)
        con.executemany(f'INSERT INTO "{t}" VALUES ({marks})', _rows(table, _sqlite_value))
    con.commit()
    con.close()


def _rows(table: pa.Table, convert: Any = None) -> list[tuple[Any, ...]]:
    columns = [column.to_pylist() for column in table.columns]
    if convert is not None:
        columns = [[convert(v) for v in column] for column in columns]
    return list(zip(*columns))


def _load_postgres(parquet_dir: Path, dsn: str, schema: str, tables: list[str]) -> None:
    load_postgres(parquet_dir, dsn, schema, tables, ddl=lambda t, schema, quote: _ddl(t, schema, quote, "{name}"))


def _load_mysql(parquet_dir: Path, url: str, database: str, tables: list[str]) -> None:
    from urllib.parse import unquote, urlsplit

    import pymysql

    parts = urlsplit(url)
    con = pymysql.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""), autocommit=True,
    )  # fmt: skip
    with con.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        for t in tables:
            data = _plain_strings(pq.read_table(parquet_dir / f"{t}.parquet"))
            if _mysql_rows(cur, database, t) == data.num_rows:
                continue  # already loaded
            cur.execute(f"DROP TABLE IF EXISTS `{database}`.`{t}`")
            cur.execute(_ddl(t, data.schema, "`", f"`{database}`.`{t}`") + " CHARACTER SET utf8mb4")
            marks = ", ".join("%s" for _ in data.schema)
            rows = _rows(data, lambda v: str(v) if isinstance(v, Decimal) else v)
            for start in range(0, len(rows), 5000):
                cur.executemany(f"INSERT INTO `{database}`.`{t}` VALUES ({marks})", rows[start : start + 5000])
            cur.execute(f"ANALYZE TABLE `{database}`.`{t}`")
    con.close()


def trim(parquet_dir: Path, out_dir: Path) -> Path:
    """The same data with its two big fixed-size dimensions cut to what the facts reach, for the test
    suite: customer_demographics (1.9 M rows at every scale) to the rows some fact or customer
    names, date_dim to 1997-2003 (every query's dates). Answers are compared with an oracle over the
    trimmed data, so nothing is lost for correctness; only the time to read whole tables shrinks."""
    if all((out_dir / f"{t}.parquet").exists() for t in TABLES):
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    for t in TABLES:
        con.execute(f"CREATE VIEW \"{t}\" AS SELECT * FROM read_parquet('{parquet_dir / f'{t}.parquet'}')")
    demographics = " UNION ".join(
        f'SELECT "{f.name}" FROM "{t}"'
        for t in TABLES
        for f in pq.read_schema(parquet_dir / f"{t}.parquet")
        if f.name.endswith("cdemo_sk")
    )
    kept = {
        "customer_demographics": f"SELECT * FROM customer_demographics WHERE cd_demo_sk IN ({demographics})",
        "date_dim": "SELECT * FROM date_dim WHERE d_year BETWEEN 1997 AND 2003",
    }
    for t in TABLES:
        if t in kept:
            pq.write_table(con.sql(kept[t]).to_arrow_table(), out_dir / f"{t}.parquet")
        else:
            shutil.copy(parquet_dir / f"{t}.parquet", out_dir / f"{t}.parquet")
    con.close()
    return out_dir
