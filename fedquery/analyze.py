"""``fed.analyze()``: exact statistics, by one aggregate query per table.

The query is planned like any other, so it runs inside SQL sources (only the one
result row crosses the wire) and over streamed scans for file sources. Per column:
the null count, min and max for ordered non-text types, and the number of distinct
values (exact where the source computes it, DuckDB's approximate count over files).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from connectors.base import ColumnStats, TableStats
from fedquery.errors import FedQueryError, SourceError

if TYPE_CHECKING:
    from fedquery.catalog import CatalogTable
    from fedquery.federation import Federation
    from fedquery.statistics import StatisticsEntry


def analyze(federation: Federation, target: str | None = None) -> list[StatisticsEntry]:
    """Refresh the statistics of every table of ``target`` (all, ``department`` or ``department.table``).

    A table (or source) that fails does not stop the others: they are analyzed and stored,
    then one :class:`SourceError` names every failure.
    """
    entries = []
    failures: list[str] = []  # what failed, and why
    for table in target_tables(federation, target):
        try:
            stats = table_statistics(federation, table)
        except FedQueryError as exc:
            if not target_is_many(target):
                raise
            failures.append(f"{table.sql_name}: {exc.message.splitlines()[0]}")
            continue
        entries.append(federation.catalog.statistics.put(table, stats, "analyze"))
        table._stats = None  # the planner reads the new figures from the store
    if target_is_many(target):
        failures += [
            f"{e.department} (source {e.source!r}): {e.message.splitlines()[0]}"
            for e in federation.catalog.problems(target or None)
        ]
    if failures:
        raise SourceError(
            f"analyzed {len(entries)} table(s); {len(failures)} could not be analyzed: {'; '.join(failures)}"
        )
    return entries


def target_is_many(target: str | None) -> bool:
    """No target (every table) or a department: several tables, some of which may fail."""
    return not target or "." not in target


def table_statistics(federation: Federation, table: CatalogTable) -> TableStats:
    schema = table.arrow_schema()
    exact = table.connector.capabilities.sql and table.connector.capabilities.aggregates
    select = exp.select(exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True))
    plan: list[tuple[str, str, int]] = []  # (column, measure, output position)
    for f in schema:
        column = exp.column(f.name, quoted=True)
        measures: list[tuple[str, exp.Expr]] = [("count", exp.Count(this=column.copy()))]
        if _ordered(f.type):
            measures += [("min", exp.Min(this=column.copy())), ("max", exp.Max(this=column.copy()))]
        if _distinct_countable(f.type):
            distinct: exp.Expr = (
                exp.Count(this=exp.Distinct(expressions=[column.copy()]))
                if exact
                else exp.Anonymous(this="approx_count_distinct", expressions=[column.copy()])
            )
            measures.append(("distinct", distinct))
        for measure, expression in measures:
            plan.append((f.name, measure, len(select.expressions)))
            select = select.select(exp.alias_(expression, f"m{len(select.expressions)}", quoted=True), copy=False)
    select = select.from_(_table_expression(table), copy=False)
    row = federation._statistics_sql(select.sql("duckdb")).fetchall()[0]  # whole tables: not governed
    rows = int(row[0])
    values: dict[str, dict[str, Any]] = {}
    for name, measure, position in plan:
        values.setdefault(name, {})[measure] = row[position]
    columns = {
        name: ColumnStats(
            min=v.get("min"),
            max=v.get("max"),
            null_count=rows - int(v["count"]),
            distinct=None if v.get("distinct") is None else int(v["distinct"]),
        )
        for name, v in values.items()
    }
    size = table.statistics().size_bytes
    return TableStats(row_count=rows, size_bytes=size, columns=columns)


def target_tables(federation: Federation, target: str | None) -> list[CatalogTable]:
    """Every table (no target), a department's tables, or one ``department[.schema].table``."""
    catalog = federation.catalog
    if not target:
        return catalog.tables()
    parts = target.split(".")
    if len(parts) == 1:
        return catalog.department_tables(parts[0])
    return [catalog.resolve(parts)]


def _table_expression(table: CatalogTable) -> exp.Table:
    parts = table.sql_name.split(".")
    return exp.table_(parts[-1], db=parts[-2], catalog=parts[0] if len(parts) == 3 else None, quoted=True)


def _ordered(t: pa.DataType) -> bool:
    return (
        pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_date(t)
        or pa.types.is_timestamp(t)
    )


def _distinct_countable(t: pa.DataType) -> bool:
    return _ordered(t) or pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_boolean(t)
