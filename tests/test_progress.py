"""Progress on stderr and the pager, on a real pseudo-terminal; neither when piped or turned off.

The slow query sleeps inside the hmrc department's DuckDB file (``pg_sleep`` of 1 ms for a tenth of the
rows, pushed there with the scan; DuckDB sleeps whole milliseconds), so the fetch phase lasts about 1.2 s
and the progress line has time to show.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

SLOW = (
    "SELECT count(*) AS n FROM hmrc.income "
    "WHERE pg_sleep(CASE WHEN right(person_id, 1) = '0' THEN 0.001 ELSE 0 END) IS NULL"
)


def _read_all(fd: int, process: subprocess.Popen[bytes]) -> bytes:
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(60)
    return b"".join(chunks)


def _query(config: Path, *args: str, stderr_tty: bool, env: dict[str, str] | None = None) -> tuple[str, str, int]:
    """Run ``fedquery query``; stdout piped, stderr a pseudo-terminal (or piped). Returns stdout, stderr, code."""
    command = [sys.executable, "-m", "fedquery.cli", "-c", str(config), "query", "--format", "csv", *args, SLOW]
    if not stderr_tty:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
        return proc.stdout, proc.stderr, proc.returncode
    master, slave = pty.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    err = _read_all(master, process).decode()
    os.close(master)
    assert process.stdout is not None
    return process.stdout.read().decode(), err, process.returncode


def test_progress_on_a_terminal(demo_config: Path) -> None:
    out, err, code = _query(demo_config, stderr_tty=True)
    assert code == 0, err
    assert out.splitlines() == ['"n"', "12000"]  # rows stay exact: nothing of the progress reaches stdout
    lines = [part for part in err.split("\r") if part.strip("\x1b[K\n")]
    assert any("hmrc" in line and "fetch" in line and "rows" in line for line in lines), err
    assert any("mem " in line for line in lines)
    assert err.endswith("\r\x1b[K"), repr(err[-40:])  # erased before the process ends


def test_no_progress_when_piped_or_turned_off(demo_config: Path) -> None:
    out, err, code = _query(demo_config, stderr_tty=False)
    assert (out.splitlines(), err, code) == (['"n"', "12000"], "", 0)
    out, err, code = _query(demo_config, "--no-progress", stderr_tty=True)
    assert (out.splitlines(), code) == (['"n"', "12000"], 0)
    assert "hmrc" not in err and "\x1b[K" not in err, repr(err)


def _on_a_terminal(config: Path, *args: str, env: dict[str, str]) -> str:
    """stdout and stderr on one pseudo-terminal, as a person runs it."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "fedquery.cli", "-c", str(config), "query", *args],
        stdout=slave, stderr=slave, stdin=slave, env=env,
    )  # fmt: skip
    os.close(slave)
    text = _read_all(master, process).decode()
    os.close(master)
    assert process.returncode == 0, text
    return text


def test_long_output_goes_through_the_pager(demo_config: Path, tmp_path: Path) -> None:
    paged = tmp_path / "paged.txt"
    env = {**os.environ, "PAGER": f"cat > {paged}", "LINES": "20", "COLUMNS": "100"}
    sql = "SELECT claim_id, benefit FROM dwp.claims ORDER BY claim_id"
    screen = _on_a_terminal(demo_config, "--no-progress", sql, env=env)
    assert "│" not in screen  # the table went to the pager, not the screen
    text = paged.read_text()
    assert text.endswith("1434 rows (100 shown)\n") and "Universal Credit" in text
    paged.unlink()
    short = _on_a_terminal(demo_config, "--no-progress", "SELECT 1 AS one", env=env)  # fits the screen
    assert "1 row" in short and not paged.exists()
    no_pager = _on_a_terminal(demo_config, "--no-progress", "--no-pager", sql, env=env)
    assert "1434 rows (100 shown)" in no_pager and not paged.exists()
    missing = _on_a_terminal(
        demo_config, "--no-progress", sql, env={**env, "PAGER": "no-such-pager-program"}
    )  # a pager that cannot be run: the table is shown all the same
    assert "1434 rows (100 shown)" in missing
    piped = subprocess.run(
        [sys.executable, "-m", "fedquery.cli", "-c", str(demo_config), "query", "--format", "table", sql],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert piped.stdout.endswith("1434 rows (100 shown)\n") and not paged.exists()
