"""What one principal may see of one catalog table: the decision every entry point shares.

A department without ``rules`` in the catalog is open (every principal sees every table as
stored: the behaviour before rules existed). A department with a rules file is closed by
default: a table is readable only through the first rule that matches the principal; a missing
or malformed file denies every table of the department, naming the file and line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.errors import AccessDenied, RulesError
from fedquery.policy.rules import PRINCIPAL_NAMES, Rules, TableRule, load_rules
from fedquery.principal import Principal

if TYPE_CHECKING:
    from fedquery.catalog import Catalog, CatalogTable

#: The principal of ``analyze``'s statistics queries (whole tables, for the planner; see Federation.analyze)
STATISTICS = Principal("fedquery-statistics")


@dataclass(frozen=True)
class Access:
    """The principal's view of a table: which columns, masked how, which rows.

    ``masks`` map a stored column name to the expression that replaces it (column references
    quoted with their stored names); ``filter`` is the row predicate with the principal's
    attributes bound as literals. ``rule`` is None for a table of an open department.
    """

    table: str
    columns: tuple[str, ...]
    masks: dict[str, exp.Expr] = field(default_factory=dict)
    denied: frozenset[str] = frozenset()
    filter: exp.Expr | None = None
    rule: TableRule | None = None
    path: str | None = None

    @property
    def restricts(self) -> bool:
        return bool(self.masks or self.denied or self.filter is not None)

    def label(self) -> str | None:
        """What ``Plan.rules_applied`` records for this table (None where the department is open)."""
        if self.rule is None:
            return None
        where = f"line {self.rule.line}" if self.rule.line is not None else f"rule {self.rule.index}"
        parts = [f"{self.table}: {self.path} {where} (rule {self.rule.index})"]
        if self.masks:
            parts.append(f"masked {', '.join(sorted(self.masks))}")
        if self.denied:
            parts.append(f"hidden {', '.join(sorted(self.denied))}")
        if self.filter is not None:
            parts.append("row filter")
        return "; ".join(parts)

    def summary(self) -> str:
        """One line for the inventory: how this principal may read the table."""
        if self.rule is None:
            return "open (the department has no rules file)"
        parts = [f"SELECT by rule {self.rule.index} of {self.path}"]
        if self.masks:
            parts.append(f"masked: {', '.join(sorted(self.masks))}")
        if self.denied:
            parts.append(f"{len(self.denied)} column(s) hidden")
        if self.filter is not None:
            parts.append("rows filtered")
        return "; ".join(parts)


def department_rules(catalog: Catalog, department: str) -> Rules | None:
    """The department's rules (None: the department is open). Raises RulesError for a broken file."""
    config = catalog.config.departments.get(department)
    if config is not None and config.rules is None and catalog.config.settings.default_access == "deny":
        where = str(catalog.config.path) if catalog.config.path else "the catalog"
        raise RulesError("the department has no rules file and [settings] default_access = 'deny'", path=where)
    if config is None or config.rules is None:
        return None
    shown = str(config.rules)
    if catalog.config.path is not None:  # as the catalog file names it, relative to itself
        shown = os.path.relpath(config.rules, catalog.config.path.parent)
    return load_rules(config.rules, department, shown)


def table_access(catalog: Catalog, principal: Principal, table: CatalogTable) -> Access:
    """The principal's view of ``table``; :class:`AccessDenied` when the table may not be read at all."""
    return access_by_name(catalog, principal, table.department, table.sql_name, lambda: table.arrow_schema().names)


def access_by_name(
    catalog: Catalog, principal: Principal, department: str, sql_name: str, columns: Callable[[], list[str]]
) -> Access:
    """As :func:`table_access`, for the table called ``sql_name`` whose column names ``columns()`` gives
    (called only where needed: an open department's tables are not read)."""
    try:
        rules = department_rules(catalog, department)
    except RulesError as exc:
        raise AccessDenied(str(principal), sql_name, exc.message, department=department) from None
    if rules is None:
        return Access(sql_name, tuple(columns()))
    rule = rules.match(principal, sql_name.split(".", 1)[1])
    if rule is None:
        raise AccessDenied(str(principal), sql_name, f"no rule of {rules.path} grants it", department=department)
    if not rule.select:
        where = f"line {rule.line}" if rule.line is not None else f"rule {rule.index}"
        raise AccessDenied(str(principal), sql_name, f"{rules.path} {where} denies it", department=department)
    try:
        return _decide(rules, rule, principal, sql_name, tuple(columns()))
    except RulesError as exc:
        raise AccessDenied(str(principal), sql_name, exc.message, department=department) from None


def _decide(rules: Rules, rule: TableRule, principal: Principal, table: str, names: tuple[str, ...]) -> Access:
    by_lower = {n.lower(): n for n in names}

    def fail(message: str, line: int | None) -> RulesError:
        return RulesError(f"rule {rule.index}: {message} (table {table})", path=rules.path, line=line)

    masks: dict[str, exp.Expr] = {}
    denied: set[str] = set()
    for column in rule.columns:
        stored = by_lower.get(column.name.lower())
        if stored is None:
            raise fail(f"unknown column {column.name!r}", column.line)
        if not column.allow:
            denied.add(stored)
        elif column.mask is not None:
            masks[stored] = _bound(column.mask, by_lower, principal, lambda m, line=column.line: fail(m, line))
    row_filter = None
    if rule.filter is not None:
        row_filter = _bound(rule.filter, by_lower, principal, lambda m: fail(m, rule.filter_line))
    visible = tuple(n for n in names if n not in denied)
    if not visible:
        raise AccessDenied(str(principal), table, f"{rules.path} rule {rule.index} hides every column")
    return Access(table, visible, masks, frozenset(denied), row_filter, rule, rules.path)


def _bound(tree: exp.Expr, by_lower: dict[str, str], principal: Principal, fail: object) -> exp.Expr:
    """``tree`` with columns named exactly as stored (quoted) and the principal's attributes as literals."""
    bound = tree.copy()
    for node in list(bound.find_all(exp.CurrentUser)):
        node.replace(exp.Literal.string(principal.user))
    for column in list(bound.find_all(exp.Column)):
        name = column.name.lower()
        if not column.table and name in PRINCIPAL_NAMES:
            value = principal.user if name == "current_user" else principal.purpose
            column.replace(exp.Literal.string(value) if value is not None else exp.Null())
            continue
        stored = by_lower.get(name)
        if stored is None or column.table:
            raise fail(f"{column.sql('duckdb')!r} is not a column of the table")  # type: ignore[operator]
        identifier = exp.to_identifier(stored, quoted=True)
        identifier.meta["case_sensitive"] = True
        column.set("this", identifier)
    return bound


def visible_columns(catalog: Catalog, principal: Principal, table: CatalogTable) -> list[str]:
    """The columns ``principal`` may name in ``table`` (stored names, in table order).

    For DESCRIBE / information_schema: raises :class:`AccessDenied` where the table may not be
    read at all (callers listing many tables skip those)."""
    return list(table_access(catalog, principal, table).columns)


def key_flow_allowed(catalog: Catalog, producer: str, consumer: str) -> str | None:
    """Why join keys of department ``producer`` may not be sent to department ``consumer`` (None: allowed)."""
    if producer == consumer:
        return None
    try:
        sender = department_rules(catalog, producer)
        receiver = department_rules(catalog, consumer)
    except RulesError as exc:
        return exc.message
    if sender is not None and not sender.send_keys:
        return f"{sender.path} forbids sending {producer}'s keys to other departments ([keys] send = false)"
    if receiver is not None and not receiver.receive_keys:
        return f"{receiver.path} forbids receiving other departments' keys in {consumer} ([keys] receive = false)"
    return None
