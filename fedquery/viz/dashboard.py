"""Dashboards as code: a TOML file beside the catalog, run into panels of charts and tables.

A dashboard is ``NAME.dashboard.toml`` beside ``fedquery.toml`` or in a ``dashboards/``
folder beside it::

    [dashboard]
    title = "Pandemic response"
    text = "What the departments' latest data say."
    refresh = "5m"                      # how often `fedquery serve` re-runs it

    [[parameters]]                      # a drop-down, filled by a query
    name = "region"
    query = "SELECT DISTINCT region FROM dwp.claims ORDER BY region"
    default = "London"

    [[panels]]
    title = "Claims by benefit"
    sql = "SELECT benefit, count(*) AS claims FROM dwp.claims WHERE region = $region GROUP BY benefit"
    chart = { kind = "bar", x = "benefit", y = "claims" }   # or: table = true

``$name`` and ``:name`` in a panel's SQL are parameters: the SQL is parsed and each
placeholder node is replaced by a literal node of the chosen value (never pasted into the
text), and a value must be one of the drop-down's choices.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlglot
from sqlglot import exp

from fedquery.errors import DashboardError, FedQueryError
from fedquery.viz import KINDS

if TYPE_CHECKING:
    import pyarrow as pa

    from fedquery.federation import Federation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUFFIX = ".dashboard.toml"
FOLDER = "dashboards"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, None: 1}
CHART_WIDTH, CHART_HEIGHT = 560, 300
#: a static page built for every value holds at most this many combinations of parameter values
MAX_VARIANTS = 64


@dataclass
class Parameter:
    name: str
    query: str
    default: Any = None
    label: str | None = None


@dataclass
class Panel:
    title: str
    sql: str
    chart: dict[str, Any] | None  # kind, x, y, color (any may be missing: chosen from the types)
    text: str | None = None
    #: the parameters the SQL uses
    uses: list[str] = field(default_factory=list)


@dataclass
class Dashboard:
    name: str
    path: Path
    title: str
    text: str
    refresh_seconds: float | None
    parameters: list[Parameter]
    panels: list[Panel]


@dataclass
class SourceRead:
    """One fragment of a panel's query: what it read, where, and how fresh the data were."""

    department: str
    source: str
    kind: str
    tables: list[str]
    rows: int
    modified: str | None  # the inventory's last-modified of the tables, where the source can tell


@dataclass
class PanelRun:
    panel: Panel
    sql: str  # as run, parameters bound
    table: pa.Table | None
    reads: list[SourceRead]
    ran_at: dt.datetime
    seconds: float
    error: FedQueryError | None = None
    spec: dict[str, Any] | None = None  # the chart's Vega-Lite spec


def find(config_path: Path | None) -> dict[str, Path]:
    """Every dashboard beside the catalog file, by name (the file name without ``.dashboard.toml``)."""
    if config_path is None:
        return {}
    base = Path(config_path).parent
    files = sorted(base.glob(f"*{SUFFIX}")) + sorted((base / FOLDER).glob(f"*{SUFFIX}"))
    return {f.name[: -len(SUFFIX)]: f for f in files}


def get(config_path: Path | None, name: str) -> Dashboard:
    from fedquery.errors import suggest

    found = find(config_path)
    if name not in found:
        where = Path(config_path).parent if config_path else "(no catalog file)"
        known = f" (dashboards: {', '.join(found)})" if found else ""
        hint = suggest(name, found)
        raise DashboardError(f"no dashboard named {name!r}{known}.{hint}", file=f"{where}/{name}{SUFFIX}")
    return load(found[name])


def load(path: Path) -> Dashboard:
    """Read and check a dashboard file; every mistake is a :class:`DashboardError` naming the file and field."""
    file = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DashboardError(f"cannot be read: {exc.strerror}", file=file) from None
    except tomllib.TOMLDecodeError as exc:
        raise DashboardError(f"is not valid TOML: {exc}", file=file) from None
    _only(data, {"dashboard", "parameters", "panels"}, file, None)
    head = data.get("dashboard", {})
    _only(head, {"title", "text", "refresh"}, file, "dashboard")
    name = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else path.stem
    parameters = [_parameter(p, file, i) for i, p in enumerate(_list(data, "parameters", file))]
    declared = [p.name for p in parameters]
    if len(set(declared)) != len(declared):
        raise DashboardError("two parameters have the same name", file=file, field="parameters")
    panels = [_panel(p, file, i, declared) for i, p in enumerate(_list(data, "panels", file))]
    if not panels:
        raise DashboardError("a dashboard needs at least one [[panels]] entry", file=file, field="panels")
    refresh = head.get("refresh")
    return Dashboard(
        name=name,
        path=path,
        title=_text(head, "title", file, "dashboard", default=name),
        text=_text(head, "text", file, "dashboard", default=""),
        refresh_seconds=None if refresh is None else _seconds(refresh, file),
        parameters=parameters,
        panels=panels,
    )


def _only(table: Any, allowed: set[str], file: str, where: str | None) -> None:
    if not isinstance(table, dict):
        raise DashboardError("must be a table", file=file, field=where)
    for key in table:
        if key not in allowed:
            from fedquery.errors import suggest

            name = f"{where}.{key}" if where else key
            raise DashboardError(f"unknown field (allowed: {', '.join(sorted(allowed))}).{suggest(key, allowed)}",
                                 file=file, field=name)  # fmt: skip


def _list(data: dict[str, Any], key: str, file: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise DashboardError(f"must be an array of tables ([[{key}]])", file=file, field=key)
    return value


def _text(table: dict[str, Any], key: str, file: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or (default is None and not value.strip()):
        raise DashboardError("must be a non-empty string" if default is None else "must be a string",
                             file=file, field=f"{where}.{key}")  # fmt: skip
    return value


def _seconds(value: Any, file: str) -> float:
    match = _DURATION.match(str(value)) if isinstance(value, (str, int, float)) else None
    if match is None or float(match.group(1)) <= 0:
        raise DashboardError(f"{value!r} is not a duration (for example \"30s\", \"5m\", \"1h\")",
                             file=file, field="dashboard.refresh")  # fmt: skip
    return float(match.group(1)) * _UNITS[match.group(2)]


def _parameter(data: Any, file: str, i: int) -> Parameter:
    where = f"parameters[{i}]"
    _only(data, {"name", "query", "default", "label"}, file, where)
    name = _text(data, "name", file, where)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise DashboardError(f"{name!r} is not a parameter name (letters, digits, _)", file=file, field=f"{where}.name")
    query = _text(data, "query", file, where)
    _parse(query, file, f"{where}.query")
    return Parameter(name, query, data.get("default"), data.get("label"))


def _panel(data: Any, file: str, i: int, declared: list[str]) -> Panel:
    where = f"panels[{i}]"
    _only(data, {"title", "sql", "chart", "table", "text"}, file, where)
    title = _text(data, "title", file, where)
    sql = _text(data, "sql", file, where)
    uses = sorted(placeholders(_parse(sql, file, f"{where}.sql")))
    for name in uses:
        if name not in declared:
            raise DashboardError(f"uses ${name}, which is not a declared [[parameters]] name", file=file,
                                 field=f"{where}.sql")  # fmt: skip
    chart = data.get("chart")
    if chart is not None:
        _only(chart, {"kind", "x", "y", "color", "title"}, file, f"{where}.chart")
        if chart.get("kind") is not None and chart["kind"] not in KINDS:
            raise DashboardError(f"{chart['kind']!r} is not a chart kind (one of {', '.join(KINDS)})", file=file,
                                 field=f"{where}.chart.kind")  # fmt: skip
    table = data.get("table", chart is None)
    if not isinstance(table, bool):
        raise DashboardError("must be true or false", file=file, field=f"{where}.table")
    if chart is None and not table:
        raise DashboardError("a panel shows a chart or a table (chart = {...} or table = true)", file=file,
                             field=where)  # fmt: skip
    text = data.get("text")
    return Panel(title, sql, dict(chart) if chart is not None else None, text if isinstance(text, str) else None, uses)


def _parse(sql: str, file: str, where: str) -> exp.Expr:
    try:
        return sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0]["description"] if exc.errors else str(exc)
        raise DashboardError(f"the SQL does not parse: {first}", file=file, field=where) from None


def placeholders(tree: exp.Expr) -> set[str]:
    """The names of the ``$name`` / ``:name`` placeholders in a parsed statement.

    >>> sorted(placeholders(sqlglot.parse_one("SELECT 1 WHERE a = $region AND b = :item", read="duckdb")))
    ['item', 'region']
    """
    return {str(node.this) for node in tree.find_all(exp.Placeholder) if node.this}


def bind(sql: str, values: Mapping[str, Any]) -> str:
    """The SQL with each ``$name`` / ``:name`` node replaced by a literal node of its value.

    >>> bind("SELECT * FROM dwp.claims WHERE region = $region", {"region": "North's"})
    "SELECT * FROM dwp.claims WHERE region = 'North''s'"
    """
    tree = sqlglot.parse_one(sql, read="duckdb")

    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.this:
            return exp.convert(values[str(node.this)])
        return node

    return tree.transform(replace).sql(dialect="duckdb")


def choices(fed: Federation, dashboard: Dashboard) -> dict[str, list[Any]]:
    """Each parameter's drop-down: the first column of its query."""
    out = {}
    for i, p in enumerate(dashboard.parameters):
        table = fed.sql(p.query).arrow()
        out[p.name] = [c for c in table.column(0).to_pylist() if c is not None]
        if not out[p.name]:
            raise DashboardError("the query gave no values: the drop-down would be empty", file=str(dashboard.path),
                                 field=f"parameters[{i}].query")  # fmt: skip
    return out


def resolve(dashboard: Dashboard, options: Mapping[str, list[Any]], given: Mapping[str, str]) -> dict[str, Any]:
    """The value of every parameter: as given (it must be one of the choices), else the default, else the first
    choice. Values given as text (``--param region=London``, a query string) are matched by their text."""
    values = {}
    for i, p in enumerate(dashboard.parameters):
        choices_ = options.get(p.name, [])
        if p.name in given:
            text = str(given[p.name])
            match = [c for c in choices_ if str(c) == text]
            if not match:
                raise DashboardError(f"{text!r} is not one of its choices ({_shown(choices_)})",
                                     file=str(dashboard.path), field=f"parameters.{p.name}")  # fmt: skip
            values[p.name] = match[0]
        elif p.default is not None:
            match = [c for c in choices_ if str(c) == str(p.default)]
            if not match:
                raise DashboardError(f"{p.default!r} is not one of its choices ({_shown(choices_)})",
                                     file=str(dashboard.path), field=f"parameters[{i}].default")  # fmt: skip
            values[p.name] = match[0]
        else:
            values[p.name] = choices_[0]
    for name in given:
        if name not in values:
            raise DashboardError("the dashboard has no such parameter", file=str(dashboard.path), field=name)
    return values


def _shown(choices: list[Any]) -> str:
    more = f", … {len(choices) - 10} more" if len(choices) > 10 else ""
    return ", ".join(str(c) for c in choices[:10]) + more


def run_panel(
    fed: Federation,
    dashboard: Dashboard,
    index: int,
    values: Mapping[str, Any],
    modified: Mapping[str, str | None],
) -> PanelRun:
    """Run one panel's query (parameters bound) and draw its chart; a typed error is kept on the run, not raised."""
    panel = dashboard.panels[index]
    sql = bind(panel.sql, values) if panel.uses else panel.sql
    ran_at = dt.datetime.now(dt.timezone.utc)
    started = time.perf_counter()
    try:
        result = fed.sql(sql)
        table = result.arrow()
    except FedQueryError as exc:
        return PanelRun(panel, sql, None, [], ran_at, time.perf_counter() - started, exc)
    reads = []
    by_name = {f.name: f for f in result.plan.fragments}
    for s in result.stats:
        fragment = by_name.get(s.fragment.split("@")[0])
        tables = list(fragment.tables) if fragment is not None else []
        dates = [m for m in (modified.get(t) for t in tables) if m]
        reads.append(SourceRead(s.department, s.source, s.kind, tables, s.rows, max(dates) if dates else None))
    panel_run = PanelRun(panel, sql, table, reads, ran_at, time.perf_counter() - started)
    if panel.chart is not None:
        from fedquery.errors import ChartError
        from fedquery.viz.chart import chart

        try:
            panel_run.spec = chart(table, **panel.chart, width=CHART_WIDTH, height=CHART_HEIGHT).to_dict()
        except ChartError as exc:
            panel_run.error = DashboardError(exc.message, file=str(dashboard.path), field=f"panels[{index}].chart")
    return panel_run


def freshness(fed: Federation) -> dict[str, str | None]:
    """Last-modified of every dataset the inventory knows (``department.table`` -> ISO time or None)."""
    try:
        inventory = fed.inventory()
    except FedQueryError:
        return {}
    return {d.id: d.modified for d in inventory.datasets}


def run(
    fed: Federation,
    dashboard: Dashboard,
    given: Mapping[str, str] | None = None,
) -> DashboardRun:
    """Fill the drop-downs, choose the parameters' values and run every panel."""
    options = choices(fed, dashboard)
    values = resolve(dashboard, options, given or {})
    modified = freshness(fed)
    runs = [run_panel(fed, dashboard, i, values, modified) for i in range(len(dashboard.panels))]
    return DashboardRun(dashboard, options, values, runs, dt.datetime.now(dt.timezone.utc))


def run_every(
    fed: Federation, dashboard: Dashboard, limit: int = MAX_VARIANTS
) -> tuple[DashboardRun, list[DashboardRun]]:
    """Run the dashboard for every combination of its parameters' values (panels without parameters once):
    the default combination's run and all of them. More than ``limit`` combinations is a DashboardError."""
    options = choices(fed, dashboard)
    names = [p.name for p in dashboard.parameters]
    combinations = list(itertools.product(*[options[n] for n in names]))
    if len(combinations) > limit:
        raise DashboardError(f"{len(combinations):,} combinations of parameter values, more than {limit} in one page",
                             file=str(dashboard.path), field="parameters")  # fmt: skip
    default = resolve(dashboard, options, {})
    modified = freshness(fed)
    once: dict[int, PanelRun] = {}
    runs = []
    for combination in combinations:
        values = dict(zip(names, combination))
        panels = []
        for i, panel in enumerate(dashboard.panels):
            if not panel.uses and i in once:
                panels.append(once[i])
                continue
            panels.append(run_panel(fed, dashboard, i, values, modified))
            if not panel.uses:
                once[i] = panels[-1]
        runs.append(DashboardRun(dashboard, options, values, panels, dt.datetime.now(dt.timezone.utc)))
    shown = next((r for r in runs if r.values == default), runs[0])
    return shown, runs


@dataclass
class DashboardRun:
    dashboard: Dashboard
    options: dict[str, list[Any]]
    values: dict[str, Any]
    panels: list[PanelRun]
    built_at: dt.datetime

    @property
    def errors(self) -> list[FedQueryError]:
        return [p.error for p in self.panels if p.error is not None]
