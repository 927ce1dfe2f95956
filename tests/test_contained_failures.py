"""Every failure typed and contained: an unreachable S3 endpoint, a corrupt CSV or a broken DuckDB view
is a typed error naming its source and is reported beside the others (tables, inventory, CLI); deep
queries (long OR chains, wide joins, nested subqueries) are planned or refused with a typed error."""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import fedquery
from fedquery import deep
from fedquery.cli import main

S3_SECRET = "canary-s3-down-6610"


@pytest.fixture(scope="module")
def stopped_s3() -> Iterator[str]:
    """The endpoint of a moto S3 server that has been stopped: nothing listens there any more."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (test extra)")
    pytest.importorskip("s3fs", reason="the s3 extra is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    server.stop()
    yield f"http://{host}:{port}"


def _local(tmp_path: Path) -> dict[str, Any]:
    (tmp_path / "local").mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "local" / "people.parquet")
    return {"sources": {"files": {"kind": "parquet", "url": str(tmp_path / "local")}}}


def _s3_config(tmp_path: Path, endpoint: str) -> dict[str, Any]:
    s3 = {
        "kind": "parquet",
        "url": "s3://gone-bucket/claims",
        "storage_options": {
            "key": "testing",
            "secret": S3_SECRET,
            "client_kwargs": {"endpoint_url": endpoint, "region_name": "eu-west-2"},
        },
    }
    return {
        "departments": {"dwp": {"sources": {"claims": s3}}, "hmrc": _local(tmp_path)},
        "settings": {"cache_directory": str(tmp_path / "cache")},
    }


def _toml(tmp_path: Path, endpoint: str) -> Path:
    path = tmp_path / "fedquery.toml"
    path.write_text(
        "[settings]\n"
        f'cache_directory = "{tmp_path / "cache"}"\n'
        "[departments.dwp.sources.claims]\n"
        'kind = "parquet"\nurl = "s3://gone-bucket/claims"\n'
        f'storage_options = {{ key = "testing", secret = "{S3_SECRET}", '
        f'client_kwargs = {{ endpoint_url = "{endpoint}", region_name = "eu-west-2" }} }}\n'
        "[departments.hmrc.sources.files]\n"
        f'kind = "parquet"\nurl = "{tmp_path / "local"}"\n'
    )
    _local(tmp_path)
    return path


def test_unreachable_s3_is_a_typed_error_that_fails_fast(tmp_path: Path, stopped_s3: str) -> None:
    fed = fedquery.connect(_s3_config(tmp_path, stopped_s3))
    started = time.perf_counter()
    with pytest.raises(fedquery.SourceUnavailableError) as info:
        fed.sql("SELECT * FROM dwp.claims")
    assert time.perf_counter() - started < 5  # botocore's retries are limited (was ~9-12 s)
    error = info.value
    assert error.department == "dwp" and error.source == "claims"
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert S3_SECRET not in text and error.__context__ is None
    # the other department keeps working
    assert fed.sql("SELECT count(*) FROM hmrc.people").fetchall() == [(3,)]


def test_unreachable_s3_is_listed_beside_the_others(tmp_path: Path, stopped_s3: str) -> None:
    fed = fedquery.connect(_s3_config(tmp_path, stopped_s3))
    rows = fed.tables()
    good = [r for r in rows if r["error"] is None]
    broken = [r for r in rows if r["error"] is not None]
    assert [r["table"] for r in good] == ["hmrc.people"]
    assert [(r["department"], r["source"], r["table"]) for r in broken] == [("dwp", "claims", None)]
    assert "EndpointConnectionError" in broken[0]["error"] and S3_SECRET not in broken[0]["error"]
    inventory = fed.inventory(refresh=True)
    assert [d.id for d in inventory.datasets] == ["hmrc.people"]
    assert [(p.department, p.source) for p in inventory.problems] == [("dwp", "claims")]


def test_cli_exit_codes_for_an_unreachable_source(tmp_path: Path, stopped_s3: str) -> None:
    config = _toml(tmp_path, stopped_s3)
    runner = CliRunner()
    result = runner.invoke(main, ["-c", str(config), "query", "SELECT * FROM dwp.claims"])
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and S3_SECRET not in result.output
    assert "department 'dwp'" in result.output or "dwp" in result.output
    listed = runner.invoke(main, ["-c", str(config), "tables", "--format", "csv"])
    assert listed.exit_code == 0 and "hmrc.people" in listed.output
    assert "warning: dwp (source 'claims', parquet) cannot be read" in listed.output
    assert runner.invoke(main, ["-c", str(config), "tables", "--strict"]).exit_code == 4
    inventory = runner.invoke(main, ["-c", str(config), "inventory", "--refresh", "--format", "csv"])
    assert (
        inventory.exit_code == 0
        and "hmrc.people" in inventory.output
        and "dwp.claims is unreachable" in inventory.output
    )


def test_cli_maps_errors_raised_anywhere_to_their_exit_code(tmp_path: Path) -> None:
    config = tmp_path / "fedquery.toml"
    config.write_text('[departments.d.sources.s]\nkind = "parquet"\nurl = "x"\nstatment_timeout = 1\n')
    for command in (["analyze"], ["tables"], ["query", "SELECT 1"], ["explain", "SELECT 1"], ["inventory"]):
        result = CliRunner().invoke(main, ["-c", str(config), *command])
        assert result.exit_code == 3, (command, result.output)
        assert "Traceback" not in result.output and "has no option 'statment_timeout'" in result.output


def test_a_corrupt_csv_beside_a_good_one(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "good.csv").write_text("id,name\n1,a\n2,b\n")
    (tmp_path / "csv" / "bad.csv").write_text("id,name\n1,a\n3,c,extra\n")
    (tmp_path / "db").mkdir()
    con = duckdb.connect(str(tmp_path / "db" / "hmrc.duckdb"))
    con.execute("CREATE TABLE base (x INTEGER)")
    con.execute("CREATE TABLE income (id INTEGER, amount INTEGER)")
    con.execute("INSERT INTO income VALUES (1, 10), (2, 20)")
    con.execute("CREATE VIEW broken AS SELECT x FROM base")
    con.execute("DROP TABLE base")
    con.close()
    fed = fedquery.connect(
        {
            "departments": {
                "dfe": {"sources": {"files": {"kind": "csv", "url": str(tmp_path / "csv")}}},
                "hmrc": {"sources": {"db": {"kind": "duckdb", "path": str(tmp_path / "db" / "hmrc.duckdb")}}},
                "dwp": _local(tmp_path),
            },
            "settings": {"cache_directory": str(tmp_path / "cache")},
        }
    )
    rows = {r["table"]: r for r in fed.tables()}
    assert rows["dfe.good"]["error"] is None and rows["dfe.good"]["columns"] == [("id", "int64"), ("name", "string")]
    assert rows["dfe.bad"]["error"] and rows["dfe.bad"]["columns"] == []
    assert rows["hmrc.income"]["error"] is None and rows["hmrc.broken"]["error"]
    assert rows["dwp.people"]["error"] is None
    # SQL over the good tables keeps working; the broken ones are typed errors naming their source
    assert fed.sql("SELECT count(*) FROM dfe.good").fetchall() == [(2,)]
    assert fed.sql("SELECT sum(amount) FROM hmrc.income").fetchall() == [(30,)]
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM dfe.bad").fetchall()
    assert info.value.source == "files"
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM hmrc.broken").fetchall()
    assert info.value.source == "db"
    inventory = fed.inventory(refresh=True)
    assert {"dfe.good", "hmrc.income", "dwp.people"} <= {d.id for d in inventory.datasets}
    assert {p.table for p in inventory.problems} == {"bad", "broken"}
    # analyze: the tables that work are analyzed; one error names the others
    with pytest.raises(fedquery.SourceError, match="could not be analyzed") as info:
        fed.analyze()
    assert "dfe.bad" in str(info.value) and "hmrc.broken" in str(info.value)
    assert [e.method for e in fed.statistics("hmrc.income")] == ["analyze"]


@pytest.fixture(scope="module")
def deep_fed(tmp_path_factory: pytest.TempPathFactory) -> fedquery.Federation:
    root = tmp_path_factory.mktemp("deep")
    (root / "p").mkdir()
    (root / "c").mkdir()
    pq.write_table(pa.table({"id": list(range(100)), "v": list(range(100))}), root / "p" / "t.parquet")
    (root / "c" / "u.csv").write_text("id,w\n" + "".join(f"{i},{i}\n" for i in range(100)))
    return fedquery.connect(
        {
            "departments": {
                "a": {"sources": {"s": {"kind": "parquet", "url": str(root / "p")}}},
                "b": {"sources": {"s": {"kind": "csv", "url": str(root / "c")}}},
            }
        }
    )


def test_a_1000_term_or_pushed_to_a_file_scan(deep_fed: fedquery.Federation) -> None:
    query = "SELECT count(*) FROM a.t WHERE " + " OR ".join(f"id = {i}" for i in range(0, 2000, 2))
    assert deep_fed.sql(query).fetchall() == [(50,)]


def test_a_1000_term_or_evaluated_locally(deep_fed: fedquery.Federation) -> None:
    terms = " OR ".join(f"t.v + u.w = {i}" for i in range(1000))
    assert deep_fed.sql(f"SELECT count(*) FROM a.t JOIN b.u ON t.id = u.id WHERE {terms}").fetchall() == [(100,)]


def test_a_48_table_join(deep_fed: fedquery.Federation) -> None:
    joins = " ".join(f"JOIN {'b.u' if i % 2 else 'a.t'} t{i} ON t{i}.id = t{i - 1}.id" for i in range(1, 48))
    assert deep_fed.sql(f"SELECT count(*) FROM a.t t0 {joins}").fetchall() == [(100,)]


def test_100_nested_subqueries(deep_fed: fedquery.Federation) -> None:
    query = "SELECT id FROM a.t WHERE id < 7"
    for _ in range(100):
        query = f"SELECT id FROM a.t WHERE id IN ({query})"
    assert deep_fed.sql(f"SELECT count(*) FROM ({query}) AS x").fetchall() == [(7,)]


def test_deeper_than_the_limit_is_a_plan_error(deep_fed: fedquery.Federation, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deep, "RECURSION_LIMIT", 1_000)  # Python's default: what fedquery used to plan with
    query = "SELECT count(*) FROM a.t WHERE " + " OR ".join(f"id = {i}" for i in range(1000))
    with pytest.raises(fedquery.PlanError, match="nested too deeply"):
        deep_fed.sql(query)
