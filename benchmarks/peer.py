"""The peer: DuckDB's own federation (postgres/mysql extensions ATTACHed read-only, views over the files).

It is what an analyst would use instead of fedquery. Its extensions are on PyPI only
for duckdb 1.5.5, so it runs in a separate virtual environment (``benchmarks/.peer-venv``,
created on first use) through ``peer_child.py``; where that cannot be installed the
baseline is skipped with the reason.
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

from benchmarks import tpch_data

HERE = Path(__file__).parent
VENV = HERE / ".peer-venv"
PACKAGES = ["duckdb==1.5.5", "duckdb-extension-postgres==1.5.5", "duckdb-extension-mysql==1.5.5"]
SUPPORTED = {"postgres", "mysql", "parquet", "csv", "duckdb"}


def ensure_venv() -> tuple[Path, list[str]] | str:
    """The peer's python and extension files, or the reason it cannot be had."""
    python = VENV / "bin" / "python"
    extensions = VENV / "fq-extensions"
    wanted = [extensions / "postgres_scanner.duckdb_extension", extensions / "mysql_scanner.duckdb_extension"]
    if not python.exists() or not all(p.exists() for p in wanted):
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            return f"cannot install {', '.join(PACKAGES)}: {detail.decode(errors='replace').strip()[-200:] or exc}"
        site = next((VENV / "lib").glob("python*/site-packages"))
        extensions.mkdir(exist_ok=True)
        # The wheels name the files postgres/mysql; DuckDB derives the entry point from the file name.
        for package, target in (("postgres", wanted[0]), ("mysql", wanted[1])):
            found = next((site / f"duckdb_extension_{package}").glob("extensions/*/*.duckdb_extension"), None)
            if found is None:
                return f"duckdb-extension-{package} has no extension file"
            shutil.copy(found, target)
    return python, [str(p) for p in wanted]


def run(
    scale: float,
    split: dict[str, tuple[str, str]],
    config: Path,
    queries: list[str],
    runs: int,
    expected: dict[str, list[tuple[Any, ...]]],
) -> dict[str, Any]:
    kinds = {kind for _, kind in split.values()}
    if not kinds <= SUPPORTED:
        return {"note": f"skipped: the split uses {sorted(kinds - SUPPORTED)}, which the peer cannot attach"}
    venv = ensure_venv()
    if isinstance(venv, str):
        return {"note": f"skipped: {venv}"}
    python, extensions = venv
    job = {"extensions": extensions, "setup": _setup(split, config), "runs": runs,
           "queries": [[n, tpch_data.query(n)] for n in queries]}  # fmt: skip
    proc = subprocess.run(
        [str(python), str(HERE / "peer_child.py")], input=json.dumps(job), capture_output=True, text=True
    )
    if proc.returncode != 0:
        return {"note": f"failed: {proc.stderr.strip()[-300:]}"}
    from tests.conftest import same_rows

    results = []
    for r in json.loads(proc.stdout):
        if "error" in r:
            results.append({"query": r["query"], "strategy": "duckdb_scanners", "correct": False, "error": r["error"]})
            continue
        correct = same_rows(
            [tuple(row) for row in r["rows"]], [tuple(_normal(v) for v in e) for e in expected[r["query"]]]
        )
        record = {"query": r["query"], "strategy": "duckdb_scanners", "correct": correct}
        if correct:
            record.update(median_s=r["median_s"], min_s=r["min_s"])
        results.append(record)
    return {"note": f"{', '.join(PACKAGES)} in a separate virtual environment", "results": results}


def _normal(value: Any) -> Any:
    import datetime
    import decimal

    if isinstance(value, (float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


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
        elif kind == "duckdb":
            if department not in attached:
                statements.append(f"ATTACH '{config.parent / source['path']}' AS {department} (READ_ONLY)")
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
