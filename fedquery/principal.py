"""Who a query runs as: a user, the groups (roles) the user holds, and the purpose the query serves.

Trust model: in library and CLI mode the caller *declares* who it is (arguments, ``--user`` or the
``FEDQUERY_USER`` / ``FEDQUERY_GROUPS`` / ``FEDQUERY_PURPOSE`` environment variables, else the operating
system's user name); nothing is authenticated. A served deployment authenticates and then builds the
principal itself. Sharing rules decide what a principal may see; a principal alone grants nothing.

>>> Principal.of("ana", groups=["analysts", "dhsc"], purpose="ppe-supply")
Principal(user='ana', groups=('analysts', 'dhsc'), purpose='ppe-supply')
>>> Principal.of("")
Traceback (most recent call last):
...
fedquery.errors.ConfigError: principal: the user name is empty
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fedquery.errors import ConfigError

#: names are printable and short: they appear in errors, EXPLAIN and the audit log
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,128}")
ENV_USER, ENV_GROUPS, ENV_PURPOSE = "FEDQUERY_USER", "FEDQUERY_GROUPS", "FEDQUERY_PURPOSE"


@dataclass(frozen=True)
class Principal:
    """A user, their groups and the purpose (the project a query serves: ONS "safe projects")."""

    user: str
    groups: tuple[str, ...] = ()
    purpose: str | None = None

    @classmethod
    def of(cls, user: str, *, groups: Iterable[str] = (), purpose: str | None = None) -> Principal:
        """A checked principal: names non-empty, printable, at most 128 characters."""
        _check("user name", user)
        if isinstance(groups, str):  # "a,b" from an environment variable or a careless caller
            groups = [g for g in (part.strip() for part in groups.split(",")) if g]
        checked = tuple(dict.fromkeys(groups))  # order kept, duplicates dropped
        for group in checked:
            _check("group name", group)
        if purpose is not None:
            _check("purpose", purpose)
        return cls(user, checked, purpose)

    @classmethod
    def from_environment(
        cls,
        user: str | None = None,
        groups: Iterable[str] | None = None,
        purpose: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Principal:
        """Arguments first, then ``FEDQUERY_USER`` / ``FEDQUERY_GROUPS`` (comma-separated) /
        ``FEDQUERY_PURPOSE``, then the operating system's user name (no groups, no purpose)."""
        env = os.environ if environ is None else environ
        if user is None:
            user = env.get(ENV_USER) or _os_user()
        if groups is None:
            groups = env.get(ENV_GROUPS, "")
        if purpose is None:
            purpose = env.get(ENV_PURPOSE) or None
        return cls.of(user, groups=groups, purpose=purpose)

    def to_dict(self) -> dict[str, object]:
        return {"user": self.user, "groups": list(self.groups), "purpose": self.purpose}

    def __str__(self) -> str:
        text = self.user
        if self.groups:
            text += f" (groups: {', '.join(self.groups)})"
        if self.purpose:
            text += f" for purpose {self.purpose!r}"
        return text


def _check(what: str, value: object) -> None:
    if not isinstance(value, str):
        raise ConfigError(f"principal: the {what} must be text, not {type(value).__name__}")
    if not value:
        raise ConfigError(f"principal: the {what} is empty")
    if not _NAME.fullmatch(value):
        raise ConfigError(f"principal: the {what} {value[:40]!r} has control characters or is over 128 characters")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers): still somebody, named plainly
        return "unknown"
