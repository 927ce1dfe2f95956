"""File sources through fsspec: local paths, file://, memory://, http:// on loopback and s3:// on moto."""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fedquery

TABLE = pa.table({"id": [1, 2, 3, 4], "name": ["a", "b", "c", "d"], "amount": [10.5, 20.0, 30.25, 40.0]})
QUERY = "SELECT count(*), sum(amount) FROM {t} WHERE id > 1"
EXPECTED = [(3, 90.25)]


def _write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(TABLE, directory / "people.parquet")
    pacsv.write_csv(TABLE, directory / "people.csv")


def _connect(url: str, kind: str, **extra: str) -> fedquery.Federation:
    source = {"kind": kind, "url": url, **extra}
    return fedquery.connect({"departments": {"d": {"sources": {"s": source}}}})


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_local_path_and_file_url(tmp_path: Path, kind: str) -> None:
    _write(tmp_path)
    for url in (str(tmp_path / f"people.{kind}"), f"file://{tmp_path}/people.{kind}"):
        fed = _connect(url, kind)
        assert fed.sql(QUERY.format(t="d.s")).fetchall() == EXPECTED


def test_memory_filesystem() -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("/fedquery-test/people.parquet", "wb") as fh:
        pq.write_table(TABLE, fh)
    fed = _connect("memory://fedquery-test", "parquet")
    assert fed.sql(QUERY.format(t="d.people")).fetchall() == EXPECTED


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files with HTTP Range support, as object stores and CDNs do."""

    def log_message(self, *args: object) -> None:
        pass

    def send_head(self):  # type: ignore[no-untyped-def]
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        header = self.headers.get("Range")
        fh = open(path, "rb")  # noqa: SIM115 - closed by the base class
        if header and header.startswith("bytes="):
            start_s, _, end_s = header[6:].partition("-")
            start = int(start_s) if start_s else size - int(end_s)
            end = min(int(end_s), size - 1) if end_s and start_s else size - 1
            fh.seek(start)
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self._remaining = end - start + 1
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self._remaining = size
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return fh

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        outputfile.write(source.read(self._remaining))


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[str]:
    _write(tmp_path)
    handler = lambda *a, **k: _RangeHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_http(http_root: str, kind: str) -> None:
    pytest.importorskip("aiohttp", reason="the http extra is not installed")
    fed = _connect(f"{http_root}/people.{kind}", kind)
    assert fed.sql(QUERY.format(t="d.s")).fetchall() == EXPECTED


def test_http_source_down_is_typed() -> None:
    pytest.importorskip("aiohttp", reason="the http extra is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fed = _connect(f"http://127.0.0.1:{port}/people.parquet", "parquet")
    with pytest.raises(fedquery.SourceError) as info:
        fed.sql("SELECT * FROM d.s")
    assert info.value.department == "d" and info.value.source == "s"


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (test extra)")
    pytest.importorskip("s3fs", reason="the s3 extra is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_s3_through_s3fs_on_moto(moto_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    monkeypatch.setenv("FQ_TEST_S3_SECRET", "moto-secret-key")
    options = {
        "key": "testing",
        "secret": "moto-secret-key",
        "client_kwargs": {"endpoint_url": moto_s3, "region_name": "eu-west-2"},
    }
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("dept-bucket")
    _write(tmp_path)
    fs.put(str(tmp_path / "people.parquet"), "dept-bucket/claims/people.parquet")
    fed = fedquery.connect(
        {
            "departments": {
                "d": {
                    "sources": {
                        "s": {
                            "kind": "parquet",
                            "url": "s3://dept-bucket/claims",
                            "storage_options": {
                                "key": "testing",
                                "secret": "${ENV:FQ_TEST_S3_SECRET}",
                                "client_kwargs": {"endpoint_url": moto_s3, "region_name": "eu-west-2"},
                            },
                        }
                    }
                }
            }
        }
    )
    assert fed.sql(QUERY.format(t="d.people")).fetchall() == EXPECTED
    assert "moto-secret-key" not in repr(fed.catalog.config.departments["d"].sources["s"])
