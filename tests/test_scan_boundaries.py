"""File scans are all or nothing, and stay inside their source's root.

A CSV or Parquet file that changes while it is read (size, mtime, inode, or the
ETag of an object store) fails the query with a typed error naming the file;
no rows come back. Symbolic links that lead out of a source's root are never
followed: discovery skips them, an explicitly listed one is refused.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import fedquery
from fedquery.errors import SourceError, UnknownTableError

ROWS = 2_000_000


def _connect(url: str | Path, kind: str, **options: Any) -> fedquery.Federation:
    source = {"kind": kind, "url": str(url), **options}
    return fedquery.connect({"departments": {"d": {"sources": {"s": source}}}})


def _table(n: int, offset: int = 0) -> pa.Table:
    ids = np.arange(offset, offset + n)
    return pa.table({"id": ids, "name": pa.array([f"name {i % 997}" for i in range(n)]), "x": ids * 0.5})


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    pacsv.write_csv(_table(ROWS), path)
    return path


def _scan_of(fed: fedquery.Federation, sql: str) -> tuple[Any, Any]:
    """The one fragment of ``sql`` and its connector, to read the scan batch by batch."""
    fragment = fed.explain(sql).fragments[0]
    return fed.catalog.connector(fragment.department, fragment.source), fragment


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


# -- changed mid-scan, batch by batch (deterministic) -------------------------------------------
def test_csv_truncated_between_batches_fails_naming_the_file(big_csv: Path, tmp_path: Path) -> None:
    path = _copy(big_csv, tmp_path / "claims.csv")
    fed = _connect(path, "csv", batch_size=1000)
    connector, fragment = _scan_of(fed, "SELECT id, name FROM d.s")
    reader = connector.scan(fragment)
    assert reader.read_next_batch().num_rows == 1000
    with path.open("r+b") as fh:  # truncated in place, as a writer that starts over does
        fh.truncate(path.stat().st_size // 3)
    with pytest.raises(SourceError) as info:
        reader.read_all()
    assert str(path) in str(info.value) and "changed during the scan" in str(info.value)
    assert info.value.department == "d" and info.value.source == "s"


def test_parquet_rewritten_between_batches_fails(tmp_path: Path) -> None:
    path = tmp_path / "claims.parquet"
    pq.write_table(_table(200_000), path, row_group_size=20_000)
    fed = _connect(path, "parquet", batch_size=1000)
    connector, fragment = _scan_of(fed, "SELECT id, x FROM d.s")
    reader = connector.scan(fragment)
    reader.read_next_batch()
    pq.write_table(_table(200_000, offset=10), path, row_group_size=20_000)  # same shape, other rows
    with pytest.raises(SourceError, match="changed during the scan") as info:
        reader.read_all()
    assert str(path) in str(info.value)


def test_file_removed_after_planning_fails(tmp_path: Path) -> None:
    path = tmp_path / "claims.parquet"
    pq.write_table(_table(1000), path)
    fed = _connect(tmp_path, "parquet")
    connector, fragment = _scan_of(fed, "SELECT id FROM d.claims")
    path.unlink()
    with pytest.raises(SourceError):
        connector.scan(fragment).read_all()


def test_unchanged_files_read_whole(big_csv: Path) -> None:
    fed = _connect(big_csv, "csv", batch_size=50_000)
    assert fed.sql("SELECT count(*), sum(id) FROM d.s").fetchall() == [(ROWS, ROWS * (ROWS - 1) // 2)]


# -- changed while a query streams: the query fails, no result ------------------------------------
def _mutate_once_reading(connector: Any, fragment_name: str, mutate: Any) -> tuple[threading.Thread, threading.Event]:
    """A thread that changes the file as soon as the scan has read its first bytes (Arrow), or has
    handed its statement to the source's DuckDB (which reports bytes only when it ends)."""
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            counter = connector.io.get(fragment_name)
            if counter is not None and (counter.bytes_read > 0 or counter.started):
                mutate()
                done.set()
                return
            done.wait(0.001)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_query_over_csv_truncated_mid_scan_fails_with_no_rows(big_csv: Path, tmp_path: Path) -> None:
    path = _copy(big_csv, tmp_path / "claims.csv")
    fed = _connect(path, "csv", batch_size=100)
    sql = "SELECT count(*) AS n FROM d.s"
    connector, fragment = _scan_of(fed, sql)

    def truncate() -> None:
        with path.open("r+b") as fh:
            fh.truncate(path.stat().st_size * 2 // 3)

    thread, done = _mutate_once_reading(connector, fragment.name, truncate)
    result = None
    try:
        with pytest.raises(SourceError, match="changed during the scan") as info:
            result = fed.sql(sql).fetchall()
    finally:
        done.set()
        thread.join()
    assert result is None
    assert str(path) in str(info.value)


def test_query_over_parquet_rewritten_mid_scan_fails_with_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "claims.parquet"
    pq.write_table(_table(1_000_000), path, row_group_size=10_000)
    fed = _connect(path, "parquet", batch_size=100)
    sql = "SELECT count(*) AS n, sum(id) FROM d.s"
    connector, fragment = _scan_of(fed, sql)
    replacement = tmp_path / "next.parquet"
    pq.write_table(_table(1_000_000, offset=7), replacement, row_group_size=10_000)
    thread, done = _mutate_once_reading(connector, fragment.name, lambda: os.replace(replacement, path))
    try:
        with pytest.raises(SourceError, match="changed during the scan"):
            fed.sql(sql).fetchall()
    finally:
        done.set()
        thread.join()


# -- object stores: the ETag ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def moto_s3() -> Any:
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed (test extra)")
    pytest.importorskip("s3fs", reason="the s3 extra is not installed")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_s3_object_replaced_mid_scan_fails(moto_s3: str, tmp_path: Path) -> None:
    import s3fs

    options = {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": moto_s3, "region_name": "eu-west-2"},
    }
    fs = s3fs.S3FileSystem(**options)
    fs.mkdir("scan-bucket")
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pq.write_table(_table(50_000), first, row_group_size=5_000)
    pq.write_table(_table(50_000, offset=3), second, row_group_size=5_000)
    fs.put(str(first), "scan-bucket/claims.parquet")
    fed = _connect("s3://scan-bucket/claims.parquet", "parquet", batch_size=1000, storage_options=options)
    connector, fragment = _scan_of(fed, "SELECT id FROM d.s")
    reader = connector.scan(fragment)
    reader.read_next_batch()
    fs.put(str(second), "scan-bucket/claims.parquet")  # same size, new ETag
    with pytest.raises(SourceError, match="changed during the scan") as info:
        reader.read_all()
    assert "s3://scan-bucket/claims.parquet" in str(info.value)


# -- symbolic links -------------------------------------------------------------------------------
@pytest.fixture
def linked(tmp_path: Path) -> Path:
    """A data directory with links inside it, and links out of it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("password\nhunter2\n")
    (outside / "dir").mkdir()
    (outside / "dir" / "part.csv").write_text("password\nhunter2\n")
    root = tmp_path / "data"
    root.mkdir()
    pacsv.write_csv(pa.table({"id": [1, 2]}), root / "claims.csv")
    (root / "alias.csv").symlink_to(root / "claims.csv")  # inside: fine
    (root / "secret.csv").symlink_to(outside / "secret.csv")
    (root / "leak").symlink_to(outside / "dir")
    if Path("/etc/os-release").exists():
        (root / "os.csv").symlink_to("/etc/os-release")
    return root


def test_discovery_skips_links_out_of_the_root(linked: Path, caplog: pytest.LogCaptureFixture) -> None:
    fed = _connect(linked, "csv")
    with caplog.at_level(logging.WARNING, logger="fedquery"):
        names = sorted(t["table"] for t in fed.tables())
    assert names == ["d.alias", "d.claims"]
    assert "outside the source's root" in caplog.text and "secret.csv" in caplog.text
    assert fed.sql("SELECT sum(id) FROM d.alias").fetchall() == [(3,)]
    for table in ("secret", "leak", "os"):
        with pytest.raises(UnknownTableError):
            fed.sql(f"SELECT * FROM d.{table}")


def test_explicitly_listed_link_out_of_the_root_is_refused(linked: Path) -> None:
    for path in ("secret.csv", "leak"):
        source = {"kind": "csv", "url": str(linked), "tables": {"t": {"path": path}}}
        fed = fedquery.connect({"departments": {"d": {"sources": {"s": source}}}})
        with pytest.raises(SourceError, match="symbolic link") as info:
            fed.sql("SELECT * FROM d.t").fetchall()
        assert "hunter2" not in str(info.value) and info.value.source == "s"


def test_glob_matching_a_link_out_of_the_root_is_refused(linked: Path) -> None:
    fed = _connect(linked / "*.csv", "csv")
    with pytest.raises(SourceError, match=r"(secret|os)\.csv is a symbolic link"):
        fed.sql("SELECT * FROM d.s").fetchall()


def test_links_inside_a_table_directory_are_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "year=2025").mkdir(parents=True)
    pq.write_table(pa.table({"id": [99]}), outside / "one.parquet")
    pq.write_table(pa.table({"id": [98]}), outside / "year=2025" / "part-0.parquet")
    table = tmp_path / "data" / "claims"
    (table / "year=2024").mkdir(parents=True)
    pq.write_table(pa.table({"id": [1]}), table / "year=2024" / "part-0.parquet")
    (table / "year=2024" / "part-1.parquet").symlink_to(outside / "one.parquet")
    (table / "year=2025").symlink_to(outside / "year=2025")
    fed = _connect(tmp_path / "data", "parquet")
    # The directory listing (fsspec's) does not descend into links: only the real file is a part.
    assert fed.sql("SELECT id, year FROM d.claims").fetchall() == [(1, 2024)]


def test_configured_links_are_used_as_configured(tmp_path: Path) -> None:
    real = tmp_path / "store"
    real.mkdir()
    pacsv.write_csv(pa.table({"id": [1, 2, 3]}), real / "claims.csv")
    (tmp_path / "current").symlink_to(real)  # the source's root is itself a link
    (tmp_path / "latest.csv").symlink_to(real / "claims.csv")  # a single-file source that is a link
    assert _connect(tmp_path / "current", "csv").sql("SELECT sum(id) FROM d.claims").fetchall() == [(6,)]
    assert _connect(tmp_path / "latest.csv", "csv").sql("SELECT sum(id) FROM d.s").fetchall() == [(6,)]


@pytest.mark.parametrize("engine", ["duckdb", "arrow"])
def test_second_file_changed_before_it_is_opened_fails(tmp_path: Path, engine: str) -> None:
    for part in range(2):
        pq.write_table(_table(10_000, offset=part * 10_000), tmp_path / f"part-{part}.parquet")
    fed = _connect(tmp_path / "*.parquet", "parquet", batch_size=1000, engine=engine)
    connector, fragment = _scan_of(fed, "SELECT id FROM d.s")
    reader = connector.scan(fragment)
    reader.read_next_batch()
    pq.write_table(_table(10_000, offset=5), tmp_path / "part-1.parquet")
    delivered = 1
    with pytest.raises(SourceError, match="part-1.parquet changed during the scan"):
        while True:
            reader.read_next_batch()
            delivered += 1
    # Arrow checks each file as it opens it: all of part-0, and not one batch of the changed part-1.
    # DuckDB reads the files together: every file is checked once the statement ends, before the stream does.
    assert delivered == 10 if engine == "arrow" else delivered <= 20
