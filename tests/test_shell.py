"""``fedquery shell`` driven through a pseudo-terminal (pexpect), as a person types at it.

One session covers a statement over two lines, Tab completion of a table name, history recall with
the up arrow (across sessions: the history is kept on disk), dot-commands, Ctrl-C at the prompt (the
line is cleared) and Ctrl-C during a slow query (cancelled, back at the prompt, the federation still
answers). A script on standard input runs without a terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fedquery.shell_complete import CatalogNames, candidates

pexpect = pytest.importorskip("pexpect")

PROMPT = "fedquery>"
#: slow in the local step (DuckDB's pg_sleep over one row): 30 s unless cancelled
SLOW = "SELECT pg_sleep(30) AS s, n FROM (SELECT count(*) AS n FROM dwp.claims);"


def _spawn(config: Path, state: Path) -> pexpect.spawn:
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PAGER": "", "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    started = time.monotonic()
    child = pexpect.spawn(
        sys.executable, ["-m", "fedquery.cli", "-c", str(config), "shell"],
        env=env, encoding="utf-8", timeout=30, dimensions=(50, 120),
    )  # fmt: skip
    child.expect_exact(PROMPT)
    print(f"prompt after {time.monotonic() - started:.2f}s")
    return child


def _run(child: pexpect.spawn, keys: str, *expected: str) -> None:
    child.send(keys)
    for text in expected:
        child.expect_exact(text)
    child.expect_exact(PROMPT)


def test_a_session(demo_config: Path, tmp_path: Path) -> None:
    child = _spawn(demo_config, tmp_path)
    # a statement over two lines: Enter before the ';' continues it
    child.send("SELECT count(*) AS claims\r")
    child.expect_exact("...>")
    _run(child, "FROM dwp.claims;\r", "claims", "1434", "1 row")
    # Tab completes the table name (dwp.cl -> dwp.claims): the query names dwp.claims only if it did
    child.send("SELECT count(*) AS n FROM dwp.cl\t")
    child.expect_exact("aims")
    _run(child, " WHERE benefit = 'Pension Credit';\r", "│    112 │", "1 row")
    # the up arrow recalls the last statement; Enter runs it again
    _run(child, "\x1b[A\r", "│    112 │")
    # dot-commands
    _run(child, ".tables\r", "dfe.fsm_eligibility", "hmrc.income")
    _run(child, ".schema hmrc.income\r", "employment_income decimal(12,2)")
    _run(child, ".mode vertical\r")
    _run(child, "SELECT 'x' AS letter, 2 AS two;\r", "letter: x", "   two: 2")
    _run(child, ".mode table\r")
    # Ctrl-C at the prompt clears the line: what follows runs alone
    child.send("SELECT this is not sql")
    child.sendintr()
    child.expect_exact(PROMPT)
    _run(child, "SELECT 7 AS seven;\r", "seven", "       7 │")
    # Ctrl-C during a slow query cancels it and returns to the prompt; the shell goes on
    child.send(SLOW + "\r")
    time.sleep(1.5)
    sent = time.monotonic()
    child.sendintr()
    child.expect_exact("Interrupted: the query was cancelled")
    child.expect_exact(PROMPT)
    took = time.monotonic() - sent
    assert took < 5, took  # the query would sleep 30 s
    _run(child, "SELECT count(*) AS people FROM hmrc.income;\r", "12000")
    # errors are one line, no traceback
    _run(child, "SELECT * FROM dwp.claim;\r", "Did you mean 'dwp.claims'")
    child.send(".quit\r")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")
    history = (tmp_path / "fedquery" / "history").read_text()
    assert "FROM dwp.claims;" in history and ".tables" in history
    # the history outlives the session: the up arrow in a new shell recalls the last statement
    child = _spawn(demo_config, tmp_path)
    _run(child, "\x1b[A\x1b[A\r", "Did you mean 'dwp.claims'")  # .quit, then the statement before it
    child.sendeof()
    child.expect(pexpect.EOF)


def test_a_script_on_standard_input(demo_config: Path, tmp_path: Path) -> None:
    script = (
        ".mode csv\n"
        "SELECT count(*) AS n\n  FROM dwp.claims;  SELECT 'a;b' AS s;\n"
        "SELECT * FROM nope.x;\n"
        ".timer on\n"
        "SELECT 42 AS answer -- the last statement needs no ';'\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo_config), "shell"],
        input=script, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.stdout.splitlines() == ['"n"', "1434", '"s"', '"a;b"', '"answer"', "42"], proc.stdout
    assert "unknown department 'nope'" in proc.stderr and "Run Time:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1  # the first error's code


def test_a_script_piped_into_head_ends_quietly(demo_config: Path) -> None:
    shell = subprocess.Popen(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo_config), "shell"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert shell.stdin is not None and shell.stdout is not None and shell.stderr is not None
    shell.stdin.write(b".mode csv\n" + b"SELECT * FROM dwp.claims;\n" * 200)
    shell.stdin.close()
    head = subprocess.run(["head", "-2"], stdin=shell.stdout, capture_output=True, text=True, timeout=60)
    shell.stdout.close()
    assert shell.wait(60) == 0 and head.stdout.startswith('"claim_id"')
    assert shell.stderr.read() == b""


def test_read_and_output(demo_config: Path, tmp_path: Path) -> None:
    (tmp_path / "q.sql").write_text("SELECT count(*) AS n FROM hmrc.income;\n.mode csv\nSELECT 'x' AS s;\n")
    (tmp_path / "bad.sql").write_bytes(b"SELECT 1\xff;")
    out = tmp_path / "out.csv"
    script = (
        f".read {tmp_path / 'q.sql'}\n.read {tmp_path / 'missing.sql'}\n.read {tmp_path / 'bad.sql'}\n"
        f".output /nonexistent/dir/x.csv\n.output {out}\nSELECT 1 AS one;\n.output stdout\nSELECT 2 AS two;\n"
        ".mode xml\n.timer maybe\n.schema dwp.claimz\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo_config), "shell"],
        input=script, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "12000" in proc.stdout and '"x"' in proc.stdout and proc.stdout.endswith('"two"\n2\n'), proc.stdout
    assert out.read_text() == '"one"\n1\n'
    for needle in ("missing.sql", "bad.sql is not UTF-8 text: byte 0xff at offset 8", "/nonexistent/dir",
                   ".mode takes one of", ".timer on|off", "Did you mean 'dwp.claims'"):  # fmt: skip
        assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and proc.returncode == 2


def test_a_broken_catalog_is_reported_not_raised(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(tmp_path / "missing.toml"), "shell"],
        input="SELECT 1;\n.tables\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 3 and "not found" in proc.stderr and "Traceback" not in proc.stderr


def test_completion_candidates() -> None:
    names = CatalogNames()
    names.departments = ["dwp", "hmrc"]
    names.tables = ["dwp.claims", "hmrc.income"]
    names.columns = {"dwp.claims": ["person_id", "benefit"], "hmrc.income": ["person_id", "employment_income"]}

    def values(text: str, statement: str | None = None) -> list[str]:
        return [value for value, _ in candidates(text, names, statement)]

    assert values("SELECT * FROM dwp.c") == ["dwp.claims"]
    assert values("SELECT * FROM HM") == ["hmrc"]  # case-insensitive
    assert values("SELECT empl") == ["employment_income"]
    assert values("SELECT b FROM dwp.claims WHERE be") == ["benefit", "BETWEEN"]  # the statement's tables
    assert values("SELECT em", "SELECT em FROM dwp.claims") == []  # hmrc's columns are not dwp.claims'
    assert values("SELECT em", "SELECT em FROM hmrc.income") == ["employment_income"]
    assert values("SELECT * FROM dwp.claims GRO") == ["GROUP BY"]
    assert values(".sc") == [".schema"]


def test_the_readme_lists_the_shells_dot_commands() -> None:
    from fedquery.shell import HELP

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Explore in the shell", 1)[1]
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    assert block.splitlines() == HELP.splitlines()[: len(block.splitlines())]


def test_plain_fedquery_on_a_terminal_is_the_shell(demo_config: Path, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path), "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    child = pexpect.spawn(
        sys.executable, ["-m", "fedquery.cli", "-c", str(demo_config)], env=env, encoding="utf-8", timeout=30
    )
    child.expect_exact(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    piped = subprocess.run([sys.executable, "-m", "fedquery.cli"], capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and "Commands:" in piped.stdout and "shell" in piped.stdout  # not a terminal: help


def test_schema_and_completion_show_only_what_the_principal_may_see(demo_config: Path) -> None:
    """``.schema`` and the completion names go through the access rules, as SQL does: hana (health
    analyst) sees PPE stock and orders only; sam (support project) not the pupils' ids."""
    import fedquery

    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo_config), "--user", "hana", "--group", "dhsc_analysts",
         "shell"],
        input=".schema dhsc.ppe_orders\n.schema dwp.claims\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "CREATE TABLE dhsc.ppe_orders" in proc.stdout and "dwp.claims" not in proc.stdout, proc.stdout
    assert "unknown table 'dwp.claims'" in proc.stderr and "Traceback" not in proc.stderr
    with fedquery.connect(demo_config, user="hana", groups=["dhsc_analysts"]) as hana:
        names = CatalogNames()
        names.load(hana)
        assert sorted(names.tables) == ["dhsc.ppe_orders", "dhsc.ppe_stock"]
    with fedquery.connect(demo_config, user="sam", purpose="support") as sam:
        names = CatalogNames()
        names.load(sam)
        assert "pupil_id" not in names.columns["dfe.fsm_eligibility"]
        assert "parent_person_id" in names.columns["dfe.fsm_eligibility"]
