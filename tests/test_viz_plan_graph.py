"""Plans as pictures: one box per department holding the SQL it was sent, arrows with rows and bytes
(estimated, or actual after analyze), the local DuckDB step; every text escaped (the SVG parses as XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main

SVG = "{http://www.w3.org/2000/svg}"
JOIN = (
    "SELECT c.region, count(*) AS n, sum(i.employment_income) AS income FROM dwp.claims c "
    "JOIN hmrc.income i ON i.person_id = c.person_id AND i.tax_year = '2019-20' "
    "JOIN dfe.fsm_eligibility f ON f.parent_person_id = c.person_id "
    "WHERE c.benefit <> 'A<&\"B' GROUP BY c.region"
)


def _parts(svg: str) -> tuple[list[str], list[ET.Element], list[str]]:
    root = ET.fromstring(svg)  # raises on any unescaped <, & or quote
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    rects = [r for r in root.iter(f"{SVG}rect")]
    arrows = [p.get("class") or "" for p in root.iter(f"{SVG}path") if p.get("class") == "arrow"]
    return texts, rects, arrows


@pytest.fixture(scope="module")
def fed(demo_config: Path):  # type: ignore[no-untyped-def]
    with fedquery.connect(demo_config) as federation:
        yield federation


def test_estimated_plan_picture(fed) -> None:  # type: ignore[no-untyped-def]
    plan = fed.explain(JOIN)
    texts, rects, arrows = _parts(plan.graph().svg())
    departments = {f.department for f in plan.fragments}
    assert {t for t in texts if t.startswith("department ")} == {f"department {d}" for d in departments}
    assert sum(r.get("class") == "dept" for r in rects) == len(departments) == 3
    assert sum(r.get("class") == "frag" for r in rects) == len(plan.fragments)
    assert len(arrows) == len(plan.fragments) + 1, "one arrow per fragment into the local step, one out"
    assert "local DuckDB step" in texts
    claims = next(f for f in plan.fragments if f.department == "dwp")
    assert any("'A<&\"B'" in t for t in texts), "the literal, escaped in the file, reads back as written"
    label = f"~{claims.estimated_rows:,} rows" if claims.estimated_rows is not None else "? rows"
    assert any(t.startswith(label) for t in texts)


def test_analyzed_plan_picture_shows_actual_rows(fed) -> None:  # type: ignore[no-untyped-def]
    plan = fed.explain(JOIN, analyze=True)
    texts, _, _ = _parts(plan.graph()._repr_svg_())
    for name, stats in plan.actuals.items():
        assert any(t.startswith(f"{stats.rows:,} rows · ") for t in texts), name
    assert f"{plan.result_rows:,} rows" in texts
    assert plan.graph()._repr_html_().count("<svg") == 1


def test_long_sql_is_shortened_not_dropped(fed) -> None:  # type: ignore[no-untyped-def]
    wide = ", ".join(f"c.weekly_amount + {n} AS w{n}" for n in range(40))
    plan = fed.explain(f"SELECT {wide} FROM dwp.claims c")
    texts, _, _ = _parts(plan.graph().svg())
    assert any(t.endswith("…") for t in texts)
    assert all(len(t) <= 80 for t in texts if not t.startswith("Plan "))


def test_explain_graph_cli(demo_config: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "plan.svg"
    result = runner.invoke(main, ["-c", str(demo_config), "explain", "--graph", str(out), JOIN])
    assert result.exit_code == 0, result.output
    assert "remote SQL" in result.stdout and f"Wrote the plan picture to {out}" in result.stderr
    _parts(out.read_text())
    page = tmp_path / "plan.html"
    assert runner.invoke(main, ["-c", str(demo_config), "explain", "--graph", str(page), JOIN]).exit_code == 0
    assert "<svg" in page.read_text()
    bad = runner.invoke(main, ["-c", str(demo_config), "explain", "--graph", str(tmp_path / "plan.png"), JOIN])
    assert bad.exit_code == 2 and "must end in .svg or .html" in bad.stderr
