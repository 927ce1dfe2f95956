"""Shared machinery of the file connectors (Parquet, CSV) over fsspec.

A source's ``url`` is any fsspec URL or a local path (relative to the config
file). Tables are discovered from it: a single file or glob is one table named
after the source; a directory whose entries are hive partitions (``key=value``)
is one table; any other directory gives one table per file and per
sub-directory. Tables can also be listed explicitly under ``tables``.

On the local disk a source answers whole fragments (joins between its tables,
aggregates, ORDER BY/LIMIT, windows, ...) in a sandboxed DuckDB of its own that
can read only the source's files (see :mod:`connectors.file_sandbox`); DuckDB
prunes hive partitions, row groups and pages itself. On other filesystems
(``engine = "arrow"``, the default off the local disk) scans stream record
batches with ``pyarrow.dataset``: only the projected columns are decoded,
partitions are pruned by the filter, and Parquet row groups whose statistics
cannot match are skipped.

Scans are all or nothing: each file's identity (size, modification time, inode,
ETag or version, as the filesystem reports them) is recorded when the scan
starts and checked again when the file is opened and after its last batch,
before the stream can end; a file that changed fails the scan with a
:class:`SourceError` naming it.

On a local filesystem, symbolic links are followed only while they stay inside
the source's root directory: discovery skips (with a warning) an entry whose
target is outside, and a table whose files resolve outside is refused.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.dataset as ds
from pyarrow.fs import FSSpecHandler, PyFileSystem
from sqlglot import exp

from connectors.arrow_filter import Untranslatable, to_arrow_filter
from connectors.base import (
    BATCH_SIZE,
    SOURCE_OPTIONS,
    TABLE_OPTIONS,
    Capabilities,
    Connector,
    Option,
    TableInfo,
    TableStats,
)
from connectors.file_sandbox import Sandbox, check_statement, duckdb_types, open_sandbox, profile, view_statement
from fedquery.deadline import current
from fedquery.errors import ConfigError, FedQueryError, SourceError
from fedquery.fragment import Fragment

#: a file scan repays a semi-join wait only when large (row groups pruned; see Capabilities)
_FILE_CAPS = Capabilities(sql=False, reduction_min_rows=1_000_000)
#: local files answered by the source's own DuckDB: the same engine as the local step, so everything is pushed
_SQL_CAPS = Capabilities(
    sql=True, joins=True, aggregates=True, order_limit=True, window=True, subqueries=True, set_operations=True,
    reduction_min_rows=1_000_000,
)  # fmt: skip
_log = logging.getLogger("fedquery.connectors.files")
#: the fields of fsspec's ``info()`` that change when a file is rewritten (local, S3, GCS, HTTP, Azure)
_IDENTITY_KEYS = (
    "size", "mtime", "ino", "LastModified", "last_modified", "ETag", "etag", "VersionId", "version_id",
    "generation", "md5Hash", "created",
)  # fmt: skip
_PROTOCOL_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "http": "http", "https": "http", "az": "azure"}
#: botocore defaults for S3 (a source's own ``storage_options.config_kwargs`` win): one attempt per
#: request at the botocore layer and a 5 s connect timeout, so an unreachable endpoint fails in about
#: a second instead of ~9 s of retries. s3fs still retries throttling and interrupted reads itself.
S3_CONFIG_DEFAULTS: dict[str, Any] = {"retries": {"max_attempts": 1, "mode": "standard"}, "connect_timeout": 5}
#: Exception type names (any library) that mean the storage could not be reached at all.
_UNREACHABLE = (
    "EndpointConnectionError", "ConnectTimeoutError", "ConnectionError", "ClientConnectorError",
    "ServerTimeoutError", "TimeoutError", "NoCredentialsError", "ConnectionRefusedError", "gaierror",
)  # fmt: skip


@dataclass
class IOCounter:
    """Bytes actually read from storage by one scan, and the parts opened."""

    bytes_read: int = 0
    files_opened: int = 0
    row_groups: int = 0
    rows_scanned: int = 0
    #: the source's DuckDB has the statement (its bytes are known only when it ends)
    started: bool = False

    def __post_init__(self) -> None:
        self.lock = threading.Lock()

    def add(self, n: int) -> None:
        with self.lock:
            self.bytes_read += n


class _CountingFile:
    """Wraps an fsspec file so every byte read is counted."""

    def __init__(self, f: Any, counter: IOCounter) -> None:
        self._f = f
        self._counter = counter

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self._counter.add(len(data))
        return data  # type: ignore[no-any-return]

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> _CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


class _CountingHandler(FSSpecHandler):
    def __init__(self, fs: Any, counter: IOCounter) -> None:
        super().__init__(fs)
        self.counter = counter

    def open_input_file(self, path: str) -> Any:
        import pyarrow as pa_

        self.counter.files_opened += 1
        return pa_.PythonFile(_CountingFile(self.fs.open(path, mode="rb"), self.counter), mode="r")

    def open_input_stream(self, path: str) -> Any:
        return self.open_input_file(path)


class FileConnector(Connector):
    """Base of Parquet and CSV sources."""

    #: what the source takes when read with Arrow (``engine = "arrow"``) and with its own DuckDB
    scan_capabilities: ClassVar[Capabilities] = _FILE_CAPS
    sql_capabilities: ClassVar[Capabilities] = _SQL_CAPS
    dialect = "duckdb"
    suffixes: ClassVar[tuple[str, ...]] = ()
    needs_location = True
    options = {
        **SOURCE_OPTIONS, "storage_options": Option("table"), "batch_size": BATCH_SIZE,
        "engine": Option("str", choices=("duckdb", "arrow")),
    }  # fmt: skip
    table_options = {**TABLE_OPTIONS, "path": Option("str")}

    @classmethod
    def check_config(cls, config: Any) -> None:
        super().check_config(config)
        url = config.options.get("url") or config.options.get("path") or ""
        if config.options.get("engine") == "duckdb" and "://" in url and not url.startswith("file://"):
            raise ConfigError(
                f"departments.{config.department}.sources.{config.name}: engine = 'duckdb' reads local files "
                "only; files on other filesystems are read with engine = 'arrow' (the default there)",
                department=config.department,
                source=config.name,
            )

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self._fs: Any = None
        self._root: str | None = None
        self._datasets: dict[str, ds.Dataset] = {}
        self._views: set[str] = set()
        self._lock = threading.Lock()
        #: per-fragment storage I/O of the latest scans, keyed by fragment name
        self.io: dict[str, IOCounter] = {}
        self._known: dict[str, TableInfo] = {}
        self._sandbox: Sandbox | None = None
        self._sandbox_lock = threading.Lock()

    @property  # type: ignore[override]
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        return self.sql_capabilities if self.sandboxed else self.scan_capabilities

    @property
    def sandboxed(self) -> bool:
        """Are fragments answered by the source's own DuckDB (local files), or read with Arrow?"""
        engine = self.config.options.get("engine")
        if engine is not None:
            return bool(engine == "duckdb")  # (duckdb for a remote URL is refused by check_config)
        url = self._url()
        return "://" not in url or url.startswith("file://")

    # -- filesystem -------------------------------------------------------
    def _url(self) -> str:
        url = self.config.options.get("url") or self.config.options.get("path")
        if not isinstance(url, str) or not url:
            raise self.source_error(f"{self.kind} source needs a 'url' (a path or fsspec URL)", unavailable=True)
        if "://" not in url and not Path(url).is_absolute():
            url = str((self.config.base_dir / url).resolve())
        return url

    def filesystem(self) -> tuple[Any, str]:
        if self._fs is None:
            import fsspec

            url = self._url()
            protocol = url.split("://", 1)[0] if "://" in url else "file"
            storage_options = _with_defaults(protocol, self.config.options.get("storage_options", {}))
            try:
                fs, root = fsspec.core.url_to_fs(url, **storage_options)
            except ImportError:
                extra = _PROTOCOL_EXTRAS.get(protocol, protocol)
                raise self.source_error(
                    f"reading {protocol}:// needs an optional package: pip install 'fedquery[{extra}]'",
                    unavailable=True,
                ) from None
            except Exception as exc:  # noqa: BLE001 - each filesystem raises its own kinds; all become typed
                raise self.storage_error(exc, f"cannot open {self.location()}", unavailable=True) from None
            self._fs, self._root = fs, root.rstrip("/") if root != "/" else root
        assert self._root is not None
        return self._fs, self._root

    def identity(self) -> tuple[str, ...]:
        return (self.kind, self.department, self.name, self.config.redact(self._url()))

    def remote_table(self, table: TableInfo) -> exp.Table:
        """In the source's DuckDB, the table's view; read with Arrow, the file location (credentials
        masked): the fragment's SQL (in EXPLAIN, errors and statistics) then only shows what was read."""
        if self.sandboxed:
            return exp.Table(this=exp.to_identifier(table.name, quoted=True))
        return exp.Table(this=exp.to_identifier(self.config.redact(table.remote[0]), quoted=True))

    # -- discovery --------------------------------------------------------
    def list_tables(self) -> list[TableInfo]:
        fs, root = self.filesystem()
        tables: dict[str, TableInfo] = {}
        try:
            discovered = self._discover(fs, root)
        except Exception as exc:  # noqa: BLE001 - fsspec, botocore, aiohttp, OSError: all become typed
            raise self.storage_error(exc, f"cannot list {self.location()}", unavailable=True) from None
        for info in discovered:
            tables[info.name] = info
        for name, opts in self.config.tables.items():
            path = opts.get("path")
            location = _join(root, path) if path else root
            tables[name] = TableInfo(name=name, remote=(location,), options=dict(opts))
        self._known = dict(tables)
        return list(tables.values())

    def _discover(self, fs: Any, root: str) -> list[TableInfo]:
        if self.config.tables and self.config.options.get("discover") is not True:
            # Explicit tables only, unless discovery is asked for as well.
            return []
        if any(ch in root for ch in "*?["):
            return [TableInfo(name=self.name, remote=(root,))]
        info = fs.info(root)
        if info.get("type") != "directory":
            return [TableInfo(name=self.name, remote=(root,))]
        entries = sorted(fs.ls(root, detail=True), key=lambda e: e["name"])
        entries = [e for e in entries if not _hidden(e["name"]) and self._followable(e["name"])]
        if entries and all(e["type"] == "directory" and "=" in _base(e["name"]) for e in entries):
            return [TableInfo(name=self.name, remote=(root,))]
        out = []
        for entry in entries:
            base = _base(entry["name"])
            if entry["type"] == "directory":
                out.append(TableInfo(name=_sql_name(base), remote=(entry["name"],)))
            elif base.lower().endswith(self.suffixes):
                stem = base
                for suffix in self.suffixes:
                    if stem.lower().endswith(suffix):
                        stem = stem[: -len(suffix)]
                        break
                out.append(TableInfo(name=_sql_name(stem), remote=(entry["name"],)))
        return out

    def _confinement(self) -> tuple[str, bool] | None:
        """The real path that symbolic links must resolve into, and whether it is a directory
        (a single-file source may itself be a link: it is used as configured); None off the local disk."""
        fs, root = self.filesystem()
        if not is_local(fs):
            return None
        glob = min((root.find(ch) for ch in "*?[" if ch in root), default=-1)
        if glob >= 0:
            prefix = root[:glob]
            return os.path.realpath(prefix if prefix.endswith("/") else os.path.dirname(prefix)), True
        real = os.path.realpath(root)
        return real, os.path.isdir(real)

    def _followable(self, path: str) -> bool:
        """Is ``path`` free of symbolic links, or do they resolve inside the source's root? (Warns if not.)"""
        target = self._escape(path)
        if target is not None:
            _log.warning(
                "%s.%s: skipped %s, a symbolic link to %s outside the source's root",
                self.department, self.name, path, target,
            )  # fmt: skip
        return target is None

    def _escape(self, path: str) -> str | None:
        """Where ``path`` leads, if through a symbolic link out of the source's root; else None."""
        confinement = self._confinement()
        if confinement is None:
            return None
        lexical = os.path.abspath(path)
        real = os.path.realpath(lexical)
        if real == lexical:
            return None
        base, is_dir = confinement
        if real == base or (is_dir and real.startswith(base.rstrip("/") + "/")):
            return None
        return real

    def _refuse_escapes(self, table: TableInfo, source: Any, pyfs: PyFileSystem) -> None:
        """A table whose files lead out of the source's root through a symbolic link is refused
        (checked on the listing, before any file is opened)."""
        if self._confinement() is None:
            return
        listing = ds.dataset(source, filesystem=pyfs, format=self.file_format(table), schema=pa.schema([]))
        for path in listing.files:
            self._refuse_escape(table, path)

    def _refuse_escape(self, table: TableInfo, path: str) -> None:
        target = self._escape(path)
        if target is not None:
            raise self.source_error(
                f"{path} is a symbolic link to {target}, outside the source's root: refused "
                "(remove the link, or move its target under the root)",
                table=table.name,
                unavailable=True,
            )

    # -- datasets ---------------------------------------------------------
    def file_format(self, table: TableInfo) -> ds.FileFormat:
        raise NotImplementedError

    def dataset(
        self, table: TableInfo, counter: IOCounter | None = None, schema: pa.Schema | None = None
    ) -> ds.Dataset:
        fs, _ = self.filesystem()
        location = table.remote[0]
        handler = _CountingHandler(fs, counter or IOCounter())
        pyfs = PyFileSystem(handler)
        try:
            if any(ch in location for ch in "*?["):
                paths = sorted(fs.glob(location))
                if not paths:
                    raise FileNotFoundError(f"no file matches {location}")
                source: Any = paths
            else:
                if not fs.exists(location):
                    raise FileNotFoundError(location)
                source = location
            self._refuse_escapes(table, source, pyfs)
            if schema is not None:
                # The schema is known from planning: do not open a file again to infer it.
                return ds.dataset(
                    source, filesystem=pyfs, format=self.file_format(table), partitioning="hive", schema=schema
                )
            dataset = ds.dataset(
                source,
                filesystem=pyfs,
                format=self.file_format(table),
                partitioning="hive",
                exclude_invalid_files=False,
            )
            plain = _without_views(dataset.schema)
            if plain != dataset.schema:
                # Arrow's filter kernels do not take view types yet: read them as plain strings.
                dataset = ds.dataset(
                    source, filesystem=pyfs, format=self.file_format(table), partitioning="hive", schema=plain
                )
                self._views.add(location)
            return dataset
        except FedQueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - fsspec, botocore, aiohttp, OSError, Arrow: all become typed
            raise self.storage_error(
                exc,
                f"cannot open {self.kind} table",
                table=table.name,
                unavailable=not isinstance(exc, pa.ArrowInvalid),
            ) from None

    def _cached_dataset(self, table: TableInfo) -> ds.Dataset:
        with self._lock:
            if table.name not in self._datasets:
                self._datasets[table.name] = self.dataset(table)
            return self._datasets[table.name]

    def table_schema(self, table: TableInfo) -> pa.Schema:
        return self._cached_dataset(table).schema

    def statistics(self, table: TableInfo) -> TableStats:
        dataset = self._cached_dataset(table)
        files = getattr(dataset, "files", [])
        fs, _ = self.filesystem()
        try:
            size = sum(int(fs.size(f) or 0) for f in files)
        except Exception:  # noqa: BLE001 - a size is an estimate: unknown rather than a failure
            size = None
        return TableStats(row_count=None, size_bytes=size)

    def modified(self, table: TableInfo) -> datetime | None:
        dataset = self._cached_dataset(table)
        fs, _ = self.filesystem()
        latest: datetime | None = None
        for path in getattr(dataset, "files", []):
            try:
                info = fs.info(path)
            except Exception:  # noqa: BLE001 - unknown rather than a failure: the scan reports real errors
                continue
            stamp = _mtime(info)
            if stamp is not None and (latest is None or stamp > latest):
                latest = stamp
        return latest

    def filter_reason(self, predicate: exp.Expr, table: TableInfo) -> str | None:
        if self.sandboxed:
            return self.unsupported_reason(predicate)
        try:
            to_arrow_filter(_unqualify(predicate), self.table_schema(table))
        except Untranslatable as exc:
            return f"no exact Arrow filter for {predicate.sql('duckdb')} ({exc})"
        return None

    # -- scanning ---------------------------------------------------------
    def scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        if self.sandboxed:
            return self._sandbox_scan(fragment)
        table = fragment.table
        if table is None or fragment.columns is None:
            raise self.source_error(f"{self.kind} sources take single-table scans only", fragment=fragment)
        counter = IOCounter()
        self.io[fragment.name] = counter
        dataset = self.dataset(table, counter, schema=self.table_schema(table))
        schema = dataset.schema
        arrow_filter = None
        if fragment.predicate is not None:
            try:
                arrow_filter = to_arrow_filter(_unqualify(fragment.predicate), schema)
            except Untranslatable as exc:  # planning checks every pushed filter; this is a planner bug
                raise self.source_error(f"filter cannot be evaluated by Arrow: {exc}", fragment=fragment) from None
        for column, keys in fragment.key_filters:
            key_filter = _is_in(column, keys, schema)
            if key_filter is not None:
                arrow_filter = key_filter if arrow_filter is None else arrow_filter & key_filter
        # Arrow cannot evaluate filters on view-typed columns (string_view), which some
        # writers produce: such files are read as plain strings and filtered per batch.
        views = table.remote[0] in self._views and arrow_filter is not None
        try:
            files = list(dataset.get_fragments(filter=None if views else arrow_filter))
            # What each file is now: a file that is not the same when its last batch is read fails the scan.
            identities = [self._identity(f.path, fragment) for f in files]
        except (OSError, pa.ArrowException) as exc:
            raise self.source_error(f"reading {self.kind} failed: {exc}", fragment=fragment, table=table.name) from None
        columns = list(fragment.columns)
        out_schema = pa.schema([schema.field(c) for c in columns])
        batch_size = int(self.config.options.get("batch_size", 65536))
        batches = self._batches(
            dataset.schema, list(zip(files, identities)), columns, arrow_filter, views, counter, batch_size, fragment
        )
        return pa.RecordBatchReader.from_batches(out_schema, batches)

    def _sandbox_scan(self, fragment: Fragment) -> pa.RecordBatchReader:
        """Run the fragment's SQL in the source's DuckDB, all or nothing over the files it reads."""
        import duckdb

        reason = check_statement(fragment.expression)
        if reason is not None:
            raise self.source_error(reason, fragment=fragment)
        counter = IOCounter()
        names = {t.name for t in fragment.expression.find_all(exp.Table)}
        tables = [self._known[name] for name in sorted(names) if name in self._known]
        try:
            listing = {table.name: self._files(table) for table in tables}
            identities = {path: self._identity(path, fragment) for files in listing.values() for path in files}
            sandbox = self._sandbox_for(tables, listing)
            cur = sandbox.cursor()
        except FedQueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - fsspec, OSError, DuckDB: all become typed
            raise self.storage_error(exc, f"cannot open {self.kind} tables", fragment=fragment) from None
        deadline = current()
        handle = deadline.on_cancel(cur.interrupt)  # a timeout or cancel stops the statement
        batch_size = int(self.config.options.get("batch_size", 65536))

        def unchanged() -> None:
            for path, identity in identities.items():
                self._check_unchanged(path, identity, fragment)

        self.io[fragment.name] = counter
        counter.started = True
        try:
            reader = cur.sql(fragment.sql).to_arrow_reader(batch_size)
        except duckdb.Error as exc:
            deadline.discard(handle)
            sandbox.release(cur, False)
            unchanged()  # a file rewritten under the statement says so, rather than how it failed to parse
            raise self.source_error(f"{self.kind} source failed: {exc}", fragment=fragment) from None

        def batches() -> Iterator[pa.RecordBatch]:
            ended = False
            try:
                for batch in reader:
                    counter.rows_scanned += batch.num_rows
                    yield batch
                # Before the stream may end: every batch came from the files as they were when it started.
                unchanged()
                counter.__dict__.update(profile(cur))
                ended = True
            except FedQueryError:
                raise
            except Exception as exc:  # noqa: BLE001 - DuckDB's errors, through Arrow's reader as OSError
                unchanged()  # a file rewritten under the statement says so, rather than how it failed to parse
                raise self.source_error(f"{self.kind} source failed: {exc}", fragment=fragment) from None
            finally:
                deadline.discard(handle)
                # Nothing stays open after the scan: a cursor whose statement ran to its end waits, idle,
                # for the next scan; one stopped or failed part-way is closed.
                sandbox.release(cur, ended and not deadline.stopped)

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def _files(self, table: TableInfo) -> tuple[str, ...]:
        """The table's files as discovery finds them now (symbolic links out of the root refused)."""
        fs, _ = self.filesystem()
        location = table.remote[0]
        if is_local(fs) and not any(ch in location for ch in "*?[") and os.path.isfile(location):
            # One local file is its own listing: no discovery (a third of a millisecond per scan).
            self._refuse_escape(table, location)
            return (location,)
        return tuple(self.dataset(table, schema=self.table_schema(table)).files)

    def _sandbox_for(self, tables: list[TableInfo], listing: dict[str, tuple[str, ...]]) -> Sandbox:
        """The source's DuckDB, with a view of each table over exactly the files listed; a new one when
        it may not read some of them (files added since it was opened)."""
        wanted = {path for files in listing.values() for path in files}
        with self._sandbox_lock:
            sandbox = self._sandbox
            if sandbox is None or not wanted <= sandbox.paths:
                known = sandbox.paths if sandbox is not None else frozenset()
                sandbox = open_sandbox(frozenset(known | wanted), self.memory_limit)
                self._sandbox = sandbox  # an older one is closed when its last cursor is (garbage collected)
        with sandbox.lock:
            for table in tables:
                files = listing[table.name]
                if sandbox.views.get(table.name) != files:
                    self._define_view(sandbox, table, list(files))
                    sandbox.views[table.name] = files
        return sandbox

    def _define_view(self, sandbox: Sandbox, table: TableInfo, files: list[str]) -> None:
        schema = self.table_schema(table)
        pinned = duckdb_types(schema)
        keys = _partition_keys(table.remote[0], files, schema.names)
        reader = self.sandbox_reader(table, files, pinned, {k: pinned[k] for k in keys})
        cur = sandbox.connection.cursor()
        try:
            native = cur.sql(exp.select("*").from_(reader).limit(0).sql("duckdb"))
            found = {name: str(t) for name, t in zip(native.columns, native.types)}
            columns = [(name, None if found.get(name) == pinned[name] else pinned[name]) for name in schema.names]
            cur.execute(view_statement(table.name, reader, columns))
        finally:
            cur.close()

    def sandbox_reader(
        self, table: TableInfo, files: list[str], pinned: dict[str, str], partitions: dict[str, str]
    ) -> exp.Expr:
        """The table function that reads ``files`` in the source's DuckDB (``pinned``: each column's type)."""
        raise NotImplementedError

    def close(self) -> None:
        with self._sandbox_lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None

    def _batches(
        self,
        schema: pa.Schema,
        files: list[tuple[ds.Fragment, tuple[Any, ...]]],
        columns: list[str],
        arrow_filter: Any,
        views: bool,
        counter: IOCounter,
        batch_size: int,
        fragment: Fragment,
    ) -> Iterator[pa.RecordBatch]:
        # The filter's columns are read too (then dropped): a scanner of one file of a hive-partitioned
        # table cannot evaluate a filter on a partition column it does not project.
        read_columns = list(dict.fromkeys(columns + _filter_columns(fragment)))
        extra = len(read_columns) > len(columns)
        current: tuple[str, tuple[Any, ...]] | None = None
        left = fragment.limit  # rows still wanted (None: all): a LIMIT over the scan stops reading early
        try:
            for index, (file_fragment, identity) in enumerate(files):
                if left is not None and left <= 0:
                    return
                current = (file_fragment.path, identity)
                if index:  # changed since the scan started, before a byte of it is read
                    self._check_unchanged(*current, fragment)
                for part in self._parts(file_fragment, None if views else arrow_filter, counter, schema):
                    scanner = ds.Scanner.from_fragment(
                        part,
                        schema=schema,
                        columns=read_columns,
                        filter=None if views else arrow_filter,
                        batch_size=batch_size,
                        use_threads=False,
                    )
                    for batch in scanner.to_batches():
                        counter.rows_scanned += batch.num_rows
                        if views:
                            batch = batch.filter(arrow_filter)
                        if extra:
                            batch = batch.select(columns)
                        if left is not None:
                            batch = batch.slice(0, left)
                            left -= batch.num_rows
                        yield batch
                        if left is not None and left <= 0:
                            break
                    if left is not None and left <= 0:
                        break
                # Before the stream may end: the batches of this file came from one version of it.
                self._check_unchanged(file_fragment.path, identity, fragment)
        except FedQueryError:
            raise
        except Exception as exc:  # noqa: BLE001 - fsspec, botocore, aiohttp, OSError, Arrow: all become typed
            if current is not None and isinstance(exc, (OSError, pa.ArrowException)):
                self._check_unchanged(*current, fragment)  # a parse error from a file being rewritten says so
            raise self.storage_error(
                exc,
                f"reading {self.kind} failed",
                fragment=fragment,
                table=fragment.table.name if fragment.table else None,
            ) from None

    def _identity(self, path: str, fragment: Fragment) -> tuple[Any, ...]:
        """What the filesystem says about the file now (size, mtime, inode, ETag or version)."""
        fs, _ = self.filesystem()
        try:
            if not is_local(fs):
                fs.invalidate_cache(path)  # remote listings are cached: ask the store itself
            info = fs.info(path)
        except FileNotFoundError:
            raise self.source_error(
                f"file {self._display(path)} disappeared during the scan; no rows are returned",
                fragment=fragment,
                table=fragment.table.name if fragment.table else None,
            ) from None
        return tuple((key, str(info[key])) for key in _IDENTITY_KEYS if info.get(key) is not None)

    def _check_unchanged(self, path: str, before: tuple[Any, ...], fragment: Fragment) -> None:
        after = self._identity(path, fragment)
        if after != before:
            old, new = dict(before), dict(after)
            changed = ", ".join(
                f"{k} {old.get(k)} -> {new.get(k)}" for k in dict.fromkeys([*old, *new]) if old.get(k) != new.get(k)
            )
            raise self.source_error(
                f"file {self._display(path)} changed during the scan ({changed}); no rows are returned",
                fragment=fragment,
                table=fragment.table.name if fragment.table else None,
            )

    def _display(self, path: str) -> str:
        fs, _ = self.filesystem()
        return path if is_local(fs) else str(fs.unstrip_protocol(path))

    def _parts(
        self, fragment: ds.Fragment, arrow_filter: Any, counter: IOCounter, schema: pa.Schema | None = None
    ) -> list[ds.Fragment]:
        return [fragment]

    def storage_error(
        self,
        exc: BaseException,
        what: str,
        *,
        table: str | None = None,
        fragment: Fragment | None = None,
        unavailable: bool = False,
    ) -> SourceError:
        """A storage library's error as a typed one: unreachable storage is ``SourceUnavailableError``."""
        unreachable = bool({cls.__name__ for cls in type(exc).__mro__} & set(_UNREACHABLE))
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = f"{what}: {type(exc).__name__}" + (f": {detail}" if detail else "")
        return self.source_error(message, table=table, fragment=fragment, unavailable=unavailable or unreachable)


def _with_defaults(protocol: str, options: dict[str, Any]) -> dict[str, Any]:
    """Storage options with fedquery's defaults for the protocol (the source's own values win)."""
    if protocol not in ("s3", "s3a"):
        return options
    config_kwargs = {**S3_CONFIG_DEFAULTS, **options.get("config_kwargs", {})}
    return {**options, "config_kwargs": config_kwargs}


def is_local(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _mtime(info: dict[str, Any]) -> datetime | None:
    value = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("created")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            from email.utils import parsedate_to_datetime

            try:
                parsed = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def _filter_columns(fragment: Fragment) -> list[str]:
    named = [c.name for c in fragment.predicate.find_all(exp.Column)] if fragment.predicate is not None else []
    return list(dict.fromkeys(named + [column for column, _ in fragment.key_filters]))


def _partition_keys(location: str, files: list[str], names: list[str]) -> list[str]:
    """The table's columns that come from ``key=value`` directories (hive partitions) under its location."""
    glob = min((location.find(ch) for ch in "*?[" if ch in location), default=-1)
    base = os.path.dirname(location[:glob]) if glob >= 0 else location
    keys: list[str] = []
    for path in files[:1]:
        relative = os.path.relpath(path, base) if base else path
        for part in relative.split("/")[:-1]:
            key = part.split("=", 1)[0]
            if "=" in part and key in names and key not in keys:
                keys.append(key)
    return keys


def _without_views(schema: pa.Schema) -> pa.Schema:
    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_string_view(t):
            return pa.string()
        if pa.types.is_binary_view(t):
            return pa.binary()
        return t

    return pa.schema([f.with_type(plain(f.type)) for f in schema], metadata=schema.metadata)


def _unqualify(predicate: exp.Expr) -> exp.Expr:
    def strip(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column):
            return exp.column(node.name)
        return node

    return predicate.copy().transform(strip)


def _join(root: str, path: str) -> str:
    if "://" in path or path.startswith("/"):
        return path
    return f"{root.rstrip('/')}/{path}"


def _base(name: str) -> str:
    return name.rstrip("/").rsplit("/", 1)[-1]


def _hidden(name: str) -> bool:
    return _base(name).startswith((".", "_"))


def _sql_name(text: str) -> str:
    cleaned = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)
    return cleaned if not cleaned[:1].isdigit() else f"_{cleaned}"


def _is_in(column: str, keys: pa.Array, schema: pa.Schema) -> Any:
    """``column IN keys`` as an Arrow expression, or None where the keys cannot take the column's type."""
    import pyarrow.compute as pc

    try:
        typed = keys.cast(schema.field(column).type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, KeyError):
        return None  # read unreduced: correct, only slower
    if pa.types.is_floating(typed.type):
        return None  # is_in hashes bits: -0.0 would miss 0.0 (SQL's = matches them); read unreduced
    return pc.field(column).isin(typed)
