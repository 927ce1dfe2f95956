"""EXPLAIN as people read it: SQL pretty-printed, long key lists summarised, a warning without analyze.
What runs (to_dict, the hash) is unchanged."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from click.testing import CliRunner

import fedquery
from fedquery.cli import main

SQL = (
    "SELECT c.region, count(*) AS n FROM dwp.claims c JOIN hmrc.income i ON i.person_id = c.person_id "
    "WHERE c.region = 'London' GROUP BY c.region"
)


@pytest.fixture
def fed(demo_config: Path, tmp_path: Path) -> Iterator[Any]:
    with fedquery.connect(demo_config) as federation:
        # Its own statistics cache, every other setting as configured (a DuckDB file is opened the same way).
        federation.config.settings = dataclasses.replace(federation.config.settings, cache_directory=str(tmp_path))
        yield federation


def test_remote_and_local_sql_are_pretty_printed(fed: Any) -> None:
    plan = fed.explain(SQL)
    text = str(plan)
    claims = next(f for f in plan.fragments if f.department == "dwp")
    pretty = sqlglot.transpile(claims.sql, read=claims.dialect, write=claims.dialect, pretty=True)[0]
    assert "\n".join("    " + line for line in pretty.splitlines()) in text
    assert "  remote SQL:\n    SELECT\n" in text and "local DuckDB SQL:\n  SELECT\n" in text
    assert claims.sql.count("\n") == 0  # what is sent is unchanged


@pytest.mark.usefixtures("reductions_at_any_size")
def test_long_key_lists_are_summarised_unless_verbose(fed: Any) -> None:
    plan = fed.explain(SQL, analyze=True)
    income = next(f for f in plan.fragments if f.department == "hmrc")
    keys = plan.actuals[income.name].reduced_keys
    assert keys and keys > 10
    text = str(plan)
    assert f"IN (<{keys:,} keys>)" in text and "reduced by" in text
    assert len(text) < 4000
    sent = plan.to_dict()["fragments"][[f.name for f in plan.fragments].index(income.name)]["actual"]["sql"]
    assert len(re.findall(r"'[^']*'", sent)) >= keys  # to_dict keeps every key that was sent
    verbose = fed.explain(SQL, analyze=True, verbose=True)
    assert "keys>)" not in str(verbose) and len(str(verbose)) > len(text)
    assert verbose.hash == plan.hash and json.dumps(verbose.to_dict()["fragments"][0]["sql"]) == json.dumps(
        plan.to_dict()["fragments"][0]["sql"]
    )


def test_a_warning_until_analyze_has_run(fed: Any) -> None:
    plan = fed.explain(SQL)
    assert plan.unanalyzed == ["dwp.claims", "hmrc.income"]
    assert "warning: estimates use default selectivities: analyze has not run for dwp.claims, hmrc.income" in str(plan)
    assert "warning:" in plan._repr_html_() and plan.to_dict()["unanalyzed"] == ["dwp.claims", "hmrc.income"]
    fed.analyze("dwp.claims")
    assert fed.explain(SQL).unanalyzed == ["hmrc.income"]
    fed.analyze("hmrc")
    after = fed.explain(SQL)
    assert after.unanalyzed == [] and "warning" not in str(after) and "unanalyzed" not in after.to_dict()


@pytest.mark.usefixtures("reductions_at_any_size")
def test_cli_explain_verbose(demo_config: Path) -> None:
    runner = CliRunner()
    short = runner.invoke(main, ["-c", str(demo_config), "explain", "--analyze", SQL])
    full = runner.invoke(main, ["-c", str(demo_config), "explain", "--analyze", "--verbose", SQL])
    assert short.exit_code == full.exit_code == 0
    assert "keys>)" in short.stdout and "keys>)" not in full.stdout and len(full.stdout) > len(short.stdout)
