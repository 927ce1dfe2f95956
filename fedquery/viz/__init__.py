"""Pictures of answers: charts of results, pictures of plans, dashboards built from files.

Altair and vl-convert are optional (``pip install 'fedquery[viz]'``) and imported only by the
functions that draw, so ``import fedquery`` does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import Any

from fedquery.errors import ConfigError

EXTRA_HINT = "pip install 'fedquery[viz]'"
#: chart kinds (here, not in chart.py, so that the CLI can offer them without importing pyarrow.compute)
KINDS = ("bar", "line", "area", "scatter", "histogram")


class VizNotInstalledError(ConfigError):
    """Charts need an optional package (altair, vl-convert-python) that is not installed."""


def require(module: str) -> Any:
    """Import an optional visualisation package, or raise a typed error with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise VizNotInstalledError(f"charts need the {module!r} package: {EXTRA_HINT}") from None


def save(chart: Any, path: str, *, scale: float = 1.0) -> Any:
    """Write a chart to .png, .svg or .html (self-contained: the JavaScript is inlined, no CDN)."""
    from fedquery.viz.export import save as _save

    return _save(chart, path, scale=scale)


def plot(table: Any, path: str, **channels: Any) -> Any:
    """Chart an Arrow table (defaults as :meth:`fedquery.result.Result.chart`) and write it to ``path``.

    The extension is checked before anything is drawn, the columns before anything is written."""
    from fedquery.viz.chart import chart
    from fedquery.viz.export import file_format

    file_format(path)
    return save(chart(table, **channels), path)
