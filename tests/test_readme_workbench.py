"""The README's workbench sections stay true: their SQL, Python and shell examples run on the demo."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import fedquery

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ("Finding your way", "Parameters", "DB-API 2.0", "Notebooks")


def _section(title: str) -> str:
    text = README.read_text()
    match = re.search(rf"### {re.escape(title)}.*?\n(.*?)(?=\n##)", text, re.S)
    assert match, f"README has a section {title!r}"
    return match.group(1)


def _blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


@pytest.fixture
def demo_dir(demo_config: Path, tmp_path: Path) -> Iterator[Path]:
    """The README's relative path ``fedquery-demo/fedquery.toml``, in a fresh directory."""
    shutil.copytree(demo_config.parent, tmp_path / "fedquery-demo")
    yield tmp_path


def test_introspection_examples_run(demo_dir: Path) -> None:
    (block,) = _blocks(_section("Finding your way"), "sql")
    statements = [re.sub(r"--[^\n]*", "", s).strip() for s in block.split(";")]
    with fedquery.connect(demo_dir / "fedquery-demo" / "fedquery.toml") as fed:
        answers = [fed.sql(s).fetchall() for s in statements if s]
    assert len(answers) == 7 and ("dwp", "claims", "weekly_amount", "DECIMAL(10,2)") in answers[-1]


def test_python_examples_run(
    demo_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(demo_dir)
    kept: dict[str, object] = {}
    for title in ("Parameters", "DB-API 2.0", "Notebooks"):
        for block in _blocks(_section(title), "python"):
            namespace: dict[str, object] = {}  # each example stands alone
            exec(compile(block, f"README.md ({title})", "exec"), namespace)
            if isinstance(namespace.get("fed"), fedquery.Federation):
                namespace["fed"].close()  # type: ignore[attr-defined]
            kept.update(namespace)
    assert "['region', 'n'] True" in capsys.readouterr().out
    assert kept["first"] is not None and len(kept["rest"]) > 0  # type: ignore[arg-type]


def test_shell_example_runs(demo_dir: Path) -> None:
    (block,) = _blocks(_section("Parameters"), "bash")
    fedquery_bin = str(Path(sys.executable).parent / "fedquery")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-c", f"cd fedquery-demo && {block}"], cwd=demo_dir, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith('"count_star()"') and Path(fedquery_bin).exists()
