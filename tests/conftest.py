from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks import tpch_data

SCALE = 0.01


@pytest.fixture(scope="session")
def tpch_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tpch_data.generate(SCALE, tmp_path_factory.mktemp("tpch"))


@pytest.fixture(scope="session")
def tpch_config(tpch_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tpch_data.build_federation(tpch_dir, tmp_path_factory.mktemp("federation"))


@pytest.fixture(scope="session")
def tpch_fed(tpch_config: Path):  # type: ignore[no-untyped-def]
    import fedquery

    fed = fedquery.connect(tpch_config)
    yield fed
    fed.close()


@pytest.fixture(scope="session")
def oracle(tpch_dir: Path):  # type: ignore[no-untyped-def]
    con = tpch_data.oracle(tpch_dir)
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fedquery.demo import write_demo

    return write_demo(tmp_path_factory.mktemp("demo"))


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return round(value, 6)
    if isinstance(value, decimal.Decimal):
        return round(float(value), 6)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def same_rows(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], *, ordered: bool = False) -> bool:
    """Rows equal as multisets (or sequences), numbers compared to 6 decimal places."""
    a = [tuple(_normal(v) for v in r) for r in got]
    b = [tuple(_normal(v) for v in r) for r in expected]
    if not ordered:
        a, b = sorted(a, key=repr), sorted(b, key=repr)
    return a == b


def assert_same_rows(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]], *, ordered: bool = False) -> None:
    assert len(got) == len(expected), f"{len(got)} rows, oracle has {len(expected)}"
    assert same_rows(got, expected, ordered=ordered), f"rows differ: {got[:5]} vs oracle {expected[:5]}"
