"""Start-up and per-statement latency of the CLI and the shell, beside DuckDB doing the same.

    python -m benchmarks.startup [--runs 7] [--statements 20] [--before DIR]

Measured in one run, on the demo federation (written to a temporary directory):

* ``fedquery --version`` in a new process, against the ``duckdb`` CLI's ``--version`` (the native
  binary of PyPI's ``duckdb-cli``, installed into ``benchmarks/.cli-venv`` on first use) and
  against ``python -c "import duckdb"`` printing its version (DuckDB's Python package pays the
  interpreter's start-up, as fedquery does).
* A one-row query cold, in a new process: ``fedquery query "SELECT * FROM dwp.claims LIMIT 1"``
  against the ``duckdb`` CLI running the same SQL over the same Parquet file, and against a new
  Python process doing so with DuckDB's Python package.
* Per statement, warm: a Federation kept open (what the shell keeps), reusing its plan, and
  another planning every statement (``plan_cache`` off), interleaved, against one DuckDB
  connection, all in this process; and in ``fedquery shell`` fed a script on standard
  input with ``.timer on`` (the median of its "Run Time" lines: planning, fetching and
  rendering the table), against the same DuckDB connection.
* Start-up to the shell's prompt on a pseudo-terminal (pexpect, where installed), against
  ``python -c "import duckdb"``.

``--before DIR``: also time ``--version`` and the cold query from another checkout of
fedquery (``git archive <commit> | tar -x -C DIR``), run with this interpreter.
Medians of ``--runs`` runs; ratios are fedquery / DuckDB. Not a test: figures go to
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUERY = "SELECT * FROM dwp.claims LIMIT 1"
CLI_VENV = Path(__file__).resolve().parent / ".cli-venv"
CLI_PACKAGE = "duckdb-cli==1.5.6"


#: CPU seconds (user + system) of the child processes measured by the last call to :func:`_median`
CPU: dict[str, float] = {}
#: the children's environment: bytecode is written and read as an installed package's is (where
#: PYTHONDONTWRITEBYTECODE is set, as on the build machines, every start compiled fedquery's
#: modules from source: about 0.17 s of the cold query's CPU time)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(command: list[str], *, cwd: Path | None = None, stdin: str | None = None) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run (CPU time does not grow with other processes' load)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, input=stdin, text=True, check=True, capture_output=True, env=CHILD_ENV)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _median(command: list[str], runs: int, **kwargs: object) -> float:
    """Median wall-clock seconds of ``runs`` runs (after one to warm the file cache); the median CPU
    seconds go to ``CPU["last"]``."""
    _time(command, **kwargs)  # type: ignore[arg-type]
    results = [_time(command, **kwargs) for _ in range(runs)]  # type: ignore[arg-type]
    CPU["last"] = statistics.median(cpu for _, cpu in results)
    return statistics.median(wall for wall, _ in results)


def duckdb_cli() -> Path | str:
    """The native ``duckdb`` binary of PyPI's duckdb-cli (installed on first use), or why there is none."""
    python = CLI_VENV / "bin" / "python"
    if not python.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(CLI_VENV)], check=True, capture_output=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", CLI_PACKAGE], check=True, capture_output=True)
        except (subprocess.CalledProcessError, OSError) as exc:
            return f"cannot install {CLI_PACKAGE}: {exc}"
    found = next(CLI_VENV.glob("lib/python*/site-packages/duckdb_cli/duckdb"), None)
    return found if found is not None else f"{CLI_PACKAGE} has no bundled binary"


def _duckdb_script(parquet: Path, statements: int) -> str:
    sql = QUERY.replace("dwp.claims", f"'{parquet}'")
    return f"import duckdb\ncon = duckdb.connect()\nfor _ in range({statements}):\n    con.sql({sql!r}).fetchall()\n"


def _warm(config: Path, parquet: Path, statements: int) -> tuple[float, float, float]:
    """Seconds per statement: a warm Federation reusing its plan, the same planning every statement
    (``plan_cache`` off; the two interleaved), and one DuckDB connection."""
    import duckdb

    import fedquery

    reusing, planning = fedquery.connect(config), fedquery.connect(config)
    planning.plans.size = 0
    reusing.sql(QUERY).arrow()
    planning.sql(QUERY).arrow()
    times: dict[str, list[float]] = {"reusing": [], "planning": []}
    for _ in range(statements):
        for name, fed in (("reusing", reusing), ("planning", planning)):
            started = time.perf_counter()
            fed.sql(QUERY).arrow()
            times[name].append(time.perf_counter() - started)
    reusing.close()
    planning.close()
    con = duckdb.connect()
    sql = QUERY.replace("dwp.claims", f"'{parquet}'")
    con.sql(sql).fetchall()
    base = []
    for _ in range(statements):
        started = time.perf_counter()
        con.sql(sql).arrow()
        base.append(time.perf_counter() - started)
    return statistics.median(times["reusing"]), statistics.median(times["planning"]), statistics.median(base)


def _shell_statement(cli: list[str], config: Path, statements: int) -> float:
    """The median "Run Time" the shell reports per statement (the first, warming up, left out)."""
    script = ".timer on\n" + (QUERY + ";\n") * (statements + 1)
    proc = subprocess.run([*cli, "-c", str(config), "shell"], input=script, text=True, capture_output=True, check=True)
    times = [float(line.split()[2]) for line in proc.stderr.splitlines() if line.startswith("Run Time:")]
    return statistics.median(times[1:])


def _prompt(cli: list[str], config: Path, runs: int) -> float | None:
    """Seconds from starting ``fedquery shell`` on a pseudo-terminal to its prompt (None without pexpect)."""
    try:
        import pexpect
    except ImportError:
        return None
    env = {"PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "XDG_STATE_HOME": tempfile.mkdtemp()}
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        child = pexpect.spawn(cli[0], [*cli[1:], "-c", str(config), "shell"], env=env, timeout=60)
        child.expect_exact(b"fedquery>")
        times.append(time.perf_counter() - started)
        child.sendeof()
        child.expect(pexpect.EOF)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--statements", type=int, default=20)
    parser.add_argument("--before", type=Path, help="another checkout of fedquery to time as well")
    args = parser.parse_args()
    from fedquery.demo import write_demo

    root = Path(tempfile.mkdtemp(prefix="fedquery-startup-"))
    config = write_demo(root / "demo")
    parquet = next((root / "demo" / "dwp").rglob("*.parquet"))
    py = sys.executable
    cli = [py, "-m", "fedquery.launch"]  # the installed command's entry point
    rows: list[tuple[str, float, float]] = []

    binary = duckdb_cli()
    version = _median([*cli, "--version"], args.runs)
    version_cpu = CPU["last"]
    if isinstance(binary, str):
        print(f"no duckdb CLI baseline: {binary}")
    else:
        cli_version = _median([str(binary), "--version"], args.runs)
        rows.append(("--version (new process) vs the duckdb CLI", version, cli_version))
    duck_version = _median([py, "-c", "import duckdb; print(duckdb.__version__)"], args.runs)
    duck_version_cpu = CPU["last"]
    rows.append(("--version (new process) vs python -c 'import duckdb'", version, duck_version))
    rows.append(("--version, CPU time", version_cpu, duck_version_cpu))
    cold = _median([*cli, "-c", str(config), "query", QUERY], args.runs)
    cold_cpu = CPU["last"]
    if not isinstance(binary, str):
        sql = QUERY.replace("dwp.claims", f"'{parquet}'")
        rows.append(("one-row query, cold, vs the duckdb CLI", cold, _median([str(binary), "-c", sql], args.runs)))
    duck_cold = _median([py, "-c", _duckdb_script(parquet, 1)], args.runs)
    rows.append(("one-row query, cold, vs DuckDB's Python package", cold, duck_cold))
    rows.append(("one-row query, cold, CPU time", cold_cpu, CPU["last"]))
    warm, warm_planning, duck_warm = _warm(config, parquet, args.statements)
    rows.append(("per statement, warm Federation, plan reused", warm, duck_warm))
    rows.append(("per statement, warm Federation, planned each time", warm_planning, duck_warm))
    shell = _shell_statement(cli, config, args.statements)
    rows.append(("per statement in `fedquery shell` (.timer)", shell, duck_warm))
    prompt = _prompt(cli, config, args.runs)
    if prompt is not None:
        rows.append(("shell start-up to the prompt (pty)", prompt, duck_version))

    print(f"{'measure':55} {'fedquery':>10} {'duckdb':>10} {'ratio':>7}")
    for name, ours, theirs in rows:
        print(f"{name:55} {ours * 1000:8.1f}ms {theirs * 1000:8.1f}ms {ours / theirs:6.1f}x")
    if args.before is not None:
        before = _median([py, "-m", "fedquery.cli", "--version"], args.runs, cwd=args.before)
        before_cpu = CPU["last"]
        before_cold = _median([py, "-m", "fedquery.cli", "-c", str(config), "query", QUERY], args.runs, cwd=args.before)
        print(
            f"before ({args.before}): --version {before * 1000:.1f}ms (CPU {before_cpu * 1000:.1f}ms), "
            f"one-row query cold {before_cold * 1000:.1f}ms (CPU {CPU['last'] * 1000:.1f}ms)"
        )


if __name__ == "__main__":
    main()
