"""The CLI's edges: bad paths, bad bytes, bad numbers, an edited demo, -c anywhere, and a fast start.

Each bug of issue 13 is reproduced as it was reported; every case exits with its code and a message
that names what is wrong, never a traceback.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from fedquery.cli import main
from fedquery.demo import CONFIG


def _run(*args: str, input: bytes | str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), input=input)


def _clean(result, code: int, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == code, (result.exit_code, result.output, result.exception)
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, result.output


def test_missing_config_is_a_config_error_in_every_command(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.toml")
    for command in (["analyze"], ["tables"], ["query", "SELECT 1"], ["explain", "SELECT 1"], ["inventory"]):
        _clean(_run("-c", missing, *command), 3, "missing.toml", "not found")
    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", missing, "analyze"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3 and "not found" in proc.stderr and "Traceback" not in proc.stderr


def test_output_into_a_missing_directory(demo_config: Path, tmp_path: Path) -> None:
    result = _run("-c", str(demo_config), "query", "-o", "/nonexistent/dir/out.csv", "SELECT 1")
    _clean(result, 2, "/nonexistent/dir", "does not exist")
    _clean(_run("-c", str(demo_config), "query", "-o", str(tmp_path), "SELECT 1"), 2, "directory")
    _clean(_run("-c", str(demo_config), "inventory", "-o", "/nonexistent/dir/x.csv"), 2, "does not exist")
    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo_config), "query", "-o", "/nonexistent/dir/out.csv",
         "SELECT 1"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "/nonexistent/dir" in proc.stderr


def test_sql_that_is_not_utf8(demo_config: Path, tmp_path: Path) -> None:
    bad = tmp_path / "file.sql"
    bad.write_bytes(b"SELECT 1 AS a\xff")
    for command in ("query", "explain"):
        _clean(_run("-c", str(demo_config), command, "-f", str(bad)), 2, "file.sql", "0xff", "offset 13")
    _clean(_run("-c", str(demo_config), "query", input=b"SELECT '\xc3\x28'"), 2, "standard input", "offset 8")


def test_max_rows(demo_config: Path) -> None:
    sql = "SELECT claim_id FROM dwp.claims ORDER BY claim_id"
    _clean(_run("-c", str(demo_config), "query", "--format", "table", "--max-rows", "-1", sql), 2, "--max-rows")
    every = _run("-c", str(demo_config), "query", "--format", "table", "--max-rows", "0", sql)
    _clean(every, 0, "1434 rows\n")
    assert "shown" not in every.output and "│     1434 │" in every.output
    some = _run("-c", str(demo_config), "query", "--format", "table", "--max-rows", "4", sql).output
    assert some.endswith("1434 rows (4 shown)\n") and "│        2 │" in some and "│     1433 │" in some


def test_demo_keeps_an_edited_catalog(tmp_path: Path) -> None:
    target = tmp_path / "D"
    _clean(_run("demo", str(target), "--no-run"), 0, "Wrote the demo")
    _clean(_run("demo", str(target), "--no-run"), 0, "Wrote the demo")  # unedited: written again
    config = target / "fedquery.toml"
    config.write_text(CONFIG + "\n# my own source\n")
    _clean(_run("demo", str(target), "--no-run"), 2, "fedquery.toml", "--force")
    assert config.read_text().endswith("# my own source\n")
    _clean(_run("demo", str(target), "--no-run", "--force"), 0)
    assert config.read_text() == CONFIG


def test_config_after_the_sub_command(demo_config: Path, tmp_path: Path) -> None:
    sql = "SELECT count(*) AS n FROM dwp.claims"
    _clean(_run("query", "-c", str(demo_config), "--format", "csv", sql), 0, "1434")
    _clean(_run("tables", "--config", str(demo_config), "--format", "csv"), 0, "dwp.claims")
    _clean(_run("inventory", "check", "-c", str(demo_config)), 0, "complete metadata")
    # after the sub-command wins over before it
    _clean(_run("-c", str(tmp_path / "missing.toml"), "query", "-c", str(demo_config), sql), 0, "1434")


def test_other_negative_numbers_are_usage_errors(demo_config: Path) -> None:
    _clean(_run("-c", str(demo_config), "inventory", "search", "claims", "--limit", "-1"), 2, "--limit")
    _clean(_run("-c", str(demo_config), "query", "--timeout", "-5", "SELECT 1"), 2, "--timeout")


def test_tables_lists_every_column_with_sql_types(demo_config: Path) -> None:
    out = _run("-c", str(demo_config), "tables", "--format", "table").output
    assert "employment_income decimal(12,2)" in out and "self_employed boolean" in out
    assert "date32" not in out and "int64" not in out and "…" not in out
    assert "start_date date" in _run("-c", str(demo_config), "tables", "--format", "csv").output


_IMPORTED = """
import sys
from fedquery.cli import main
try:
    main({args!r})
except SystemExit:
    pass
heavy = ("pyarrow", "duckdb", "sqlglot", "numpy", "pandas", "prompt_toolkit", "wcwidth")
print(sorted(m for m in heavy if m in sys.modules))
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["query", "--help"], ["shell", "--help"]])
def test_commands_import_only_what_they_need(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", _IMPORTED.format(args=args)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_a_query_from_the_command_line_does_not_import_pandas(demo_config: Path) -> None:
    """pyarrow.dataset would import pandas (0.2-0.4 s of a cold query); pandas still works when asked for."""
    pytest.importorskip("pandas")  # without pandas installed there is nothing to keep out
    code = (
        _IMPORTED.format(args=["-c", str(demo_config), "query", "SELECT * FROM dwp.claims LIMIT 1"])
        + "import fedquery\n"
        + f"print(fedquery.connect({str(demo_config)!r}).sql('SELECT claim_id FROM dwp.claims LIMIT 1').df().shape)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == '"claim_id","person_id","benefit","region","start_date","weekly_amount"', proc.stderr
    assert "'pyarrow'" in lines[-2] and "'pandas'" not in lines[-2], proc.stdout + proc.stderr
    assert lines[-1] == "(1, 1)", proc.stdout + proc.stderr


def test_import_fedquery_is_light_and_the_api_is_there() -> None:
    code = (
        "import sys, fedquery\n"
        "assert 'pyarrow' not in sys.modules and 'duckdb' not in sys.modules\n"
        "print(fedquery.Federation.__name__, fedquery.OutputError.exit_code, callable(fedquery.connect))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["Federation", "2", "True"], proc.stderr


def test_version_is_answered_before_the_command_lines_imports() -> None:
    """``fedquery --version`` (the installed command's entry point, ``fedquery.launch``) prints what click's
    version option prints, having imported neither click nor fedquery's error classes."""
    code = (
        "import sys\n"
        "sys.argv = ['fedquery', '--version']\n"
        "from fedquery.launch import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    print(exc.code, sorted(m for m in ('click', 'fedquery.errors', 'fedquery.cli') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines()[-1] == "0 []", proc.stdout + proc.stderr
    through_click = subprocess.run(
        [sys.executable, "-c", "from fedquery.cli import main; main(['--version'])"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.stdout.splitlines()[0] == through_click.stdout.strip()


def test_error_classes_are_still_fedquerys_names() -> None:
    import fedquery
    from fedquery import errors

    assert fedquery.QueryError is errors.QueryError and fedquery.ProgrammingError is errors.QueryError
    assert fedquery.Error is fedquery.DatabaseError is errors.FedQueryError
    with pytest.raises(AttributeError, match="no attribute 'NoSuchError'"):
        fedquery.NoSuchError  # noqa: B018
