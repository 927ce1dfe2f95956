"""``fedquery doctor``: can every source be reached, and is its account no more than a reader?

fedquery only reads (an SQL allowlist, read-only sessions, files opened for
reading), but the account a department gives it should not be able to write
either: least privilege is the layer that holds when another one fails. For
each source this reports whether it answers, and warns when its account is a
superuser or may write:

- PostgreSQL: ``rolsuper``, ``rolcreaterole``, ``rolcreatedb``,
  ``rolbypassrls`` and ``rolreplication`` of ``current_user`` (``pg_roles``);
  INSERT/UPDATE/DELETE/TRUNCATE on the exposed tables
  (``has_table_privilege``) and CREATE on their schemas
  (``has_schema_privilege``).
- MySQL/MariaDB: ``SHOW GRANTS``; anything beyond SELECT, SHOW VIEW, SHOW
  DATABASES and USAGE is a warning (ALL PRIVILEGES or SUPER: a superuser).
- Parquet/CSV on the local disk, SQLite and DuckDB files: a note when this
  process could write them (they are opened read-only anyway).

Every statement is built with sqlglot.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from fedquery.errors import FedQueryError

if TYPE_CHECKING:
    from connectors.base import Connector, TableInfo
    from fedquery.federation import Federation

#: Exit codes of ``fedquery doctor``: an unreachable source (as for queries), or an account that can do too much.
UNREACHABLE_EXIT = 4
WARNING_EXIT = 7

_PG_ROLE_FLAGS = {
    "rolsuper": "is a superuser (rolsuper)",
    "rolcreaterole": "can create and alter roles (rolcreaterole)",
    "rolcreatedb": "can create databases (rolcreatedb)",
    "rolbypassrls": "bypasses row-level security (rolbypassrls)",
    "rolreplication": "can stream replication, reading every table (rolreplication)",
}
_PG_WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
_MYSQL_READ_ONLY = {"SELECT", "SHOW VIEW", "SHOW DATABASES", "USAGE"}
_MYSQL_SUPER = {"ALL", "ALL PRIVILEGES", "SUPER"}
_GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<object>.+?) TO ", re.DOTALL)


@dataclass(frozen=True)
class SourceCheck:
    """What ``doctor`` found about one source."""

    department: str
    source: str
    kind: str
    location: str
    reachable: bool
    #: why the source could not be reached (a typed error's message), when it could not
    error: str | None = None
    #: the account can do more than read (a superuser, write or create privileges)
    warnings: tuple[str, ...] = ()
    #: facts worth knowing that need no action (read-only opening, writable files)
    notes: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return "unreachable" if not self.reachable else ("warning" if self.warnings else "ok")

    def to_dict(self) -> dict[str, Any]:
        return {
            "department": self.department,
            "source": self.source,
            "kind": self.kind,
            "location": self.location,
            "status": self.status,
            "reachable": self.reachable,
            "error": self.error,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }


@dataclass
class _Findings:
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def doctor(federation: Federation) -> list[SourceCheck]:
    """Connect to every source of ``federation`` and check what its account may do."""
    checks = []
    for department, dept in federation.config.departments.items():
        for name, source in dept.sources.items():
            checks.append(_check(federation, department, name, source.kind, source.location()))
    return checks


def exit_code(checks: list[SourceCheck]) -> int:
    """4 when a source is unreachable, else 7 when an account can do more than read, else 0."""
    if any(not c.reachable for c in checks):
        return UNREACHABLE_EXIT
    return WARNING_EXIT if any(c.warnings for c in checks) else 0


def _check(federation: Federation, department: str, name: str, kind: str, location: str) -> SourceCheck:
    def record(reachable: bool, error: str | None = None, found: _Findings | None = None) -> SourceCheck:
        found = found or _Findings()
        return SourceCheck(
            department, name, kind, location, reachable, error, tuple(found.warnings), tuple(found.notes)
        )

    try:
        connector = federation.catalog.connector(department, name)
        tables = connector.list_tables()
        found = _Findings()
        _CHECKS.get(kind, _unchecked)(connector, tables, found)
    except FedQueryError as exc:
        return record(False, str(exc))
    except Exception as exc:  # noqa: BLE001 - a doctor reports every failure as a finding, never a traceback
        redact = federation.config.departments[department].sources[name].redact
        return record(False, redact(f"{type(exc).__name__}: {exc}"))
    return record(True, found=found)


# -- PostgreSQL -------------------------------------------------------------------------------------
def _postgres(connector: Connector, tables: list[TableInfo], found: _Findings) -> None:
    rows = _rows(connector, _pg_role_query())
    if not rows:
        found.warnings.append("the current user is not in pg_roles")
        return
    user, *flags = rows[0]
    for meaning, value in zip(_PG_ROLE_FLAGS.values(), flags):
        if value:
            found.warnings.append(f"role {user!r} {meaning}")
    if rows[0][1]:
        return  # a superuser may do anything: the per-table checks would only repeat it
    qualified = sorted({exp.table_(t.remote[-1], db=t.remote[0], quoted=True).sql("postgres") for t in tables})
    if qualified:
        for table, *privileges in _rows(connector, _pg_table_query(qualified)):
            writes = [p for p, granted in zip(_PG_WRITES, privileges) if granted]
            if writes:
                found.warnings.append(f"role {user!r} can {', '.join(writes)} table {table}")
    schemas = sorted({t.remote[0] for t in tables if len(t.remote) > 1})
    if schemas:
        for schema, create in _rows(connector, _pg_schema_query(schemas)):
            if create:
                found.warnings.append(f"role {user!r} can CREATE in schema {schema!r}")


def _pg_role_query() -> exp.Select:
    """
    >>> print(_pg_role_query().sql("postgres", pretty=True))
    SELECT
      rolname,
      rolsuper,
      rolcreaterole,
      rolcreatedb,
      rolbypassrls,
      rolreplication
    FROM pg_catalog.pg_roles
    WHERE
      rolname = CURRENT_USER
    """
    return (
        exp.select("rolname", *_PG_ROLE_FLAGS)
        .from_(exp.table_("pg_roles", db="pg_catalog"))
        .where(exp.column("rolname").eq(exp.CurrentUser()))
    )


def _pg_table_query(qualified: list[str]) -> exp.Select:
    """One row per table: its name and whether the current user may INSERT, UPDATE, DELETE, TRUNCATE it.

    >>> print(_pg_table_query(['"s"."t"']).sql("postgres", pretty=True))
    SELECT
      t.q,
      HAS_TABLE_PRIVILEGE(t.q, 'INSERT'),
      HAS_TABLE_PRIVILEGE(t.q, 'UPDATE'),
      HAS_TABLE_PRIVILEGE(t.q, 'DELETE'),
      HAS_TABLE_PRIVILEGE(t.q, 'TRUNCATE')
    FROM (VALUES
      ('"s"."t"')) AS t(q)
    """
    name = exp.column("q", "t")
    checks = [_call("has_table_privilege", name.copy(), exp.Literal.string(p)) for p in _PG_WRITES]
    return exp.select(name, *checks).from_(exp.values([(q,) for q in qualified], alias="t", columns=["q"]))


def _pg_schema_query(schemas: list[str]) -> exp.Select:
    name = exp.column("q", "t")
    check = _call("has_schema_privilege", name.copy(), exp.Literal.string("CREATE"))
    return exp.select(name, check).from_(exp.values([(s,) for s in schemas], alias="t", columns=["q"]))


# -- MySQL / MariaDB --------------------------------------------------------------------------------
def _mysql(connector: Connector, tables: list[TableInfo], found: _Findings) -> None:
    # sqlglot 30 renders exp.Show(this="GRANTS") as "SHOW GRANTS FOR": the statement is a constant command.
    grants = [str(row[0]) for row in _rows(connector, exp.Command(this="SHOW", expression="GRANTS"))]
    found.warnings.extend(mysql_grant_warnings(grants))
    for line in grants:
        if " ON " not in line and line.startswith("GRANT "):
            found.notes.append(f"roles granted ({line}): check their privileges too")


def mysql_grant_warnings(grants: list[str]) -> list[str]:
    """What in ``SHOW GRANTS`` lines goes beyond reading.

    >>> mysql_grant_warnings(["GRANT USAGE ON *.* TO `r`@`%`", "GRANT SELECT, SHOW VIEW ON `hr`.* TO `r`@`%`"])
    []
    >>> mysql_grant_warnings(["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"])
    ['superuser: ALL PRIVILEGES ON *.*', 'can grant its privileges to others (WITH GRANT OPTION on *.*)']
    >>> mysql_grant_warnings(["GRANT SELECT (`a`), INSERT (`b`) ON `hr`.`t` TO `r`@`%`"])
    ['can INSERT on `hr`.`t`']
    """
    warnings = []
    for line in grants:
        match = _GRANT.match(line)
        if match is None or match["privileges"].strip().upper() == "PROXY":
            continue
        target = match["object"].strip()
        privileges = [_privilege(p) for p in _split_privileges(match["privileges"])]
        superuser = [p for p in privileges if p in _MYSQL_SUPER]
        if superuser and target == "*.*":
            warnings.append(f"superuser: {', '.join(superuser)} ON *.*")
        else:
            more = [p for p in privileges if p not in _MYSQL_READ_ONLY]
            if more:
                warnings.append(f"can {', '.join(more)} on {target}")
        if "WITH GRANT OPTION" in line.upper():
            warnings.append(f"can grant its privileges to others (WITH GRANT OPTION on {target})")
    return warnings


def _split_privileges(text: str) -> list[str]:
    """``SELECT (a, b), INSERT`` -> ``["SELECT (a, b)", "INSERT"]`` (commas inside column lists kept)."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    return [p for p in (*parts, current) if p.strip()]


def _privilege(text: str) -> str:
    return " ".join(text.split("(", 1)[0].split()).upper()


# -- files ------------------------------------------------------------------------------------------
def _files(connector: Connector, tables: list[TableInfo], found: _Findings) -> None:
    from connectors.files import FileConnector, is_local

    assert isinstance(connector, FileConnector)
    fs, root = connector.filesystem()
    if not is_local(fs):
        return
    paths = [root, *(t.remote[0] for t in tables)]
    writable = [p for p in dict.fromkeys(paths) if "*" not in p and os.path.exists(p) and os.access(p, os.W_OK)]
    if writable:
        found.notes.append(
            f"this process can write {len(writable)} of the source's paths (first: {writable[0]}); "
            "fedquery opens them read-only, but a read-only mount or account is safer"
        )


def _database_file(connector: Connector, tables: list[TableInfo], found: _Findings) -> None:
    path = connector.local_path()
    found.notes.append(f"opened read-only ({path})")
    if os.access(path, os.W_OK):
        found.notes.append("this process can write the file; fedquery opens it read-only")


def _unchecked(connector: Connector, tables: list[TableInfo], found: _Findings) -> None:
    found.notes.append(f"privileges are not checked for {connector.kind!r} sources")


_CHECKS: dict[str, Callable[[Connector, list[TableInfo], _Findings], None]] = {
    "postgres": _postgres,
    "mysql": _mysql,
    "parquet": _files,
    "csv": _files,
    "sqlite": _database_file,
    "duckdb": _database_file,
}


# -- helpers ----------------------------------------------------------------------------------------
def _rows(connector: Connector, statement: exp.Expr) -> list[tuple[Any, ...]]:
    from connectors.remote import RemoteConnector

    assert isinstance(connector, RemoteConnector)
    return connector.query_rows(statement.sql(dialect=connector.dialect))


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))
