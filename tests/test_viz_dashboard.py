"""Dashboards as code: the file format's typed errors, parameters bound as literal nodes, and the built page
(charts, tables, SQL, provenance) equal to running each panel's query directly."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.errors import DashboardError
from fedquery.viz import dashboard as boards

BOARD = """
[dashboard]
title = "Claims <& support>"
text = "First paragraph.\\n\\nSecond \\"quoted\\" paragraph."
refresh = "5m"

[[parameters]]
name = "region"
query = "SELECT DISTINCT region FROM dwp.claims ORDER BY region"
default = "London"

[[panels]]
title = "Claims by benefit"
sql = "SELECT benefit, count(*) AS claims FROM dwp.claims WHERE region = $region GROUP BY benefit ORDER BY benefit"
chart = { kind = "bar", x = "benefit", y = "claims" }

[[panels]]
title = "Income of claimants"
sql = '''SELECT c.benefit, round(avg(i.employment_income), 2) AS income FROM dwp.claims c
JOIN hmrc.income i ON i.person_id = c.person_id AND i.tax_year = '2019-20' WHERE c.region = :region GROUP BY 1'''
table = true
"""


@pytest.fixture
def catalog(demo_config: Path, tmp_path: Path) -> Path:
    """A copy of the demo catalog's folder (the demo's own dashboard included) with the test dashboard beside it."""
    folder = tmp_path / "fed"
    shutil.copytree(demo_config.parent, folder)
    (folder / "claims.dashboard.toml").write_text(BOARD)
    return folder / "fedquery.toml"


def _bad(tmp_path: Path, text: str) -> DashboardError:
    path = tmp_path / "bad.dashboard.toml"
    path.write_text(text)
    with pytest.raises(DashboardError) as info:
        boards.load(path)
    assert str(path) in str(info.value), "the error names the file"
    return info.value


PANEL = '[[panels]]\ntitle = "t"\nsql = "SELECT 1 AS one"\ntable = true\n'


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[dashboard]\ntitel = 'x'\n" + PANEL, "dashboard.titel", "Did you mean 'title'"),
        ("[dashboard]\nrefresh = 'often'\n" + PANEL, "dashboard.refresh", "not a duration"),
        ('[[panels]]\ntitle = "t"\nsql = "SELECT * FROM t WHERE a = $who"\n', "panels[0].sql", "$who"),
        ('[[panels]]\ntitle = "t"\nsql = "SELEC 1"\n', "panels[0].sql", "does not parse"),
        ('[[panels]]\ntitle = "t"\nsql = "SELECT 1"\nchart = { kind = "pie" }\n', "panels[0].chart.kind", "pie"),
        ('[[panels]]\ntitle = "t"\nsql = "SELECT 1"\ntable = false\n', "panels[0]", "a chart or a table"),
        ('[[panels]]\nsql = "SELECT 1"\n', "panels[0].title", "non-empty string"),
        ("[dashboard]\ntitle = 'x'\n", "panels", "at least one"),
        ("[[parameters]]\nname = 'a b'\nquery = 'SELECT 1'\n" + PANEL, "parameters[0].name", "not a parameter name"),
    ],
)
def test_file_errors_name_the_file_and_field(tmp_path: Path, text: str, field: str, words: str) -> None:
    error = _bad(tmp_path, text)
    assert error.field == field and words in str(error) and error.exit_code == 3


def test_a_default_outside_the_choices_or_no_choices_is_a_typed_error(catalog: Path) -> None:
    board_file = catalog.parent / "claims.dashboard.toml"
    board_file.write_text(BOARD.replace('default = "London"', 'default = "Lundon"'))
    with fedquery.connect(catalog) as fed:
        with pytest.raises(DashboardError, match=r"parameters\[0\]\.default: 'Lundon' is not one of its choices"):
            boards.run(fed, boards.get(catalog, "claims"))
        board_file.write_text(BOARD.replace("ORDER BY region", "WHERE region = 'nowhere'"))
        with pytest.raises(DashboardError, match=r"parameters\[0\]\.query: the query gave no values"):
            boards.run_every(fed, boards.get(catalog, "claims"))


def test_invalid_toml_is_a_typed_error(tmp_path: Path) -> None:
    assert "not valid TOML" in str(_bad(tmp_path, "[dashboard\n"))


def test_parameters_are_bound_as_literal_nodes(catalog: Path) -> None:
    hostile = "London' OR '1'='1"
    sql = boards.bind("SELECT count(*) FROM dwp.claims WHERE region = $region", {"region": hostile})
    assert sql == "SELECT COUNT(*) FROM dwp.claims WHERE region = 'London'' OR ''1''=''1'"
    with fedquery.connect(catalog) as fed:
        assert fed.sql(sql).fetchall() == [(0,)], "the whole value is one string literal: nothing matches"
        board = boards.get(catalog, "claims")
        with pytest.raises(DashboardError, match="is not one of its choices"):
            boards.resolve(board, boards.choices(fed, board), {"region": hostile})
        with pytest.raises(DashboardError, match="no such parameter"):
            boards.resolve(board, boards.choices(fed, board), {"regoin": "London"})


def _specs(page: str) -> dict[str, dict]:  # type: ignore[type-arg]
    blocks = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', page, re.S)
    return {name: json.loads(body) for name, body in blocks}


def test_build_writes_one_offline_page_equal_to_the_queries(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "claims.html"
    runner = CliRunner()
    listed = runner.invoke(main, ["-c", str(catalog), "dashboard", "list"])
    assert listed.exit_code == 0 and "claims\tClaims <& support>\t2 panel(s)" in listed.stdout
    result = runner.invoke(main, ["-c", str(catalog), "dashboard", "build", "claims", "-o", str(out),
                                  "--param", "region=North West"])  # fmt: skip
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "<h1>Claims &lt;&amp; support&gt;</h1>" in page and "Second &quot;quoted&quot; paragraph." in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|cdn\.jsdelivr|unpkg", page)
    assert page.count("window.vegaEmbed=") == 1, "the libraries are inlined once"
    specs = _specs(page)
    assert list(specs) == ["fq-spec-0"], "one chart panel, one table panel"
    with fedquery.connect(catalog) as fed:
        expected = fed.sql(
            "SELECT benefit, count(*) AS claims FROM dwp.claims WHERE region = 'North West' GROUP BY benefit"
        ).fetchall()
        incomes = fed.sql(boards.bind(boards.get(catalog, "claims").panels[1].sql, {"region": "North West"}))
        income_rows = incomes.fetchall()
    assert sorted((v["benefit"], v["claims"]) for v in specs["fq-spec-0"]["data"]["values"]) == sorted(expected)
    for benefit, income in income_rows:
        assert f"<td>{benefit}</td><td class=num>{income}</td>".replace("'", "&#x27;") in page
    assert "WHERE region = &#x27;North West&#x27;" in page, "the SQL as run, with its parameter bound"
    assert '<option value="North West" selected>' in page
    for department in ("dwp", "hmrc"):
        assert f"department <b>{department}</b>" in page
    assert "data last modified" in page and "Ran at" in page


def test_a_failing_panel_shows_its_error_and_sets_the_exit_code(catalog: Path, tmp_path: Path) -> None:
    (catalog.parent / "broken.dashboard.toml").write_text(
        '[[panels]]\ntitle = "ok"\nsql = "SELECT 1 AS one"\ntable = true\n'
        '[[panels]]\ntitle = "bad"\nsql = "SELECT * FROM dwp.claim"\ntable = true\n'
        '[[panels]]\ntitle = "bad chart"\nsql = "SELECT 1 AS one"\nchart = { x = "two" }\n'
    )
    out = tmp_path / "broken.html"
    result = CliRunner().invoke(main, ["-c", str(catalog), "dashboard", "build", "broken", "-o", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    page = out.read_text()
    assert page.count('class="error"') == 2 and "Did you mean &#x27;dwp.claims&#x27;" in page
    assert "panels[2].chart: unknown column &#x27;two&#x27;" in page
    unknown = CliRunner().invoke(main, ["-c", str(catalog), "dashboard", "build", "claimz"])
    assert unknown.exit_code == 3 and "Did you mean 'claims'" in unknown.stderr


def test_demo_dashboard_panels_equal_a_plan_without_pushdown(demo_config: Path) -> None:
    """The demo's pandemic dashboard runs clean, and every panel equals its query run with whole tables fetched."""
    board = boards.get(demo_config, "pandemic")
    with fedquery.connect(demo_config) as fed:
        run = boards.run(fed, board, {"region": "Midlands"})
        assert run.errors == [] and [p.spec is not None for p in run.panels] == [True, True, True, False]
        for panel_run in run.panels:
            assert "$region" not in panel_run.sql
            expected = fed.sql(panel_run.sql, pushdown="none").fetchall()
            got = list(zip(*[c.to_pylist() for c in panel_run.table.columns]))  # type: ignore[union-attr]
            assert sorted(map(repr, got)) == sorted(map(repr, expected)), panel_run.panel.title
            assert {r.department for r in panel_run.reads} <= {"dhsc", "dwp", "dfe", "hmrc"} and panel_run.reads
    departments = {r.department for r in run.panels[2].reads}
    assert departments == {"dwp", "dfe", "hmrc"}, "support need joins three departments"


def test_readme_dashboard_example_builds(demo_config: Path, tmp_path: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme.split("### Dashboards as code", 1)[1]
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    folder = tmp_path / "fed"
    shutil.copytree(demo_config.parent, folder)
    (folder / "support.dashboard.toml").write_text(toml)
    out = tmp_path / "support.html"
    result = CliRunner().invoke(main, ["-c", str(folder / "fedquery.toml"), "dashboard", "build", "support",
                                       "--param", "region=North West", "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Claims by benefit" in out.read_text()


def test_every_value_puts_each_choice_in_the_page(catalog: Path, tmp_path: Path) -> None:
    out = tmp_path / "every.html"
    runner = CliRunner()
    result = runner.invoke(main, ["-c", str(catalog), "dashboard", "build", "claims", "--every-value", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    with fedquery.connect(catalog) as fed:
        regions = [r for (r,) in fed.sql("SELECT DISTINCT region FROM dwp.claims ORDER BY region").fetchall()]
    variants = re.findall(r'<div class="variant" data-key="([^"]+)"( hidden)?>', page)
    assert len(variants) == 2 * len(regions) == 14, "both panels use the parameter: one variant per region each"
    assert [k for k, hidden in variants if not hidden] == ['["London"]'.replace('"', "&quot;")] * 2
    for region in regions:
        assert f"region = &#x27;{region}&#x27;" in page
    specs = _specs(page)
    assert len(specs) == len(regions), "the chart panel once per region"
    assert "<select name=\"region\">" in page, "enabled: the page switches between the variants"
    both = runner.invoke(main, ["-c", str(catalog), "dashboard", "build", "claims", "--every-value",
                                "--param", "region=London"])  # fmt: skip
    assert both.exit_code == 2
    with fedquery.connect(catalog) as fed, pytest.raises(DashboardError, match="7 combinations"):
        boards.run_every(fed, boards.get(catalog, "claims"), limit=3)


def test_without_the_viz_extra_the_demo_skips_its_dashboard_and_charts_say_what_to_install(
    catalog: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from fedquery.demo import build_dashboard
    from fedquery.viz import VizNotInstalledError

    monkeypatch.setitem(sys.modules, "altair", None)  # what an environment without the package gives: ImportError
    said: list[str] = []
    assert build_dashboard(catalog, echo=said.append) is None
    assert said == ["(Skipped the dashboard: charts need the 'altair' package: pip install 'fedquery[viz]')"]
    with fedquery.connect(catalog) as fed, pytest.raises(VizNotInstalledError, match=r"fedquery\[viz\]"):
        fed.sql("SELECT 1 AS one").chart()
    result = CliRunner().invoke(main, ["-c", str(catalog), "query", "--plot", "x.png", "SELECT 1 AS one"])
    assert result.exit_code == 3 and "pip install 'fedquery[viz]'" in result.stderr
