"""The principal a query runs as: declared by arguments, the CLI or the environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.errors import ConfigError
from fedquery.principal import Principal


def test_connect_declares_the_principal(demo_config: Path) -> None:
    with fedquery.connect(demo_config, user="ana", groups=["analysts", "dhsc"], purpose="ppe") as fed:
        assert fed.principal == Principal("ana", ("analysts", "dhsc"), "ppe")


def test_environment_is_the_fallback(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDQUERY_USER", "bo")
    monkeypatch.setenv("FEDQUERY_GROUPS", "dwp, analysts,dwp")
    monkeypatch.setenv("FEDQUERY_PURPOSE", "support")
    with fedquery.connect(demo_config) as fed:
        assert fed.principal == Principal("bo", ("dwp", "analysts"), "support")
    with fedquery.connect(demo_config, user="cy") as fed:  # an argument wins over the environment
        assert fed.principal.user == "cy"


def test_without_anything_the_os_user_and_no_purpose(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FEDQUERY_USER", "FEDQUERY_GROUPS", "FEDQUERY_PURPOSE"):
        monkeypatch.delenv(name, raising=False)
    principal = Principal.from_environment()
    assert principal.user and principal.groups == () and principal.purpose is None


@pytest.mark.parametrize(
    ("user", "groups", "purpose", "message"),
    [
        ("", (), None, "user name is empty"),
        ("a\nb", (), None, "control characters"),
        ("ana", ("x" * 129,), None, "over 128"),
        ("ana", (), "", "purpose is empty"),
        ("ana", (3,), None, "must be text, not int"),
    ],
)
def test_bad_principals_are_config_errors(
    user: str, groups: tuple[object, ...], purpose: str | None, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Principal.of(user, groups=groups, purpose=purpose)  # type: ignore[arg-type]


def test_cli_options_and_a_bad_user(demo_config: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["-c", str(demo_config), "--user", "ana", "--group", "a", "--purpose", "p", "query",
                              "SELECT 1 AS one"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(main, ["-c", str(demo_config), "--user", "", "query", "SELECT 1"])
    assert bad.exit_code == 3 and "user name is empty" in bad.output and "Traceback" not in bad.output
