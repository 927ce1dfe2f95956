"""Safe outputs: small cells suppressed, margins that would reveal them suppressed, counts and sums
rounded; differencing attacks recover no suppressed cell; row-level queries of aggregate-only tables refused."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from fedquery.disclosure import DisclosureError, round_to
from fedquery.errors import ConfigError

K, BASE = 10, 5
REGIONS = ["A", "B", "C", "D", "E", "F"]
BENEFITS = ["UC", "PC", "ESA", "CA"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Claims whose cells (region x benefit) hold 1 to 40 rows, many of them under K."""
    root = tmp_path_factory.mktemp("sdc")
    rng = random.Random(14)
    rows: dict[str, list[Any]] = {"claim_id": [], "region": [], "benefit": [], "amount": []}
    for region in REGIONS:
        for benefit in BENEFITS:
            for _ in range(rng.choice([1, 2, 3, 4, 6, 7, 9, 10, 12, 13, 18, 24, 31, 40])):
                rows["claim_id"].append(len(rows["claim_id"]) + 1)
                rows["region"].append(region)
                rows["benefit"].append(benefit)
                rows["amount"].append(rng.randint(50, 400))
    (root / "dwp").mkdir()
    pq.write_table(pa.table(rows), root / "dwp" / "claims.parquet")
    return root


def _config(root: Path, output: Any = None, table_output: Any = None) -> dict[str, Any]:
    source: dict[str, Any] = {"kind": "parquet", "url": str(root / "dwp")}
    if table_output is not None:
        source["tables"] = {"claims": {"output": table_output}}
    department: dict[str, Any] = {"sources": {"claims": source}}
    if output is not None:
        department["output"] = output
    return {"departments": {"dwp": department}}


@pytest.fixture(scope="module")
def fed(data: Path) -> Iterator[Any]:
    with fedquery.connect(_config(data, {"min_cell_count": K, "rounding": BASE})) as federation:
        yield federation


@pytest.fixture(scope="module")
def oracle(data: Path) -> Iterator[Any]:
    con = duckdb.connect()
    con.execute(f"CREATE VIEW claims AS SELECT * FROM '{data / 'dwp' / 'claims.parquet'}'")
    yield con
    con.close()


def _true_counts(oracle: Any) -> dict[tuple[str, str], tuple[int, int]]:
    rows = oracle.sql("SELECT region, benefit, count(*), sum(amount) FROM claims GROUP BY ALL").fetchall()
    return {(r, b): (n, s) for r, b, n, s in rows}


@pytest.mark.parametrize("pushdown", ["none", "filters", "full", "auto"])
def test_cells_under_k_are_suppressed_and_the_rest_rounded(fed: Any, oracle: Any, pushdown: str) -> None:
    got = fed.sql(
        "SELECT region, benefit, count(*) AS n, sum(amount) AS total, avg(amount) AS mean, max(amount) AS top "
        "FROM dwp.claims GROUP BY region, benefit",
        pushdown=pushdown,
    ).fetchall()
    truth = oracle.sql(
        "SELECT region, benefit, count(*), sum(amount), avg(amount), max(amount) FROM claims GROUP BY ALL"
    ).fetchall()
    published_regions = {r for r, _, n, *_ in truth if n >= K}
    published_benefits = {b for _, b, n, *_ in truth if n >= K}
    expected = [
        (r, b, None, None, None, None) if n < K else (r, b, round_to(n, BASE), round_to(s, BASE), mean, top)
        for r, b, n, s, mean, top in truth
        if n >= K or (r in published_regions and b in published_benefits)
    ]
    assert sorted(got, key=str) == sorted(expected, key=str)
    assert any(row[2] is None for row in got) and any(row[2] is not None for row in got)
    assert all(row[2] % BASE == 0 and row[3] % BASE == 0 for row in got if row[2] is not None)


def test_a_grand_total_with_few_rows_is_suppressed(fed: Any, oracle: Any) -> None:
    (n,) = fed.sql("SELECT count(*) FROM dwp.claims WHERE region = 'A' AND benefit = 'UC' AND amount < 60").fetchall()[
        0
    ]
    assert n is None
    (total,) = fed.sql("SELECT count(*) FROM dwp.claims").fetchall()[0]
    assert total == round_to(oracle.sql("SELECT count(*) FROM claims").fetchall()[0][0], BASE)


def _rollup(fed: Any) -> list[tuple[Any, ...]]:
    return fed.sql(
        "SELECT region, benefit, count(*) AS n FROM dwp.claims GROUP BY CUBE (region, benefit) ORDER BY region, benefit"
    ).fetchall()


def test_no_published_margin_has_exactly_one_suppressed_cell(fed: Any, oracle: Any) -> None:
    rows = _rollup(fed)
    truth = _true_counts(oracle)
    detail = {(r, b): n for r, b, n in rows if r is not None and b is not None}
    assert {k: v for k, v in detail.items() if v is not None} == {
        k: round_to(n, BASE) for k, (n, _) in truth.items() if n >= K
    }
    region_margins = {r: n for r, b, n in rows if r is not None and b is None}
    benefit_margins = {b: n for r, b, n in rows if r is None and b is not None}
    for region, margin in region_margins.items():
        hidden = [b for b in BENEFITS if detail.get((region, b)) is None]
        assert margin is None or len(hidden) != 1, region
    for benefit, margin in benefit_margins.items():
        hidden = [r for r in REGIONS if detail.get((r, benefit)) is None]
        assert margin is None or len(hidden) != 1, benefit
    grand = next(n for r, b, n in rows if r is None and b is None)
    assert grand is None or sum(m is None for m in region_margins.values()) != 1
    assert sum(v is None for v in detail.values()) >= 2


def _interval(published: int) -> range:
    """The true counts that round to ``published`` (nearest multiple of BASE, halves up)."""
    return range(max(0, published - BASE // 2), published + (BASE + 1) // 2)


def _feasible(published_sum: int, published_parts: list[int], unknown: int) -> set[int]:
    """Values a suppressed cell could take: sum = cell + parts + (unknown - 1) other suppressed cells."""
    low_parts = sum(_interval(p).start for p in published_parts) + (unknown - 1) * 1
    high_parts = sum(_interval(p).stop - 1 for p in published_parts) + (unknown - 1) * (K - 1)
    total = _interval(published_sum)
    return {v for v in range(1, K) if total.start <= v + high_parts and v + low_parts <= total.stop - 1}


def test_differencing_cells_against_margins_recovers_no_suppressed_cell(fed: Any, oracle: Any) -> None:
    rows = _rollup(fed)
    truth = _true_counts(oracle)
    detail = {(r, b): n for r, b, n in rows if r is not None and b is not None}
    margins = {("region", r): n for r, b, n in rows if r is not None and b is None}
    margins.update({("benefit", b): n for r, b, n in rows if r is None and b is not None})
    attacked = 0
    for (region, benefit), value in detail.items():
        if value is not None:
            continue
        for kind, siblings in (
            ("region", [(region, b) for b in BENEFITS]),
            ("benefit", [(r, benefit) for r in REGIONS]),
        ):
            margin = margins[(kind, region if kind == "region" else benefit)]
            if margin is None:
                continue
            published = [detail[s] for s in siblings if detail.get(s) is not None]
            unknown = sum(1 for s in siblings if detail.get(s) is None)
            candidates = _feasible(margin, published, unknown)
            assert truth[(region, benefit)][0] in candidates  # the attack is sound ...
            assert len(candidates) >= 2, ((region, benefit), candidates)  # ... and cannot pin the value
            attacked += 1
    assert attacked > 0


def test_differencing_overlapping_filters_recovers_no_suppressed_cell(fed: Any, oracle: Any) -> None:
    """count(region IN (a, b)) - count(region = b), for every suppressed cell a and every b."""
    truth = _true_counts(oracle)
    count = "SELECT count(*) FROM dwp.claims WHERE benefit = '{benefit}' AND region IN ({regions})"
    attacked = 0
    for (region, benefit), (n, _) in truth.items():
        if n >= K:
            continue
        (alone,) = fed.sql(count.format(benefit=benefit, regions=f"'{region}'")).fetchall()[0]
        assert alone is None
        for other in REGIONS:
            if other == region:
                continue
            (both,) = fed.sql(count.format(benefit=benefit, regions=f"'{region}', '{other}'")).fetchall()[0]
            (rest,) = fed.sql(count.format(benefit=benefit, regions=f"'{other}'")).fetchall()[0]
            if both is None or rest is None:
                continue
            candidates = _feasible(both, [rest], 1)
            assert n in candidates and len(candidates) >= 2, (region, other, benefit, candidates)
            attacked += 1
    assert attacked > 0


def test_row_level_queries_of_aggregate_only_tables_are_refused(fed: Any, data: Path) -> None:
    for sql in (
        "SELECT * FROM dwp.claims",
        "SELECT region FROM dwp.claims WHERE amount > 100",
    ):
        with pytest.raises(DisclosureError, match="aggregate-only"):
            fed.sql(sql)
    for sql, what in (
        ("SELECT region, count(*) FROM dwp.claims GROUP BY region HAVING count(*) < 5", "HAVING"),
        ("SELECT region, count(*) AS n FROM dwp.claims GROUP BY region ORDER BY n LIMIT 1", "ORDER BY"),
        ("SELECT count(*) FROM (SELECT region FROM dwp.claims) AS c", "outermost SELECT"),
        ("SELECT region, count(*) FROM dwp.claims GROUP BY 1 UNION ALL SELECT 'x', 1", "UNION"),
        ("SELECT region, count(*) OVER () FROM dwp.claims GROUP BY region", "window"),
        (
            "SELECT region, sum(CASE WHEN claim_id = 7 THEN 1000 ELSE 0 END) FROM dwp.claims GROUP BY region",
            "expression",
        ),
        ("SELECT region, count(*) FILTER (WHERE claim_id = 7) FROM dwp.claims GROUP BY region", "FILTER"),
        ("SELECT region, count(*) * 1000 + 1 FROM dwp.claims GROUP BY region", "of its own"),
        ("SELECT region, avg(amount) * count(*) FROM dwp.claims GROUP BY region", "of its own"),
    ):
        with pytest.raises(DisclosureError, match=what):
            fed.sql(sql)
    plan = fed.explain("SELECT region, count(*) FROM dwp.claims GROUP BY region")
    assert plan.output_rules == ["dwp.claims: min_cell_count 10, rounding 5, aggregate_only"]
    assert "disclosure control: dwp.claims" in str(plan)
    rows_allowed = _config(data, {"min_cell_count": K}, {"aggregate_only": False})
    with fedquery.connect(rows_allowed) as open_rows:
        assert len(open_rows.sql("SELECT region FROM dwp.claims").fetchall()) > 0


def test_table_rules_override_the_department_rule(data: Path, oracle: Any) -> None:
    with fedquery.connect(_config(data, {"min_cell_count": 3, "rounding": 1}, {"min_cell_count": 30})) as fed:
        got = dict(fed.sql("SELECT region, count(*) FROM dwp.claims GROUP BY region").fetchall())
    truth = dict(oracle.sql("SELECT region, count(*) FROM claims GROUP BY region").fetchall())
    assert got == {r: n for r, n in truth.items() if n >= 30}  # a region key seen only in a small cell is left out


@pytest.mark.parametrize(
    ("output", "table_output", "field"),
    [
        ({"min_cell_count": 0}, None, "departments.dwp.output.min_cell_count"),
        ({"rounding": "5"}, None, "departments.dwp.output.rounding"),
        ({"min_cells": 10}, None, "departments.dwp.output.min_cells"),
        ({"aggregate_only": "yes"}, None, "departments.dwp.output.aggregate_only"),
        ("10-5", None, "departments.dwp.output"),
        (None, {"rounding": True}, "departments.dwp.sources.claims.tables.claims.output.rounding"),
    ],
)
def test_a_bad_output_rule_is_a_config_error_naming_the_field(
    data: Path, output: Any, table_output: Any, field: str
) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        fedquery.connect(_config(data, output, table_output))


def test_rounding_rule() -> None:
    assert [round_to(v, 5) for v in (0, 2, 3, 7, 8, 12, 13, -12, -13)] == [0, 0, 5, 5, 10, 10, 15, -10, -15]
    assert round_to(Decimal("12.50"), 5) == Decimal("15") and round_to(None, 5) is None


def test_a_rule_with_a_purpose_applies_only_to_that_project(demo_config: Path) -> None:
    with fedquery.connect(demo_config, purpose="support") as fed:
        with pytest.raises(DisclosureError, match="dwp.claims is aggregate-only"):
            fed.sql("SELECT person_id FROM dwp.claims")
        assert fed.explain("SELECT count(*) FROM hmrc.income").output_rules == [
            "hmrc.income: min_cell_count 10, rounding 5, aggregate_only"
        ]
    for purpose in (None, "ppe-supply", "support-extra"):
        with fedquery.connect(demo_config, purpose=purpose) as fed:
            assert len(fed.sql("SELECT person_id FROM dwp.claims LIMIT 3").fetchall()) == 3
            assert fed.explain("SELECT count(*) FROM hmrc.income").output_rules == []


def test_the_demo_shows_a_suppressed_query(demo_config: Path) -> None:
    from fedquery.demo import SUPPRESSED, _run_suppressed

    lines: list[str] = []
    _run_suppressed(demo_config, lines.append)
    text = "\n".join(lines)
    assert "disclosure control: dwp.claims: min_cell_count 10, rounding 5" in text and "suppressed" in text
    con = duckdb.connect()
    root = demo_config.parent
    con.execute(f"CREATE SCHEMA dwp; CREATE VIEW dwp.claims AS SELECT * FROM '{root / 'dwp' / 'claims.parquet'}'")
    con.execute(
        f"CREATE SCHEMA dfe; CREATE VIEW dfe.fsm_eligibility AS SELECT * FROM '{root / 'dfe' / 'fsm_eligibility.csv'}'"
    )
    truth = con.sql(SUPPRESSED[1]).fetchall()
    with fedquery.connect(demo_config, purpose="support") as fed:
        got = fed.sql(SUPPRESSED[1]).fetchall()
    assert got == [(benefit, region, round_to(n, BASE) if n >= K else None) for benefit, region, n in truth]
    assert any(n is None for *_, n in got) and any(n is not None for *_, n in got)
    assert "NULL" in text


def test_a_join_counts_distinct_rows_of_a_protected_table_with_a_key(tmp_path: Path) -> None:
    """Three people with 20 visits each are 3 source rows of the protected people table, not 60."""
    from tests.conftest import PG_DSN, own_schema_and_database, pg_run

    people = [(i, "small" if i <= 3 else "large") for i in range(1, 31)]
    (tmp_path / "visits").mkdir()
    visits = [(person, day) for person, _ in people for day in range(20)]
    pq.write_table(
        pa.table({"person_id": [v[0] for v in visits], "day": [v[1] for v in visits]}),
        tmp_path / "visits" / "visits.parquet",
    )
    with own_schema_and_database("fq_sdc") as name:
        values = ", ".join(f"({i}, '{r}')" for i, r in people)
        pg_run(
            f'CREATE TABLE "{name}".people (id INT PRIMARY KEY, region TEXT)',
            f'INSERT INTO "{name}".people VALUES {values}',
        )
        config = {
            "departments": {
                "pg": {
                    "sources": {"db": {"kind": "postgres", "url": PG_DSN, "schema": name}},
                    "output": {"min_cell_count": K, "rounding": BASE},
                },
                "nhs": {"sources": {"files": {"kind": "parquet", "url": str(tmp_path / "visits")}}},
            }
        }
        with fedquery.connect(config) as fed:
            got = fed.sql(
                "SELECT p.region, count(*) AS visits FROM pg.people AS p JOIN nhs.visits AS v ON v.person_id = p.id "
                "GROUP BY p.region ORDER BY p.region"
            ).fetchall()
    assert got == [("large", round_to(27 * 20, BASE))]


def test_grouping_by_an_identifier_discloses_no_key(fed: Any) -> None:
    """Every cell of GROUP BY claim_id is one row: no claim id (or any value) leaves."""
    assert fed.sql("SELECT claim_id, count(*) FROM dwp.claims GROUP BY claim_id").fetchall() == []
    rows = fed.sql("SELECT region, claim_id, count(*) FROM dwp.claims GROUP BY region, claim_id").fetchall()
    assert rows == []


def test_the_audit_records_the_rows_shown_and_the_cells_suppressed(data: Path, tmp_path: Path) -> None:
    config = {
        **_config(data, {"min_cell_count": K, "rounding": BASE}),
        "settings": {"audit_log": str(tmp_path / "a.jsonl")},
    }
    with fedquery.connect(config) as fed:
        rows = fed.sql("SELECT claim_id, count(*) FROM dwp.claims GROUP BY claim_id").fetchall()
        shown = fed.sql("SELECT region, count(*) FROM dwp.claims GROUP BY region").fetchall()
        assert fed.audit is not None
        first, second = fed.audit.records()
    claims = pq.read_table(data / "dwp" / "claims.parquet").num_rows
    assert rows == [] and first["rows"] == 0 and first["suppressed"] == {"cells": claims, "margins": 0}
    assert second["rows"] == len(shown) and second["output_rules"] == [
        "dwp.claims: min_cell_count 10, rounding 5, aggregate_only"
    ]


def test_the_cli_says_what_was_suppressed(demo_config: Path) -> None:
    from click.testing import CliRunner

    from fedquery.cli import main

    result = CliRunner().invoke(
        main,
        ["-c", str(demo_config), "--purpose", "support", "query", "--format", "csv", "SELECT region, count(*) AS n "
         "FROM dwp.claims WHERE benefit = 'Pension Credit' AND start_date >= DATE '2020-01-01' GROUP BY region"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "disclosure control: " in result.output and "rounded to multiples of 5" in result.output
    refused = CliRunner().invoke(
        main, ["-c", str(demo_config), "--purpose", "support", "query", "SELECT * FROM dwp.claims"]
    )
    assert refused.exit_code == 1 and "aggregate-only" in refused.output


def test_the_inventory_shows_each_datasets_output_rule(demo_config: Path) -> None:
    with fedquery.connect(demo_config) as fed:
        datasets = {d.id: d for d in fed.inventory().datasets}
    assert datasets["dwp.claims"].output_rule == (
        "min_cell_count 10, rounding 5, aggregate_only (for purpose 'support')"
    )
    assert datasets["dhsc.ppe_stock"].output_rule is None
