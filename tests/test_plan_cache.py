"""Planning reused where nothing it read has changed (issue 12, "no fixed cost per query").

The plan of an identical request (SQL, strategy, principal, parameters) is run again while the catalog's
statistics, the rules files and the pseudonymisation keys are unchanged; any change of those is planned
anew, and the answers are the oracle's either way.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import fedquery
from benchmarks import tpch_data
from fedquery.errors import AccessDenied, ConfigError
from fedquery.plan_cache import PlanCache
from fedquery.principal import Principal
from tests.conftest import assert_same_rows


def test_an_identical_query_reuses_its_plan_and_answers_as_the_oracle(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    for number in (3, 7, 18):
        sql = tpch_data.federate(tpch_data.query(number))
        expected = oracle.sql(tpch_data.query(number)).fetchall()
        first = tpch_fed.sql(sql)
        assert_same_rows(first.fetchall(), expected, ordered=True)
        assert not first.plan.reused
        again = tpch_fed.sql(sql)
        assert_same_rows(again.fetchall(), expected, ordered=True)
        assert again.plan.reused and again.plan.hash == first.plan.hash
        assert again.plan.planning_seconds < first.plan.planning_seconds
        explained = tpch_fed.explain(sql)
        assert explained.reused and explained.hash == first.plan.hash and "(reused" in str(explained)
        assert tpch_fed.explain(sql, pushdown="filters").reused is False  # another strategy, another plan


def test_a_run_leaves_the_kept_plan_as_it_was(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    sql = tpch_data.federate(tpch_data.query(5))
    analyzed = tpch_fed.explain(sql, analyze=True, verbose=True)
    assert analyzed.actuals and analyzed.result_rows is not None
    analyzed.notes.append("a caller's own note")
    again = tpch_fed.explain(sql)
    assert again.reused and not again.actuals and again.result_rows is None and not again.verbose
    assert "a caller's own note" not in again.notes
    assert again.to_dict()["reused"] is True and again.hash == analyzed.hash


def test_parameters_are_part_of_the_request(tpch_fed, oracle) -> None:  # type: ignore[no-untyped-def]
    sql = "SELECT count(*) FROM sales.orders WHERE o_orderpriority = $p AND o_totalprice > $min"
    for priority, low in (("1-URGENT", 1000), ("5-LOW", 1000), ("1-URGENT", 1000.0), ("1-URGENT", 200000)):
        got = tpch_fed.sql(sql, params={"p": priority, "min": low}).fetchall()
        expected = oracle.sql(
            "SELECT count(*) FROM orders WHERE o_orderpriority = ? AND o_totalprice > ?", params=[priority, low]
        ).fetchall()
        assert got == expected, (priority, low)
    hits = tpch_fed.plans.hits
    tpch_fed.sql(sql, params={"p": "5-LOW", "min": 1000}).fetchall()
    assert tpch_fed.plans.hits == hits + 1


def test_the_key_tells_principals_and_odd_parameters_apart(tpch_fed) -> None:  # type: ignore[no-untyped-def]
    cache, catalog = tpch_fed.plans, tpch_fed.catalog
    ann, bob = Principal("ann"), Principal("bob")
    sql = "SELECT 1"
    assert cache.key(catalog, sql, "auto", 1, ann, None) != cache.key(catalog, sql, "auto", 1, bob, None)
    assert cache.key(catalog, sql, "auto", 1, ann, [1]) != cache.key(catalog, sql, "auto", 1, ann, [True])
    assert cache.key(catalog, sql, "auto", 1, ann, [1]) != cache.key(catalog, sql, "auto", 1, ann, [1.0])
    assert cache.key(catalog, sql, "auto", 1, ann, [object()]) is None  # not a plain value: not kept
    assert cache.key(catalog, sql, "auto", 1, ann, ["x" * 200_000]) is None  # too long to keep
    assert PlanCache(0).key(catalog, sql, "auto", 1, ann, None) is None
    # a plan made while the statistics changed (analyze on another thread) is not kept
    key = cache.key(catalog, sql, "auto", 1, ann, None)
    made = tpch_fed.explain(sql)
    catalog.changed()
    cache.put(key, made, catalog)
    assert cache.get(key) is None and cache.get(cache.key(catalog, sql, "auto", 1, ann, None)) is None


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    from fedquery.demo import write_demo

    return write_demo(tmp_path / "demo")


def test_a_changed_rules_file_takes_effect_at_the_next_query(demo: Path) -> None:
    """The boundary: a plan is never reused past a change of the rules that made it."""
    sql = "SELECT count(*) FROM dwp.claims"
    rules = demo.parent / "rules" / "dwp.toml"
    with fedquery.connect(demo, user="amy", groups=["dwp_london"]) as fed:
        london = fed.sql(sql).fetchall()
        assert fed.sql(sql).plan.reused and fed.sql(sql).fetchall() == london
        rules.write_text(rules.read_text().replace("filter = \"region = 'London'\"", "filter = \"region = 'Wales'\""))
        wales = fed.sql(sql)
        assert not wales.plan.reused and wales.fetchall() != london
        rules.write_text('[[tables]]\ngroup = "someone_else"\ntable = "claims"\nprivileges = ["SELECT"]\n')
        with pytest.raises(AccessDenied):
            fed.sql(sql).fetchall()


def test_analyze_makes_new_plans(demo: Path) -> None:
    sql = "SELECT c.region, count(*) FROM dwp.claims c JOIN hmrc.income i ON i.person_id = c.person_id GROUP BY 1"
    with fedquery.connect(demo) as fed:
        before = fed.explain(sql)
        assert fed.explain(sql).reused and before.unanalyzed
        fed.analyze("dwp")
        after = fed.explain(sql)
        assert not after.reused and "dwp.claims" not in after.unanalyzed
        assert fed.explain(sql).reused


def test_disclosure_controlled_plans_are_not_kept(demo: Path) -> None:
    sql = "SELECT region, count(*) AS n FROM dwp.claims GROUP BY region ORDER BY region"
    with fedquery.connect(demo, purpose="support") as fed:
        first = fed.sql(sql)
        rows = first.fetchall()
        assert first.plan.output_rules
        again = fed.sql(sql)
        assert not again.plan.reused and again.fetchall() == rows


def test_a_rotated_pseudonym_key_is_a_new_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "people.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, nino TEXT)")
        con.executemany("INSERT INTO people VALUES (?, ?)", [(1, "AB123456C"), (2, "CD654321A")])
    config = {"departments": {"lite": {"sources": {"db": {"kind": "sqlite", "path": str(db)}}}}}
    sql = "SELECT pseudonymise(nino, 'cachep') FROM lite.people ORDER BY id"
    with fedquery.connect(config) as fed:
        for key in ("the first key, long enough", "the second key, long enough"):
            monkeypatch.setenv("FEDQUERY_PSEUDONYM_KEY_CACHEP", key)
            people = ("AB123456C", "CD654321A")
            expected = [(hmac.new(key.encode(), n.encode(), hashlib.sha256).hexdigest(),) for n in people]
            assert fed.sql(sql).fetchall() == expected
        assert fed.plans.hits == 0


def test_no_plan_is_kept_while_a_source_cannot_be_listed(tmp_path: Path) -> None:
    db = tmp_path / "ok.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (7)")
    config = {
        "departments": {
            "d": {
                "sources": {
                    "ok": {"kind": "sqlite", "path": str(db)},
                    "gone": {"kind": "sqlite", "path": str(tmp_path / "gone.db")},
                }
            }
        }
    }
    with fedquery.connect(config) as fed:
        assert fed.sql("SELECT x FROM d.t").fetchall() == [(7,)]
        assert fed.catalog.problems()
        assert not fed.sql("SELECT x FROM d.t").plan.reused  # the next query lists the missing source again
        shutil.copy(db, tmp_path / "gone.db")  # it is back (with a table of another name)
        with sqlite3.connect(tmp_path / "gone.db") as con:
            con.execute("ALTER TABLE t RENAME TO u")
        assert fed.sql("SELECT x FROM d.u").fetchall() == [(7,)]


def test_plan_cache_off_and_bad_values(demo: Path) -> None:
    text = demo.read_text()
    if "[settings]" not in text:
        text = "[settings]\n" + text
    demo.write_text(text.replace("[settings]", "[settings]\nplan_cache = 0", 1))
    with fedquery.connect(demo) as fed:
        fed.sql("SELECT 1").fetchall()
        assert not fed.sql("SELECT 1").plan.reused and fed.plans.hits == 0
    for bad in ("-1", "true", '"many"', "1.5"):
        demo.write_text(text.replace("[settings]", f"[settings]\nplan_cache = {bad}", 1))
        with pytest.raises(ConfigError, match=r"settings\.plan_cache must be a whole number"):
            fedquery.connect(demo)


def test_the_shell_reuses_plans(demo: Path) -> None:
    sql = "SELECT benefit, count(*) FROM dwp.claims GROUP BY benefit"
    proc = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo), "shell"],
        input=f".explain {sql}\n{sql};\n.explain {sql}\n", capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    plans = [line for line in proc.stdout.splitlines() if line.startswith("Plan ")]
    assert len(plans) == 2 and "(reused" not in plans[0] and "(reused" in plans[1], proc.stdout + proc.stderr
    assert plans[0].split()[1] == plans[1].split()[1]  # the same hash
