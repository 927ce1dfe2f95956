"""Charts of results: the defaults as Vega-Lite spec snapshots, large results aggregated or sampled with a
note, and PNG/SVG/HTML export with no network (vl-convert renders in-process)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fedquery.errors import ChartError
from fedquery.viz import save
from fedquery.viz.chart import MAX_POINTS, chart
from fedquery.viz.export import render

SNAPSHOTS = Path(__file__).parent / "viz_snapshots"
#: the parts of a spec that say what is drawn (not the inline data, nor Altair's default config and $schema)
STABLE = ("mark", "encoding", "title", "width", "height", "autosize")

DAYS = [dt.date(2020, 4, 1) + dt.timedelta(days=d) for d in range(4)]
TABLES: dict[str, pa.Table] = {
    "time_line": pa.table({"as_of": DAYS, "stock_units": [400, 380, 350, 500]}),
    "time_line_colour": pa.table(
        {"as_of": DAYS * 2, "item": ["Gown"] * 4 + ["Gloves"] * 4, "stock_units": [4, 3, 2, 1, 9, 8, 7, 6]}
    ),
    "category_bar": pa.table({"region": ["London", "Midlands", "North West"], "claims": [12, 30, 7]}),
    "category_bar_colour": pa.table(
        {"region": ["London", "London", "Midlands"], "benefit": ["UC", "PC", "UC"],
         "weekly": pa.array([Decimal("1.50"), Decimal("2.25"), Decimal("3.00")], pa.decimal128(10, 2))}
    ),  # fmt: skip
    "two_measures_scatter": pa.table({"income": [12000.5, 18000.0, 25000.0], "children": [3, 1, 0]}),
    "one_measure_histogram": pa.table({"income": [12000.5, 18000.0, 25000.0, 31000.0]}),
}


def stable(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: spec[k] for k in STABLE if k in spec}


@pytest.mark.parametrize("case", sorted(TABLES))
def test_default_spec_snapshot(case: str) -> None:
    spec = stable(chart(TABLES[case]).to_dict())
    path = SNAPSHOTS / f"{case}.json"
    if os.environ.get("FEDQUERY_UPDATE_SNAPSHOTS"):
        path.write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n")
    assert spec == json.loads(path.read_text()), f"{case}: the chart defaults changed (see {path})"


def test_defaults_follow_the_types() -> None:
    marks = {case: chart(table).to_dict()["mark"]["type"] for case, table in TABLES.items()}
    assert marks == {
        "time_line": "line", "time_line_colour": "line", "category_bar": "bar", "category_bar_colour": "bar",
        "two_measures_scatter": "point", "one_measure_histogram": "bar",
    }  # fmt: skip
    encoding = chart(TABLES["time_line_colour"]).to_dict()["encoding"]
    assert (encoding["x"]["type"], encoding["color"]["field"]) == ("temporal", "item")
    assert "bin" in chart(TABLES["one_measure_histogram"]).to_dict()["encoding"]["x"]


def test_explicit_channels_and_kind_win() -> None:
    spec = chart(TABLES["category_bar_colour"], kind="line", x="benefit", y="weekly", color="region").to_dict()
    assert spec["mark"]["type"] == "line"
    assert [spec["encoding"][c]["field"] for c in ("x", "y", "color")] == ["benefit", "weekly", "region"]
    # decimals and dates travel as JSON numbers and ISO text
    values = chart(TABLES["category_bar_colour"]).to_dict()["data"]["values"]
    assert values[0] == {"region": "London", "benefit": "UC", "weekly": 1.5}
    assert chart(TABLES["time_line"]).to_dict()["data"]["values"][0]["as_of"] == "2020-04-01"


def test_duplicate_categories_are_summed_and_the_axis_says_so() -> None:
    table = pa.table({"region": ["London", "London", "Midlands"], "claims": [1, 2, 5]})
    spec = chart(table).to_dict()
    assert sorted((v["region"], v["claims"]) for v in spec["data"]["values"]) == [("London", 3), ("Midlands", 5)]
    assert spec["encoding"]["y"]["title"] == "claims (sum)"


def test_categories_alone_are_counted_exactly_however_many_rows() -> None:
    n = MAX_POINTS * 3
    table = pa.table({"benefit": [["UC", "PC", "UC", "CA"][i % 4] for i in range(n)]})
    spec = chart(table).to_dict()
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["y"]["field"] == "rows"
    assert {v["benefit"]: v["rows"] for v in spec["data"]["values"]} == {"UC": n // 2, "PC": n // 4, "CA": n // 4}
    assert "title" not in spec, "counting is what the chart means, not a reduction to note"


def test_unknown_column_kind_and_extension_are_typed_errors(tmp_path: Path) -> None:
    with pytest.raises(ChartError, match="unknown column 'regoin'.*Did you mean 'region'"):
        chart(TABLES["category_bar"], x="regoin")
    with pytest.raises(ChartError, match="unknown chart kind 'pie'"):
        chart(TABLES["category_bar"], kind="pie")
    with pytest.raises(ChartError, match=r"\.png, \.svg or \.html"):
        save(chart(TABLES["category_bar"]), str(tmp_path / "chart.jpg"))
    with pytest.raises(ChartError, match="two numeric columns"):
        chart(TABLES["category_bar"], kind="scatter")


def test_large_scatter_is_sampled_with_a_note() -> None:
    n = MAX_POINTS * 3
    table = pa.table({"a": list(range(n)), "b": [i % 97 for i in range(n)]})
    spec = chart(table).to_dict()
    assert len(spec["data"]["values"]) == MAX_POINTS
    assert spec["title"]["subtitle"] == f"a random sample of {MAX_POINTS:,} of {n:,} rows"
    assert spec == chart(table).to_dict(), "the sample is the same every time"


def test_large_bar_is_aggregated_with_a_note() -> None:
    n = MAX_POINTS * 2
    table = pa.table({"region": [f"r{i % 5}" for i in range(n)], "claims": [1] * n})
    spec = chart(table, title="Claims").to_dict()
    assert sorted(v["claims"] for v in spec["data"]["values"]) == [n // 5] * 5, "sums, not a truncated list"
    assert spec["title"] == {"text": "Claims", "subtitle": f"sum of claims per region, aggregated from {n:,} rows"}


def test_a_long_line_is_thinned_with_a_note() -> None:
    n = MAX_POINTS * 4
    start = dt.datetime(2020, 4, 1)
    table = pa.table({"at": [start + dt.timedelta(minutes=i) for i in range(n)], "beds": list(range(n))})
    spec = chart(table).to_dict()
    values = spec["data"]["values"]
    assert len(values) == MAX_POINTS and [v["beds"] for v in values[:3]] == [0, 4, 8], "in time order, evenly"
    assert spec["title"]["subtitle"] == f"one in 4 of {n:,} points drawn"


def test_many_categories_draw_the_largest_and_say_how_many() -> None:
    table = pa.table({"trust": [f"T{i:03d}" for i in range(200)], "stock": list(range(200))})
    spec = chart(table).to_dict()
    drawn = sorted(v["stock"] for v in spec["data"]["values"])
    assert drawn == list(range(140, 200))
    assert spec["title"]["subtitle"] == "the 60 largest of 200 trust values shown"


def test_large_histogram_is_binned_exactly() -> None:
    n = MAX_POINTS * 4
    table = pa.table({"income": [float(i % 1000) for i in range(n)]})
    spec = chart(table).to_dict()
    values = spec["data"]["values"]
    assert sum(v["count"] for v in values) == n, "every row is counted in some bin"
    assert len(values) == 30 and spec["encoding"]["x"]["bin"] == "binned"
    assert spec["title"]["subtitle"] == f"binned from {n:,} rows"


def _png_size_and_colours(data: bytes) -> tuple[tuple[int, int], int]:
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    return image.size, len(image.getcolors(maxcolors=1 << 24) or [])


def test_png_export_has_the_size_asked_and_is_not_blank(tmp_path: Path) -> None:
    c = chart(TABLES["category_bar"], title="Claims by region")
    size, colours = _png_size_and_colours(render(c, "png"))
    assert size == (640, 360)
    assert colours > 10, "a blank picture has one colour; bars, axes and text make many"
    size2, _ = _png_size_and_colours(render(c, "png", scale=2))
    assert size2 == (1280, 720)
    path = save(c, str(tmp_path / "claims.png"))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    blank = chart(pa.table({"region": pa.array([], pa.string()), "claims": pa.array([], pa.int64())}))
    _, few = _png_size_and_colours(render(blank, "png"))
    assert few < colours, "the not-blank measure tells an empty chart from a drawn one"


def test_svg_and_html_export_offline(tmp_path: Path) -> None:
    c = chart(TABLES["category_bar"])
    svg = save(c, str(tmp_path / "claims.svg")).read_text()
    assert svg.lstrip().startswith("<svg") and "London" in svg and "North West" in svg
    page = save(c, str(tmp_path / "claims.html")).read_text()
    assert "vegaEmbed(" in page and '"London"' in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=\"?https?:", page), "no script or style is fetched"
    assert not re.search(r"cdn\.jsdelivr|unpkg\.com|cdnjs", page)


def test_html_export_cannot_be_broken_out_of_by_data(tmp_path: Path) -> None:
    hostile = "</script><script>alert(1)</script>"
    page = save(chart(pa.table({"a": [hostile], "b": [1]}), title=hostile), str(tmp_path / "c.html")).read_text()
    assert hostile not in page and "alert(1)" in page, "the text is there, escaped"
    assert page.count("<script") == page.count("</script>") == 3, "the bundle, the spec and the embedding code"


def test_result_chart_from_the_federation(demo_config: Path) -> None:
    import fedquery

    with fedquery.connect(demo_config) as fed:
        result = fed.sql("SELECT region, count(*) AS claims FROM dwp.claims GROUP BY region")
        spec = result.chart(title="Claims by region").to_dict()
        rows = dict(fed.sql("SELECT region, count(*) FROM dwp.claims GROUP BY region").fetchall())
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["x"]["field"] == "region"
    assert {v["region"]: v["claims"] for v in spec["data"]["values"]} == rows


def test_readme_chart_example_runs(demo_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fedquery

    readme = (Path(__file__).parent.parent / "README.md").read_text().split("## Charts", 1)[1]
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)  # type: ignore[union-attr]
    monkeypatch.chdir(tmp_path)
    with fedquery.connect(demo_config) as fed:
        exec(compile(block, "README.md", "exec"), {"fed": fed, "fedquery": fedquery})
    size, colours = _png_size_and_colours((tmp_path / "claims.png").read_bytes())
    assert size == (640, 360) and colours > 10
