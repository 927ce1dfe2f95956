"""The terminal table: DuckDB's box mode, for results that stream.

* Fits a width: wide text columns are shortened (``…``) first, then middle columns
  are left out (a ``…`` column, and "30 columns (8 shown)" under the table).
* Long results show their first and last rows around a ``·`` gap, with the count.
* Numbers are right-aligned at full precision (``11231.99``, ``1234567.891``; a
  decimal keeps its scale); column types (``bigint``, ``decimal(12,2)``) sit
  under the names.
* Width is measured as a terminal draws it: East Asian wide characters and emoji
  take two cells, combining marks none (``wcwidth``).
* Control characters, newlines and tabs inside values show as visible escapes
  (``\\n``, ``\\t``, ``\\x1b``), as DuckDB shows them, so a value never breaks a line
  or moves the cursor; NULL is ``NULL``, booleans ``true``/``false``.

>>> print(box(["n", "name"], ["bigint", "varchar"], [True, False], [["1", "Ann"], ["22", "李"]], [], 2), end="")
┌────────┬─────────┐
│   n    │  name   │
│ bigint │ varchar │
├────────┼─────────┤
│      1 │ Ann     │
│     22 │ 李      │
└────────┴─────────┘
2 rows
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

#: the narrowest a shortened text column gets before columns are left out instead
MIN_SHORTENED = 12
#: no column is wider than this, whatever the width (unless ``wrap``)
MAX_COLUMN = 80
GAP_ROWS = 3


def cell_text(value: Any) -> str:
    """A value as the table shows it (see the module's docstring).

    >>> [cell_text(v) for v in (None, True, 1e20, 0.1 + 0.2, Decimal("0E-10"), "a\\nb", b"\\x00A")]
    ['NULL', 'true', '1e+20', '0.30000000000000004', '0.0000000000', 'a\\\\nb', '\\\\x00A']
    """
    from fedquery.formats import safe

    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same number, as DuckDB prints it
    if isinstance(value, Decimal):
        return format(value, "f")  # its scale kept, never scientific
    if isinstance(value, bytes):
        return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in value)
    if isinstance(value, dt.datetime):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(cell_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{safe(str(k), multiline=False)}: {cell_text(v)}" for k, v in value.items()) + "}"
    return safe(str(value), multiline=False)


def width_of(text: str) -> int:
    """Terminal cells ``text`` takes (wide characters 2, combining marks 0)."""
    from wcwidth import wcswidth

    n = wcswidth(text)
    return n if n >= 0 else len(text)


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` cells, ending in ``…`` when cut."""
    if width_of(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits beside the ellipsis (widths only grow with the prefix)
        mid = (low + high + 1) // 2
        if width_of(text[:mid]) <= width - 1:
            low = mid
        else:
            high = mid - 1
    return text[:low] + "…"


def _pad(text: str, width: int, align: str) -> str:
    space = max(0, width - width_of(text))
    if align == "right":
        return " " * space + text
    if align == "center":
        return " " * (space // 2) + text + " " * (space - space // 2)
    return text + " " * space


def _wrap(text: str, width: int) -> list[str]:
    """``text`` over lines of at most ``width`` cells, broken after ", " or a space where it can."""
    lines: list[str] = []
    while width_of(text) > width:
        head = clip(text, width + 1)[:-1] or text[:1]
        reach = text[: len(head) + 1]  # the space after a comma may fall just past the width: it is dropped
        cut = reach.rfind(", ") + 2 if ", " in reach else 0  # a list breaks between its items
        if cut < len(head) // 3:
            cut = head.rfind(" ") + 1 if " " in head else 0
        if cut < len(head) // 3:
            cut = len(head)
        lines.append(text[:cut].rstrip())
        text = text[cut:]
    return [*lines, text]


def box(
    names: list[str],
    types: list[str],
    numeric: list[bool],
    head: list[list[str]],
    tail: list[list[str]],
    total: int,
    *,
    width: int | None = None,
    wrap: bool = False,
) -> str:
    """The table of ``head`` (first rows) and ``tail`` (last rows) of ``total`` rows, fitting ``width`` cells.

    ``wrap``: a value wider than its column continues on the next lines instead of being cut.
    """
    from fedquery.formats import safe

    footer = f"{total} row{'s' if total != 1 else ''}"
    if not names:
        return footer + "\n"
    names = [safe(n, multiline=False) for n in names]
    rows = head + tail
    natural = [
        min(MAX_COLUMN if not wrap else 10**6, max([width_of(n), width_of(t), *(width_of(r[i]) for r in rows)]))
        for i, (n, t) in enumerate(zip(names, types))
    ]
    # A number is never cut; text is cut down to MIN_SHORTENED cells, a type name never.
    floors = [n if num else min(n, max(MIN_SHORTENED, width_of(t))) for n, t, num in zip(natural, types, numeric)]
    shown, widths = _fit(natural, floors, width)
    gap = len(rows) < total
    out = []

    def border(left: str, middle: str, right: str) -> str:
        return left + middle.join("─" * (w + 2) for w in widths) + right

    def line(values: list[str], aligns: list[str]) -> list[str]:
        cells = [values[i] if i is not None else "…" for i in shown]
        if not wrap:
            parts = [_pad(clip(c, w), w, a) for c, w, a in zip(cells, widths, aligns)]
            return ["│ " + " │ ".join(parts) + " │"]
        pieces = [_wrap(c, w) for c, w in zip(cells, widths)]
        depth = max(len(p) for p in pieces)
        return [
            "│ " + " │ ".join(_pad(p[k] if k < len(p) else "", w, a) for p, w, a in zip(pieces, widths, aligns)) + " │"
            for k in range(depth)
        ]

    value_aligns = ["right" if i is not None and numeric[i] else "left" for i in shown]
    center = ["center"] * len(shown)
    out.append(border("┌", "┬", "┐"))
    out += line(names, center)
    out += line(types, center)
    out.append(border("├", "┼", "┤"))
    for row in head:
        out += line(row, value_aligns)
    if gap and rows:
        dots = ["·"] * len(names)
        for _ in range(GAP_ROWS):
            out += line(dots, value_aligns)
    for row in tail:
        out += line(row, value_aligns)
    out.append(border("└", "┴", "┘"))
    if gap:
        footer += f" ({len(rows)} shown)"
    visible = sum(1 for i in shown if i is not None)
    if visible < len(names):
        footer += f", {len(names)} columns ({visible} shown)"
    return "\n".join(out) + "\n" + footer + "\n"


def _fit(natural: list[int], floors: list[int], width: int | None) -> tuple[list[int | None], list[int]]:
    """Which columns to show (None: the ``…`` column) and how wide, within ``width`` cells; a column is
    shortened down to its floor before columns are left out."""
    order: list[int | None] = list(range(len(natural)))
    widths = list(natural)

    def total(ws: list[int]) -> int:
        return sum(ws) + 3 * len(ws) + 1

    if width is None or total(widths) <= width:
        return order, widths
    # 1. Shorten the widest columns, each down to its floor.
    while total(widths) > width:
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    if total(widths) <= width:
        return order, widths
    # 2. Leave out middle columns: keep from both ends, alternately, while they fit beside the "…" column.
    left: list[int] = []
    right: list[int] = []
    budget = width - 1 - 4  # the outer border, the "…" column
    for k in range(len(natural)):
        i = k // 2 if k % 2 == 0 else len(natural) - 1 - k // 2
        if i in left or i in right:
            continue
        need = widths[i] + 3
        if need > budget:
            break
        (left if k % 2 == 0 else right).append(i)
        budget -= need
    if not left:  # not even one column fits: the first, cut to what is left
        left = [0]
        widths[0] = max(1, width - 4 - (4 if len(natural) > 1 else 0))
    if len(left) + len(right) == len(natural):
        return order, widths
    kept: list[int | None] = [*left, None, *sorted(right)]
    return kept, [widths[i] if i is not None else 1 for i in kept]
