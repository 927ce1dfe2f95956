"""The peer: DuckDB's own federation (postgres/mysql/sqlite extensions ATTACHed read-only, the
DuckDB file ATTACHed, views over the Parquet and CSV files).

It is what an analyst would use instead of fedquery. Its extensions are on PyPI only
for duckdb 1.5.5, so it runs in a separate virtual environment (``benchmarks/.peer-venv``,
created on first use) through ``peer_child.py``, one process for a whole run that takes the
queries one at a time, so the harnesses interleave it with fedquery's strategies. Where it
cannot be installed the baseline is skipped with the reason.

duckdb 1.5.5 cannot open a database file written by this project's duckdb with its default
storage ("version number 999"), so the peer reads a copy of each DuckDB department file that
the project's duckdb writes with ``STORAGE_VERSION 'v1.5.0'`` (``COPY FROM DATABASE``: the same
tables, keys and rows; made once, next to the file).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import tomllib

HERE = Path(__file__).parent
VENV = HERE / ".peer-venv"
#: the extension packages by the name DuckDB derives the entry point from (the wheels name the files
#: postgres/mysql/sqlite; the extensions call themselves *_scanner)
EXTENSIONS = {"postgres": "postgres_scanner", "mysql": "mysql_scanner", "sqlite": "sqlite_scanner"}
PACKAGES = ["duckdb==1.5.5", *(f"duckdb-extension-{p}==1.5.5" for p in EXTENSIONS)]
SUPPORTED = {"postgres", "mysql", "sqlite", "duckdb", "parquet", "csv"}
STORAGE = "v1.5.0"


def ensure_venv() -> tuple[Path, list[str]] | str:
    """The peer's python and extension files, or the reason they cannot be had."""
    python = VENV / "bin" / "python"
    extensions = VENV / "fq-extensions"
    wanted = {p: extensions / f"{name}.duckdb_extension" for p, name in EXTENSIONS.items()}
    if not python.exists() or not all(p.exists() for p in wanted.values()):
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            return f"cannot install {', '.join(PACKAGES)}: {detail.decode(errors='replace').strip()[-200:] or exc}"
        site = next((VENV / "lib").glob("python*/site-packages"))
        extensions.mkdir(exist_ok=True)
        for package, target in wanted.items():
            found = next((site / f"duckdb_extension_{package}").glob("extensions/*/*.duckdb_extension"), None)
            if found is None:
                return f"duckdb-extension-{package} has no extension file"
            shutil.copy(found, target)
    return python, [str(p) for p in wanted.values()]


class Peer:
    """The peer process of one run: ``query`` runs one query (warm-up, then ``runs`` timed runs)."""

    def __init__(self, python: Path, extensions: list[str], setup: list[str]) -> None:
        self.note = f"{', '.join(PACKAGES)} in a separate virtual environment"
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [str(python), str(HERE / "peer_child.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        answer = self._ask({"extensions": extensions, "setup": setup})
        if "error" in answer:
            self.close()
            raise RuntimeError(answer["error"])

    def _ask(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._proc is None:
            return {"error": "the peer process has ended"}
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps(message) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            stderr = self._proc.stderr.read() if self._proc.stderr else ""
            self.close()
            return {"error": f"the peer process ended: {stderr.strip()[-300:]}"}
        answer: dict[str, Any] = json.loads(line)
        return answer

    def query(
        self, query: str | int, sql: str, runs: int, expected: list[tuple[Any, ...]], timeout: float | None = None
    ) -> dict[str, Any]:
        """One result record (strategy ``duckdb_scanners``), its rows checked against ``expected``."""
        from tests.conftest import same_rows

        answer = self._ask({"query": query, "sql": sql, "runs": runs, "timeout": timeout})
        record: dict[str, Any] = {"query": query, "strategy": "duckdb_scanners"}
        if "error" in answer:
            return {**record, "correct": False, "error": answer["error"]}
        rows = [tuple(row) for row in answer["rows"]]
        record["correct"] = same_rows(rows, [tuple(_normal(v) for v in e) for e in expected])
        if record["correct"]:
            record.update(median_s=answer["median_s"], min_s=answer["min_s"])
        return record

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        proc = getattr(self, "_proc", None)  # absent when __init__ failed before starting it
        if proc is not None:
            self._proc = None
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()


def start(split: dict[str, tuple[str, str]], config: Path) -> Peer | str:
    """The peer over ``split`` as ``config`` places it, or the reason it is skipped."""
    kinds = {kind for _, kind in split.values()}
    if not kinds <= SUPPORTED:
        return f"skipped: the split uses {sorted(kinds - SUPPORTED)}, which the peer cannot attach"
    venv = ensure_venv()
    if isinstance(venv, str):
        return f"skipped: {venv}"
    try:
        return Peer(*venv, _setup(split, config))
    except RuntimeError as exc:
        return f"failed: {str(exc)[-300:]}"


def run(
    scale: float,
    split: dict[str, tuple[str, str]],
    config: Path,
    queries: dict[str, str],
    runs: int,
    expected: dict[str, list[tuple[Any, ...]]],
) -> dict[str, Any]:
    """Every query through the peer in one go (``queries``: id → SQL over the bare table names)."""
    peer = start(split, config)
    if isinstance(peer, str):
        return {"note": peer}
    try:
        results = [peer.query(q, sql, runs, expected[q]) for q, sql in queries.items()]
    finally:
        peer.close()
    return {"note": peer.note, "results": results}


def _normal(value: Any) -> Any:
    import datetime
    import decimal

    if isinstance(value, (float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def readable_copy(path: Path) -> Path:
    """A copy of the DuckDB file ``path`` in the storage duckdb 1.5.5 reads (written once)."""
    import duckdb

    target = path.with_name(f"{path.stem}.storage-{STORAGE}.duckdb")
    if target.exists() and target.stat().st_mtime >= path.stat().st_mtime:
        return target
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{path}' AS source_file (READ_ONLY)")
        con.execute(f"ATTACH '{partial}' AS peer_file (STORAGE_VERSION '{STORAGE}')")
        con.execute("COPY FROM DATABASE source_file TO peer_file")
    finally:
        con.close()
    partial.replace(target)
    return target


def _setup(split: dict[str, tuple[str, str]], config: Path) -> list[str]:
    catalog = tomllib.loads(config.read_text())
    statements = []
    attached = set()
    for table, (department, kind) in sorted(split.items()):
        source = catalog["departments"][department]["sources"][kind]
        if kind in ("postgres", "mysql") and kind not in attached:
            url = urlsplit(source["url"])
            parts = [f"host={url.hostname}", f"port={url.port}", f"user={unquote(url.username or '')}"]
            if url.password:
                parts.append(f"password={unquote(url.password)}")
            database = url.path.lstrip("/")
            parts.append(f"dbname={database}" if kind == "postgres" else f"database={database}")
            statements.append(f"ATTACH '{' '.join(parts)}' AS {kind} (TYPE {kind}, READ_ONLY)")
            attached.add(kind)
        if kind == "postgres":
            target = f'postgres."{source["schema"]}"."{table}"'
        elif kind == "mysql":
            target = f'mysql."{urlsplit(source["url"]).path.lstrip("/")}"."{table}"'
        elif kind in ("duckdb", "sqlite"):
            if department not in attached:
                path = config.parent / source["path"]
                if kind == "duckdb":
                    statements.append(f"ATTACH '{readable_copy(path)}' AS {department} (READ_ONLY)")
                else:
                    statements.append(f"ATTACH '{path}' AS {department} (TYPE sqlite, READ_ONLY)")
                attached.add(department)
            target = f'{department}."{table}"'
        elif kind == "parquet":
            target = f"read_parquet('{config.parent / source['url'] / (table + '.parquet')}')"
        else:
            options = source.get("tables", {}).get(table, {})
            types = ", ".join(f"'{c}': '{t}'" for c, t in options.get("columns", {}).items())
            path = config.parent / source["url"] / options.get("path", f"{table}.csv")
            target = f"read_csv('{path}', header = true" + (f", types = {{{types}}})" if types else ")")
        statements.append(f'CREATE VIEW "{table}" AS SELECT * FROM {target}')
    return statements
