"""The access rules applied to the entry points that are not SQL: ``tables``, ``statistics``, ``inventory``.

None of them may tell a principal more than a query could: a table it may not read is left out
(its name and columns too), a hidden column is left out, a masked column is listed with the
masked expression's type and without value ranges, and a filtered table shows no row count, size
or column statistics at all (they describe rows the principal may not see).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from fedquery.errors import AccessDenied, RulesError
from fedquery.policy.access import Access, access_by_name, department_rules, table_access

if TYPE_CHECKING:
    from fedquery.catalog import Catalog, CatalogTable
    from fedquery.inventory import Inventory
    from fedquery.principal import Principal
    from fedquery.statistics import StatisticsEntry


def readable(catalog: Catalog, principal: Principal, table: CatalogTable) -> Access | None:
    """The principal's view of ``table``, or None where it may not read it."""
    try:
        return table_access(catalog, principal, table)
    except AccessDenied:
        return None


def visible_schema(catalog: Catalog, access: Access, schema: pa.Schema) -> pa.Schema:
    """The Arrow schema of the principal's view of a table of ``schema``: visible columns, masked ones
    typed as DuckDB types their mask."""
    if not access.masks:
        return pa.schema([schema.field(c) for c in access.columns])
    projections = [
        exp.alias_(access.masks[c].copy(), c, quoted=True) if c in access.masks else exp.column(c, quoted=True)
        for c in access.columns
    ]
    typed = catalog.schema_over(schema, exp.select(*projections).from_("_input"))
    if typed is not None:
        return typed
    return pa.schema([pa.field(c, pa.string()) if c in access.masks else schema.field(c) for c in access.columns])


def governed_statistics(
    catalog: Catalog, principal: Principal, entry: StatisticsEntry, table: CatalogTable
) -> StatisticsEntry | None:
    """``entry`` as ``principal`` may see it (None: the table is not readable)."""
    access = readable(catalog, principal, table)
    if access is None:
        return None
    if access.rule is None:
        return entry
    stats = entry.stats
    if access.filter is not None:
        # Figures over the whole table would count and bound rows the principal may not see.
        stats = replace(stats, row_count=None, size_bytes=None, columns={})
    else:
        stats = replace(
            stats, columns={n: c for n, c in stats.columns.items() if n in access.columns and n not in access.masks}
        )
    return replace(entry, stats=stats)


def governed_inventory(catalog: Catalog, principal: Principal, inventory: Inventory) -> Inventory:
    """The inventory as ``principal`` may see it, each dataset with its access summary."""
    from fedquery.inventory import Inventory

    datasets = []
    for dataset in inventory.datasets:
        try:
            access = access_by_name(catalog, principal, dataset.department, dataset.id, _names_of(dataset))
        except AccessDenied:
            continue
        if access.rule is None:
            datasets.append(replace(dataset, access_rules=access.summary()))
            continue
        columns = [
            replace(c, description=_masked(c.description)) if c.name in access.masks else c for c in dataset.columns
        ]
        filtered = access.filter is not None
        datasets.append(
            replace(
                dataset,
                columns=[c for c in columns if c.name in access.columns],
                primary_key=[k for k in dataset.primary_key or [] if k in access.columns] or None,
                row_count=None if filtered else dataset.row_count,
                size_bytes=None if filtered else dataset.size_bytes,
                access_rules=access.summary(),
            )
        )
    problems = [
        p
        for p in inventory.problems
        if _may_see_problem(
            catalog, principal, {"department": p.department, "table": f"{p.department}.{p.table}" if p.table else None}
        )
    ]
    return Inventory(datasets, problems, inventory.built_at)


def _names_of(dataset: Any) -> Callable[[], list[str]]:
    return lambda: [c.name for c in dataset.columns]


def _masked(description: str | None) -> str:
    return f"{description} (masked)" if description else "(masked)"


def governed_tables(catalog: Catalog, principal: Principal, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``Federation.tables()`` rows as ``principal`` may see them."""
    tables = {t.sql_name: t for t in catalog.tables()}
    out = []
    for row in rows:
        table = tables.get(row["table"]) if row["table"] else None
        if table is None or row["error"]:
            if _may_see_problem(catalog, principal, row):
                out.append(row)
            continue
        access = readable(catalog, principal, table)
        if access is None:
            continue
        if access.rule is not None:
            schema = visible_schema(catalog, access, table.arrow_schema())
            row = {**row, "columns": [(f.name, str(f.type)) for f in schema]}
        out.append(row)
    return out


def _may_see_problem(catalog: Catalog, principal: Principal, row: dict[str, Any]) -> bool:
    """A broken table's row is shown to the principals a rule lets read it; a source that cannot be
    listed (no table named) to everyone, as it names only what the catalog does. Nothing of a department
    whose rules file is broken."""
    try:
        rules = department_rules(catalog, row["department"])
    except RulesError:
        return False
    if rules is None or row["table"] is None:
        return True
    rule = rules.match(principal, row["table"].split(".", 1)[1])
    return rule is not None and rule.select
