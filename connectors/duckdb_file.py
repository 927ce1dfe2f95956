"""A DuckDB database file, opened read-only. Same engine, so everything is pushed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pyarrow as pa
from sqlglot import exp

from connectors.base import (
    BATCH_SIZE,
    SOURCE_OPTIONS,
    TABLE_OPTIONS,
    Capabilities,
    Connector,
    Option,
    TableInfo,
    TableStats,
)
from fedquery.deadline import current
from fedquery.fragment import Fragment


class DuckDBConnector(Connector):
    kind = "duckdb"
    needs_location = True
    dialect = "duckdb"
    default_schema = "main"
    options = {**SOURCE_OPTIONS, "batch_size": BATCH_SIZE}
    table_options = {**TABLE_OPTIONS, "table": Option("str")}
    capabilities = Capabilities(
        sql=True, joins=True, aggregates=True, order_limit=True, window=True, subqueries=True, set_operations=True,
        reduction_min_rows=1_000_000, widening_joins=False, max_group_fraction=0.1,
    )  # fmt: skip

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._con: Any = None
        self._lock = threading.Lock()

    def identity(self) -> tuple[str, ...]:
        return (self.kind, str(self.local_path()))

    def connection(self) -> Any:
        import duckdb

        with self._lock:
            if self._con is None:
                path = self.local_path()
                if not path.exists():
                    raise self.source_error(f"DuckDB file {self.location()!r} does not exist", unavailable=True)
                try:
                    # Read-only, and locked like the local engine: no file access beyond this
                    # database, no extension loading, no configuration changes.
                    # It answers inside this process: within the process's memory budget too.
                    limit = {"memory_limit": self.memory_limit} if self.memory_limit else {}
                    self._con = duckdb.connect(
                        str(path),
                        read_only=True,
                        config={
                            "enable_external_access": False,
                            "autoload_known_extensions": False,
                            "autoinstall_known_extensions": False,
                            "lock_configuration": True,
                            **limit,
                        },
                    )
                except duckdb.Error as exc:
                    raise self.source_error(
                        f"cannot open DuckDB file {self.location()!r}: {exc}", unavailable=True
                    ) from None
            return self._con.cursor()

    def list_tables(self) -> list[TableInfo]:
        cur = self.connection()
        rows = cur.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY 1, 2"
        ).fetchall()
        explicit = {opts.get("table", name): name for name, opts in self.config.tables.items()}
        out = []
        for schema, table in rows:
            name = explicit.get(table, table)
            options = dict(self.config.tables.get(name, {}))
            out.append(TableInfo(name=name, schema=schema, remote=(schema, table), options=options))
        return self.exposed(out)

    def table_schema(self, table: TableInfo) -> pa.Schema:
        cur = self.connection()
        query = exp.select("*").from_(self.remote_table(table)).limit(0)
        return cur.sql(query.sql("duckdb")).to_arrow_table().schema

    def statistics(self, table: TableInfo) -> TableStats:
        cur = self.connection()
        row = cur.execute(
            "SELECT estimated_size FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", list(table.remote)
        ).fetchone()
        return TableStats(row_count=int(row[0]) if row else None)

    def enforced_key(self, table: TableInfo) -> list[str] | None:
        row = (
            self.connection()
            .execute(
                "SELECT constraint_column_names FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
                "AND schema_name = ? AND table_name = ?",
                list(table.remote),
            )
            .fetchone()
        )
        return list(row[0]) if row else None

    def modified(self, table: TableInfo) -> datetime | None:
        return self.file_modified()

    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        import duckdb

        cur = self.connection()
        deadline = current()
        handle = deadline.on_cancel(cur.interrupt)  # a timeout or cancel stops the statement
        batch_size = int(self.config.options.get("batch_size", 65536))
        try:
            reader = cur.sql(fragment.sql).to_arrow_reader(batch_size)
        except duckdb.Error as exc:
            deadline.discard(handle)
            cur.close()
            raise self.source_error(f"DuckDB source failed: {exc}", fragment=fragment) from None

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from reader
            except duckdb.Error as exc:
                raise self.source_error(f"DuckDB source failed: {exc}", fragment=fragment) from None
            finally:
                deadline.discard(handle)
                cur.close()  # each scan has its own cursor: nothing stays open after it

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
