"""``fedquery audit verify`` and ``fedquery audit show``.

``verify`` exits 0 when the chain holds, 10 (:class:`~fedquery.errors.AuditIntegrityError`) naming
the first bad record's line and what is wrong, 9 when the log cannot be read or is not configured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fedquery import formats
from fedquery.audit import AuditLog
from fedquery.errors import AuditError

SHOWN = ("time", "user", "purpose", "entry", "departments", "outcome", "rows", "sql")
_log_option = click.option(
    "--log", "log_file", type=click.Path(dir_okay=False, path_type=Path),
    help="The audit log file (default: the catalog's [settings] audit_log).",
)  # fmt: skip


def _log(obj: Any, log_file: Path | None) -> AuditLog:
    if log_file is not None:
        return AuditLog(log_file)
    log = obj.federation().audit
    if log is None:
        raise AuditError("no audit log is configured ([settings] audit_log = false, or a dict config)", path="-")
    return log  # type: ignore[no-any-return]


@click.group()
def audit() -> None:
    """Check and read the hash-chained audit log (one record per query).

    \b
    Examples:
      fedquery audit verify
      fedquery audit show --user ana --since 2026-11-01 --outcome error
    """


@audit.command()
@_log_option
@click.option("--expect-head", metavar="HASH", help="Also check the last record is HASH (kept from an earlier verify).")
@click.pass_obj
def verify(obj: Any, log_file: Path | None, expect_head: str | None) -> None:
    """Check every record's hash and its link to the previous one (exit 10 names the first bad line)."""
    report = _log(obj, log_file).verify(expect_head)
    click.echo(f"ok: {report.records} records, chain intact; head {report.head}")


@audit.command()
@_log_option
@click.option("--user", help="Only this user's queries.")
@click.option("--department", help="Only queries that reached this department.")
@click.option("--since", metavar="ISO", help="Only queries started at or after this time (ISO 8601).")
@click.option("--until", metavar="ISO", help="Only queries started at or before this time (ISO 8601).")
@click.option("--outcome", type=click.Choice(["ok", "error", "unfinished"]), help="Only queries with this outcome.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def show(
    obj: Any, log_file: Path | None, user: str | None, department: str | None, since: str | None,
    until: str | None, outcome: str | None, fmt: str,
) -> None:  # fmt: skip
    """One line per query: when, who, for what purpose, where, the outcome, rows and SQL."""
    found = _log(obj, log_file).records(user=user, department=department, since=since, until=until, outcome=outcome)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    rows = [{k: _cell(q.get(k)) for k in SHOWN} for q in found]
    if not rows:
        click.echo("no audit records match")
        return
    click.echo(formats.safe(formats.render(formats.rows_table(rows), "table")))


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    text = "" if value is None else str(value)
    return " ".join(text.split())[:80]
