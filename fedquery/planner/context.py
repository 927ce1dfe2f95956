"""The state the planner passes share while planning one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

if TYPE_CHECKING:
    import pyarrow as pa

    from fedquery.catalog import Catalog, CatalogTable
    from fedquery.disclosure import Disclosure
    from fedquery.fragment import Fragment
    from fedquery.policy.access import Access
    from fedquery.principal import Principal


@dataclass
class PlanContext:
    catalog: Catalog
    sql: str
    dialect: str = "duckdb"
    #: internal table key (the name used while planning) -> catalog table
    tables: dict[str, CatalogTable] = field(default_factory=dict)
    #: CTE name -> its body (to resolve which sources a CTE reference reaches)
    ctes: dict[str, exp.Expr] = field(default_factory=dict)
    #: CTE key -> the name the query gave it (for messages)
    cte_names: dict[str, str] = field(default_factory=dict)
    fragments: list[Fragment] = field(default_factory=list)
    #: the query levels whose FROM list ``split`` cut, and whether all their joins are inner (the cost
    #: passes visit these, innermost first: see ``tree.cut_levels``)
    cut: list[tuple[exp.Select, bool]] = field(default_factory=list)
    #: introspection tables (DESCRIBE, SHOW, information_schema) fedquery answers itself, by local name
    local_relations: dict[str, pa.Table] = field(default_factory=dict)
    #: estimated rows of fragments before semi-join reduction changed their estimate, by name
    unreduced_rows: dict[str, float] = field(default_factory=dict)
    #: every operator not pushed, and why
    notes: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    #: none (whole tables), filters (projections and filters), full (largest single-source
    #: subtrees), auto (the default: full plus the cost-based choices of statistics)
    pushdown: str = "auto"
    #: top-N through joins: the driver's first fetch is multiplied by this (0: no top-N); a query
    #: whose first fetch proved too small is planned again with a larger scale
    top_n_scale: int = 1
    #: who the query runs as (None: the environment's principal, see fedquery.principal)
    principal: Principal | None = None
    #: internal table key -> the principal's view of that table (the enforce pass)
    accesses: dict[str, Access] = field(default_factory=dict)
    #: which access rules decided what the query may read (``Plan.rules_applied``)
    rules_applied: list[str] = field(default_factory=list)
    #: disclosure control: the output rules of the tables read, and what protect() needs (see fedquery.disclosure)
    output_rules: list[str] = field(default_factory=list)
    disclosure: Disclosure | None = None

    @property
    def pushes_subtrees(self) -> bool:
        return self.pushdown in ("full", "auto")

    def display_names(self) -> dict[str, str]:
        """Internal table and CTE keys -> the names the query knows them by (for messages and output names)."""
        names = {key: table.sql_name for key, table in self.tables.items()}
        names.update(self.cte_names)
        return names

    def fragment(self, name: str) -> Fragment:
        """The current value of the fragment called ``name``."""
        return next(f for f in self.fragments if f.name == name)

    def evolve(self, fragment: Fragment, **changes: Any) -> Fragment:
        """Put a new value of ``fragment`` (by name) with ``changes`` in the plan, and return it.

        Fragments are values: a pass that changes one makes a new one here; whoever kept the old
        value keeps what it was."""
        new = self.fragment(fragment.name).evolve(**changes)
        index = next(i for i, f in enumerate(self.fragments) if f.name == fragment.name)
        self.fragments[index] = new
        return new

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)
