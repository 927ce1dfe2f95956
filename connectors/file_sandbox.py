"""The sandboxed DuckDB that answers a local file source's fragments.

One in-memory DuckDB per source (opened on first use, a cursor per scan; a cursor whose scan
ended normally is kept for a later scan). Each catalog
table is a view over ``read_parquet`` / ``read_csv`` of exactly the files discovery found,
with the column types pinned to what the catalog reports (the Arrow schema of the table),
so pushing a whole subtree into it changes no name and no type that users see.

The sandbox can read only those files: ``allowed_paths`` lists each of them and external
access is otherwise off (no other file, no directory listing outside them, no network, no
ATTACH, no extension install or load); the configuration is then locked, except
``enable_profiling``, which each scan's cursor turns on to count the bytes and row groups it
read. DuckDB lets an allowed path be written (``COPY ... TO`` one of the listed files), so
:func:`check_statement` refuses anything but one query before a statement reaches it.
When the set of files changes (a file added to a directory), a new sandbox is opened for the
new set; scans already running keep the old one until they end.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

#: configuration every sandbox is opened with (before the set-up statements below)
_CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}
#: idle cursors a sandbox keeps
_IDLE_CURSORS = 4


@dataclass
class Sandbox:
    """One locked-down DuckDB, the files it may read and the views defined in it."""

    connection: Any
    paths: frozenset[str]
    temp_directory: str
    #: view name -> the files it reads (as defined now)
    views: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: cursors whose last scan ended normally, kept for the next scan (a new one costs a statement)
    idle: list[Any] = field(default_factory=list)
    closed: bool = False

    def cursor(self) -> Any:
        with self.lock:
            if self.idle:
                return self.idle.pop()
        cur = self.connection.cursor()
        cur.execute("SET enable_profiling = 'no_output'")  # the scan's bytes and row groups (see profile)
        return cur

    def release(self, cur: Any, reusable: bool) -> None:
        """A scan is done with ``cur``: kept for the next one if its statement ended normally, else closed."""
        with self.lock:
            if reusable and not self.closed and len(self.idle) < _IDLE_CURSORS:
                self.idle.append(cur)
                return
        cur.close()

    def close(self) -> None:
        with self.lock:
            self.closed = True
            idle, self.idle = self.idle, []
        try:
            for cur in idle:
                cur.close()
            self.connection.close()
        finally:
            shutil.rmtree(self.temp_directory, ignore_errors=True)


def open_sandbox(paths: frozenset[str], memory_limit: str | None) -> Sandbox:
    """A DuckDB that can read exactly ``paths`` (local files) and nothing else."""
    import duckdb

    temp = tempfile.mkdtemp(prefix="fedquery-files-")  # its own spill space: never a shared directory
    con = duckdb.connect(config=dict(_CONFIG))
    try:
        setup: list[tuple[str, list[Any]]] = [
            ("SET allowed_paths = ?", [sorted(paths)]),
            ("SET temp_directory = ?", [temp]),
            *([("SET memory_limit = ?", [memory_limit])] if memory_limit else []),
            ("SET enable_external_access = false", []),
            ("SET allowed_configs = ['enable_profiling']", []),
            ("SET lock_configuration = true", []),
        ]
        for statement, parameters in setup:
            con.execute(statement, parameters)
    except Exception:
        con.close()
        shutil.rmtree(temp, ignore_errors=True)
        raise
    sandbox = Sandbox(connection=con, paths=paths, temp_directory=temp)
    # a sandbox replaced by a newer one is dropped, not closed (scans may still use it): its spill space goes with it
    weakref.finalize(sandbox, shutil.rmtree, temp, ignore_errors=True)
    return sandbox


def duckdb_types(schema: pa.Schema) -> dict[str, str]:
    """The DuckDB type of each column of an Arrow schema (as DuckDB itself maps them)."""
    import duckdb

    con = duckdb.connect(config=dict(_CONFIG, enable_external_access=False))
    try:
        relation = con.from_arrow(schema.empty_table())
        return {name: str(t) for name, t in zip(schema.names, relation.types)}
    finally:
        con.close()


def reader_call(function: str, files: list[str], options: dict[str, exp.Expr], partitions: dict[str, str]) -> exp.Expr:
    """``read_parquet([files], option := value, ...)`` as a table expression."""
    arguments: list[exp.Expr] = [exp.Array(expressions=[exp.Literal.string(f) for f in files])]
    hive = {**options, "hive_partitioning": exp.Boolean(this=bool(partitions))}
    if partitions:
        hive["hive_types"] = exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.to_identifier(name, quoted=True), expression=exp.Literal.string(sql_type))
                for name, sql_type in partitions.items()
            ]
        )
    for name, value in hive.items():
        arguments.append(exp.Kwarg(this=exp.var(name), expression=value))
    return exp.Table(this=exp.Anonymous(this=function, expressions=arguments))


def view_statement(name: str, reader: exp.Expr, columns: list[tuple[str, str | None]]) -> str:
    """``CREATE OR REPLACE VIEW name AS SELECT col [CAST to type] ... FROM reader``."""
    projections: list[exp.Expr] = []
    for column, cast_to in columns:
        ref = exp.column(column, quoted=True)
        if cast_to is None:
            projections.append(ref)
        else:
            cast = exp.Cast(this=ref, to=exp.DataType.build(cast_to, dialect="duckdb"))
            projections.append(exp.alias_(cast, column, quoted=True))
    query = exp.select(*projections).from_(reader)
    create = exp.Create(
        kind="VIEW", this=exp.Table(this=exp.to_identifier(name, quoted=True)), expression=query, replace=True
    )
    return create.sql("duckdb")


def check_statement(expression: exp.Expr) -> str | None:
    """Why ``expression`` may not run in a sandbox (anything but one query), or None."""
    if not isinstance(expression, exp.Query):
        return f"only queries are run in a file source's DuckDB, not {type(expression).__name__}"
    bad = expression.find(exp.Copy, exp.Command, exp.Create, exp.Insert, exp.Update, exp.Delete, exp.Set, exp.Pragma)
    if bad is not None:
        return f"only queries are run in a file source's DuckDB, not {type(bad).__name__}"
    return None


def profile(cursor: Any) -> dict[str, int]:
    """Bytes read, row groups and rows scanned by the cursor's last statement (0 where not reported)."""
    import json

    try:
        info = json.loads(cursor.get_profiling_information(format="json"))
    except Exception:  # noqa: BLE001 - statistics only: missing rather than a failure
        return {}
    query, io = info.get("query", {}), info.get("io", {})
    return {
        "bytes_read": int(io.get("total_bytes_read") or 0),
        "row_groups": int(query.get("total_row_groups_scanned") or 0),
        "rows_scanned": int(query.get("total_rows_scanned") or 0),
    }
