"""The README stays true: its Python example runs on the demo federation, its commands are what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs(demo_config: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    text = README.read_text()
    block = re.search(r"## Python\n\n```python\n(.*?)```", text, re.S)
    assert block, "README has a Python example"
    monkeypatch.chdir(demo_config.parent.parent)
    demo_config.parent.rename(demo_config.parent.parent / "fedquery-demo")
    try:
        exec(compile(block.group(1), "README.md", "exec"), {})
    finally:
        (demo_config.parent.parent / "fedquery-demo").rename(demo_config.parent)
    out = capsys.readouterr().out
    assert "dwp claims" in out and "remote SQL" in out


def test_readme_commands_are_the_ci_commands() -> None:
    text = README.read_text()
    assert "pip install -e . && fedquery demo" in text
    assert "pip install -e '.[test]' && python -m pytest" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "pip install --quiet -e '.[test]'" in ci and "python -m pytest" in ci
