"""What the CLI writes: terminal-safe text, exact data, and output that streams.

Data, names and messages that carry escape sequences, carriage returns,
backspaces, other C0/C1 controls or bidi overrides never reach a terminal raw:
they are shown as escapes. CSV and JSON written to a file or a pipe stay exact.
``fedquery query ... | head`` stops the query early and exits quietly.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from fedquery import formats
from fedquery.cli import main

HOSTILE = [
    "clear\x1b[2Jscreen",
    "title\x1b]0;pwned\x07",
    "over\rwrite",
    "back\bspace",
    "bidi\u202eevil",
    "c1\x9bcsi",
    "two\nlines",
    "tab\there",
]
RAW = ["\x1b", "\x07", "\r", "\b", "\u202e", "\x9b"]


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    table = pa.table({"id": list(range(len(HOSTILE))), "note\x1b[31m": HOSTILE})
    pq.write_table(table, data / "notes.parquet")
    config = tmp_path / "fedquery.toml"
    config.write_text('[departments.d.sources.s]\nkind = "parquet"\nurl = "data"\n')
    return config


def _run(config: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["-c", str(config), *args], catch_exceptions=False)


def _assert_no_raw(text: str) -> None:
    for ch in RAW:
        assert ch not in text, f"{ch!r} reached the output raw"


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_table_and_markdown_escape_control_characters(hostile: Path, fmt: str) -> None:
    result = _run(hostile, "query", "SELECT * FROM d.notes ORDER BY id", "--format", fmt)
    assert result.exit_code == 0, result.output
    _assert_no_raw(result.stdout)
    assert "clear\\x1b[2Jscreen" in result.stdout and "bidi\\u202eevil" in result.stdout
    assert "two\\nlines" in result.stdout and "tab\\there" in result.stdout and "over\\rwrite" in result.stdout
    assert "note\\x1b[31m" in result.stdout
    body = result.stdout.splitlines()
    assert len(body) == (len(HOSTILE) + 6 if fmt == "table" else len(HOSTILE) + 2)  # one line per row


def test_csv_and_json_to_a_pipe_keep_the_data_exact(hostile: Path) -> None:
    sql = "SELECT * FROM d.notes ORDER BY id"
    rows = list(csv.reader(io.StringIO(_run(hostile, "query", sql, "--format", "csv").stdout, newline="")))
    assert [r[1] for r in rows[1:]] == HOSTILE and rows[0][1] == "note\x1b[31m"
    assert [r["note\x1b[31m"] for r in json.loads(_run(hostile, "query", sql, "--format", "json").stdout)] == HOSTILE
    ndjson = _run(hostile, "query", sql, "--format", "ndjson").stdout
    _assert_no_raw(ndjson)  # JSON escapes by itself
    assert [json.loads(line)["note\x1b[31m"] for line in ndjson.splitlines()] == HOSTILE


def test_csv_to_a_terminal_is_escaped() -> None:
    out = io.BytesIO()
    formats.write(pa.table({"v": HOSTILE}), "csv", out, terminal=True)
    text = out.getvalue().decode()
    _assert_no_raw(text)
    assert "clear\\x1b[2Jscreen" in text and "two\nlines" in text  # newlines inside quoted fields stay


def test_tables_errors_and_explain_are_escaped(hostile: Path) -> None:
    tables = _run(hostile, "tables", "--format", "table")
    _assert_no_raw(tables.stdout)
    assert "note\\x1b[31m" in tables.stdout
    error = _run(hostile, "query", 'SELECT * FROM d."evil\x1b]0;pwned\x07\u202e"')
    assert error.exit_code == 1
    _assert_no_raw(error.stderr)
    assert "evil\\x1b]0;pwned\\x07\\u202e" in error.stderr
    explain = _run(hostile, "explain", "SELECT id, 'x\x1b[2J\u202e' AS v FROM d.notes")
    assert explain.exit_code == 0
    _assert_no_raw(explain.stdout)
    assert "x\\x1b[2J\\u202e" in explain.stdout


def test_inventory_table_is_escaped(hostile: Path) -> None:
    result = _run(hostile, "inventory", "--format", "table")
    assert result.exit_code == 0, result.output
    _assert_no_raw(result.output)


def test_table_format_on_a_real_terminal(hostile: Path) -> None:
    """The default format on a terminal (a pseudo-terminal here) is the escaped table."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fedquery.cli", "-c", str(hostile), "query", "SELECT * FROM d.notes"],
        stdout=slave, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(30)
    os.close(master)
    text = b"".join(chunks).decode()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert "│" in text
    _assert_no_raw(text.replace("\r\n", "\n"))  # the terminal's own line discipline adds CR before LF


# -- streaming ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``d.big`` (3,000,000 rows) and ``d.small`` (its first 300,000)."""
    root = tmp_path_factory.mktemp("big")
    n = 3_000_000
    ids = np.arange(n)
    table = pa.table({"id": ids, "name": np.char.add("person ", (ids % 100_000).astype(str)), "x": ids * 0.25})
    (root / "data").mkdir()
    pq.write_table(table, root / "data" / "big.parquet", row_group_size=100_000)
    pq.write_table(table.slice(0, n // 10), root / "data" / "small.parquet", row_group_size=100_000)
    config = root / "fedquery.toml"
    config.write_text('[departments.d.sources.s]\nkind = "parquet"\nurl = "data"\n')
    return config


def _cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "fedquery.cli", "-c", str(config), *args]


def test_piped_into_head_stops_early_and_quietly(big: Path) -> None:
    started = time.perf_counter()
    producer = subprocess.Popen(
        _cli(big, "query", "SELECT * FROM d.big"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert producer.stdout is not None and producer.stderr is not None
    head = subprocess.run(["head", "-2"], stdin=producer.stdout, capture_output=True, text=True, timeout=60)
    producer.stdout.close()
    code = producer.wait(timeout=60)
    early = time.perf_counter() - started
    assert head.stdout.splitlines() == ['"id","name","x"', '0,"person 0",0']
    stderr = producer.stderr.read().decode()
    assert code == 0 and stderr == "", stderr
    started = time.perf_counter()
    whole = subprocess.run(_cli(big, "query", "SELECT * FROM d.big"), stdout=subprocess.DEVNULL, timeout=120)
    assert whole.returncode == 0
    print(f"head -2: {early:.2f}s; whole result to /dev/null: {time.perf_counter() - started:.2f}s")


def test_a_reader_that_stops_early_stops_the_scan(big: Path) -> None:
    import fedquery

    fed = fedquery.connect(big)
    result = fed.sql("SELECT * FROM d.big")
    assert result.reader().read_next_batch().num_rows > 0
    result.close()
    assert 0 < result.stats[0].rows < 3_000_000 // 4  # what was read ahead into the bounded queue, no more


_PEAK_RSS = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
"""


def _peak_rss_mb(command: list[str]) -> float:
    # One malloc arena: what is measured is the data held, not how glibc spreads threads over arenas.
    env = {**os.environ, "MALLOC_ARENA_MAX": "1"}
    probe = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *command], capture_output=True, text=True, timeout=180, env=env
    )
    peak_kb, code = (int(v) for v in probe.stdout.split())
    assert code == 0, probe.stderr
    return peak_kb / 1024


def test_csv_output_streams_in_bounded_memory(big: Path, tmp_path: Path) -> None:
    """The CSV (about 90 MB) is written batch by batch: the process never holds the result or the text whole."""
    out = tmp_path / "out.csv"
    small = _peak_rss_mb(_cli(big, "query", "SELECT * FROM d.small", "--format", "csv", "-o", str(out)))
    peak = _peak_rss_mb(_cli(big, "query", "SELECT * FROM d.big", "--format", "csv", "-o", str(out)))
    size_mb = out.stat().st_size / 1e6
    print(f"peak RSS {peak:.0f} MB writing {size_mb:.0f} MB of CSV (a tenth of the rows: {small:.0f} MB)")
    assert size_mb > 80
    # Holding the result and its text whole, as the CLI did, grew the peak by about 3x the CSV's size (+270 MB
    # over d.small); streamed, Arrow holds ~20 MB at a time, and the rest of the growth (110-150 MB) is allocator
    # retention across the scan's threads, not rows kept.
    assert peak < small + 2 * size_mb
    check = pacsv.read_csv(out)
    assert check.num_rows == 3_000_000 and check.column("id")[-1].as_py() == 2_999_999


def test_output_file_is_all_or_nothing(tmp_path: Path) -> None:
    """A query that fails after rows were written leaves no output file, and does not clobber an older one."""
    values = [str(i) for i in range(1_000_000)]
    values[900_000] = "oops"
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table({"v": values}), tmp_path / "data" / "codes.parquet", row_group_size=50_000)
    config = tmp_path / "fedquery.toml"
    config.write_text('[departments.d.sources.s]\nkind = "parquet"\nurl = "data"\n')
    out = tmp_path / "out.csv"
    result = _run(config, "query", "SELECT CAST(v AS INTEGER) AS i FROM d.codes", "-o", str(out), "--format", "csv")
    # (the cast fails in the local file source's own DuckDB: a source error, exit 4)
    assert result.exit_code in (1, 4) and "oops" in result.stderr
    assert not out.exists() and list(tmp_path.glob(".*partial")) == []
    out.write_text("yesterday's answer\n")
    _run(config, "query", "SELECT CAST(v AS INTEGER) AS i FROM d.codes", "-o", str(out), "--format", "csv")
    assert out.read_text() == "yesterday's answer\n"
    assert _run(config, "query", "SELECT count(*) AS n FROM d.codes", "-o", str(out)).exit_code == 0
    assert out.read_text().splitlines() == ['"n"', "1000000"]


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_numbers_print_at_full_precision(hostile: Path, fmt: str) -> None:
    """A rounded average is shown as computed (11231.99, not 11232), and no ordinary value in scientific notation."""
    sql = "SELECT round(11231.987, 2)::DOUBLE AS avg_income, 1234567.891::DOUBLE AS big, 0.1::DOUBLE + 0.2 AS sum"
    out = _run(hostile, "query", "--format", fmt, sql).output
    assert "11231.99" in out and "1234567.891" in out and "0.30000000000000004" in out, out
    assert "e+" not in out, out
