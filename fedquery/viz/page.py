"""A dashboard run as one HTML page: charts, the tables behind them, each panel's SQL and provenance.

The same page serves ``fedquery dashboard build`` (a file that works offline: the chart
libraries are inlined once) and ``fedquery serve`` (``live=True``: the drop-downs submit,
the page reloads on the dashboard's refresh interval). Every text is escaped; chart specs
travel as escaped JSON (see :mod:`fedquery.viz.html`).
"""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

from fedquery.viz.dashboard import DashboardRun, PanelRun

TABLE_ROWS = 100
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1b1b;background:#f4f5f7}
header{background:#1d3557;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:4px 0;max-width:70em}header .meta{font-size:13px;opacity:.85}
form.params{padding:10px 24px;background:#fff;border-bottom:1px solid #ddd;font-size:14px}
form.params label{margin-right:16px}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(620px,1fr));gap:16px;padding:16px 24px}
section.panel{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:12px 16px;overflow:auto}
section.panel h2{font-size:17px;margin:0 0 6px}.provenance{font-size:12px;color:#444;margin:8px 0}
.provenance ul{margin:4px 0;padding-left:18px}table.data{border-collapse:collapse;font-size:12px;margin:6px 0}
table.data th,table.data td{border:1px solid #ddd;padding:2px 6px;text-align:left}
table.data td.num{text-align:right}pre.sql{background:#f6f8fa;padding:8px;white-space:pre-wrap;font-size:12px}
.error{background:#fdecea;border:1px solid #e0b4b4;color:#7a1c1c;padding:8px;border-radius:4px;white-space:pre-wrap}
details summary{cursor:pointer;font-size:13px;margin-top:4px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def render(
    run: DashboardRun,
    *,
    live: bool = False,
    nav: str = "",
    bundle_url: str | None = None,
    variants: list[DashboardRun] | None = None,
) -> str:
    """The page. ``live``: a served page (drop-downs that submit, reload every ``refresh``); ``bundle_url``:
    where a served page loads the chart libraries from (inlined when None). ``variants``: a static page built
    for every combination of parameter values (``run`` is the one shown first); its drop-downs switch between
    them in the page, with no server."""
    from fedquery.viz.html import scripts

    board = run.dashboard
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_e(board.title)}</title><style>{CSS}</style>",
    ]
    if live and board.refresh_seconds:
        parts.append(f'<meta http-equiv="refresh" content="{int(board.refresh_seconds)}">')
    parts.append("</head><body>")
    parts.append(f"<header>{nav}<h1>{_e(board.title)}</h1>")
    parts.extend(f"<p>{_e(p.strip())}</p>" for p in board.text.split("\n\n") if p.strip())
    refresh = f"; re-run every {_duration(board.refresh_seconds)} when served" if board.refresh_seconds else ""
    parts.append(f'<p class="meta">Run at {_when(run.built_at)}{refresh}. Dashboard file: {_e(board.path.name)}</p>')
    parts.append("</header>")
    parts.append(_parameters(run, live, switching=variants is not None))
    parts.append("<main>")
    blocks = []
    for i, panel_run in enumerate(run.panels):
        if variants is None or not panel_run.panel.uses:
            parts.append(_panel(panel_run, f"fq-spec-{i}", i))
            blocks.extend(_spec(panel_run, f"fq-spec-{i}"))
            continue
        bodies = []
        for k, variant in enumerate(variants):
            spec_id, key = f"fq-spec-{i}-{k}", variant_key(variant.values, run.dashboard)
            hidden = "" if variant.values == run.values else " hidden"
            body = _panel_body(variant.panels[i], spec_id)
            bodies.append(f'<div class="variant" data-key="{_e(key)}"{hidden}>{body}</div>')
            blocks.extend(_spec(variant.panels[i], spec_id))
        parts.append(f"{_panel_head(panel_run.panel, i)}{''.join(bodies)}</section>")
    parts.append("</main>")
    parts.extend(blocks)
    if variants is not None:
        parts.append(f"<script>{SWITCH}</script>")
    if blocks:
        parts.append(scripts(bundle_url))
    parts.append("</body></html>\n")
    return "\n".join(parts)


#: a static page built for every value: the drop-downs show the panels' variant for the chosen values
SWITCH = """
(function () {
  var selects = Array.from(document.querySelectorAll("form.params select"));
  function show() {
    var key = JSON.stringify(selects.map(function (s) { return s.value; }));
    document.querySelectorAll("div.variant").forEach(function (v) { v.hidden = v.dataset.key !== key; });
  }
  selects.forEach(function (s) { s.addEventListener("change", show); });
})();
"""


def variant_key(values: dict[str, Any], board: Any) -> str:
    """The key of one combination of values, as the page's script computes it from the drop-downs.

    >>> from types import SimpleNamespace as NS
    >>> variant_key({"region": "North West", "n": 3}, NS(parameters=[NS(name="region"), NS(name="n")]))
    '["North West","3"]'
    """
    return json.dumps([str(values[p.name]) for p in board.parameters], separators=(",", ":"), ensure_ascii=False)


def _spec(run: PanelRun, spec_id: str) -> list[str]:
    from fedquery.viz.html import spec_block

    return [spec_block(spec_id, run.spec)] if run.spec is not None and run.error is None else []


def _parameters(run: DashboardRun, live: bool, switching: bool = False) -> str:
    if not run.dashboard.parameters:
        return ""
    fields = []
    for p in run.dashboard.parameters:
        options = "".join(
            f'<option value="{_e(c)}"{" selected" if c == run.values.get(p.name) else ""}>{_e(c)}</option>'
            for c in run.options.get(p.name, [])
        )
        disabled = "" if live or switching else " disabled"
        onchange = ' onchange="this.form.submit()"' if live else ""
        fields.append(
            f'<label>{_e(p.label or p.name)} <select name="{_e(p.name)}"{disabled}{onchange}>{options}</select></label>'
        )
    note = (
        "" if live or switching else '<span class="meta">Built for the values shown; <code>fedquery serve</code> '
        "re-runs the panels for another choice; <code>build --every-value</code> puts every choice in the page.</span>"
    )
    return f'<form class="params" method="get">{"".join(fields)}{note}</form>'


def table_html(table: Any) -> str:
    """A result as an HTML table (its first rows, saying how many more there are)."""
    return _table(table)


def _panel(run: PanelRun, spec_id: str, index: int) -> str:
    return f"{_panel_head(run.panel, index)}{_panel_body(run, spec_id)}</section>"


def _panel_head(panel: Any, index: int) -> str:
    text = f"<p>{_e(panel.text)}</p>" if panel.text else ""
    return f'<section class="panel" id="panel-{index}"><h2>{_e(panel.title)}</h2>{text}'


def _panel_body(run: PanelRun, spec_id: str) -> str:
    panel = run.panel
    out = []
    if run.error is not None:
        out.append(f'<div class="error" role="alert">{_e(run.error)}</div>')
    elif run.spec is not None:
        out.append(f'<div class="fq-chart" data-spec="{_e(spec_id)}"></div>')
    if run.table is not None:
        shown = _table(run.table)
        if panel.chart is None:
            out.append(shown)
        else:
            out.append(f"<details><summary>The data ({run.table.num_rows:,} rows)</summary>{shown}</details>")
    out.append(f'<details><summary>SQL</summary><pre class="sql">{_e(run.sql.strip())}</pre></details>')
    out.append(_provenance(run))
    return "".join(out)


def _provenance(run: PanelRun) -> str:
    reads = []
    for r in run.reads:
        fresh = f"data last modified {_when_text(r.modified)}" if r.modified else "last-modified not known"
        tables = ", ".join(r.tables) or f"{r.department}.{r.source}"
        reads.append(
            f"<li>{_e(tables)}: department <b>{_e(r.department)}</b>, source {_e(r.source)} ({_e(r.kind)}), "
            f"{r.rows:,} rows read, {_e(fresh)}</li>"
        )
    when = f"Ran at {_when(run.ran_at)} in {run.seconds:.2f} s."
    if not reads:
        return f'<div class="provenance">{when}</div>'
    return f'<div class="provenance">{when} Read from:<ul>{"".join(reads)}</ul></div>'


def _table(table: Any) -> str:
    names = table.column_names
    numeric = [_is_number(f.type) for f in table.schema]
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    rows = []
    part = table.slice(0, TABLE_ROWS)
    for row in zip(*[c.to_pylist() for c in part.columns]):
        cells = "".join(
            f'<td{" class=num" if num else ""}>{"" if v is None else _e(v)}</td>' for v, num in zip(row, numeric)
        )
        rows.append(f"<tr>{cells}</tr>")
    more = table.num_rows - part.num_rows
    tail = f"<p>The first {TABLE_ROWS} of {table.num_rows:,} rows; {more:,} more not shown here.</p>" if more else ""
    return f'<table class="data"><tr>{head}</tr>{"".join(rows)}</table>{tail}'


def _is_number(data_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(data_type) or pa.types.is_floating(data_type) or pa.types.is_decimal(data_type))


def _when(moment: dt.datetime) -> str:
    return _e(moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"))


def _when_text(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


def _duration(seconds: float) -> str:
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
