"""TPC-H data for tests and benchmarks: generate it, split it across departments, build the oracle.

The default split puts each table in a different kind of source:

* ``sales``     (DuckDB file): orders, lineitem
* ``crm``       (SQLite file): customer, nation, region
* ``catalogue`` (Parquet directory): part, partsupp
* ``suppliers`` (CSV directory): supplier
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

TABLES = ("customer", "lineitem", "nation", "orders", "part", "partsupp", "region", "supplier")
QUERIES = Path(__file__).parent / "queries" / "tpch"

DEFAULT_SPLIT: dict[str, tuple[str, str]] = {
    "orders": ("sales", "duckdb"),
    "lineitem": ("sales", "duckdb"),
    "customer": ("crm", "sqlite"),
    "nation": ("crm", "sqlite"),
    "region": ("crm", "sqlite"),
    "part": ("catalogue", "parquet"),
    "partsupp": ("catalogue", "parquet"),
    "supplier": ("suppliers", "csv"),
}


DEPARTMENT_QUERIES = Path(__file__).parent / "queries" / "departments"


def query(n: int | str) -> str:
    """TPC-H query ``n`` (1-22 or ``"q01"``), or one of ours (``"dept/<name>"``), as text."""
    if isinstance(n, str) and n.startswith("dept/"):
        path = DEPARTMENT_QUERIES / f"{n[5:]}.sql"
    else:
        path = QUERIES / f"q{int(str(n).lstrip('q')):02d}.sql"
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


def department_queries() -> list[str]:
    return [f"dept/{p.stem}" for p in sorted(DEPARTMENT_QUERIES.glob("*.sql"))]


def generate(scale: float, directory: Path) -> Path:
    """Generate the eight tables as Parquet with tpchgen-cli (skipped if present)."""
    directory.mkdir(parents=True, exist_ok=True)
    if all((directory / f"{t}.parquet").exists() for t in TABLES):
        return directory
    exe = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    subprocess.run([exe, "parquet", "-s", str(scale), f"--output-dir={directory}"], check=True, capture_output=True)
    return directory


def build_federation(
    parquet_dir: Path,
    out_dir: Path,
    split: dict[str, tuple[str, str]] | None = None,
    servers: dict[str, tuple[str, str]] | None = None,
) -> Path:
    """Write the split sources and their ``fedquery.toml``; returns the config path.

    ``servers`` maps ``postgres`` to ``(dsn, schema)`` and ``mysql`` to ``(url, database)``
    for splits that put tables on the database servers (loaded here).
    """
    split = split or DEFAULT_SPLIT
    out_dir.mkdir(parents=True, exist_ok=True)
    by_source: dict[tuple[str, str], list[str]] = {}
    for table, (department, kind) in split.items():
        by_source.setdefault((department, kind), []).append(table)
    lines = ["# TPC-H split across departments (generated)"]
    for (department, kind), tables in sorted(by_source.items()):
        lines.append(f'\n[departments.{department}]\ntitle = "TPC-H {", ".join(tables)}"')
        lines.append(f'\n[departments.{department}.sources.{kind}]\nkind = "{kind}"')
        if kind == "duckdb":
            path = out_dir / f"{department}.duckdb"
            if not path.exists():  # idempotent: written once per directory
                _write_duckdb(parquet_dir, tables, path)
            lines.append(f'path = "{path.name}"')
        elif kind == "sqlite":
            path = out_dir / f"{department}.sqlite"
            if not path.exists():
                _write_sqlite(parquet_dir, tables, path)
            lines.append(f'path = "{path.name}"')
        elif kind == "postgres":
            dsn, schema = (servers or {})["postgres"]
            load_postgres(parquet_dir, dsn, schema, tables)
            lines.append(f'url = "{dsn}"\nschema = "{schema}"\nschemas = ["{schema}"]')
        elif kind == "mysql":
            url, database = (servers or {})["mysql"]
            load_mysql(parquet_dir, url, database, tables)
            base = url.rsplit("/", 1)[0] if url.count("/") > 2 else url
            lines.append(f'url = "{base}/{database}"')
        elif kind == "postgres":
            dsn, schema = (servers or {})["postgres"]
            load_postgres(parquet_dir, dsn, schema, tables)
            lines.append(f'url = "{dsn}"\nschema = "{schema}"\nschemas = ["{schema}"]')
        elif kind == "mysql":
            url, database = (servers or {})["mysql"]
            load_mysql(parquet_dir, url, database, tables)
            lines.append(f'url = "{url}"')
        elif kind == "parquet":
            directory = out_dir / department
            directory.mkdir(exist_ok=True)
            for t in tables:
                if not (directory / f"{t}.parquet").exists():
                    shutil.copy(parquet_dir / f"{t}.parquet", directory / f"{t}.parquet")
            lines.append(f'url = "{department}"')
        elif kind == "csv":
            directory = out_dir / department
            directory.mkdir(exist_ok=True)
            lines.append(f'url = "{department}"')
            for t in tables:
                table = _plain_strings(pq.read_table(parquet_dir / f"{t}.parquet"))
                if not (directory / f"{t}.csv").exists():
                    pacsv.write_csv(table, directory / f"{t}.csv")
                decimals = {
                    f.name: f"decimal({f.type.precision},{f.type.scale})"
                    for f in table.schema
                    if pa.types.is_decimal(f.type)
                }
                dates = {f.name: "date" for f in table.schema if pa.types.is_date(f.type)}
                columns = {**decimals, **dates}
                lines.append(f'\n[departments.{department}.sources.{kind}.tables.{t}]\npath = "{t}.csv"')
                if columns:
                    inner = ", ".join(f'{k} = "{v}"' for k, v in columns.items())
                    lines.append(f"columns = {{ {inner} }}")
        else:
            raise ValueError(f"unsupported kind in split: {kind}")
    config = out_dir / "fedquery.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def _plain_strings(table: pa.Table) -> pa.Table:
    schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_string_view(f.type) else f for f in table.schema])
    return table.cast(schema)


def _write_duckdb(parquet_dir: Path, tables: list[str], path: Path) -> None:
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    for t in tables:
        table = pq.read_table(parquet_dir / f"{t}.parquet")
        con.register("src", table)
        con.execute(_ddl(t, table.schema, '"').format(name=f'"{t}"'))  # with its primary key, as a database has
        con.execute(f'INSERT INTO "{t}" SELECT * FROM src')
        con.unregister("src")
    con.close()


def _sqlite_type(field: pa.Field) -> str:
    t = field.type
    if pa.types.is_integer(t):
        return "INTEGER"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_floating(t):
        return "REAL"
    if pa.types.is_date(t):
        return "DATE"
    return "TEXT"


def _write_sqlite(parquet_dir: Path, tables: list[str], path: Path) -> None:
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    for t in tables:
        table = pq.read_table(parquet_dir / f"{t}.parquet")
        columns = ", ".join(f'"{f.name}" {_sqlite_type(f)}' for f in table.schema)
        keys = ", ".join(f'"{k}"' for k in PRIMARY_KEYS[t])
        con.execute(f'CREATE TABLE "{t}" ({columns}, PRIMARY KEY ({keys}))')
        rows = zip(*[[_sqlite_value(v) for v in c.to_pylist()] for c in table.columns])
        marks = ", ".join("?" for _ in table.schema)
        con.executemany(f'INSERT INTO "{t}" VALUES ({marks})', rows)
    con.commit()
    con.close()


def _sqlite_value(v: object) -> object:
    from datetime import date
    from decimal import Decimal

    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, date):
        return v.isoformat()
    return v


def federate(sql: str, split: dict[str, tuple[str, str]] | None = None) -> str:
    """Rewrite bare TPC-H table names to ``department.table`` (as a tree, not as text)."""
    split = split or DEFAULT_SPLIT
    tree = sqlglot.parse_one(sql, dialect="duckdb")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and node.name in split and node.name not in ctes and not node.db:
            department = split[node.name][0]
            alias = node.alias or node.name
            return exp.Table(
                this=exp.to_identifier(node.name),
                db=exp.to_identifier(department),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )
        return node

    return tree.transform(rename).sql(dialect="duckdb")


def oracle(parquet_dir: Path) -> duckdb.DuckDBPyConnection:
    """One DuckDB holding all eight tables: the answer every plan must match."""
    con = duckdb.connect()
    for t in TABLES:
        con.register("src", pq.read_table(parquet_dir / f"{t}.parquet"))
        con.execute(f'CREATE TABLE "{t}" AS SELECT * FROM src')
        con.unregister("src")
    return con


# -- database servers ---------------------------------------------------------------------------
#: TPC-H columns the specification declares CHAR(n) (the rest of the text columns are VARCHAR).
CHAR_COLUMNS = {
    "c_phone": 15, "c_mktsegment": 10, "n_name": 25, "r_name": 25, "o_orderstatus": 1, "o_orderpriority": 15,
    "o_clerk": 15, "l_returnflag": 1, "l_linestatus": 1, "l_shipinstruct": 25, "l_shipmode": 10, "p_mfgr": 25,
    "p_brand": 10, "p_container": 10, "s_phone": 15,
}  # fmt: skip
PRIMARY_KEYS = {
    "customer": ("c_custkey",), "lineitem": ("l_orderkey", "l_linenumber"), "nation": ("n_nationkey",),
    "orders": ("o_orderkey",), "part": ("p_partkey",), "partsupp": ("ps_partkey", "ps_suppkey"),
    "region": ("r_regionkey",), "supplier": ("s_suppkey",),
}  # fmt: skip


def _ddl(table: str, schema: pa.Schema, quote: str) -> str:
    columns = []
    for f in schema:
        t = f.type
        if pa.types.is_int64(t):
            sql = "BIGINT"
        elif pa.types.is_integer(t):
            sql = "INTEGER"
        elif pa.types.is_decimal(t):
            sql = f"DECIMAL({t.precision},{t.scale})"
        elif pa.types.is_date(t):
            sql = "DATE"
        elif f.name in CHAR_COLUMNS:
            sql = f"CHAR({CHAR_COLUMNS[f.name]})"
        else:
            sql = "VARCHAR(200)"
        columns.append(f"{quote}{f.name}{quote} {sql} NOT NULL")
    keys = ", ".join(f"{quote}{k}{quote}" for k in PRIMARY_KEYS[table])
    return f"CREATE TABLE {{name}} ({', '.join(columns)}, PRIMARY KEY ({keys}))"


def load_postgres(
    parquet_dir: Path, dsn: str, schema: str, tables: list[str], ddl: Callable[[str, pa.Schema, str], str] | None = None
) -> None:
    """Create the tables with TPC-H types and keys in ``schema`` and bulk-load them (binary COPY via ADBC).

    ``ddl(table, arrow_schema, quote)``: the CREATE TABLE statement with ``{name}`` for the table's name
    (default: TPC-H's types and keys)."""
    ddl = ddl or _ddl
    import adbc_driver_postgresql.dbapi as adbc

    with adbc.connect(dsn, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for t in tables:
            data = _plain_strings(pq.read_table(parquet_dir / f"{t}.parquet"))
            cur.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2",
                (schema, t),
            )
            if cur.fetchone()[0]:
                cur.execute(f'SELECT count(*) FROM "{schema}"."{t}"')
                if cur.fetchone()[0] == data.num_rows:
                    continue  # already loaded
            cur.execute(f'DROP TABLE IF EXISTS "{schema}"."{t}"')
            cur.execute(ddl(t, data.schema, '"').format(name=f'"{schema}"."{t}"'))
            cur.adbc_ingest(t, data, mode="append", db_schema_name=schema)
            cur.execute(f'ANALYZE "{schema}"."{t}"')


def load_mysql(parquet_dir: Path, url: str, database: str, tables: list[str]) -> None:
    """Create the tables with TPC-H types and keys in ``database`` and bulk-load them (LOAD DATA LOCAL INFILE)."""
    import tempfile
    from urllib.parse import unquote, urlsplit

    import pymysql

    parts = urlsplit(url)
    con = pymysql.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""), autocommit=True, local_infile=True,
    )  # fmt: skip
    with con.cursor() as cur, tempfile.TemporaryDirectory() as tmp:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
        for t in tables:
            data = _plain_strings(pq.read_table(parquet_dir / f"{t}.parquet"))
            if _mysql_rows(cur, database, t) == data.num_rows:
                continue  # already loaded
            cur.execute(f"DROP TABLE IF EXISTS `{database}`.`{t}`")
            cur.execute(_ddl(t, data.schema, "`").format(name=f"`{database}`.`{t}`"))
            path = Path(tmp) / f"{t}.csv"
            pacsv.write_csv(data, path, write_options=pacsv.WriteOptions(include_header=False, delimiter="|"))
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE `{database}`.`{t}` CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '|' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n'",
                (str(path),),
            )
            cur.execute(f"ANALYZE TABLE `{database}`.`{t}`")
    con.close()


def _mysql_rows(cur: object, database: str, table: str) -> int | None:
    cur.execute(  # type: ignore[attr-defined]
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s", (database, table)
    )
    if not cur.fetchone()[0]:  # type: ignore[attr-defined]
        return None
    cur.execute(f"SELECT count(*) FROM `{database}`.`{table}`")  # type: ignore[attr-defined]
    return int(cur.fetchone()[0])  # type: ignore[attr-defined]


def read_split(path: Path) -> dict[str, tuple[str, str]]:
    """A split from TOML: ``[tables] orders = { department = "sales", kind = "postgres" }``."""
    import tomllib

    data = tomllib.loads(path.read_text())
    split = {t: (str(v["department"]), str(v["kind"])) for t, v in data.get("tables", {}).items()}
    missing = set(TABLES) - set(split)
    if missing:
        raise ValueError(f"split {path} does not place {sorted(missing)}")
    return split


#: The database issue's split: PostgreSQL orders/lineitem, MariaDB customer/nation/region.
DATABASE_SPLIT: dict[str, tuple[str, str]] = {
    **DEFAULT_SPLIT,
    **{t: ("sales", "postgres") for t in ("orders", "lineitem")},
    **{t: ("crm", "mysql") for t in ("customer", "nation", "region")},
}
