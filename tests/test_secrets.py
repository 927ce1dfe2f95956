"""Canary secrets never shown: in the repr of any object that holds config, in DEBUG logs of fedquery
and of the libraries it drives, in exception chains, and in cache file names."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fedquery
from connectors.remote import parse_address
from fedquery.errors import ConfigError
from fedquery.secrets import Secret
from tests.conftest import PG_DSN, pg_admin, pg_run
from tests.test_filesystems import http_root  # noqa: F401 - the fixture

CANARY = "canary-Zq81-secret"
S3_CANARY = "canary-s3-Kp27"


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (test extra)")
    pytest.importorskip("s3fs", reason="the s3 extra is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def debug_log() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, formatted with tracebacks, as an application would."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old)


def _config(tmp_path: Path, moto: str | None = None) -> dict[str, Any]:
    (tmp_path / "data").mkdir(exist_ok=True)
    pq.write_table(pa.table({"id": [1, 2, 3], "v": ["a", "b", "c"]}), tmp_path / "data" / "people.parquet")
    pw_url = PG_DSN.replace("://postgres@", "://postgres:${ENV:FQ_CANARY}@")
    sources: dict[str, Any] = {
        "db": {"kind": "postgres", "url": pw_url, "schemas": ["fq_secrets"], "schema": "fq_secrets"},
        "files": {"kind": "parquet", "url": str(tmp_path / "data")},
    }
    if moto:
        sources["s3"] = {
            "kind": "parquet",
            "url": "s3://secret-bucket/claims",
            "storage_options": {
                "key": "testing",
                "secret": S3_CANARY,
                "client_kwargs": {"endpoint_url": moto, "region_name": "eu-west-2"},
            },
        }
    return {"departments": {"dept": {"sources": sources}}, "settings": {"cache_directory": str(tmp_path / "cache")}}


@pytest.fixture()
def pg_table() -> Iterator[None]:
    pg_admin().close()
    pg_run(
        "DROP SCHEMA IF EXISTS fq_secrets CASCADE",
        "CREATE SCHEMA fq_secrets",
        "CREATE TABLE fq_secrets.claims (id int primary key, amount int)",
        "INSERT INTO fq_secrets.claims VALUES (1, 10), (2, 20)",
    )
    yield
    pg_run("DROP SCHEMA IF EXISTS fq_secrets CASCADE")


def _upload(moto: str, tmp_path: Path) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(
        key="testing", secret=S3_CANARY, client_kwargs={"endpoint_url": moto, "region_name": "eu-west-2"}
    )
    if not fs.exists("secret-bucket"):
        fs.mkdir("secret-bucket")
    fs.put(str(tmp_path / "data" / "people.parquet"), "secret-bucket/claims/s3people.parquet")


def _shown(obj: Any) -> str:
    return f"{obj!r}\n{obj!s}"


def test_reprs_of_every_object_that_holds_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_table: None, moto_s3: str
) -> None:
    monkeypatch.setenv("FQ_CANARY", CANARY)
    fed = fedquery.connect(_config(tmp_path, moto_s3))
    _upload(moto_s3, tmp_path)
    query = (
        "SELECT c.id, c.amount, p.v FROM dept.claims c JOIN dept.people p ON p.id = c.id "
        "JOIN dept.s3people s ON s.id = c.id"
    )
    result = fed.sql(query)
    assert sorted(result.fetchall()) == [(1, 10, "a"), (2, 20, "b")]
    plan = fed.explain(query)
    connector = fed.catalog.connector("dept", "db")
    objects: list[Any] = [
        fed, fed.config, fed.config.settings, fed.catalog, connector, connector.address,  # type: ignore[attr-defined]
        fed.catalog.connector("dept", "s3"), plan, plan.to_dict(), *plan.fragments, result, result.stats,
        *fed.config.departments.values(), *fed.config.departments["dept"].sources.values(),
        *fed.catalog.tables(), fed.tables(), fed.inventory().datasets, fed.inventory().to_json(),
        fed.explain(query, analyze=True),
    ]  # fmt: skip
    for obj in objects:
        text = _shown(obj)
        assert CANARY not in text and S3_CANARY not in text, type(obj)
    assert repr(connector.address.password) == "'***'"  # type: ignore[attr-defined]
    assert connector.address.password.reveal() == CANARY  # type: ignore[attr-defined]
    # a dataclass repr of the address, formatted into an f-string or logged, shows *** only
    assert CANARY not in f"{connector.address}" and "password='***'" in repr(connector.address)  # type: ignore[attr-defined]


def test_debug_logs_of_fedquery_and_the_libraries_it_drives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_table: None, moto_s3: str, debug_log: io.StringIO
) -> None:
    monkeypatch.setenv("FQ_CANARY", CANARY)
    fed = fedquery.connect(_config(tmp_path, moto_s3))
    _upload(moto_s3, tmp_path)
    assert fed.sql("SELECT count(*) FROM dept.s3people").fetchall() == [(3,)]
    assert fed.sql("SELECT sum(amount) FROM dept.claims").fetchall() == [(30,)]
    # Libraries log credentials at DEBUG: URL passwords and (botocore) the request's parameters.
    for name in ("fsspec", "s3fs", "botocore.endpoint", "urllib3.connectionpool", "aiohttp.client", "fedquery"):
        logging.getLogger(name).debug("connecting to https://user:%s@example/x with secret=%s", CANARY, S3_CANARY)
    try:
        raise RuntimeError(f"driver failed for postgresql://postgres:{CANARY}@h/db")
    except RuntimeError:
        logging.getLogger("botocore.hooks").exception("failure")
    text = debug_log.getvalue()
    assert "s3fs" in text or "botocore" in text  # the libraries did log at DEBUG
    assert CANARY not in text and S3_CANARY not in text
    assert "user:***@example" in text and "RuntimeError" in text


def test_exception_chains_carry_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FQ_CANARY", CANARY)
    url = "postgresql://ana:${ENV:FQ_CANARY}@127.0.0.1:1/nowhere"
    fed = fedquery.connect({"departments": {"d": {"sources": {"db": {"kind": "postgres", "url": url}}}}})
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM d.t")
    error = info.value
    assert error.__context__ is None and error.__cause__ is None
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    assert CANARY not in text and "ana:***@127.0.0.1" in text
    (row,) = fed.tables()  # the broken source is reported beside the others, masked
    assert row["table"] is None and "ana:***@127.0.0.1" in row["error"] and CANARY not in row["error"]


def test_cache_file_names_are_not_derived_from_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fedquery.cache import cache_path
    from fedquery.config import load_config

    names = []
    for password in ("first-password", "other-password"):
        monkeypatch.setenv("FQ_CANARY", password)
        config = load_config(_config(tmp_path))
        names.append(cache_path(config, "inventory").name)
    assert names[0] == names[1]  # the password is not an input of the name: no guessing oracle
    monkeypatch.setenv("FQ_CANARY", "x")
    config = load_config(_config(tmp_path))
    config.departments["dept"].sources["db"].options["url"] = "postgresql://postgres:x@other-host/test"
    assert cache_path(config, "inventory").name != names[0]  # ... but the host is


@pytest.mark.parametrize("password", ["p/w", "p#w", "p?w", "12/34"])
def test_unencoded_url_special_characters_get_a_clear_error(password: str, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql://ana:{password}@127.0.0.1:5432/test"
    with pytest.raises(ConfigError, match="must be URL-encoded") as info:
        fedquery.connect({"departments": {"d": {"sources": {"db": {"kind": "postgres", "url": url}}}}})
    assert password not in str(info.value).replace("URL-encoded (/ as %2F, # as %23)", "")
    assert info.value.source == "db"


def test_encoded_url_special_characters_work(pg_table: None) -> None:
    password = "p/w@#?:%x"
    from urllib.parse import quote

    url = PG_DSN.replace("://postgres@", f"://postgres:{quote(password, safe='')}@")
    address = parse_address(url, "postgres", 5432)
    assert address.password.reveal() == password and address.host == "127.0.0.1"
    fed = fedquery.connect(
        {"departments": {"d": {"sources": {"db": {"kind": "postgres", "url": url, "schema": "fq_secrets"}}}}}
    )
    assert fed.sql("SELECT count(*) FROM d.claims").fetchall() == [(2,)]  # trust auth: the URL reached the server
    # an unencoded '@' or ':' in a password is read correctly too
    assert parse_address("postgresql://ana:p@w:x@db:5433/d", "postgres", 5432).password.reveal() == "p@w:x"


def test_secret_type() -> None:
    s = Secret("hunter2")
    assert repr(s) == "'***'" and str(s) == "***" and f"{s}" == "***" and s.reveal() == "hunter2"
    assert repr({"password": s}) == "{'password': '***'}"


def test_url_credentials_of_a_file_source(http_root: str, debug_log: io.StringIO) -> None:  # noqa: F811
    pytest.importorskip("aiohttp", reason="the http extra is not installed")
    base = http_root.replace("http://", f"http://ana:{CANARY}@")
    sources = {
        "s": {"kind": "parquet", "url": f"{base}/people.parquet"},
        "gone": {"kind": "parquet", "url": f"{base}/missing.parquet", "tables": {"gone": {}}},
    }
    fed = fedquery.connect({"departments": {"d": {"sources": sources}}})
    result = fed.sql("SELECT count(*) FROM d.s")
    assert result.fetchall() == [(4,)]
    plan = fed.explain("SELECT count(*) FROM d.s", analyze=True)
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM d.gone").fetchall()
    shown = [plan, plan.to_dict(), result.stats, fed.tables(), fed.inventory(refresh=True).to_json(), info.value]
    for obj in shown:
        assert CANARY not in _shown(obj), type(obj)
    assert "ana:***@127.0.0.1" in str(plan)
    assert CANARY not in "".join(traceback.format_exception(type(info.value), info.value, info.value.__traceback__))
    assert CANARY not in debug_log.getvalue()
