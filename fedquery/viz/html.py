"""Self-contained HTML around Vega-Lite specs: the libraries inlined once, every spec as escaped JSON.

vl-convert's own HTML writer pastes the spec into a script verbatim, so a value such as
``</script><script>…`` in the data would end the script and run: here specs travel in
``<script type="application/json">`` blocks with ``<``, ``>``, ``&`` and the JavaScript line
separators escaped, and are read with ``JSON.parse``.
"""

from __future__ import annotations

import functools
import html
import json
import os
from pathlib import Path
from typing import Any

from fedquery.viz import require

#: draws every ``<div class="fq-chart" data-spec="ID">`` from the JSON block with that id; a failure is shown
EMBED = """
document.querySelectorAll("div.fq-chart").forEach(function (el) {
  var spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
  vegaEmbed(el, spec, {renderer: "svg", actions: false}).catch(function (err) {
    el.textContent = "This chart could not be drawn: " + err;
    console.error(err);
  });
});
"""


_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def script_json(value: Any) -> str:
    """JSON that is safe inside any ``<script>`` element.

    >>> script_json({"a": "</script>&"})
    '{"a": "\\\\u003c/script\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(value, default=str)
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return text


@functools.lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one classic script that sets ``window.vegaEmbed`` (from vl-convert).

    Bundling takes vl-convert about 3 s, so the bundle is kept in the cache directory, one file per
    vl-convert and Vega-Lite version (a cache that cannot be written only costs the next build its speed)."""
    from fedquery.viz.export import vl_version

    vlc = require("vl_convert")
    version = vl_version()
    cached = _cache_dir() / f"vega-bundle-{getattr(vlc, '__version__', 'x')}-vl{version}.js"
    try:
        return cached.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = str(vlc.javascript_bundle(vl_version=version)).replace("</script", "<\\/script")
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(bundle, encoding="utf-8")
        partial.replace(cached)
    except OSError:
        pass
    return bundle


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fedquery"


def spec_block(spec_id: str, spec: dict[str, Any]) -> str:
    """The JSON block a ``fq-chart`` div names in its ``data-spec``."""
    return f'<script type="application/json" id="{html.escape(spec_id)}">{script_json(spec)}</script>'


def scripts(bundle_url: str | None = None) -> str:
    """The libraries and the embedding code: put once, at the end of the body. With ``bundle_url`` (a served
    page) the libraries are fetched from there, once per browser, instead of inlined."""
    if bundle_url is not None:
        return f'<script src="{html.escape(bundle_url)}"></script>\n<script>{EMBED}</script>'
    return f"<script>{vega_bundle()}</script>\n<script>{EMBED}</script>"


def chart_page(spec: dict[str, Any], title: str = "fedquery chart") -> str:
    """One chart as a page that works from a file with no network."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title></head><body>\n"
        '<div class="fq-chart" data-spec="fq-spec-0"></div>\n'
        f"{spec_block('fq-spec-0', spec)}\n{scripts()}\n</body></html>\n"
    )
