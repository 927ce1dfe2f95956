"""Rules files: format, matching, typed errors naming file and line, whole-department denial, reload."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.disclosure import DisclosureError
from fedquery.errors import AccessDenied, ConfigError, PlanError
from fedquery.policy import visible_columns

PEOPLE = "id,nino,region,score\n1,AB111111A,north,10\n2,AB222222B,south,20\n3,AB333333C,north,5\n"


def _federation(tmp_path: Path, rules: str | None, name: str = "gov.toml", **principal: Any) -> Any:
    (tmp_path / "gov").mkdir(exist_ok=True)
    (tmp_path / "open").mkdir(exist_ok=True)
    (tmp_path / "gov" / "people.csv").write_text(PEOPLE)
    (tmp_path / "open" / "places.csv").write_text("region,name\nnorth,N\nsouth,S\n")
    gov: dict[str, Any] = {"sources": {"files": {"kind": "csv", "url": str(tmp_path / "gov")}}}
    if rules is not None:
        (tmp_path / name).write_text(rules)
        gov["rules"] = str(tmp_path / name)
    config = {
        "departments": {"gov": gov, "open": {"sources": {"files": {"kind": "csv", "url": str(tmp_path / "open")}}}}
    }
    return fedquery.connect(config, **({"user": "ana"} | principal))


RULES = """\
[[tables]]
group = "analysts"
table = "people"
columns = [
  { name = "nino", mask = "'***' || right(nino, 2)" },
  { name = "score", allow = false },
]
filter = "region = current_purpose"

[[tables]]
user = "boss"
"""


def test_first_match_wins_and_no_match_denies(tmp_path: Path) -> None:
    with _federation(tmp_path, RULES, groups=["analysts"], purpose="north") as fed:
        assert fed.sql("SELECT id, nino FROM gov.people ORDER BY id").fetchall() == [(1, "***1A"), (3, "***3C")]
        assert fed.sql("SELECT * FROM gov.people ORDER BY id").arrow().column_names == ["id", "nino", "region"]
        assert fed.sql("SELECT p.* FROM gov.people p JOIN open.places USING (region)").arrow().num_columns == 3
        for sql in (
            "WITH x AS (SELECT * FROM gov.people) SELECT * FROM x",
            "SELECT * FROM (SELECT * FROM gov.people) AS s",
            "SELECT * FROM gov.people UNION ALL SELECT * FROM gov.people",
            "SELECT p.* FROM gov.people p, gov.people q WHERE p.id = q.id",
        ):
            got = fed.sql(sql)
            assert got.arrow().column_names == ["id", "nino", "region"], sql
        assert fed.sql("SELECT * FROM gov.people NATURAL JOIN open.places").arrow().num_rows == 2
        with pytest.raises(AccessDenied, match=r"gov\.people\.score"):
            fed.sql("WITH x AS (SELECT SCORE FROM gov.people) SELECT * FROM x")
        # a predicate on a masked column compares the masked value (as Trino's column masks do)
        assert fed.sql("SELECT count(*) FROM gov.people WHERE nino = 'AB111111A'").fetchall() == [(0,)]
        with pytest.raises(AccessDenied, match=r"ana \(groups: analysts\).*gov\.people\.score"):
            fed.sql("SELECT score FROM gov.people")
        with pytest.raises(AccessDenied, match=r"gov\.people\.score"):
            fed.sql("SELECT p.id FROM gov.people p WHERE p.score > 1")
        plan = fed.explain("SELECT count(*) FROM gov.people")
        assert plan.rules_applied and "gov.people" in plan.rules_applied[0] and "line 1" in plan.rules_applied[0]
        assert "rules applied:" in str(plan) and plan.to_dict()["rules_applied"] == plan.rules_applied
        assert visible_columns(fed.catalog, fed.principal, fed.catalog.resolve(["gov", "people"])) == [
            "id",
            "nino",
            "region",
        ]
    with _federation(tmp_path, RULES, user="boss") as fed:
        assert len(fed.sql("SELECT score FROM gov.people").fetchall()) == 3
    with _federation(tmp_path, RULES, user="eve") as fed:
        with pytest.raises(AccessDenied, match="eve may not read gov.people: no rule of .*gov.toml grants it") as info:
            fed.sql("SELECT 1 FROM gov.people")
        assert info.value.object == "gov.people" and info.value.principal == "eve" and info.value.exit_code == 1
        assert fed.sql("SELECT count(*) FROM open.places").fetchall() == [(2,)]  # the other department still works
        assert [t["table"] for t in fed.tables()] == ["open.places"]
        assert fed.statistics("open") and not fed.statistics("gov")
        with pytest.raises(AccessDenied):
            fed.statistics("gov.people")
        assert [d.id for d in fed.inventory().datasets] == ["open.places"]


def test_plan_hash_names_the_rules(tmp_path: Path) -> None:
    with _federation(tmp_path, RULES, groups=["analysts"], purpose="north") as fed:
        governed = fed.explain("SELECT id FROM gov.people")
    with _federation(tmp_path, RULES, user="boss") as fed:
        other = fed.explain("SELECT id FROM gov.people")
    assert governed.hash != other.hash


BROKEN = {
    "toml syntax": ("[[tables]]\ntable = 'people\n", "gov.toml", r"line 2"),
    "bad regex": (
        '[[tables]]\n\ntable = "peo(ple"\n',
        "gov.toml",
        r"line 3: rule 1: table 'peo\(ple' is not a valid regular",
    ),
    "bad mask": (
        '[[tables]]\ncolumns = [\n  { name = "nino", mask = "right(nino," },\n]\n',
        "gov.toml",
        r"line 3: .*mask of column 'nino'",
    ),
    "bad filter sql": (
        '[[tables]]\ntable = "people"\nfilter = "region = = 1"\n',
        "gov.toml",
        r"line 3: rule 1: filter",
    ),
    "subquery filter": ('[[tables]]\nfilter = "id IN (SELECT 1)"\n', "gov.toml", r"line 2: .*no queries"),
    "unknown column": (
        '[[tables]]\ncolumns = [{ name = "ssn", mask = "NULL" }]\n',
        "gov.toml",
        r"line 2: rule 1: unknown column 'ssn'",
    ),
    "filter column": (
        '[[tables]]\n# who\nfilter = "postcode = 1"\n',
        "gov.toml",
        r"line 3: .*postcode.* is not a column",
    ),
    "unknown key": (
        '[[tables]]\ntable = "people"\nprivilege = ["SELECT"]\n',
        "gov.toml",
        r"line 3: rule 1: unknown key 'privilege'",
    ),
    "bad privileges": ('[[tables]]\nprivileges = ["INSERT"]\n', "gov.toml", r"line 2: rule 1: privileges"),
    "json syntax": ('{"tables": [\n  {"table": "people",}\n]}', "gov.json", r"gov.json, line 2: not valid JSON"),
    "json semantic": (
        '{"tables": [\n  {"table": "people",\n   "columns": [{"name": "x"}]}\n]}',
        "gov.json",
        r"line 3: .*unknown column 'x'",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_rules_file_denies_its_whole_department_naming_file_and_line(tmp_path: Path, case: str) -> None:
    text, name, message = BROKEN[case]
    with _federation(tmp_path, text, name=name, user="boss") as fed:
        with pytest.raises(AccessDenied) as info:
            fed.sql("SELECT id FROM gov.people")
        assert name in str(info.value) and info.value.object == "gov.people"
        assert pytest.raises(AccessDenied, fed.explain, "SELECT 1 FROM gov.people WHERE false")
        import re

        assert re.search(message, str(info.value)), str(info.value)
        assert "AB111111A" not in str(info.value)
        assert fed.sql("SELECT count(*) FROM open.places").fetchall() == [(2,)]
        assert {t["department"] for t in fed.tables()} == {"open"}
        assert {d.department for d in fed.inventory().datasets} == {"open"}


def test_a_missing_rules_file_denies_the_department(tmp_path: Path) -> None:
    with _federation(tmp_path, RULES) as fed:
        (tmp_path / "gov.toml").unlink()
        with pytest.raises(AccessDenied, match=r"gov\.toml: cannot read it"):
            fed.sql("SELECT 1 FROM gov.people")
        result = CliRunner().invoke(main, ["query", "SELECT 1 FROM gov.people"], catch_exceptions=False)
        assert result.exit_code != 0


def test_rules_reload_when_the_file_changes(tmp_path: Path) -> None:
    with _federation(tmp_path, '[[tables]]\nuser = "ana"\n') as fed:
        assert fed.sql("SELECT count(*) FROM gov.people").fetchall() == [(3,)]
        path = tmp_path / "gov.toml"
        path.write_text('[[tables]]\nuser = "ana"\nfilter = "score >= 10"\n')
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
        assert fed.sql("SELECT count(*) FROM gov.people").fetchall() == [(2,)]
        path.write_text('[[tables]]\nuser = "ana"\nprivileges = []\n')
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 2 * 10**9))
        with pytest.raises(AccessDenied, match="line 1 denies it"):
            fed.sql("SELECT count(*) FROM gov.people")


def test_json_rules_and_current_user(tmp_path: Path) -> None:
    rules = {"tables": [{"table": "people", "filter": "region = current_user"}]}
    with _federation(tmp_path, json.dumps(rules), name="gov.json", user="south") as fed:
        assert fed.sql("SELECT id FROM gov.people").fetchall() == [(2,)]
    with _federation(tmp_path, json.dumps(rules), name="gov.json", user="nobody") as fed:
        assert fed.sql("SELECT count(*) FROM gov.people").fetchall() == [(0,)]


def test_statistics_and_inventory_hide_what_rules_hide(tmp_path: Path) -> None:
    with _federation(tmp_path, RULES, groups=["analysts"], purpose="north") as fed:
        fed.analyze("gov.people")
        (entry,) = fed.statistics("gov.people")
        assert entry.stats.row_count is None and not entry.stats.columns  # filtered: no counts, no ranges
        (dataset,) = [d for d in fed.inventory().datasets if d.id == "gov.people"]
        assert [c.name for c in dataset.columns] == ["id", "nino", "region"] and dataset.row_count is None
        assert "masked: nino" in (dataset.access_rules or "") and "rows filtered" in (dataset.access_rules or "")
        assert [t["columns"] for t in fed.tables("gov")] == [
            [("id", "int64"), ("nino", "string"), ("region", "string")]
        ]
    masked_only = '[[tables]]\ncolumns = [{ name = "nino", mask = "NULL" }]\n'
    with _federation(tmp_path, masked_only) as fed:
        fed.analyze("gov.people")
        (entry,) = fed.statistics("gov.people")
        assert entry.stats.row_count == 3 and "nino" not in entry.stats.columns and "score" in entry.stats.columns


def test_inventory_as_user_on_the_command_line(demo_config: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["-c", str(demo_config), "--group", "dhsc_analysts", "inventory", "--as", "hana", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    ids = {d["id"] for d in json.loads(result.output)["datasets"]} if result.output.startswith("{") else None
    records = json.loads(result.output)
    datasets = records if isinstance(records, list) else records.get("datasets", [])
    assert ids is None or ids == {"dhsc.ppe_stock", "dhsc.ppe_orders"}
    assert {d["id"] for d in datasets} == {"dhsc.ppe_stock", "dhsc.ppe_orders"}
    assert all("rule 1" in d["access_rules"] for d in datasets)
    shown = runner.invoke(
        main, ["-c", str(demo_config), "--group", "dwp_analysts", "inventory", "--as", "wendy", "show", "dwp.claims"]
    )
    assert shown.exit_code == 0 and "masked: person_id" in shown.output


def test_mask_a_sql_source_cannot_evaluate_is_refused(tmp_path: Path) -> None:
    import sqlite3

    (tmp_path / "lite").mkdir()
    con = sqlite3.connect(tmp_path / "lite" / "db.sqlite")
    con.execute("CREATE TABLE people (id INTEGER, nino TEXT)")
    con.execute("INSERT INTO people VALUES (1, 'AB111111A')")
    con.commit()
    con.close()
    (tmp_path / "lite.toml").write_text('[[tables]]\ncolumns = [{ name = "nino", mask = "sha256(nino)" }]\n')
    config = {"departments": {"lite": {"rules": str(tmp_path / "lite.toml"),
              "sources": {"db": {"kind": "sqlite", "path": str(tmp_path / "lite" / "db.sqlite")}}}}}  # fmt: skip
    with fedquery.connect(config, user="ana") as fed:
        for pushdown in ("none", "filters", "full", "auto"):
            with pytest.raises(PlanError, match="cannot be evaluated by lite.db"):
                fed.sql("SELECT nino FROM lite.people", pushdown=pushdown)


def test_rules_must_be_a_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules must be a file path"):
        fedquery.connect({"departments": {"d": {"rules": 3, "sources": {}}}})


def test_readme_governed_sharing_examples(tmp_path: Path) -> None:
    import re

    from fedquery.demo import write_demo

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Governed sharing", 1)[1].split("\n## ", 1)[0]
    rules = re.search(r"```toml\n# rules/dwp.toml\n(.*?)```", section, re.S)
    assert rules, "the README shows a rules file"
    config = write_demo(tmp_path)
    (tmp_path / "rules" / "dwp.toml").write_text(rules.group(1))
    with fedquery.connect(config, user="wendy", groups=["dwp_analysts"]) as fed:
        got = fed.sql("SELECT * FROM dwp.claims")
        table = got.arrow()
        assert "weekly_amount" not in table.column_names and set(table.column("region").to_pylist()) == {"London"}
        assert all(v.startswith("*****") for v in table.column("person_id").to_pylist())
    with fedquery.connect(config, user="sam", purpose="support") as fed:
        # The demo's output rules make dwp aggregate-only for the support project (counts of at least 10).
        rows = fed.sql("SELECT benefit, count(*) AS n FROM dwp.claims GROUP BY benefit").fetchall()
        benefits = {r[0] for r in rows}
        assert "Carer's Allowance" not in benefits and benefits
        plan = fed.explain("SELECT person_id, count(*) FROM dwp.claims GROUP BY person_id")
        assert any("masked person_id" in r for r in plan.rules_applied), plan.rules_applied
        with pytest.raises(DisclosureError, match="aggregate-only"):
            fed.sql("SELECT person_id FROM dwp.claims").fetchall()
    with fedquery.connect(config, user="nobody") as fed, pytest.raises(AccessDenied, match="no rule"):
        fed.sql("SELECT 1 FROM dwp.claims")
    # the commands and the Python lines of the section, on the demo as shipped
    write_demo(tmp_path)
    runner = CliRunner()
    masked = runner.invoke(
        main, ["-c", str(config), "--group", "dwp_analysts", "query", "SELECT * FROM dwp.claims LIMIT 3"]
    )
    assert masked.exit_code == 0 and "*****" in masked.output
    denied = runner.invoke(
        main, ["-c", str(config), "--group", "dhsc_analysts", "query", "SELECT count(*) FROM dwp.claims"]
    )
    assert denied.exit_code == 1 and "access denied" in denied.output and "Traceback" not in denied.output
    shown = runner.invoke(
        main, ["-c", str(config), "--purpose", "support", "inventory", "--as", "sam", "--format", "json"]
    )
    assert shown.exit_code == 0 and "masked: person_id" in shown.output
    with fedquery.connect(config, user="wendy", groups=["dwp_analysts"]) as fed:
        plan = fed.explain("SELECT person_id, benefit FROM dwp.claims LIMIT 3")
        assert plan.rules_applied[0].startswith("dwp.claims: ") and plan.rules_applied[0].endswith("masked person_id")


def test_demo_shows_one_query_allowed_one_masked_one_denied(tmp_path: Path) -> None:
    from fedquery.demo import _run_governed, write_demo

    lines: list[str] = []
    _run_governed(write_demo(tmp_path), lines.append)
    text = "\n".join(lines)
    allowed, masked, denied = text.split("Allowed:")[1], text.split("Masked:")[1], text.split("Denied:")[1]
    assert "3 rows" in allowed.split("Masked:")[0] and "access denied" not in allowed.split("Masked:")[0]
    assert "*****" in masked.split("Denied:")[0] and "masked person_id" in masked
    assert "refused: access denied: hana (groups: dhsc_analysts) may not read dwp.claims" in denied
    assert not re.search(r"P\d{6}", masked.split("Denied:")[0])


def test_default_access_deny_closes_departments_without_rules(tmp_path: Path) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "places.csv").write_text("region,name\nnorth,N\n")
    config: dict[str, Any] = {
        "settings": {"default_access": "deny"},
        "departments": {"open": {"sources": {"files": {"kind": "csv", "url": str(tmp_path / "open")}}}},
    }
    with fedquery.connect(config, user="ana") as fed:
        with pytest.raises(AccessDenied, match="no rules file and \\[settings\\] default_access = 'deny'"):
            fed.sql("SELECT * FROM open.places")
        assert fed.tables() == []
    with pytest.raises(ConfigError, match="default_access must be 'open' or 'deny'"):
        fedquery.connect({**config, "settings": {"default_access": "closed"}})
