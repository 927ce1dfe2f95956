"""The Python API: connect, sql, Result, explain, tables, notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

import fedquery
from fedquery.demo import QUERIES

CROSS = (
    "SELECT c.region, count(*) AS claims, sum(i.employment_income) AS income "
    "FROM dwp.claims c JOIN hmrc.income i ON i.person_id = c.person_id AND i.tax_year = '2019-20' "
    "GROUP BY c.region ORDER BY c.region"
)


@pytest.fixture
def fed(demo_config: Path):  # type: ignore[no-untyped-def]
    with fedquery.connect(demo_config) as federation:
        yield federation


def test_result_in_every_shape(fed) -> None:  # type: ignore[no-untyped-def]
    table = fed.sql(CROSS).arrow()
    assert isinstance(table, pa.Table) and table.column_names == ["region", "claims", "income"]
    assert fed.sql(CROSS).fetchall() == [tuple(r.values()) for r in table.to_pylist()]
    df = fed.sql(CROSS).df()
    assert list(df.columns) == ["region", "claims", "income"] and len(df) == table.num_rows
    reader = fed.sql(CROSS).reader()
    assert isinstance(reader, pa.RecordBatchReader) and reader.read_all().equals(table)
    pl = pytest.importorskip("polars")
    assert isinstance(fed.sql(CROSS).pl(), pl.DataFrame)


def test_result_stats_per_fragment(fed) -> None:  # type: ignore[no-untyped-def]
    result = fed.sql(CROSS)
    result.arrow()
    by_department = {s.department: s for s in result.stats}
    assert set(by_department) == {"dwp", "hmrc"}
    assert by_department["hmrc"].rows == 6000  # one tax year of 6000 people, filtered at the source
    assert all(s.bytes > 0 and s.seconds >= 0 and s.sql for s in result.stats)


def test_output_names_follow_duckdb(fed) -> None:  # type: ignore[no-untyped-def]
    table = fed.sql("SELECT count(*), sum(weekly_amount), max(region) AS top FROM dwp.claims").arrow()
    assert table.column_names == ["count_star()", "sum(weekly_amount)", "top"]


def test_explain_is_data(fed) -> None:  # type: ignore[no-untyped-def]
    plan = fed.explain(CROSS)
    assert {(f.department, f.source) for f in plan.fragments} == {("dwp", "claims"), ("hmrc", "income")}
    income = next(f for f in plan.fragments if f.department == "hmrc")
    assert "'2019-20'" in income.sql and income.dialect == "duckdb"
    as_dict = plan.to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert plan.hash == fed.explain(CROSS).hash != fed.explain(CROSS.replace("2019-20", "2018-19")).hash
    text = str(plan)
    assert "remote SQL" in text and "local DuckDB SQL" in text and "spans sources" in text
    assert "<table>" in plan._repr_html_()


def test_repr_html_is_row_capped(fed) -> None:  # type: ignore[no-untyped-def]
    html = fed.sql("SELECT person_id FROM hmrc.income").__class__._repr_html_(
        fed.sql("SELECT person_id FROM hmrc.income")
    )
    assert html.count("<tr>") == 51 and "more rows not shown" in html


def test_tables_lists_every_department(fed) -> None:  # type: ignore[no-untyped-def]
    tables = {t["table"]: t for t in fed.tables()}
    assert set(tables) == {"dhsc.ppe_stock", "dhsc.ppe_orders", "dwp.claims", "dfe.fsm_eligibility", "hmrc.income"}
    assert tables["dhsc.ppe_stock"]["kind"] == "csv"
    assert ("region", "string") in tables["dhsc.ppe_stock"]["columns"]
    assert [t["table"] for t in fed.tables("hmrc")] == ["hmrc.income"]


def test_demo_queries_match_the_oracle(fed, demo_config: Path) -> None:  # type: ignore[no-untyped-def]
    """The demo's own answers equal one DuckDB holding every department's data."""
    import duckdb
    import sqlglot
    from sqlglot import exp

    oracle = duckdb.connect()
    for table in fed.catalog.tables():
        oracle.execute(f"CREATE SCHEMA IF NOT EXISTS {table.department}")
        data = fed.sql(f"SELECT * FROM {table.sql_name}").arrow()
        oracle.register("src", data)
        oracle.execute(f"CREATE TABLE {table.sql_name} AS SELECT * FROM src")
        oracle.unregister("src")
    for _, sql in QUERIES:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
        assert tree.find(exp.Table) is not None
        assert fed.sql(sql).fetchall() == oracle.sql(sql).fetchall()


def test_connect_from_dict_and_default_lookup(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = {
        "departments": {
            "hmrc": {"sources": {"income": {"kind": "duckdb", "path": str(demo_config.parent / "hmrc/income.duckdb")}}}
        }
    }
    with fedquery.connect(config) as fed:
        assert fed.sql("SELECT count(*) FROM hmrc.income").fetchall() == [(12000,)]
    monkeypatch.setenv("FEDQUERY_CONFIG", str(demo_config))
    with fedquery.connect() as fed:
        assert fed.sql("SELECT count(*) FROM dwp.claims").fetchall()[0][0] > 0
    monkeypatch.delenv("FEDQUERY_CONFIG")
    monkeypatch.chdir(demo_config.parent)
    with fedquery.connect() as fed:
        assert "dhsc" in fed.config.departments


def test_secrets_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FQ_CANARY", "canary-pw-93817")
    config = {
        "departments": {
            "x": {
                "sources": {
                    "db": {
                        "kind": "sqlite",
                        "path": "${ENV:FQ_CANARY}/nowhere.db",
                        "url": "postgresql://u:${ENV:FQ_CANARY}@h/db",
                    }
                }
            }
        }
    }
    fed = fedquery.connect(config)
    source = fed.config.departments["x"].sources["db"]
    assert "canary-pw-93817" not in repr(source) and "canary-pw-93817" not in source.location()
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM x.t")
    assert "canary-pw-93817" not in str(info.value)


def test_local_duckdb_is_locked_down(demo_config: Path) -> None:
    from fedquery.executor import Execution

    fed = fedquery.connect(demo_config)
    execution = Execution(fed.explain("SELECT 1"), fed.catalog, fed.config.settings)
    con = execution._open_duckdb()
    import duckdb

    with pytest.raises(duckdb.Error):
        con.execute("SET memory_limit = '100GB'")
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv('/etc/hostname')").fetchall()
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0].replace(" ", "") in (
        "953.6MiB",
        "1.0GiB",
        "1GB",
    )
    execution.close()


def test_a_failing_source_fails_the_whole_query(demo_config: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "demo"
    shutil.copytree(demo_config.parent, copy)
    with fedquery.connect(copy / "fedquery.toml") as fed:
        fed.tables()  # schemas known
        (copy / "dwp" / "claims.parquet").write_bytes(b"PAR1 gone PAR1")
        with pytest.raises(fedquery.SourceError) as info:
            fed.sql(CROSS).arrow()
        assert info.value.department == "dwp"


def test_import_is_light() -> None:
    """``import fedquery`` loads no engine or driver; connectors name the extra they need."""
    import subprocess
    import sys

    code = (
        "import sys, fedquery; print(sorted(m for m in ('duckdb', 'pyarrow', 'sqlglot', 's3fs') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_driver_names_the_extra() -> None:
    from connectors.base import require
    from fedquery.errors import ConnectorNotInstalledError

    with pytest.raises(ConnectorNotInstalledError, match=r"pip install 'fedquery\[postgres\]'"):
        require("fedquery_no_such_driver", "postgres", "postgres")


def test_failure_while_other_sources_stream_does_not_hang(tmp_path: Path) -> None:
    """One source fails at once while another is still streaming a large table: a typed error, promptly."""
    import random
    import time

    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": list(range(2_000_000))}), tmp_path / "big.parquet", row_group_size=50_000)
    # A valid footer (so planning succeeds) over damaged pages (so the scan fails part-way).
    pq.write_table(
        pa.table({"v": [str(i) * 3 for i in range(200_000)]}),
        tmp_path / "b.parquet",
        row_group_size=10_000,
        compression="zstd",
    )
    data = bytearray((tmp_path / "b.parquet").read_bytes())
    rng = random.Random(7)
    data[len(data) // 3 : len(data) // 3 + 20000] = bytes(rng.randrange(256) for _ in range(20000))
    (tmp_path / "broken.parquet").write_bytes(bytes(data))
    config = {
        "departments": {
            "a": {"sources": {"big": {"kind": "parquet", "url": str(tmp_path / "big.parquet"), "batch_size": 1000}}},
            "b": {"sources": {"broken": {"kind": "parquet", "url": str(tmp_path / "broken.parquet")}}},
        }
    }
    with fedquery.connect(config) as fed:
        started = time.perf_counter()
        with pytest.raises(fedquery.SourceError) as info:
            fed.sql("SELECT count(*) FROM a.big x JOIN b.broken y ON x.id = length(y.v)").arrow()
        assert info.value.department == "b"
        assert time.perf_counter() - started < 30
