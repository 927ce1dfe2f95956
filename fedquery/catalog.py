"""The catalog: departments -> sources -> tables, discovered lazily per department.

A source that cannot be listed does not hide the others: its error is kept in
:meth:`Catalog.problems` (and the department is listed again on next use, so a
source that comes back is seen); naming one of its tables raises that error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from fedquery.config import Config
from fedquery.errors import (
    ConfigError,
    FedQueryError,
    SourceError,
    SourceUnavailableError,
    UnknownDepartmentError,
    UnknownTableError,
    suggest,
)

if TYPE_CHECKING:
    from connectors.base import Connector, TableInfo, TableStats
    from fedquery.statistics import StatisticsStore


@dataclass
class CatalogTable:
    """One table of one source, as SQL sees it."""

    department: str
    source: str
    info: TableInfo
    connector: Connector
    _schema: pa.Schema | None = field(default=None, repr=False)
    store: StatisticsStore | None = field(default=None, repr=False)
    _stats: TableStats | None = field(default=None, repr=False)
    _key: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def schema_name(self) -> str | None:
        default = getattr(self.connector, "default_schema", None)
        return None if self.info.schema in (None, default) else self.info.schema

    @property
    def sql_name(self) -> str:
        parts = [self.department, self.schema_name, self.name]
        return ".".join(p for p in parts if p)

    @property
    def kind(self) -> str:
        return self.connector.kind

    def statistics(self) -> TableStats:
        """The table's statistics (cached per catalog; see fedquery.statistics); never raises."""
        if self._stats is None:
            if self.store is None:
                try:
                    self._stats = self.connector.statistics(self.info)
                except Exception:  # noqa: BLE001 - an estimate must never fail a plan; the scan reports the error
                    from connectors.base import TableStats

                    return TableStats()
            else:
                self._stats = self.store.get(self)
        return self._stats

    def estimated_rows(self) -> int | None:
        """Row count from the statistics; None where the source cannot tell."""
        return self.statistics().row_count

    def unique_key(self) -> tuple[str, ...]:
        """The primary key the source enforces (empty where none), read once per catalog like the schema."""
        if self._key is None:
            try:
                self._key = tuple(self.connector.enforced_key(self.info) or ())
            except Exception:  # noqa: BLE001 - unknown: the planner assumes no key; the scan reports errors
                return ()
        return self._key

    def arrow_schema(self) -> pa.Schema:
        if self._schema is None:
            try:
                self._schema = self.connector.table_schema(self.info)
            except FedQueryError:
                raise
            except Exception as exc:  # noqa: BLE001 - any driver error becomes a typed SourceError
                raise SourceError(
                    f"cannot read the schema: {type(exc).__name__}: {self.connector.config.redact(str(exc))}",
                    department=self.department,
                    source=self.source,
                    table=self.name,
                ) from None
        return self._schema


class Catalog:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._connectors: dict[tuple[str, str], Connector] = {}
        self._tables: dict[str, list[CatalogTable]] = {}
        self._lock = threading.RLock()
        self._typing: Any = None
        self._typed: set[str] = set()
        self._statistics: StatisticsStore | None = None
        #: (department, source) -> why the source could not be listed, from the latest discovery
        self._problems: dict[tuple[str, str], FedQueryError] = {}
        #: moved on by every change that can change a plan already made: statistics written or
        #: forgotten, the catalog closed (see fedquery.plan_cache). Discovering a department does not:
        #: no plan made before could read it.
        self.generation = 0

    def changed(self) -> None:
        """Plans made so far may no longer be what the planner would make now."""
        with self._lock:
            self.generation += 1

    @property
    def statistics(self) -> StatisticsStore:
        """Table statistics for planning, cached per catalog."""
        with self._lock:
            if self._statistics is None:
                from fedquery.statistics import StatisticsStore

                self._statistics = StatisticsStore(self)
            return self._statistics

    @property
    def departments(self) -> list[str]:
        return list(self.config.departments)

    def connector(self, department: str, source: str) -> Connector:
        with self._lock:
            key = (department, source)
            if key not in self._connectors:
                from connectors import connector_class

                src = self.config.departments[department].sources[source]
                connector = connector_class(src.kind)(src)
                connector.memory_limit = self.config.settings.memory_limit
                self._connectors[key] = connector
            return self._connectors[key]

    def department_name(self, department: str) -> str:
        """The department as configured, found as DuckDB finds names: exactly, else case-insensitively."""
        if department in self.config.departments:
            return department
        folded = [d for d in self.config.departments if d.lower() == department.lower()]
        return folded[0] if len(folded) == 1 else department

    def department_tables(self, department: str) -> list[CatalogTable]:
        """Every table of a department (discovering its sources on first use)."""
        department = self.department_name(department)
        if department not in self.config.departments:
            raise UnknownDepartmentError(
                f"unknown department {department!r}.{suggest(department, self.departments)}",
                department=department,
            )
        with self._lock:
            if department in self._tables:
                return self._tables[department]
            tables = self._discover(department)
            if not any(d == department for d, _ in self._problems):
                self._tables[department] = tables  # kept only when every source answered
            return tables

    def problems(self, department: str | None = None) -> list[FedQueryError]:
        """Why sources (of ``department``, or of any department discovered so far) could not be listed."""
        with self._lock:
            return [e for (d, _), e in self._problems.items() if department in (None, d)]

    def _discover(self, department: str) -> list[CatalogTable]:
        seen: dict[tuple[str | None, str], CatalogTable] = {}
        out = []
        for source_name in self.config.departments[department].sources:
            self._problems.pop((department, source_name), None)
            try:
                connector = self.connector(department, source_name)
                infos = connector.list_tables()
            except ConfigError:
                raise
            except FedQueryError as exc:
                self._problems[(department, source_name)] = exc
                continue
            for info in infos:
                table = CatalogTable(department, source_name, info, connector, store=self.statistics)
                key = (table.schema_name, table.name.lower())
                if key in seen:
                    other = seen[key]
                    raise ConfigError(
                        f"two tables named {table.sql_name!r} in department {department!r}: "
                        f"one in source {other.source!r} ({other.info.remote[-1]}), "
                        f"one in source {source_name!r} ({info.remote[-1]}); rename one under [tables]",
                        department=department,
                    )
                seen[key] = table
                out.append(table)
        return out

    def tables(self, department: str | None = None) -> list[CatalogTable]:
        departments = [department] if department else self.departments
        return [t for d in departments for t in self.department_tables(d)]

    def resolve(self, parts: list[str]) -> CatalogTable:
        """Find ``department.table`` or ``department.schema.table``."""
        if len(parts) < 2:
            raise UnknownTableError(f"table {parts[-1]!r} needs a department prefix (department.table)")
        department, table = self.department_name(parts[0]), parts[-1]
        schema = parts[1] if len(parts) == 3 else None
        tables = self.department_tables(department)
        for candidate in tables:
            if candidate.name.lower() == table.lower() and (
                (schema is None and candidate.schema_name is None)
                or (schema is not None and (candidate.info.schema or "").lower() == schema.lower())
            ):
                return candidate
        wanted = ".".join(parts)
        broken = self.problems(department)
        if broken:
            # The table may live in the source that could not be listed: say so, with its error.
            error = broken[0]
            cls = SourceUnavailableError if isinstance(error, SourceUnavailableError) else SourceError
            raise cls(
                f"table {wanted!r} not found, and source {error.source!r} of department {department!r} "
                f"could not be listed: {error.message}",
                department=department,
                source=error.source,
                table=table,
            )
        hint = suggest(wanted, [t.sql_name for t in tables])
        raise UnknownTableError(f"unknown table {wanted!r}.{hint}", department=department, table=table)

    def output_schema(self, query: exp.Expr, tables: list[CatalogTable]) -> pa.Schema | None:
        """The Arrow schema DuckDB gives ``query`` (tables named by their ``sql_name``), or None.

        Empty copies of the catalog tables live in a private in-memory DuckDB, so this
        is DuckDB's own typing (DECIMAL precision and scale included) at no data cost.
        """
        import duckdb

        with self._lock:
            con = self._typing_connection()
            try:
                for table in tables:
                    if table.sql_name not in self._typed:
                        con.register("_empty", pa.table({f.name: pa.array([], f.type) for f in table.arrow_schema()}))
                        create = exp.Create(
                            this=exp.Table(this=exp.to_identifier(table.sql_name, quoted=True)),
                            kind="TABLE",
                            expression=exp.select("*").from_("_empty"),
                        )
                        con.execute(create.sql("duckdb"))
                        con.unregister("_empty")
                        self._typed.add(table.sql_name)
                return con.sql(query.sql("duckdb")).limit(0).to_arrow_table().schema
            except duckdb.Error:
                return None  # the caller falls back to sqlglot's typing

    def _typing_connection(self) -> Any:
        """The private in-memory DuckDB that types queries over empty tables (call under the lock)."""
        import duckdb

        if self._typing is None:
            self._typing = duckdb.connect(":memory:", config={"enable_external_access": False})
        return self._typing

    def schema_over(self, schema: pa.Schema, query: exp.Expr) -> pa.Schema | None:
        """The Arrow schema DuckDB gives ``query`` over an empty table ``_input`` of ``schema``, or None."""
        import duckdb

        with self._lock:
            con = self._typing_connection()
            con.register("_input", pa.table({f.name: pa.array([], f.type) for f in schema}))
            try:
                return con.sql(query.sql("duckdb")).limit(0).to_arrow_table().schema
            except duckdb.Error:
                return None
            finally:
                con.unregister("_input")

    def __repr__(self) -> str:
        return f"<fedquery.Catalog {', '.join(self.departments)}>"

    def close(self) -> None:
        with self._lock:
            if self._typing is not None:
                self._typing.close()
                self._typing = None
                self._typed.clear()
            for connector in self._connectors.values():
                connector.close()
            self._connectors.clear()
            self._tables.clear()
            self._problems.clear()
            self.generation += 1

    def describe(self) -> list[dict[str, Any]]:
        rows = []
        for table in self.tables():
            rows.append(
                {
                    "department": table.department,
                    "table": table.sql_name,
                    "source": table.source,
                    "kind": table.kind,
                    "columns": ", ".join(f"{f.name} {f.type}" for f in table.arrow_schema()),
                }
            )
        return rows
