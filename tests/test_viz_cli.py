"""The command line draws: ``query --plot`` and ``explain --graph``; bad names and extensions exit 2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from fedquery.cli import main

SQL = "SELECT region, count(*) AS claims FROM dwp.claims GROUP BY region"


@pytest.fixture
def run(demo_config: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["-c", str(demo_config), *args], catch_exceptions=False)

    return invoke


def test_query_plot_writes_each_format_and_still_prints_the_rows(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for ext, magic in (("png", b"\x89PNG"), ("svg", b"<svg"), ("html", b"<!DOCTYPE html>")):
        out = tmp_path / f"claims.{ext}"
        result = run("query", "--plot", str(out), "--format", "json", SQL)
        assert result.exit_code == 0, result.output
        assert out.read_bytes().lstrip()[: len(magic)] == magic
        assert f"Wrote the chart to {out}" in result.stderr
        assert len(json.loads(result.stdout)) == 7


def test_query_plot_channels_reach_the_chart(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "claims.html"
    sql = "SELECT region, benefit, count(*) AS claims FROM dwp.claims GROUP BY ALL"
    result = run("query", "--plot", str(out), "--kind", "bar", "--x", "benefit", "--color", "region",
                 "--title", "Claims <by> benefit", sql)  # fmt: skip
    assert result.exit_code == 0, result.output
    block = re.search(r'<script type="application/json" id="fq-spec-0">(.*?)</script>', out.read_text(), re.S)
    spec = json.loads(block.group(1))  # type: ignore[union-attr]
    assert spec["encoding"]["x"]["field"] == "benefit" and spec["encoding"]["color"]["field"] == "region"
    assert spec["title"]["text"] == "Claims <by> benefit"


def test_query_plot_usage_errors_exit_2(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad_ext = run("query", "--plot", str(tmp_path / "c.jpg"), SQL)
    assert bad_ext.exit_code == 2 and "must end in .png, .svg or .html" in bad_ext.stderr
    assert not (tmp_path / "c.jpg").exists()
    bad_column = run("query", "--plot", str(tmp_path / "c.png"), "--y", "claim", SQL)
    assert bad_column.exit_code == 2 and "unknown column 'claim' for y" in bad_column.stderr
    assert "Did you mean 'claims'" in bad_column.stderr and "Traceback" not in bad_column.output
    assert not (tmp_path / "c.png").exists()
    no_plot = run("query", "--x", "region", SQL)
    assert no_plot.exit_code == 2 and "--x needs --plot FILE" in no_plot.stderr
    bad_kind = run("query", "--plot", str(tmp_path / "c.png"), "--kind", "pie", SQL)
    assert bad_kind.exit_code == 2
