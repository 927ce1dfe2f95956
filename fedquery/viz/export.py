"""Charts to files with no network: PNG, SVG and self-contained HTML through vl-convert.

vl-convert carries Vega, Vega-Lite and vega-embed inside its wheel, so a PNG or SVG is
rendered in-process and the HTML page inlines the libraries instead of linking a CDN.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fedquery.errors import ChartError
from fedquery.viz import require

FORMATS = ("png", "svg", "html")


def spec(chart: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart (or a spec dict as it is)."""
    return chart if isinstance(chart, dict) else chart.to_dict()


def vl_version() -> str:
    """The Vega-Lite version vl-convert renders with: the one Altair writes specs for (``6.4``)."""
    alt = require("altair")
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    available = require("vl_convert").get_vegalite_versions()
    return major_minor if major_minor in available else available[-1]


def file_format(path: str | os.PathLike[str]) -> str:
    """``png``, ``svg`` or ``html`` from the file's extension (ChartError for any other)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "htm":
        suffix = "html"
    if suffix not in FORMATS:
        raise ChartError(f"cannot write a chart to {str(path)!r}: the file must end in .png, .svg or .html")
    return suffix


def render(chart: Any, fmt: str, *, scale: float = 1.0) -> bytes:
    """The chart as PNG bytes, SVG text or a self-contained HTML page (all encoded as UTF-8 where text)."""
    vlc = require("vl_convert")
    the_spec, version = spec(chart), vl_version()
    if fmt == "png":
        return bytes(vlc.vegalite_to_png(the_spec, vl_version=version, scale=scale))
    if fmt == "svg":
        return str(vlc.vegalite_to_svg(the_spec, vl_version=version)).encode()
    if fmt == "html":
        from fedquery.viz.html import chart_page

        return chart_page(the_spec).encode()
    raise ChartError(f"unknown chart format {fmt!r} (one of {', '.join(FORMATS)})")


def save(chart: Any, path: str | os.PathLike[str], *, scale: float = 1.0) -> Path:
    """Write the chart to ``path``; the format comes from the extension (.png, .svg, .html)."""
    fmt = file_format(path)
    data = render(chart, fmt, scale=scale)
    target = Path(path)
    target.write_bytes(data)
    return target
