"""pseudonymise(x, 'project'): the same HMAC-SHA256 token in every source kind; keys never shown."""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fedquery
from fedquery.pseudonym import PseudonymKeyError, pads, token
from tests.conftest import PG_DSN, mysql_admin, mysql_url, own_schema_and_database, pg_run

KEY = "linkage key: 7f3a9c0e51b2d4a8"
OTHER_KEY = "another project's key 0c1d2e3f"
#: identifiers drawn from the space the dictionary attack enumerates (AB000000C .. AB999999C)
PEOPLE = [(i, f"AB{(i * 7919) % 1_000_000:06d}C") for i in range(1, 301)] + [(1000, "Zoë O'Brien"), (1001, None)]
KINDS = ("pg", "my", "lite", "duck", "pq", "csv")


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEDQUERY_PSEUDONYM_KEY_LINKP", KEY)
    monkeypatch.setenv("FEDQUERY_PSEUDONYM_KEY_OTHERP", OTHER_KEY)


def _hmac(value: Any, key: str = KEY) -> str | None:
    return None if value is None else hmac.new(key.encode(), str(value).encode(), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def linkage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], Path]]:
    """The same people table in PostgreSQL, MariaDB, SQLite, a DuckDB file, Parquet and CSV."""
    root = tmp_path_factory.mktemp("linkage")
    table = pa.table({"id": [p[0] for p in PEOPLE], "nino": [p[1] for p in PEOPLE]})
    (root / "pq").mkdir()
    pq.write_table(table, root / "pq" / "people.parquet")
    (root / "csv").mkdir()
    pacsv.write_csv(table, root / "csv" / "people.csv")
    lite = sqlite3.connect(root / "people.db")
    lite.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, nino TEXT)")
    lite.executemany("INSERT INTO people VALUES (?, ?)", PEOPLE)
    lite.commit()
    lite.close()
    duck = duckdb.connect(str(root / "people.duckdb"))
    duck.register("t", table)
    duck.execute("CREATE TABLE people AS SELECT * FROM t")
    duck.close()
    with own_schema_and_database("fq_pseudo") as name:
        pg_run(f'CREATE TABLE "{name}".people (id BIGINT PRIMARY KEY, nino TEXT)')
        my = mysql_admin()
        with my.cursor() as cur:
            cur.execute(f"CREATE TABLE `{name}`.people (id BIGINT PRIMARY KEY, nino VARCHAR(40)) CHARSET utf8mb4")
            cur.executemany(f"INSERT INTO `{name}`.people VALUES (%s, %s)", PEOPLE)
        my.close()
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(PG_DSN, autocommit=True) as pg, pg.cursor() as cur:
            cur.executemany(f'INSERT INTO "{name}".people VALUES ($1, $2)', PEOPLE)
        config = {
            "departments": {
                "pg": {"sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}}},
                "my": {"sources": {"db": {"kind": "mysql", "url": mysql_url(name)}}},
                "lite": {"sources": {"db": {"kind": "sqlite", "path": str(root / "people.db")}}},
                "duck": {"sources": {"db": {"kind": "duckdb", "path": str(root / "people.duckdb")}}},
                "pq": {"sources": {"files": {"kind": "parquet", "url": str(root / "pq")}}},
                "csv": {"sources": {"files": {"kind": "csv", "url": str(root / "csv")}}},
            },
            "settings": {"audit_log": str(root / "audit.jsonl")},
        }
        yield config, root


@pytest.mark.parametrize("kind", KINDS)
def test_same_value_same_token_in_every_source_kind(linkage: tuple[dict[str, Any], Path], kind: str) -> None:
    config, _ = linkage
    sql = (
        f"SELECT id, t, u FROM (SELECT id, pseudonymise(nino, 'linkp') AS t, pseudonymise(id, 'linkp') AS u "
        f"FROM {kind}.people) AS p ORDER BY id"
    )
    with fedquery.connect(config) as fed:
        rows = fed.sql(sql).fetchall()
        plan = fed.explain(sql)
    assert rows == [(i, _hmac(n), _hmac(i)) for i, n in sorted(PEOPLE)]
    pushed = " ".join(f["sql"] for f in plan.to_dict()["fragments"])
    if kind in ("pg", "my", "duck", "pq", "csv"):  # computed inside the source: the raw value never leaves it
        assert "<pseudonym key: linkp>" in pushed and "nino" in pushed
    else:  # SQLite: tokens replace the column's values as they arrive, before the local DuckDB
        (fragment,) = plan.to_dict()["fragments"]
        assert fragment["pseudonymised"] == {"nino": "linkp"}  # id is selected raw too: DuckDB hashes it


def test_a_join_of_two_departments_on_pseudonyms_equals_the_oracle(linkage: tuple[dict[str, Any], Path]) -> None:
    config, root = linkage
    sql = (
        "SELECT count(*), min(a.t) FROM (SELECT pseudonymise(nino, 'linkp') AS t FROM pg.people) AS a "
        "JOIN (SELECT pseudonymise(nino, 'linkp') AS t FROM pq.people WHERE id % 2 = 0) AS b ON a.t = b.t"
    )
    with fedquery.connect(config) as fed:
        got = fed.sql(sql).fetchall()
    oracle = duckdb.connect()
    oracle.create_function("hm", lambda v: _hmac(v), ["VARCHAR"], "VARCHAR", null_handling="special")
    expected = oracle.sql(
        f"SELECT count(*), min(a.t) FROM (SELECT hm(nino) AS t FROM '{root / 'pq' / 'people.parquet'}') a "
        f"JOIN (SELECT hm(nino) AS t FROM '{root / 'pq' / 'people.parquet'}' WHERE id % 2 = 0) b ON a.t = b.t"
    ).fetchall()
    assert got == expected and got[0][0] == 151


def test_raw_values_of_sources_without_hmac_never_reach_the_local_engine(linkage: tuple[dict[str, Any], Path]) -> None:
    config, _ = linkage
    sql = (
        "SELECT count(*), min(pseudonymise(a.nino, 'linkp')) FROM lite.people AS a "
        "JOIN csv.people AS b ON pseudonymise(a.nino, 'linkp') = pseudonymise(b.nino, 'linkp')"
    )
    with fedquery.connect(config) as fed:
        plan = fed.explain(sql).to_dict()
        got = fed.sql(sql).fetchall()
    assert [f["pseudonymised"] for f in plan["fragments"]] == [{"nino": "linkp"}, {"nino": "linkp"}]
    assert "pseudonym key" not in plan["local_sql"] and "at the fragment boundary" in str(
        plan["fragments"][0]["pushed"]
    )
    assert got == [(len(PEOPLE) - 1, min(_hmac(n) for _, n in PEOPLE if n))]


@pytest.mark.parametrize("pushdown", ["none", "filters", "auto"])
def test_boundary_pseudonyms_with_one_alias_in_two_scopes(linkage: tuple[dict[str, Any], Path], pushdown: str) -> None:
    """The alias p names a SQLite scan in one subquery and a CSV scan in the other: tokens stay exact."""
    config, _ = linkage
    sql = (
        "SELECT count(*) FROM (SELECT pseudonymise(p.nino, 'linkp') AS t FROM lite.people AS p WHERE p.id > 10) AS a "
        "JOIN (SELECT pseudonymise(p.nino, 'linkp') AS t FROM csv.people AS p) AS b ON a.t = b.t"
    )
    with fedquery.connect(config) as fed:
        assert fed.sql(sql, pushdown=pushdown).fetchall() == [(sum(1 for i, n in PEOPLE if n and i > 10),)]


def test_another_projects_key_shares_no_token(linkage: tuple[dict[str, Any], Path]) -> None:
    config, _ = linkage
    with fedquery.connect(config) as fed:
        ours = {r[0] for r in fed.sql("SELECT pseudonymise(nino, 'linkp') FROM pg.people").fetchall()} - {None}
        theirs = {r[0] for r in fed.sql("SELECT pseudonymise(nino, 'otherp') FROM pg.people").fetchall()} - {None}
    assert len(ours) == len(theirs) == len(PEOPLE) - 1 and not ours & theirs


def test_a_dictionary_attack_without_the_key_matches_nothing(linkage: tuple[dict[str, Any], Path]) -> None:
    """Every identifier of the pattern (10^6), hashed the ways an attacker without the key would try:
    sha256, md5, HMAC with an empty key and with the project's name as key. With the real key the same
    attack finds every token (so the test would see a leak)."""
    config, _ = linkage
    with fedquery.connect(config) as fed:
        tokens = {r[0] for r in fed.sql("SELECT pseudonymise(nino, 'linkp') FROM my.people").fetchall()} - {None}
    assert {_hmac(n) for _, n in PEOPLE if n} == tokens
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE guesses AS SELECT 'AB' || lpad(CAST(i AS VARCHAR), 6, '0') || 'C' AS v FROM range(1000000) t(i)"
    )
    con.execute("CREATE TABLE tokens (t VARCHAR)")
    con.executemany("INSERT INTO tokens VALUES (?)", [[t] for t in tokens])

    def hits(expression: str, params: list[str] | None = None) -> int:
        return int(con.execute(f"SELECT count(*) FROM guesses JOIN tokens ON {expression} = t", params).fetchone()[0])

    def hmac_with(guess: bytes) -> tuple[str, list[str]]:
        block = guess.ljust(64, b"\0")
        inner, outer = bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex()
        return "sha256(unhex(?) || unhex(sha256(unhex(?) || encode(v))))", [outer, inner]

    assert hits("sha256(v)") == hits("md5(v)") == 0
    assert hits(*hmac_with(b"")) == hits(*hmac_with(b"linkp")) == hits(*hmac_with(b"LINKP")) == 0
    assert hits(*hmac_with(KEY.encode())) == len(tokens) - 1  # all but Zoë's: the real key finds them


def test_key_material_is_never_shown(linkage: tuple[dict[str, Any], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    config, root = linkage
    inner, outer = pads("linkp")
    sql = "SELECT pseudonymise(nino, 'linkp') AS t FROM pg.people WHERE CAST(nino AS INTEGER) > 0"
    with fedquery.connect(config, user="ana") as fed:
        plan = fed.explain(sql)
        shown = [str(plan), json.dumps(plan.to_dict()), plan._repr_html_()]
        with pytest.raises(fedquery.errors.FedQueryError) as failure:
            fed.sql(sql).fetchall()
        shown.append(str(failure.value))
        result = fed.sql("SELECT pseudonymise(nino, 'linkp') FROM duck.people")
        result.fetchall()
        shown.append(json.dumps([s.to_dict() for s in result.stats]))
        analyzed = fed.explain("SELECT pseudonymise(nino, 'linkp') FROM lite.people", analyze=True)
        shown.append(str(analyzed))
    shown.append((root / "audit.jsonl").read_text())
    for text in shown:
        for secret in (KEY, inner, outer, inner.upper(), outer.upper()):
            assert secret not in text
    assert "<pseudonym key: linkp>" in shown[0]
    hash_a = plan.hash
    monkeypatch.setenv("FEDQUERY_PSEUDONYM_KEY_LINKP", OTHER_KEY + " rotated")
    with fedquery.connect(config) as fed:
        assert fed.explain(sql).hash == hash_a  # the plan's name does not depend on the key


def test_a_missing_or_short_key_is_a_typed_error(
    linkage: tuple[dict[str, Any], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _ = linkage
    with fedquery.connect(config) as fed:
        with pytest.raises(PseudonymKeyError, match="set FEDQUERY_PSEUDONYM_KEY_NOBODY") as info:
            fed.sql("SELECT pseudonymise(nino, 'nobody') FROM pg.people")
        assert info.value.variable == "FEDQUERY_PSEUDONYM_KEY_NOBODY"
        monkeypatch.setenv("FEDQUERY_PSEUDONYM_KEY_SHORT", "short")
        with pytest.raises(PseudonymKeyError, match="shorter than 16"):
            fed.sql("SELECT pseudonymise(nino, 'short') FROM pg.people")
        with pytest.raises(fedquery.errors.QueryError, match="project name as a string"):
            fed.sql("SELECT pseudonymise(nino) FROM pg.people")
        with pytest.raises(PseudonymKeyError, match="must be a name"):
            fed.sql("SELECT pseudonymise(nino, 'a b') FROM pg.people")


def test_python_reference_matches_the_hmac_module() -> None:
    assert token("AB123456C", "linkp") == _hmac("AB123456C") and token(None, "linkp") is None
    assert token(42, "linkp") == _hmac("42")


def test_a_rule_can_force_a_column_to_be_seen_only_pseudonymised(tmp_path: Path) -> None:
    """An access rule's mask may be ``pseudonymise(column, 'project')``: the analyst sees only tokens, equal
    to the HMAC of the stored values, and a join on them links the departments."""
    import re

    from fedquery.demo import write_demo

    config = write_demo(tmp_path)
    rules = tmp_path / "rules" / "dwp.toml"
    text = rules.read_text()
    redaction = r"mask = \"'\*\*\*\*\*' \|\| right\(person_id, 2\)\""
    forced = re.sub(redaction, "mask = \"pseudonymise(person_id, 'linkp')\"", text, count=1)
    assert forced != text
    rules.write_text(forced)
    with fedquery.connect(config) as stored:  # the demo's catch-all rule: the values as stored
        raw = stored.sql("SELECT claim_id, person_id FROM dwp.claims ORDER BY claim_id").fetchall()
    with fedquery.connect(config, user="wendy", groups=["dwp_analysts"]) as fed:
        seen = fed.sql("SELECT claim_id, person_id FROM dwp.claims ORDER BY claim_id").fetchall()
        plan = fed.explain("SELECT person_id FROM dwp.claims")
    assert seen == [(claim, _hmac(person)) for claim, person in raw]
    assert KEY not in str(plan) and any("masked person_id" in r for r in plan.rules_applied)
