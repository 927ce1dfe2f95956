"""Real-browser tests (headless Debian chromium through Playwright): the built pages load from file://, every
chart renders, nothing is fetched from the network, no console errors; screenshots are kept as artefacts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import fedquery
from fedquery.viz import dashboard as boards
from fedquery.viz import page, save
from fedquery.viz.chart import chart
from tests.browser import browser, chromium_or_skip, watch

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    chromium_or_skip()
    with browser() as instance:
        yield instance


def test_demo_dashboard_renders_offline(chromium: Any, demo_config: Path, tmp_path: Path) -> None:
    with fedquery.connect(demo_config) as fed:
        run = boards.run(fed, boards.get(demo_config, "pandemic"))
    target = tmp_path / "dashboard.html"
    target.write_text(page.render(run))
    charts = sum(p.spec is not None for p in run.panels)
    watched = watch(chromium)
    watched.page.goto(target.as_uri())
    drawn = watched.charts_drawn(charts)
    assert len(drawn) == charts == 3
    for figure in drawn:
        assert figure["width"] > 200 and figure["height"] > 100 and figure["marks"] > 0, figure
    assert watched.page.locator("section.panel").count() == len(run.panels)
    assert watched.page.locator("table.data").count() == len(run.panels), "every panel shows its table"
    shot = watched.screenshot("demo-dashboard")
    assert shot.stat().st_size > 10_000
    assert watched.console_errors == []
    assert watched.blocked == [] and all(u.startswith("file://") for u in watched.requests)


def test_hostile_data_cannot_run_script_in_the_page(chromium: Any, demo_config: Path, tmp_path: Path) -> None:
    folder = tmp_path / "fed"
    shutil.copytree(demo_config.parent, folder)
    hostile = "</script><script>window.__pwned = 1</script><img src=x onerror=window.__pwned=2>"
    (folder / "x.dashboard.toml").write_text(
        f'[dashboard]\ntitle = "{hostile}"\n[[panels]]\ntitle = "{hostile}"\n'
        f"sql = \"SELECT '{hostile}' AS label, 1 AS n\"\nchart = {{ kind = \"bar\" }}\n"
    )
    with fedquery.connect(folder / "fedquery.toml") as fed:
        run = boards.run(fed, boards.get(folder / "fedquery.toml", "x"))
    target = tmp_path / "x.html"
    target.write_text(page.render(run))
    watched = watch(chromium)
    watched.page.goto(target.as_uri())
    watched.charts_drawn(1)
    assert watched.page.evaluate("window.__pwned") is None
    assert watched.page.locator("h1").inner_text() == hostile, "shown as text"
    assert watched.console_errors == [] and watched.blocked == []


def test_single_chart_html_export_renders(chromium: Any, tmp_path: Path) -> None:
    table = pa.table({"region": ["London", "Midlands", "North West"], "claims": [12, 30, 7]})
    target = save(chart(table, title="Claims"), str(tmp_path / "claims.html"))
    watched = watch(chromium, viewport=(800, 500))
    watched.page.goto(target.as_uri())
    (figure,) = watched.charts_drawn(1)
    assert figure["marks"] >= 3
    assert "Midlands" in (watched.page.locator("div.fq-chart svg").text_content() or "")
    watched.screenshot("chart-export")
    assert watched.console_errors == [] and watched.blocked == []


def test_every_value_page_switches_offline(chromium: Any, demo_config: Path, tmp_path: Path) -> None:
    with fedquery.connect(demo_config) as fed:
        shown, variants = boards.run_every(fed, boards.get(demo_config, "pandemic"))
    target = tmp_path / "every.html"
    target.write_text(page.render(shown, variants=variants))
    watched = watch(chromium)
    watched.page.goto(target.as_uri())
    watched.charts_drawn(len([p for v in variants for p in v.panels if p.spec is not None and p.panel.uses]) + 1)
    visible_sql = "Array.from(document.querySelectorAll('div.variant:not([hidden]) pre.sql')).map(e => e.textContent)"
    assert all("'London'" in sql for sql in watched.page.evaluate(visible_sql))
    watched.page.select_option("select[name=region]", "South West")
    shown_now = watched.page.evaluate(visible_sql)
    assert len(shown_now) == 2 and all("'South West'" in sql for sql in shown_now)
    visible_charts = watched.page.locator("div.variant:not([hidden]) div.fq-chart svg")
    assert visible_charts.count() == 2 and all(
        box["width"] > 200 for box in (visible_charts.nth(i).bounding_box() for i in range(2)) if box
    )
    watched.screenshot("demo-dashboard-every-value")
    assert watched.console_errors == [] and watched.blocked == []
