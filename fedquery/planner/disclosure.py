"""Disclosure control in the planner: queries over tables with an output rule (see fedquery.disclosure).

Runs after bind. Where a query reads a table with an output rule, that table must be read
directly by the outermost SELECT, which must aggregate; the pass then adds hidden columns: the
source rows behind each output row (``COUNT(DISTINCT key)`` of each protected table with a
single-column unique key, else ``COUNT(*)`` of the joined rows), and for ROLLUP/CUBE/GROUPING
SETS each grouping key with its ``GROUPING()`` flag. Refused, with :class:`DisclosureError`:
row-level queries over an ``aggregate_only`` table, a protected table read anywhere else
(a subquery, a CTE, a set operation), HAVING, window functions, and ORDER BY on an aggregate
(each would tell something of a suppressed cell).

>>> from fedquery.planner.disclosure import _aggregates
>>> import sqlglot
>>> _aggregates(sqlglot.parse_one("SELECT region, count(*) FROM t GROUP BY region"))
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.disclosure import Disclosure, DisclosureError, OutputRule, rule_for
from fedquery.policy.enforce import POLICY_TAG

if TYPE_CHECKING:
    from fedquery.catalog import CatalogTable
    from fedquery.planner.context import PlanContext

HIDDEN = "__fq_sdc_"


def disclosure(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    protected = _protected(context)
    if not protected:
        return expression
    rules = list(protected.values())
    context.output_rules = [r.describe() for r in rules]
    names = ", ".join(r.table for r in rules)
    select = expression
    if not isinstance(select, exp.Select):
        raise DisclosureError(f"{names} has an output rule: only a single aggregate SELECT can read it (no UNION)")
    direct = _direct_tables(select)
    for key, rule in protected.items():
        if key not in direct:
            raise DisclosureError(
                f"{rule.table} has an output rule: it must be read by the outermost SELECT (not in a subquery or CTE)"
            )
    if not _aggregates(select):
        if any(r.aggregate_only for r in rules):
            table = next(r.table for r in rules if r.aggregate_only)
            raise DisclosureError(
                f"{table} is aggregate-only: row-level results are refused; aggregate it (GROUP BY with counts)"
            )
        return expression
    if select.args.get("having"):
        raise DisclosureError(f"{names} has an output rule: HAVING is refused (it would reveal small cells)")
    if any(p.find(exp.Window) for p in select.expressions):
        raise DisclosureError(f"{names} has an output rule: window functions are refused in its aggregate")
    aggregate_names = {p.alias_or_name for p in select.expressions if p.find(exp.AggFunc)}
    for ordered in (select.args.get("order") or exp.Order()).expressions:
        if ordered.find(exp.AggFunc) or any(
            c.name in aggregate_names and not c.table for c in ordered.find_all(exp.Column)
        ):
            raise DisclosureError(
                f"{names} has an output rule: ORDER BY an aggregate is refused (it ranks suppressed cells)"
            )
    kinds = {}
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        _check_aggregates(projection, inner, names)
        if projection.find(exp.AggFunc):
            kinds[projection.alias_or_name] = "round" if isinstance(inner, (exp.Count, exp.Sum)) else "suppress"
    counts: list[str] = []
    for key in protected:
        alias = direct[key]
        unique = context.tables[key].unique_key()
        if len(unique) == 1 and _readable(select, alias, unique[0]):
            counted: exp.Expr = exp.Count(
                this=exp.Distinct(expressions=[exp.column(unique[0], table=alias, quoted=True)])
            )
        else:
            counted = exp.Count(this=exp.Star())
        counts.append(f"{HIDDEN}n{len(counts)}")
        select.select(exp.alias_(counted, counts[-1], quoted=True), copy=False)
    grouping = []
    for i, key_expression in enumerate(_grouping_keys(select)):
        value, flag = f"{HIDDEN}k{i}", f"{HIDDEN}g{i}"
        select.select(exp.alias_(key_expression.copy(), value, quoted=True), copy=False)
        select.select(
            exp.alias_(exp.Anonymous(this="GROUPING", expressions=[key_expression.copy()]), flag, quoted=True),
            copy=False,
        )
        grouping.append((value, flag))
    context.disclosure = Disclosure(
        rules=rules,
        min_cell_count=max((r.min_cell_count or 1) for r in rules),
        rounding=max((r.rounding or 1) for r in rules),
        kinds=kinds,
        counts=counts,
        grouping=grouping,
    )
    return expression


def _check_aggregates(projection: exp.Expr, inner: exp.Expr, names: str) -> None:
    """Aggregates whose contributing rows are the cell's, and counts/sums that can be rounded.

    ``sum(CASE WHEN nino = 'X' THEN 1000 END)`` or ``count(*) FILTER (...)`` would count fewer rows than
    the cell (one person in a cell of fifty), and ``count(*) * 1000`` would undo the rounding."""
    aggregates = list(projection.find_all(exp.AggFunc))
    if not aggregates:
        return
    if projection.find(exp.Filter):
        raise DisclosureError(f"{names} has an output rule: aggregates with FILTER are refused (use WHERE)")
    for aggregate in aggregates:
        argument = aggregate.this
        if isinstance(argument, exp.Distinct):
            plain = all(isinstance(e, exp.Column) for e in argument.expressions)
        else:
            plain = argument is None or isinstance(argument, (exp.Star, exp.Column))
        if not plain:
            raise DisclosureError(
                f"{names} has an output rule: {aggregate.sql('duckdb')[:60]} aggregates an expression; "
                "only plain columns can be aggregated (filter rows with WHERE)"
            )
    if any(isinstance(a, (exp.Count, exp.Sum)) for a in aggregates) and not isinstance(inner, (exp.Count, exp.Sum)):
        raise DisclosureError(
            f"{names} has an output rule: a COUNT or SUM must be an output column of its own "
            f"(not inside {inner.sql('duckdb')[:60]}), so that it can be rounded"
        )


def _protected(context: PlanContext) -> dict[str, OutputRule]:
    """Internal table key -> the output rule of every table with one the query reads."""
    out = {}
    for key, table in context.tables.items():
        rule = _rule(context, table)
        if rule is not None:
            out[key] = rule
    return out


def _rule(context: PlanContext, table: CatalogTable) -> OutputRule | None:
    department = context.catalog.config.departments.get(table.department)
    department_rule = getattr(department, "output", None)
    purpose = context.principal.purpose if context.principal is not None else None
    return rule_for(department_rule, table.info.options.get("output"), table.sql_name, purpose)


def _direct_tables(select: exp.Select) -> dict[str, str]:
    """Internal table key -> alias of each table the SELECT reads in its own FROM and JOINs (directly, or
    through the principal's view of it that the access rules put in its place: see fedquery.policy)."""
    out: dict[str, str] = {}
    sources = [select.args.get("from_")] + list(select.args.get("joins") or [])
    for source in sources:
        item = source.this if source is not None else None
        if isinstance(item, exp.Table):
            out[item.name] = item.alias_or_name
        elif isinstance(item, exp.Subquery) and POLICY_TAG in item.this.meta:
            inner = item.this.args.get("from_")
            if inner is not None and isinstance(inner.this, exp.Table):
                out[inner.this.name] = item.alias_or_name
    return out


def _readable(select: exp.Select, alias: str, column: str) -> bool:
    """Can ``alias.column`` be named in ``select``? Not where the principal's view of the table hides it."""
    for source in [select.args.get("from_")] + list(select.args.get("joins") or []):
        item = source.this if source is not None else None
        if isinstance(item, exp.Subquery) and item.alias_or_name == alias:
            return column in {p.alias_or_name for p in item.this.expressions}
    return True


def _aggregates(select: exp.Expr) -> bool:
    if not isinstance(select, exp.Select):
        return False
    if select.args.get("group"):
        return True
    return any(p.find(exp.AggFunc) for p in select.expressions)


def _grouping_keys(select: exp.Select) -> list[exp.Expr]:
    """The distinct grouping expressions of ROLLUP / CUBE / GROUPING SETS (none for a plain GROUP BY)."""
    group = select.args.get("group")
    if group is None or not group.find(exp.Rollup, exp.Cube, exp.GroupingSets):
        return []
    keys: list[exp.Expr] = []
    for node in group.walk():
        if isinstance(node, exp.Column) and not any(node == k for k in keys):
            keys.append(node)
    return keys
