"""``-p name[:type]=value`` on the command line: parameters bound as literals, usage errors exit 2."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main


def _run(demo_config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["-c", str(demo_config), *args])
    return result.exit_code, result.stdout, result.stderr


def test_named_and_typed_parameters(demo_config: Path) -> None:
    sql = "SELECT claim_id FROM dwp.claims WHERE region = $region AND start_date >= $since ORDER BY 1 LIMIT $n"
    code, out, err = _run(
        demo_config, "query", "--format", "csv", "-p", "region=North East and Yorkshire", "-p", "since:date=2020-01-01",
        "-p", "n:int=4", sql,
    )  # fmt: skip
    assert code == 0, err
    with fedquery.connect(demo_config) as fed:
        expected = fed.sql(
            "SELECT claim_id FROM dwp.claims WHERE region = 'North East and Yorkshire' "
            "AND start_date >= DATE '2020-01-01' ORDER BY 1 LIMIT 4"
        ).fetchall()
    assert [(int(r["claim_id"]),) for r in csv.DictReader(io.StringIO(out))] == expected and len(expected) == 4


def test_numbered_parameters_fill_question_marks(demo_config: Path) -> None:
    code, out, _ = _run(
        demo_config, "query", "--format", "csv", "-p", "2:int=2", "-p", "1=ab", "SELECT ? || 'c', ? + 1"
    )
    assert code == 0 and out.splitlines()[1] == '"abc",3'


def test_explain_takes_parameters(demo_config: Path) -> None:
    code, out, _ = _run(
        demo_config, "explain", "-p", "r=x'); DROP TABLE t; --", "SELECT * FROM dwp.claims WHERE region = $r"
    )
    assert code == 0 and "= 'x''); DROP TABLE t; --'" in out


@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("novalue", "write name=value"),
        ("n:integer=3", "unknown type 'integer'"),
        ("n:int=three", "not a int"),
        ("d:date=2021-13-01", "not a date"),
    ],
)
def test_bad_parameters_are_usage_errors(demo_config: Path, param: str, message: str) -> None:
    code, _, err = _run(demo_config, "query", "-p", param, "SELECT $n")
    assert code == 2 and message in err and "Traceback" not in err


def test_a_missing_parameter_is_a_query_error(demo_config: Path) -> None:
    code, _, err = _run(demo_config, "query", "-p", "x=1", "SELECT $n")
    assert code == 1 and "parameter $n has no value" in err and "Traceback" not in err
