# ruff: noqa: E501 - the matrices are tables of data, one row per principal and table
"""The demo federation's access rules, cell by cell: identity x table x column, and identity x table rows.

Every expected outcome is written out below as data. A cell is checked by querying the column as
the principal and as the demo's default principal (who sees the tables as stored): ``deny`` is
AccessDenied, ``allow`` the same values, ``mask`` the same number of values, none of them raw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlglot import exp

import fedquery
from fedquery.errors import AccessDenied
from tests.conftest import without_output_rules

A, M, D = "allow", "mask", "deny"

PRINCIPALS: dict[str, dict[str, Any]] = {
    "someone": {"user": "someone"},  # no group, no purpose: the demo's default view
    "hana": {"user": "hana", "groups": ["dhsc_analysts"]},
    "wendy": {"user": "wendy", "groups": ["dwp_analysts"]},
    "dora": {"user": "dora", "groups": ["dfe_analysts"]},
    "harry": {"user": "harry", "groups": ["hmrc_analysts"]},
    "sam": {"user": "sam", "purpose": "support"},
    "lou": {"user": "lou", "groups": ["dwp_london"]},
    "wendy-support": {"user": "wendy", "groups": ["dwp_analysts"], "purpose": "support"},  # first match wins
}

STOCK = ("trust_code", "trust_name", "item", "as_of", "stock_units", "daily_use", "region")
ORDERS = ("order_id", "trust_code", "item", "quantity", "ordered_on", "delivered_on")
CLAIMS = ("claim_id", "person_id", "benefit", "region", "start_date", "weekly_amount")
FSM = ("pupil_id", "parent_person_id", "school_urn", "eligible", "eligible_from")
INCOME = ("person_id", "tax_year", "region", "employment_income", "self_employed")

MATRIX: dict[str, dict[str, dict[str, str]]] = {
    "someone": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": A, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": A, "trust_code": A, "item": A, "quantity": A, "ordered_on": A, "delivered_on": A},
        "dwp.claims": {"claim_id": A, "person_id": A, "benefit": A, "region": A, "start_date": A, "weekly_amount": A},
        "dfe.fsm_eligibility": {"pupil_id": A, "parent_person_id": A, "school_urn": A, "eligible": A, "eligible_from": A},
        "hmrc.income": {"person_id": A, "tax_year": A, "region": A, "employment_income": A, "self_employed": A},
    },
    "hana": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": A, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": A, "trust_code": A, "item": A, "quantity": A, "ordered_on": A, "delivered_on": A},
        "dwp.claims": {"claim_id": D, "person_id": D, "benefit": D, "region": D, "start_date": D, "weekly_amount": D},
        "dfe.fsm_eligibility": {"pupil_id": D, "parent_person_id": D, "school_urn": D, "eligible": D, "eligible_from": D},
        "hmrc.income": {"person_id": D, "tax_year": D, "region": D, "employment_income": D, "self_employed": D},
    },
    "wendy": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": D, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": D, "trust_code": D, "item": D, "quantity": D, "ordered_on": D, "delivered_on": D},
        "dwp.claims": {"claim_id": A, "person_id": M, "benefit": A, "region": A, "start_date": A, "weekly_amount": A},
        "dfe.fsm_eligibility": {"pupil_id": D, "parent_person_id": D, "school_urn": D, "eligible": D, "eligible_from": D},
        "hmrc.income": {"person_id": D, "tax_year": D, "region": D, "employment_income": D, "self_employed": D},
    },
    "dora": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": D, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": D, "trust_code": D, "item": D, "quantity": D, "ordered_on": D, "delivered_on": D},
        "dwp.claims": {"claim_id": D, "person_id": D, "benefit": D, "region": D, "start_date": D, "weekly_amount": D},
        "dfe.fsm_eligibility": {"pupil_id": A, "parent_person_id": M, "school_urn": A, "eligible": A, "eligible_from": A},
        "hmrc.income": {"person_id": D, "tax_year": D, "region": D, "employment_income": D, "self_employed": D},
    },
    "harry": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": D, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": D, "trust_code": D, "item": D, "quantity": D, "ordered_on": D, "delivered_on": D},
        "dwp.claims": {"claim_id": D, "person_id": D, "benefit": D, "region": D, "start_date": D, "weekly_amount": D},
        "dfe.fsm_eligibility": {"pupil_id": D, "parent_person_id": D, "school_urn": D, "eligible": D, "eligible_from": D},
        "hmrc.income": {"person_id": A, "tax_year": A, "region": A, "employment_income": A, "self_employed": A},
    },
    "sam": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": A, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": A, "trust_code": A, "item": A, "quantity": A, "ordered_on": A, "delivered_on": A},
        "dwp.claims": {"claim_id": A, "person_id": M, "benefit": A, "region": A, "start_date": A, "weekly_amount": A},
        "dfe.fsm_eligibility": {"pupil_id": D, "parent_person_id": M, "school_urn": A, "eligible": A, "eligible_from": A},
        "hmrc.income": {"person_id": M, "tax_year": A, "region": A, "employment_income": A, "self_employed": D},
    },
    "lou": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": A, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": A, "trust_code": A, "item": A, "quantity": A, "ordered_on": A, "delivered_on": A},
        "dwp.claims": {"claim_id": A, "person_id": M, "benefit": A, "region": A, "start_date": A, "weekly_amount": A},
        "dfe.fsm_eligibility": {"pupil_id": A, "parent_person_id": A, "school_urn": A, "eligible": A, "eligible_from": A},
        "hmrc.income": {"person_id": A, "tax_year": A, "region": A, "employment_income": A, "self_employed": A},
    },
    "wendy-support": {
        "dhsc.ppe_stock": {"trust_code": A, "trust_name": D, "item": A, "as_of": A, "stock_units": A, "daily_use": A, "region": A},
        "dhsc.ppe_orders": {"order_id": D, "trust_code": D, "item": D, "quantity": D, "ordered_on": D, "delivered_on": D},
        "dwp.claims": {"claim_id": A, "person_id": M, "benefit": A, "region": A, "start_date": A, "weekly_amount": A},
        "dfe.fsm_eligibility": {"pupil_id": D, "parent_person_id": M, "school_urn": A, "eligible": A, "eligible_from": A},
        "hmrc.income": {"person_id": M, "tax_year": A, "region": A, "employment_income": A, "self_employed": D},
    },
}  # fmt: skip

#: identity x table: which rows the principal sees ("all", "deny", or the predicate that selects them)
ROWS: dict[str, dict[str, str]] = {
    "someone": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "all", "dwp.claims": "all", "dfe.fsm_eligibility": "all", "hmrc.income": "all"},
    "hana": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "all", "dwp.claims": "deny", "dfe.fsm_eligibility": "deny", "hmrc.income": "deny"},
    "wendy": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "deny", "dwp.claims": "all", "dfe.fsm_eligibility": "deny", "hmrc.income": "deny"},
    "dora": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "deny", "dwp.claims": "deny", "dfe.fsm_eligibility": "all", "hmrc.income": "deny"},
    "harry": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "deny", "dwp.claims": "deny", "dfe.fsm_eligibility": "deny", "hmrc.income": "all"},
    "sam": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "all", "dwp.claims": "all", "dfe.fsm_eligibility": "all", "hmrc.income": "all"},
    "lou": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "all", "dwp.claims": "region = 'London'", "dfe.fsm_eligibility": "all", "hmrc.income": "all"},
    "wendy-support": {"dhsc.ppe_stock": "all", "dhsc.ppe_orders": "deny", "dwp.claims": "all", "dfe.fsm_eligibility": "all", "hmrc.income": "all"},
}  # fmt: skip

TABLES = {"dhsc.ppe_stock": STOCK, "dhsc.ppe_orders": ORDERS, "dwp.claims": CLAIMS, "dfe.fsm_eligibility": FSM, "hmrc.income": INCOME}  # fmt: skip


@pytest.fixture(scope="module")
def access_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with its access rules but without its output rules: this matrix is about who may read
    which rows and columns; the support project's aggregate-only output rules (disclosure control)
    would refuse its row-level reads here (tests/test_disclosure.py and test_policy_rules.py cover them)."""
    from fedquery.demo import write_demo

    return without_output_rules(write_demo(tmp_path_factory.mktemp("demo-access")))


@pytest.fixture(scope="module")
def feds(access_config: Path):  # type: ignore[no-untyped-def]
    opened = {name: fedquery.connect(access_config, **p) for name, p in PRINCIPALS.items()}
    yield opened
    for fed in opened.values():
        fed.close()


_STORED: dict[tuple[str, str | None], dict[str, list[Any]]] = {}


def _columns(fed: Any, table: str, columns: list[str], where: str | None = None) -> dict[str, list[Any]]:
    """Each named column's values (sorted), from one query naming them all."""
    query = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(table)
    if where:
        query = query.where(where)
    data = fed.sql(query.sql("duckdb")).arrow()
    return {c: sorted(data.column(c).to_pylist(), key=repr) for c in columns}


def _stored(fed: Any, table: str, where: str | None) -> dict[str, list[Any]]:
    """The stored values (as the demo's default principal sees them), read once per table and filter."""
    if (table, where) not in _STORED:
        _STORED[(table, where)] = _columns(fed, table, list(TABLES[table]), where)
    return _STORED[(table, where)]


def test_the_matrix_covers_every_demo_table_and_column(feds: dict[str, Any]) -> None:
    actual = {t["table"]: tuple(c for c, _ in t["columns"]) for t in feds["someone"].tables()}
    assert {t: set(c) for t, c in actual.items()} == {t: set(c) for t, c in TABLES.items()}
    for principal, tables in MATRIX.items():
        assert {t: set(c) for t, c in tables.items()} == {t: set(c) for t, c in TABLES.items()}, principal
    assert len(PRINCIPALS) >= 5 and set(ROWS) == set(MATRIX) == set(PRINCIPALS)


@pytest.mark.parametrize("principal", list(MATRIX))
def test_identity_table_column_matrix(feds: dict[str, Any], principal: str) -> None:
    fed, raw = feds[principal], feds["someone"]
    for table, cells in MATRIX[principal].items():
        rows = ROWS[principal][table]
        where = None if rows in ("all", "deny") else rows
        for column in (c for c, v in cells.items() if v == D):
            with pytest.raises(AccessDenied) as denied:
                fed.sql(exp.select(exp.column(column, quoted=True)).from_(table).sql("duckdb"))
            assert PRINCIPALS[principal]["user"] in str(denied.value) and table in str(denied.value), column
        readable = [c for c, v in cells.items() if v != D]
        if not readable:
            continue
        got = _columns(fed, table, readable)  # every readable column named explicitly
        stored = _stored(raw, table, where)
        for column in readable:
            cell = f"{principal} x {table}.{column}"
            if cells[column] == A:
                assert got[column] == stored[column], f"{cell}: expected the stored values"
            else:
                assert len(got[column]) == len(stored[column]), cell
                assert not set(map(repr, got[column])) & set(map(repr, stored[column])), (
                    f"{cell}: expected masked values, saw stored ones"
                )
        # SELECT * lists exactly the columns the principal may see, in table order.
        visible = [c for c, v in cells.items() if v != D]
        if visible:
            star = fed.sql(f"SELECT * FROM {table} LIMIT 1").arrow().column_names
            assert star == [c for c in TABLES[table] if c in visible], f"{principal} x {table}: SELECT *"


@pytest.mark.parametrize("principal", list(ROWS))
def test_identity_table_rows_matrix(feds: dict[str, Any], principal: str) -> None:
    fed, raw = feds[principal], feds["someone"]
    for table, rows in ROWS[principal].items():
        if rows == "deny":
            with pytest.raises(AccessDenied):
                fed.sql(f"SELECT count(*) FROM {table}")
            continue
        where = "" if rows == "all" else f" WHERE {rows}"
        expected = raw.sql(f"SELECT count(*) FROM {table}{where}").fetchall()
        assert fed.sql(f"SELECT count(*) FROM {table}").fetchall() == expected, f"{principal} x {table}"
        # ... and a predicate of the user's own comes on top of the filter, never instead of it
        mine = raw.sql(f"SELECT count(*) FROM {table} {'WHERE' if rows == 'all' else where + ' AND'} 1 = 1").fetchall()
        assert fed.sql(f"SELECT count(*) FROM {table} WHERE 1 = 1 OR true").fetchall() == mine


def test_support_purpose_links_departments_on_one_pseudonym(feds: dict[str, Any]) -> None:
    sql = """
        SELECT count(*) FROM dwp.claims c
        JOIN dfe.fsm_eligibility f ON f.parent_person_id = c.person_id
        JOIN hmrc.income i ON i.person_id = c.person_id AND i.tax_year = '2019-20'"""
    assert feds["sam"].sql(sql).fetchall() == feds["someone"].sql(sql).fetchall()
    tokens = {r[0] for r in feds["sam"].sql("SELECT person_id FROM dwp.claims").fetchall()}
    raw = {r[0] for r in feds["someone"].sql("SELECT person_id FROM dwp.claims").fetchall()}
    assert len(tokens) == len(raw) and not tokens & raw
