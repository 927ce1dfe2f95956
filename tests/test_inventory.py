"""The data inventory: every dataset with its facts and metadata; search; check; exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.inventory.export import to_frictionless
from tests.conftest import PG_DSN, mysql_admin, mysql_url, pg_admin

CANARY = "canary-secret-5521"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def demo(demo_config: Path, tmp_path: Path, cache: Path) -> Path:
    copy = tmp_path / "demo"
    shutil.copytree(demo_config.parent, copy)
    return copy / "fedquery.toml"


def test_every_demo_table_with_columns_and_counts(demo: Path) -> None:
    with fedquery.connect(demo) as fed:
        inv = fed.inventory()
        assert {d.id for d in inv.datasets} == {t["table"] for t in fed.tables()}
        for d in inv.datasets:
            (count,) = fed.sql(f"SELECT count(*) FROM {d.id}").fetchall()[0]
            assert d.row_count == count, d.id
            schema = fed.sql(f"SELECT * FROM {d.id} LIMIT 0").arrow().schema
            assert [c.name for c in d.columns] == schema.names
            assert d.modified and d.location and d.department_title
        claims = inv.get("dwp.claims")
        assert claims.primary_key == ["claim_id"] and claims.kind == "parquet"
        assert inv.get("dhsc.ppe_orders").primary_key == ["order_id"]  # declared by SQLite itself
        assert claims.metadata["licence"] == "OGL-UK-3.0"  # inherited from the department
        person = next(c for c in claims.columns if c.name == "person_id")
        assert "National Insurance" in (person.description or "")


def test_demo_inventory_is_complete(demo: Path) -> None:
    with fedquery.connect(demo) as fed:
        assert fed.inventory().check() == []
    result = CliRunner().invoke(main, ["-c", str(demo), "inventory", "check"])
    assert result.exit_code == 0 and "5 of 5 datasets have complete metadata" in result.output


def test_check_names_missing_metadata_and_exits_nonzero(demo: Path) -> None:
    text = demo.read_text().replace('title = "Benefit claims"\n', "").replace('update_frequency = "monthly"\n', "")
    demo.write_text(text)
    with fedquery.connect(demo) as fed:
        gaps = {g.dataset: g.missing for g in fed.inventory().check()}
    assert gaps == {"dwp.claims": ["title", "update_frequency"]}
    result = CliRunner().invoke(main, ["-c", str(demo), "inventory", "check"])
    assert result.exit_code == 5 and "dwp.claims: missing title, update_frequency" in result.output


def test_search_ranks_sensibly(demo: Path) -> None:
    with fedquery.connect(demo) as fed:
        inv = fed.inventory()
        hits = inv.search("national insurance number")
        assert {h.dataset.id for h in hits} == {"dwp.claims", "hmrc.income", "dfe.fsm_eligibility"}
        assert all(h.columns and "person_id" in h.columns[0] for h in hits)
        assert [h.dataset.id for h in inv.search("PPE")][:2] == ["dhsc.ppe_orders", "dhsc.ppe_stock"]
        assert inv.search("claims")[0].dataset.id == "dwp.claims"  # a name match beats a description match
        assert inv.search("free school meals")[0].dataset.id == "dfe.fsm_eligibility"
        assert inv.search("zzzz nothing") == []


def test_dcat_is_json_ld_with_required_fields(demo: Path) -> None:
    pyld = pytest.importorskip("pyld.jsonld")
    with fedquery.connect(demo) as fed:
        document = fed.inventory().to_dcat()
    assert document["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"
    assert document["@context"]["dct"] == "http://purl.org/dc/terms/"
    expanded = pyld.expand(json.loads(json.dumps(document)))
    datasets = [n for n in _nodes(expanded) if "http://www.w3.org/ns/dcat#Dataset" in n.get("@type", [])]
    assert len(datasets) == 5
    dct, dcat = "http://purl.org/dc/terms/", "http://www.w3.org/ns/dcat#"
    for node in datasets:
        for key in (f"{dct}title", f"{dct}description", f"{dct}publisher", f"{dct}identifier", f"{dct}license",
                    f"{dct}modified", f"{dct}accessRights", f"{dct}accrualPeriodicity", f"{dcat}contactPoint",
                    f"{dcat}keyword", f"{dcat}distribution"):  # fmt: skip
            assert key in node, (node.get(f"{dct}identifier"), key)
        (distribution,) = node[f"{dcat}distribution"]
        assert f"{dcat}mediaType" in distribution and f"{dcat}accessService" in distribution


def _nodes(value: object) -> list[dict]:  # type: ignore[type-arg]
    found: list[dict] = []  # type: ignore[type-arg]
    if isinstance(value, dict):
        found.append(value)
        for v in value.values():
            found.extend(_nodes(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_nodes(v))
    return found


def test_frictionless_schemas_validate_against_the_data(demo: Path, tmp_path: Path) -> None:
    frictionless = pytest.importorskip("frictionless")
    with fedquery.connect(demo) as fed:
        for d in fed.inventory().datasets:
            path = tmp_path / f"{d.id}.csv"
            pacsv.write_csv(fed.sql(f"SELECT * FROM {d.id}").arrow(), path)
            resource = frictionless.Resource(
                path=str(path), schema=frictionless.Schema.from_descriptor(to_frictionless(d))
            )
            with frictionless.system.use_context(trusted=True):  # our own temporary files
                report = frictionless.validate(resource)
            assert report.valid, (d.id, report.flatten(["type", "note"])[:3])


def test_exports_in_every_format(demo: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    for fmt in ("dcat", "frictionless", "json"):
        result = runner.invoke(main, ["-c", str(demo), "inventory", "--format", fmt])
        assert result.exit_code == 0 and json.loads(result.output)
    csv_out = runner.invoke(main, ["-c", str(demo), "inventory", "--format", "csv"]).output
    assert csv_out.splitlines()[0].startswith("id,department,department_title,title") and len(csv_out.splitlines()) == 6
    md = runner.invoke(main, ["-c", str(demo), "inventory", "--format", "markdown"]).output
    assert md.startswith("| dataset | title |") and "dwp.claims" in md
    shown = runner.invoke(main, ["-c", str(demo), "inventory", "show", "dwp.claims"]).output
    assert "SELECT claim_id" in shown and "how to reach it" in shown and "primary key:  claim_id" in shown
    missing = runner.invoke(main, ["-c", str(demo), "inventory", "show", "dwp.claim"])
    assert missing.exit_code == 1 and "Did you mean 'dwp.claims'" in missing.output
    found = runner.invoke(main, ["-c", str(demo), "inventory", "search", "income", "--format", "json"]).output
    assert json.loads(found)[0]["dataset"] == "hmrc.income"


def test_cached_until_refresh(demo: Path, cache: Path) -> None:
    with fedquery.connect(demo) as fed:
        first = fed.inventory()
    assert list(cache.glob("fedquery/inventory-*.json"))
    (demo.parent / "dwp" / "claims.parquet").unlink()
    with fedquery.connect(demo) as fed:
        cached = fed.inventory()  # from cache: the source is not touched
        assert cached.get("dwp.claims").row_count == first.get("dwp.claims").row_count
        fresh = fed.inventory(refresh=True)
        assert "dwp.claims" not in {d.id for d in fresh.datasets}
        assert [(p.department, p.source) for p in fresh.problems] == [("dwp", "claims")]
    result = CliRunner().invoke(main, ["-c", str(demo), "inventory", "check"])
    assert result.exit_code == 5 and "dwp.claims (source 'claims') cannot be read" in result.output


def test_database_sources_and_no_secret_anywhere(
    pg_schema: str, mysql_database: str, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    con = pg_admin()
    with con.cursor() as cur:
        cur.execute(f'CREATE TABLE "{pg_schema}".inv_people (id BIGINT PRIMARY KEY, nino TEXT, born DATE)')
        cur.execute(
            f'INSERT INTO "{pg_schema}".inv_people '
            "SELECT g, 'QQ' || g, DATE '1990-01-01' + g FROM generate_series(1, 1234) g"
        )
    con.close()
    my = mysql_admin()
    with my.cursor() as cur:
        cur.execute(f"CREATE TABLE `{mysql_database}`.inv_pupils (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)")
        cur.execute(f"INSERT INTO `{mysql_database}`.inv_pupils SELECT seq, CONCAT('p', seq) FROM test.seq_1_to_321")
    my.close()
    monkeypatch.setenv("FQ_INV_CANARY", CANARY)
    pg_url = PG_DSN.replace("://postgres@", "://postgres:${ENV:FQ_INV_CANARY}@")  # trust auth ignores it
    config = tmp_path / "fedquery.toml"
    config.write_text(
        f'[departments.dwp]\ntitle = "DWP"\n[departments.dwp.sources.pg]\nkind = "postgres"\nurl = "{pg_url}"\n'
        f'schema = "{pg_schema}"\nschemas = ["{pg_schema}"]\n'
        f'[departments.dfe.sources.my]\nkind = "mysql"\nurl = "{mysql_url(mysql_database)}"\n'
    )
    with fedquery.connect(config) as fed:
        inv = fed.inventory(refresh=True)
        people = inv.get("dwp.inv_people")
        assert people.row_count == 1234 and people.primary_key == ["id"] and people.kind == "postgres"
        assert [(c.name, c.type, c.nullable) for c in people.columns] == [
            ("id", "int64", False), ("nino", "string", True), ("born", "date32[day]", True),
        ]  # fmt: skip
        pupils = inv.get("dfe.inv_pupils")
        assert pupils.row_count == 321 and pupils.primary_key == ["id"]
        assert ("name", "string", False) in [(c.name, c.type, c.nullable) for c in pupils.columns]
        outputs = [inv.export(f) for f in ("dcat", "frictionless", "csv", "markdown", "json")]
        outputs += [repr(inv), repr(people), str(inv.check())]
    runner = CliRunner()
    for args in (["inventory"], ["inventory", "show", "dwp.inv_people"], ["inventory", "check"],
                 ["inventory", "search", "nino"], ["tables"], ["explain", "SELECT * FROM dwp.inv_people"]):  # fmt: skip
        outputs.append(runner.invoke(main, ["-c", str(config), *args]).output)
    outputs += [p.read_text() for p in cache.glob("fedquery/*.json")]
    for text in outputs:
        assert CANARY not in text
    assert any("postgres:***@" in text for text in outputs)
