"""A plan as a picture: departments as boxes holding the fragment each was sent, arrows to the local step.

Drawn as SVG by hand (a fixed left-to-right layout: departments, the local DuckDB step,
the result) so that no graph-layout package is needed. Every text (SQL carries ``<``,
``&`` and quotes) is escaped for XML.

>>> from fedquery.planner.plan import Plan
>>> svg = PlanGraph(Plan(sql="SELECT 1 < 2", fragments=[], local_sql="SELECT 1 < 2")).svg()
>>> svg.startswith("<svg") and "SELECT 1 &lt; 2" in svg
True
"""

from __future__ import annotations

import html
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedquery.errors import ChartError, format_size
from fedquery.pseudonym import redact_keys

if TYPE_CHECKING:
    from fedquery.fragment import Fragment
    from fedquery.planner.plan import Plan

CHAR = 7.2  # width of one character of 12px monospace, for wrapping and box sizes
LINE = 16
SQL_COLUMNS = 64
SQL_LINES = 5
FRAGMENT_WIDTH = SQL_COLUMNS * CHAR + 24
LOCAL_WIDTH = 400
RESULT_WIDTH = 170
GAP = 170  # room between columns for the arrows and their labels
PAD = 16
STYLE = (
    "text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;fill:#1b1b1b}"
    ".title{font-family:system-ui,sans-serif;font-weight:600;font-size:13px}"
    ".label{font-family:system-ui,sans-serif;font-size:11px;fill:#333}"
    ".dept{fill:#eef3f8;stroke:#6b8cae}.frag{fill:#fff;stroke:#355f8d}.local{fill:#fff7e6;stroke:#b7791f}"
    ".result{fill:#eefaf0;stroke:#2f855a}.arrow{stroke:#444;stroke-width:1.4;fill:none}"
)


@dataclass
class _Box:
    x: float
    y: float
    width: float
    height: float

    @property
    def middle(self) -> float:
        return self.y + self.height / 2


class PlanGraph:
    """The picture of a plan: ``svg()``, ``save(path)``; renders itself in notebooks."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def svg(self) -> str:
        """The picture as an SVG document."""
        plan, out = self.plan, list[str]()
        y = PAD + 28.0
        boxes: list[tuple[_Box, Fragment]] = []
        departments: dict[str, list[Fragment]] = {}
        for fragment in plan.fragments:
            departments.setdefault(fragment.department, []).append(fragment)
        for department, fragments in departments.items():
            top = y
            y += 24
            for fragment in fragments:
                lines = self._fragment_lines(fragment)
                box = _Box(PAD + 10, y, FRAGMENT_WIDTH, 26 + LINE * len(lines))
                boxes.append((box, fragment))
                out.append(_rect(box, "frag"))
                heading = f"{fragment.name} · {fragment.source} ({fragment.kind})"
                out.append(_text(box.x + 10, box.y + 18, heading, "title"))
                out.extend(_text(box.x + 10, box.y + 36 + LINE * i, line) for i, line in enumerate(lines))
                y += box.height + 12
            group = _Box(PAD, top, FRAGMENT_WIDTH + 20, y - top)
            out.insert(0, _rect(group, "dept") + _text(PAD + 10, top + 17, f"department {department}", "title"))
            y += 14
        local_lines = _wrap(plan.local_sql, 52, 8)
        local_height = 30 + LINE * len(local_lines)
        left_end = y if boxes else PAD + 28 + local_height
        local_x = PAD + FRAGMENT_WIDTH + 20 + GAP
        local = _Box(local_x, max(PAD + 28, (PAD + 28 + left_end) / 2 - local_height / 2), LOCAL_WIDTH, local_height)
        out.append(_rect(local, "local"))
        out.append(_text(local.x + 10, local.y + 18, "local DuckDB step", "title"))
        out.extend(_text(local.x + 10, local.y + 36 + LINE * i, line) for i, line in enumerate(local_lines))
        for box, fragment in boxes:
            out.append(_arrow(box.x + box.width, box.middle, local.x, local.middle, self._flow(fragment)))
        result = _Box(local.x + LOCAL_WIDTH + GAP, local.middle - 30, RESULT_WIDTH, 60)
        out.append(_rect(result, "result"))
        out.append(_text(result.x + 10, result.y + 22, "result", "title"))
        columns = ", ".join(plan.output_names)
        out.append(_text(result.x + 10, result.y + 42, _shorten(columns or "(columns)", 21)))
        rows = f"{plan.result_rows:,} rows" if plan.result_rows is not None else ""
        out.append(_arrow(local.x + local.width, local.middle, result.x, result.middle, rows))
        width = result.x + RESULT_WIDTH + PAD
        height = max(left_end, local.y + local.height, result.y + result.height) + PAD
        heading = f"Plan {plan.hash}: {len(plan.fragments)} fragment(s), pushdown={plan.pushdown}"
        if plan.execution_seconds is not None:
            heading += f", ran in {plan.execution_seconds:.3f} s"
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">'
            f"<title>{_escape(heading)}</title><style>{STYLE}</style>"
            '<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#444"/></marker></defs>'
            f'<rect width="100%" height="100%" fill="#fff"/>{_text(PAD, PAD + 10, heading, "title")}'
            + "".join(out)
            + "</svg>"
        )

    def _fragment_lines(self, fragment: Fragment) -> list[str]:
        lines = [_shorten(f"tables: {', '.join(fragment.tables)}", SQL_COLUMNS)]
        actual = self.plan.actuals.get(fragment.name)
        sql = redact_keys(actual.sql if actual is not None and getattr(actual, "sql", None) else fragment.sql)
        lines.extend(_wrap(sql, SQL_COLUMNS, SQL_LINES))
        if fragment.reducers:
            reduced = ", ".join(f"{name}.{column}" for name, column, _ in fragment.reducers)
            lines.append(_shorten(f"reduced by the keys of {reduced}", SQL_COLUMNS))
        return lines

    def _flow(self, fragment: Fragment) -> str:
        """The arrow's label: actual rows and bytes once the query ran (EXPLAIN ANALYZE), else the estimate."""
        actual = self.plan.actuals.get(fragment.name)
        if actual is not None:
            return f"{actual.rows:,} rows · {format_size(actual.bytes)}"
        rows = "? rows" if fragment.estimated_rows is None else f"~{fragment.estimated_rows:,} rows"
        size = "" if fragment.estimated_bytes is None else f" · ~{format_size(fragment.estimated_bytes)}"
        return rows + size

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the picture to ``.svg`` (or ``.html``: the SVG inside a page)."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            target.write_text(self.svg(), encoding="utf-8")
        elif suffix in (".html", ".htm"):
            target.write_text(self._repr_html_(), encoding="utf-8")
        else:
            raise ChartError(f"cannot write a plan picture to {str(path)!r}: the file must end in .svg or .html")
        return target

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        head = '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>plan</title></head>'
        return f"{head}<body>{self.svg()}</body></html>"

    def __repr__(self) -> str:
        return f"<fedquery.PlanGraph of plan {self.plan.hash}: {len(self.plan.fragments)} fragment(s)>"


def _escape(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _text(x: float, y: float, text: str, cls: str | None = None) -> str:
    attribute = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}"{attribute} xml:space="preserve">{_escape(text)}</text>'


def _rect(box: _Box, cls: str) -> str:
    size = f'width="{box.width:.1f}" height="{box.height:.1f}"'
    return f'<rect x="{box.x:.1f}" y="{box.y:.1f}" {size} rx="6" class="{cls}"/>'


def _arrow(x1: float, y1: float, x2: float, y2: float, label: str) -> str:
    bend = (x2 - x1) / 2
    path = f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
    text = _text(x1 + 8, y1 - 6, label, "label") if label else ""
    return f'<path d="{path}" class="arrow" marker-end="url(#head)"/>{text}'


def _wrap(sql: str, columns: int, lines: int) -> list[str]:
    """SQL on at most ``lines`` lines of ``columns`` characters; the last ends in ``…`` when cut."""
    wrapped = textwrap.wrap(" ".join(sql.split()), columns, break_long_words=True) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = _shorten(wrapped[-1] + " …", columns)
    return wrapped


def _shorten(text: str, columns: int) -> str:
    return text if len(text) <= columns else text[: columns - 1] + "…"
