"""Config validation at load: unknown keys (with "did you mean"), types and ranges, before any connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from connectors import connector_class
from connectors.base import Option
from fedquery.config import memory_bytes
from fedquery.errors import ConfigError

UNREACHABLE = "postgresql://ana:pw@127.0.0.1:1/nowhere"  # port 1: nothing listens; loading must not connect


def _connect(source: dict[str, Any], **extra: Any) -> fedquery.Federation:
    return fedquery.connect({"departments": {"dwp": {"sources": {"claims": source}}}, **extra})


@pytest.mark.parametrize(
    ("source", "closest"),
    [
        ({"kind": "postgres", "url": UNREACHABLE, "statment_timeout": 1}, "statement_timeout"),
        ({"kind": "postgres", "url": UNREACHABLE, "pool_sise": 2}, "pool_size"),
        ({"kind": "mysql", "url": "mysql://root@127.0.0.1:1/x", "drivr": "pymysql"}, "driver"),
        ({"kind": "parquet", "url": "data", "storage_option": {}}, "storage_options"),
        ({"kind": "csv", "url": "data", "discovr": True}, "discover"),
        ({"kind": "sqlite", "path": "x.db", "pth": "y.db"}, "path"),
        ({"kind": "duckdb", "path": "x.duckdb", "batch_sise": 10}, "batch_size"),
    ],
)
def test_unknown_source_key_is_an_error_with_the_closest_key(source: dict[str, Any], closest: str) -> None:
    with pytest.raises(ConfigError) as info:
        _connect(source)
    message = str(info.value)
    assert f"Did you mean {closest!r}?" in message
    assert info.value.department == "dwp" and info.value.source == "claims"
    assert "dwp" in message and "claims" in message


def test_an_option_of_another_kind_is_refused() -> None:
    # statement_timeout is a database option: a Parquet source does not take it.
    with pytest.raises(ConfigError, match="parquet source has no option 'statement_timeout'"):
        _connect({"kind": "parquet", "url": "data", "statement_timeout": 5})


def test_unknown_table_key_is_an_error() -> None:
    source = {"kind": "csv", "url": "data", "tables": {"t": {"path": "t.csv", "delimter": ";"}}}
    with pytest.raises(ConfigError, match="Did you mean 'delimiter'") as info:
        _connect(source)
    assert "tables.t" in str(info.value)
    # csv reading options at the source level are checked the same way
    with pytest.raises(ConfigError, match="Did you mean 'header'"):
        _connect({"kind": "csv", "url": "data", "csv": {"headr": False}})


def test_table_metadata_keys_are_accepted() -> None:
    tables = {
        "t": {
            "path": "t.parquet", "title": "T", "description": "d", "keywords": ["a"], "license": "OGL",
            "primary_key": ["id"], "fields": {"id": {"description": "the key"}},
        }
    }  # fmt: skip
    _connect({"kind": "parquet", "url": "data", "tables": tables, "metadata": {"contact": "x@y"}})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("pool_size", "four", "pool_size must be an integer, got 'four'"),
        ("pool_size", 0, "pool_size must be at least 1"),
        ("pool_size", True, "pool_size must be an integer"),
        ("statement_timeout", "5s", "statement_timeout must be a number"),
        ("statement_timeout", 0.0005, "statement_timeout must be at least 0.01"),
        ("statement_timeout", 0, "statement_timeout must be at least 0.01"),
        ("statement_timeout", -1, "statement_timeout must be at least 0.01"),
        ("schemas", "public", "schemas must be a list of strings"),
        ("batch_size", 0, "batch_size must be at least 1"),
    ],
)
def test_types_and_ranges_are_checked_at_load(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        _connect({"kind": "postgres", "url": UNREACHABLE, key: value})
    assert info.value.source == "claims"


@pytest.mark.parametrize("kind", ["parquet", "csv", "sqlite", "duckdb", "postgres", "mysql"])
def test_a_source_without_a_location_is_refused_at_load(kind: str) -> None:
    with pytest.raises(ConfigError, match="needs a 'url'") as info:
        _connect({"kind": kind})
    assert info.value.source == "claims"


def test_driver_choice() -> None:
    with pytest.raises(ConfigError, match="driver must be one of 'auto', 'pymysql'"):
        _connect({"kind": "mysql", "url": "mysql://root@127.0.0.1:1/x", "driver": "odbc"})


def test_statement_timeout_floor_is_accepted(tmp_path: Path) -> None:
    fed = _connect({"kind": "postgres", "url": UNREACHABLE, "statement_timeout": 0.01})
    assert fed.catalog.connector("dwp", "claims").statement_timeout == 0.01  # type: ignore[attr-defined]


def test_unknown_kind_suggests() -> None:
    with pytest.raises(ConfigError, match="unknown source kind 'postgress'. Did you mean 'postgres'"):
        _connect({"kind": "postgress", "url": UNREACHABLE})


def test_bad_csv_column_type_is_refused_at_load() -> None:
    source = {"kind": "csv", "url": "data", "tables": {"t": {"path": "t.csv", "columns": {"a": "notatype"}}}}
    with pytest.raises(ConfigError, match="notatype"):
        _connect(source)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"memory_limt": "1GB"}, "unknown setting 'memory_limt'. Did you mean 'memory_limit'"),
        ({"thread": 2}, "Did you mean 'threads'"),
        ({"memory_limit": "lots"}, "not a memory size"),
        ({"memory_limit": "500 MBs"}, "not a memory size"),
        ({"memory_limit": 500}, "memory_limit must be a string"),
        ({"memory_limit": "500000000"}, "a unit is required"),
        ({"memory_limit": "1MB"}, "at least 16MB"),
        ({"memory_limit": "150%"}, "at most 100%"),
        ({"threads": "four"}, "threads must be a positive integer"),
        ({"batch_size": True}, "batch_size must be a positive integer"),
        ({"parallel_min_bytes": -1}, "parallel_min_bytes must be a whole number of bytes"),
        ({"parallel_min_bytes": "100MB"}, "parallel_min_bytes must be a whole number of bytes"),
    ],
)
def test_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _connect({"kind": "parquet", "url": "data"}, settings=settings)


@pytest.mark.parametrize("text", ["500MB", "4GB", "2GiB", "1.5gb", "512 MiB", "20000000 bytes", "50%"])
def test_memory_limits_that_load_are_ones_duckdb_takes(text: str) -> None:
    _connect({"kind": "parquet", "url": "data"}, settings={"memory_limit": text})
    con = duckdb.connect(config={"memory_limit": text})  # DuckDB reads the same text
    (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()  # type: ignore[misc]
    assert limit and memory_bytes(text) > 0


def test_the_cli_reports_a_config_error_with_exit_3(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fedquery.cli import main

    config = tmp_path / "fedquery.toml"
    config.write_text(
        '[departments.dwp.sources.claims]\nkind = "postgres"\nurl = "postgresql://a@h/d"\npool_size = "four"\n'
    )
    result = CliRunner().invoke(main, ["-c", str(config), "tables"])
    assert result.exit_code == 3
    assert "pool_size must be an integer" in result.output and "Traceback" not in result.output


def test_a_valid_config_still_works(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": [1, 2]}), tmp_path / "t.parquet")
    fed = _connect(
        {"kind": "parquet", "url": str(tmp_path), "batch_size": 1000, "tables": {"t": {"path": "t.parquet"}}},
        settings={"memory_limit": "1GiB"},
    )
    assert fed.sql("SELECT count(*) FROM dwp.t").fetchall() == [(2,)]


def test_every_builtin_kind_declares_its_options() -> None:
    for kind in ("parquet", "csv", "sqlite", "duckdb", "postgres", "mysql"):
        cls = connector_class(kind)
        assert {"url", "path"} <= set(cls.options)
        assert all(isinstance(o, Option) for o in (*cls.options.values(), *cls.table_options.values()))
