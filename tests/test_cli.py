"""The command line: formats, input forms, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fedquery.cli import main

SQL = "SELECT region, count(*) AS n FROM dwp.claims GROUP BY region ORDER BY region"


@pytest.fixture
def run(demo_config: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(main, ["-c", str(demo_config), *args], input=input, catch_exceptions=False)

    return invoke


def test_query_formats(run) -> None:  # type: ignore[no-untyped-def]
    as_csv = run("query", SQL, "--format", "csv")
    assert as_csv.exit_code == 0
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0] == ["region", "n"] and len(rows) == 8
    as_json = json.loads(run("query", SQL, "--format", "json").stdout)
    assert as_json[0].keys() == {"region", "n"} and len(as_json) == 7
    ndjson = run("query", SQL, "--format", "ndjson").stdout.splitlines()
    assert len(ndjson) == 7 and json.loads(ndjson[0]) == as_json[0]
    tsv = run("query", SQL, "--format", "tsv").stdout
    assert tsv.splitlines()[0].replace('"', "") == "region\tn"
    md = run("query", SQL, "--format", "markdown").stdout
    assert md.startswith("| region | n |") and "| --- | --- |" in md
    table = run("query", SQL, "--format", "table").stdout
    assert table.splitlines()[1].split() == ["│", "region", "│", "n", "│"] and "7 rows" in table
    assert table.splitlines()[2].split() == ["│", "varchar", "│", "bigint", "│"]  # the column types


def test_piped_output_defaults_to_csv(run) -> None:  # type: ignore[no-untyped-def]
    assert run("query", SQL).stdout.startswith('"region","n"')


def test_parquet_output(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.parquet"
    assert run("query", SQL, "--format", "parquet", "-o", str(out)).exit_code == 0
    assert pq.read_table(out).num_rows == 7


def test_sql_from_file_and_stdin(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "q.sql"
    f.write_text(SQL)
    assert run("query", "-f", str(f)).stdout == run("query", SQL).stdout
    assert run("query", input=SQL).stdout == run("query", SQL).stdout


def test_explain_and_tables(run) -> None:  # type: ignore[no-untyped-def]
    assert "pushdown=none" in run("explain", "--pushdown", "none", SQL).stdout
    assert run("query", "--pushdown", "filters", SQL).stdout == run("query", SQL).stdout
    out = run("explain", SQL).stdout
    assert "remote SQL" in out and "dwp.claims" in out
    as_json = json.loads(run("explain", "--json", SQL).stdout)
    assert as_json["fragments"][0]["department"] == "dwp"
    tables = run("tables", "--format", "csv").stdout
    assert "dhsc.ppe_stock" in tables and "hmrc.income" in tables
    assert "dwp.claims" not in run("tables", "hmrc", "--format", "csv").stdout


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (("query", "SELECT * FROM dwp.claim"), 1, "Did you mean 'dwp.claims'"),
        (("query", "DROP TABLE dwp.claims"), 1, "DROP"),
        (("query", "SELECT FROM WHERE"), 1, "line 1"),
        (("query", "--format", "xml", "SELECT 1"), 2, "xml"),
        (("query", "SELECT 1", "-f", "/nonexistent.sql"), 2, "nonexistent"),
    ],
)
def test_exit_codes(run, args: tuple[str, ...], code: int, needle: str) -> None:  # type: ignore[no-untyped-def]
    result = run(*args)
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_bad_config_and_unreachable_source_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text("[departments.x.sources.y]\nkind = 'nosuchkind'\n")
    result = runner.invoke(main, ["-c", str(bad), "tables"])
    assert result.exit_code == 3 and "nosuchkind" in result.output and "Traceback" not in result.output
    down = tmp_path / "down.toml"
    down.write_text("[departments.x.sources.y]\nkind = 'sqlite'\npath = 'gone.db'\n")
    result = runner.invoke(main, ["-c", str(down), "query", "SELECT * FROM x.t"])
    assert result.exit_code == 4 and "gone.db" in result.output and "Traceback" not in result.output
    result = runner.invoke(main, ["-c", str(tmp_path / "missing.toml"), "tables"])
    assert result.exit_code == 3 and "not found" in result.output


def test_demo_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", str(tmp_path / "demo")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "What each department was sent" in result.output
    assert result.output.count("[local DuckDB]") == 3
    assert (tmp_path / "demo" / "fedquery.toml").exists()
    assert "Built the pandemic dashboard" in result.output and (tmp_path / "demo" / "dashboard.html").exists()
