"""``fedquery doctor`` against the real servers: superuser and writer accounts warn, the read-only
accounts that the README's SQL creates do not, an unreachable source is reported beside the others.

The README's SQL is run literally (names substituted), so the documented accounts stay read-only.
"""

from __future__ import annotations

import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.doctor import SourceCheck, exit_code
from tests.conftest import MYSQL_URL, PG_DSN, mysql_admin, pg_admin, pg_run

README = Path(__file__).resolve().parent.parent / "README.md"
# The README's "Least privilege" SQL blocks, found by their first lines and run literally (names substituted).
PG_README_SQL = "-- PostgreSQL: a read-only account for fedquery"
MYSQL_README_SQL = "-- MySQL/MariaDB: a read-only account for fedquery"


def _readme_sql(first: str) -> list[str]:
    """The statements of the README's SQL block that starts with ``first``."""
    block = re.search(rf"```sql\n({re.escape(first)}.*?)```", README.read_text(), re.S)
    assert block, f"README.md has no SQL block starting {first!r}"
    body = "\n".join(line for line in block.group(1).splitlines() if not line.startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _connect(sources: dict[str, dict[str, Any]]) -> fedquery.Federation:
    return fedquery.connect({"departments": {"d": {"sources": sources}}})


def _only(checks: list[SourceCheck], source: str) -> SourceCheck:
    return next(c for c in checks if c.source == source)


def _pg_url(user: str) -> str:
    parts = urlsplit(PG_DSN)
    return f"postgresql://{user}@{parts.hostname}:{parts.port or 5432}{parts.path}"


# -- PostgreSQL -----------------------------------------------------------------------------------
@pytest.fixture
def pg_reader() -> Iterator[tuple[str, str]]:
    """A schema with a table, and a role made by the README's SQL: (role, schema); all dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    role, schema = f"fq_reader_{suffix}", f"fq_doctor_{suffix}"
    database = urlsplit(PG_DSN).path.lstrip("/")
    pg_run(f'CREATE SCHEMA "{schema}"', f'CREATE TABLE "{schema}".claims (id int, amount numeric)')
    statements = [
        s.replace("fedquery_reader", role).replace("departments", database).replace("claims", schema)
        for s in _readme_sql(PG_README_SQL)
    ]
    try:
        pg_run(*statements)
        pg_run(f'CREATE TABLE "{schema}".later (id int)')  # default privileges cover tables created afterwards
        yield role, schema
    finally:
        pg_run(f'DROP SCHEMA "{schema}" CASCADE', f'DROP OWNED BY "{role}"', f'DROP ROLE IF EXISTS "{role}"')


def test_postgres_superuser_warns() -> None:
    user = urlsplit(PG_DSN).username or "postgres"
    pg_con = pg_admin()
    with pg_con.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        is_super = cur.fetchone()[0]
    pg_con.close()
    if not is_super:
        pytest.skip("the test server's admin account is not a superuser")
    checks = _connect({"pg": {"kind": "postgres", "url": _pg_url(user)}}).doctor()
    check = _only(checks, "pg")
    assert check.reachable and check.status == "warning"
    assert any("superuser (rolsuper)" in w for w in check.warnings)
    assert exit_code(checks) == 7


def test_postgres_readme_account_is_read_only(pg_reader: tuple[str, str]) -> None:
    role, schema = pg_reader
    source = {"kind": "postgres", "url": _pg_url(role), "schemas": [schema]}
    fed = _connect({"pg": source})
    checks = fed.doctor()
    check = _only(checks, "pg")
    assert check.reachable, check.error
    assert check.warnings == (), check.warnings
    assert exit_code(checks) == 0
    # It reads what it was granted, including tables created after the grant.
    assert fed.sql(f"SELECT count(*) FROM d.{schema}.later").fetchall() == [(0,)]


def test_postgres_writer_role_warns_per_table_and_schema(pg_reader: tuple[str, str]) -> None:
    role, schema = pg_reader
    pg_run(f'GRANT INSERT, DELETE ON "{schema}".claims TO "{role}"', f'GRANT CREATE ON SCHEMA "{schema}" TO "{role}"')
    check = _only(_connect({"pg": {"kind": "postgres", "url": _pg_url(role), "schemas": [schema]}}).doctor(), "pg")
    assert any(f'can INSERT, DELETE table "{schema}"."claims"' in w for w in check.warnings), check.warnings
    assert any(f"can CREATE in schema {schema!r}" in w for w in check.warnings), check.warnings
    assert not any("later" in w for w in check.warnings)


# -- MySQL / MariaDB ------------------------------------------------------------------------------
@pytest.fixture
def mysql_reader() -> Iterator[tuple[str, str]]:
    """A database with a table, and a user made by the README's SQL: (user, database); dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    user, database = f"fq_reader_{suffix}", f"fq_doctor_{suffix}"
    con = mysql_admin()
    try:
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{database}`")
            cur.execute(f"CREATE TABLE `{database}`.claims (id int)")
            for statement in _readme_sql(MYSQL_README_SQL):
                cur.execute(statement.replace("fedquery_reader", user).replace("departments", database))
        yield user, database
    finally:
        with con.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        con.close()


def _mysql_url(user: str, password: str, database: str) -> str:
    parts = urlsplit(MYSQL_URL)
    auth = f"{user}:{password}" if password else user
    return f"mysql://{auth}@{parts.hostname}:{parts.port or 3306}/{database}"


def test_mysql_root_warns() -> None:
    parts = urlsplit(MYSQL_URL)
    url = _mysql_url(parts.username or "root", parts.password or "", parts.path.lstrip("/") or "test")
    checks = _connect({"my": {"kind": "mysql", "url": url}}).doctor()
    check = _only(checks, "my")
    assert check.reachable, check.error
    assert any(w.startswith("superuser: ALL PRIVILEGES ON *.*") for w in check.warnings), check.warnings
    assert exit_code(checks) == 7


def test_mysql_readme_account_is_read_only(mysql_reader: tuple[str, str]) -> None:
    user, database = mysql_reader
    fed = _connect({"my": {"kind": "mysql", "url": _mysql_url(user, "change-me", database)}})
    check = _only(fed.doctor(), "my")
    assert check.reachable, check.error
    assert check.warnings == (), check.warnings
    assert fed.sql("SELECT count(*) FROM d.claims").fetchall() == [(0,)]


def test_mysql_writer_warns(mysql_reader: tuple[str, str]) -> None:
    user, database = mysql_reader
    con = mysql_admin()
    with con.cursor() as cur:
        cur.execute(f"GRANT INSERT, UPDATE ON `{database}`.claims TO '{user}'@'%'")
    con.close()
    check = _only(_connect({"my": {"kind": "mysql", "url": _mysql_url(user, "change-me", database)}}).doctor(), "my")
    assert check.warnings == (f"can INSERT, UPDATE on `{database}`.`claims`",), check.warnings


# -- files, database files, unreachable sources, the CLI ------------------------------------------
def test_files_unreachable_and_cli_exit_codes(tmp_path: Path) -> None:
    pacsv.write_csv(pa.table({"id": [1]}), tmp_path / "claims.csv")
    db = tmp_path / "orders.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")
    sources = {
        "files": {"kind": "csv", "url": str(tmp_path)},
        "orders": {"kind": "sqlite", "path": str(db)},
    }
    checks = _connect(sources).doctor()
    assert [c.status for c in checks] == ["ok", "ok"] and exit_code(checks) == 0
    assert any("can write" in n for n in _only(checks, "files").notes)
    assert any("read-only" in n for n in _only(checks, "orders").notes)

    sources["down"] = {"kind": "postgres", "url": "postgresql://nobody@127.0.0.1:1/none"}
    config = tmp_path / "fedquery.toml"
    config.write_text(
        "[departments.d.sources.files]\nkind = 'csv'\nurl = '.'\n"
        f"[departments.d.sources.orders]\nkind = 'sqlite'\npath = '{db}'\n"
        "[departments.d.sources.down]\nkind = 'postgres'\nurl = 'postgresql://nobody:s3cret@127.0.0.1:1/none'\n"
    )
    result = CliRunner().invoke(main, ["-c", str(config), "doctor"], catch_exceptions=False)
    assert result.exit_code == 4, result.output
    assert "d.files (csv" in result.output and "d.orders (sqlite" in result.output
    assert "d.down (postgres" in result.output and "unreachable" in result.output
    assert "s3cret" not in result.output and "Traceback" not in result.output
    as_json = CliRunner().invoke(main, ["-c", str(config), "doctor", "--format", "json"], catch_exceptions=False)
    records = {r["source"]: r for r in json.loads(as_json.stdout)}
    assert records["down"]["reachable"] is False and records["down"]["error"]
    assert records["files"]["status"] == "ok"


def test_cli_exit_6_when_an_account_can_write(tmp_path: Path) -> None:
    parts = urlsplit(MYSQL_URL)
    url = _mysql_url(parts.username or "root", parts.password or "", parts.path.lstrip("/") or "test")
    mysql_admin().close()  # skips when the server is not reachable
    config = tmp_path / "fedquery.toml"
    config.write_text(f"[departments.d.sources.my]\nkind = 'mysql'\nurl = '{url}'\n")
    result = CliRunner().invoke(main, ["-c", str(config), "doctor"], catch_exceptions=False)
    assert result.exit_code == 7, result.output
    assert "warning: superuser" in result.output
