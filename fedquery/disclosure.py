"""Safe outputs: statistical disclosure control of aggregate results (the ONS "10-5" style).

Output rules live in the catalog, per department and per table (a table's keys override its
department's)::

    [departments.dwp.output]
    min_cell_count = 10        # k: a cell from fewer source rows is suppressed (NULL)
    rounding = 5               # COUNT and SUM results rounded to the nearest multiple of 5
    aggregate_only = true      # the default where a rule exists: row-level queries are refused

    [departments.dwp.sources.claims.tables.claims]
    output = { min_cell_count = 20 }

The planner (:mod:`fedquery.planner.disclosure`) adds hidden columns to the outermost aggregate
SELECT: the number of source rows behind each output row, and for ROLLUP/CUBE/GROUPING SETS each
grouping key with its ``GROUPING()`` flag. :func:`protect` then, per output row:

1. primary suppression: fewer than ``min_cell_count`` source rows -> every aggregate column NULL;
2. secondary suppression: a published margin (a ROLLUP/CUBE/GROUPING SETS row) with exactly one
   suppressed cell among the cells that add up to it along one dimension is suppressed too
   (margin minus the published cells would give the suppressed one); repeated until nothing changes;
3. rounding: COUNT and SUM columns to the nearest multiple of ``rounding``, halves away from zero
   (12 -> 10, 13 -> 15, 12.5 -> 15, -13 -> -15); AVG, MEDIAN, MIN, MAX, percentiles and other
   aggregates are published unrounded when the cell has at least k rows, else suppressed;
4. a suppressed cell's row stays (aggregates NULL) only where each of its group key values is also a
   key of a published row; otherwise the key itself would disclose (``GROUP BY nino``: every cell is
   one person) and the row is left out.

>>> round_to(12, 5), round_to(13, 5), round_to(-13, 5), round_to(7.5, 5)
(10, 15, -15, 10.0)
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from fedquery.errors import ConfigError, QueryError

RULE_KEYS = ("min_cell_count", "rounding", "aggregate_only", "purpose")


class DisclosureError(QueryError):
    """A query over a table with an output rule that disclosure control cannot make safe: refused.

    ``table`` names the protected table."""


@dataclass(frozen=True)
class OutputRule:
    """One table's output rule (department's merged with the table's own)."""

    table: str
    min_cell_count: int | None = None
    rounding: int | None = None
    aggregate_only: bool = True

    def describe(self) -> str:
        parts = [f"min_cell_count {self.min_cell_count}" if self.min_cell_count else None]
        parts.append(f"rounding {self.rounding}" if self.rounding else None)
        parts.append("aggregate_only" if self.aggregate_only else None)
        return f"{self.table}: {', '.join(p for p in parts if p)}"


def check_rule(raw: Any, where: str) -> dict[str, Any]:
    """A rule table from the catalog, checked (a ConfigError naming the field otherwise)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table like {{ min_cell_count = 10, rounding = 5 }}, got {raw!r}")
    for key, value in raw.items():
        if key not in RULE_KEYS:
            from fedquery.errors import suggest

            raise ConfigError(
                f"{where}.{key} is not an output rule field.{suggest(key, RULE_KEYS)} Fields: {', '.join(RULE_KEYS)}"
            )
        if key == "purpose":
            try:
                re.compile(value) if isinstance(value, str) else None
            except re.error as exc:
                raise ConfigError(f"{where}.purpose is not a regular expression: {exc}") from None
            if not isinstance(value, str):
                raise ConfigError(f"{where}.purpose must be a regular expression (text), got {value!r}")
        elif key == "aggregate_only":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.aggregate_only must be true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}.{key} must be a positive integer, got {value!r}")
    return dict(raw)


def rule_for(
    department_rule: Mapping[str, Any] | None,
    table_rule: Mapping[str, Any] | None,
    table: str,
    purpose: str | None = None,
) -> OutputRule | None:
    """The rule that applies to ``table`` for a query serving ``purpose`` (None: no rule). A rule with a
    ``purpose`` (a regular expression, matched in full) applies only to queries whose purpose matches."""
    department_rule, table_rule = _for(department_rule, purpose), _for(table_rule, purpose)
    if not department_rule and not table_rule:
        return None
    merged = {**(department_rule or {}), **(table_rule or {})}
    return OutputRule(table, merged.get("min_cell_count"), merged.get("rounding"), merged.get("aggregate_only", True))


def output_summary(department_rule: Mapping[str, Any] | None, table_rule: Mapping[str, Any] | None) -> str | None:
    """A table's output rule as the inventory shows it (None: results leave unrestricted).

    >>> output_summary({"min_cell_count": 10, "rounding": 5, "purpose": "support"}, None)
    "min_cell_count 10, rounding 5, aggregate_only (for purpose 'support')"
    """
    if not department_rule and not table_rule:
        return None
    merged = {**(department_rule or {}), **(table_rule or {})}
    text = OutputRule("", merged.get("min_cell_count"), merged.get("rounding"), merged.get("aggregate_only", True))
    scope = f" (for purpose {merged['purpose']!r})" if merged.get("purpose") else ""
    return text.describe().removeprefix(": ") + scope


def _for(rule: Mapping[str, Any] | None, purpose: str | None) -> Mapping[str, Any] | None:
    if not rule or "purpose" not in rule:
        return rule
    return rule if purpose is not None and re.fullmatch(rule["purpose"], purpose) else None


@dataclass
class Disclosure:
    """What the planner arranged for :func:`protect`: which output columns are what, the limits."""

    rules: list[OutputRule]
    min_cell_count: int
    rounding: int
    #: output column -> "round" (COUNT/SUM), "suppress" (other aggregates) or "key"
    kinds: dict[str, str]
    #: hidden columns counting each row's source rows (the smallest is the cell's count)
    counts: list[str]
    #: ROLLUP/CUBE/GROUPING SETS: (hidden key value column, hidden GROUPING() flag column) per grouping key
    grouping: list[tuple[str, str]] = field(default_factory=list)
    #: filled by protect: cells suppressed (primary, secondary)
    suppressed: tuple[int, int] = (0, 0)
    applied: bool = False

    @property
    def hidden(self) -> list[str]:
        return self.counts + [name for pair in self.grouping for name in pair]


def protect(table: pa.Table, disclosure: Disclosure) -> pa.Table:
    """Suppress, secondary-suppress and round ``table``'s aggregate cells; drop the hidden columns."""
    k, base = disclosure.min_cell_count, disclosure.rounding
    rows = table.num_rows
    counts = [min(values) for values in zip(*(table.column(c).to_pylist() for c in disclosure.counts))] or [0] * rows
    suppressed = [(c or 0) < k for c in counts]
    primary = sum(suppressed)
    if disclosure.grouping and rows:
        _secondary(table, disclosure, suppressed)
    disclosure.suppressed = (primary, sum(suppressed) - primary)
    shown = _shown_rows(table, disclosure, suppressed)
    table = table.filter(pa.array(shown, type=pa.bool_()))
    suppressed = [s for s, keep in zip(suppressed, shown) if keep]
    columns = {}
    for name in table.column_names:
        if name in disclosure.hidden:
            continue
        kind = disclosure.kinds.get(name, "key")
        values = table.column(name)
        if kind != "key":
            cells = values.to_pylist()
            if kind == "round" and base > 1:
                cells = [round_to(v, base) for v in cells]
            cells = [None if s else v for v, s in zip(cells, suppressed)]
            values = pa.array(cells, type=values.type)
        columns[name] = values
    disclosure.suppressed = (primary, disclosure.suppressed[1])
    disclosure.applied = True
    return pa.table(columns) if columns else table.select([])


def _shown_rows(table: pa.Table, disclosure: Disclosure, suppressed: list[bool]) -> list[bool]:
    """A suppressed cell's row stays (its aggregates NULL) only where each of its group key values is also
    a key of a published row: a category known to hold k rows elsewhere. Otherwise the key itself would
    disclose (GROUP BY nino: every cell is one person) and the row is left out."""
    keys = [n for n in table.column_names if n not in disclosure.hidden and disclosure.kinds.get(n, "key") == "key"]
    values = {n: table.column(n).to_pylist() for n in keys}
    published = {n: {v for v, s in zip(values[n], suppressed) if not s} for n in keys}
    return [
        not hidden or all(values[n][row] is None or values[n][row] in published[n] for n in keys)
        for row, hidden in enumerate(suppressed)
    ]


def _secondary(table: pa.Table, disclosure: Disclosure, suppressed: list[bool]) -> None:
    keys = [table.column(v).to_pylist() for v, _ in disclosure.grouping]
    flags = [table.column(g).to_pylist() for _, g in disclosure.grouping]
    width = len(keys)

    def signature(row: int, drop: int | None = None) -> tuple[Any, ...]:
        return tuple(("*",) if (flags[j][row] or j == drop) else ("=", keys[j][row]) for j in range(width))

    by_signature: dict[tuple[Any, ...], int] = {signature(r): r for r in range(table.num_rows)}
    # children[(parent, d)]: the rows that add up to ``parent`` along dimension d
    children: dict[tuple[int, int], list[int]] = {}
    for row in range(table.num_rows):
        for d in range(width):
            if flags[d][row]:
                continue
            parent = by_signature.get(signature(row, drop=d))
            if parent is not None and parent != row:
                children.setdefault((parent, d), []).append(row)
    changed = True
    while changed:
        changed = False
        for (parent, _), cells in children.items():
            if not suppressed[parent] and sum(suppressed[c] for c in cells) == 1:
                suppressed[parent] = True
                changed = True


def round_to(value: Any, base: int) -> Any:
    """``value`` to the nearest multiple of ``base``, halves away from zero (None stays None)."""
    if value is None:
        return None
    if isinstance(value, decimal.Decimal):
        step = decimal.Decimal(base)
        return (value / step).quantize(decimal.Decimal(1), rounding=decimal.ROUND_HALF_UP) * step
    sign = -1 if value < 0 else 1
    multiple = int(abs(value) / base + 0.5) * base * sign
    return float(multiple) if isinstance(value, float) else multiple
