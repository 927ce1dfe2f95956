"""The ``fedquery`` command line.

Exit codes: 0 success, 1 query error (bad SQL, unknown name, refused
statement), 2 usage error, 3 configuration error, 4 a source is unreachable
or failed, 5 ``inventory check`` found datasets with missing metadata, 6 the
query passed its deadline (``--timeout`` / ``query_timeout``), 7 ``doctor``
found an account that can do more than read, 8 the query would exceed
``memory_limit``, 9 the audit log cannot be written or read (the query did not run), 10 ``audit verify``
found a broken hash chain, 130 interrupted (Ctrl-C).
Each :class:`FedQueryError` class carries its code (``exit_code``); the group
turns any of them, raised anywhere in a command, into one line on stderr.

Ctrl-C: the work of a command runs on a worker thread while the main thread
waits in short slices, so the interrupt is taken at once in every phase
(planning, fetch, local step, output). The federation's running queries are
cancelled (each source's statement gets its cancel request, the local DuckDB is
interrupted), the worker gets a moment to wind down, and the process exits 130
without a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fedquery import formats
from fedquery.errors import FedQueryError

USAGE_ERROR = 2
INCOMPLETE_METADATA = 5
INTERRUPTED = 130
#: how long an interrupted command's worker may take to wind down (its cancel requests are already sent)
WIND_DOWN_SECONDS = 0.5
INVENTORY_FORMATS = ("table", "dcat", "frictionless", "csv", "markdown", "json")


class _Context:
    def __init__(self, config: str | None, principal: dict[str, Any] | None = None) -> None:
        self.config = config
        #: --user / --group / --purpose as given (None: from the environment, see fedquery.principal)
        self.principal = principal or {}
        self.refresh = False
        self._federation: Any = None
        self.worker: threading.Thread | None = None

    def federation(self) -> Any:
        if self._federation is None:
            from fedquery.federation import connect

            self._federation = connect(self.config, **self.principal)
        return self._federation


def _interrupted(obj: _Context | None) -> None:
    federation = obj._federation if obj is not None else None
    if federation is not None:
        federation.interrupt()  # the cancel requests go out now, before the process ends
    worker = obj.worker if obj is not None else None
    if worker is not None:
        worker.join(WIND_DOWN_SECONDS)
    try:
        click.echo("Interrupted: the query was cancelled at every source.", err=True)
        sys.stderr.flush()
        sys.stdout.flush()
    except (OSError, ValueError):
        pass  # a closed or broken pipe: nothing more to say
    # Not sys.exit: a worker still inside a driver or a blocked write must not hold the process.
    os._exit(INTERRUPTED)


def _interruptible(obj: _Context, work: Callable[[], None]) -> None:
    """Run ``work`` on a worker thread while this (the main) thread waits in slices: Ctrl-C raises
    KeyboardInterrupt here at once, whatever the worker is blocked in; the worker's errors are raised here."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - raised again in the main thread below
            failure.append(exc)

    obj.worker = threading.Thread(target=run, name="fedquery-cli", daemon=True)
    obj.worker.start()
    while obj.worker.is_alive():
        obj.worker.join(0.05)
    if failure:
        raise failure[0]


def _fail(exc: FedQueryError) -> None:
    click.echo(formats.safe(f"Error: {exc}"), err=True)
    sys.exit(exc.exit_code)


class _Group(click.Group):
    """Library errors become a clean message and their class's exit code, wherever they are raised.
    Ctrl-C in any command: cancel what runs, exit 130, no traceback (click would print "Aborted!"
    and exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            _interrupted(ctx.obj)
        except FedQueryError as exc:
            _fail(exc)
        except RecursionError:
            click.echo("Error: the query is nested too deeply to process", err=True)
            sys.exit(1)


def _echo(text: str, **kwargs: Any) -> None:
    """``click.echo`` of text that may carry data or names from sources: control characters escaped."""
    click.echo(formats.safe(text), **kwargs)


def _read_sql(sql: str | None, file: Path | None) -> str:
    if sql and file:
        raise click.UsageError("give the SQL as an argument or with -f FILE, not both")
    if file:
        return file.read_text(encoding="utf-8")
    if sql == "-" or (sql is None and not sys.stdin.isatty()):
        text = sys.stdin.read()
        if text.strip():
            return text
    if not sql or sql == "-":
        raise click.UsageError("no SQL given: pass it as an argument, with -f FILE, or on standard input")
    return sql


def _emit(table: Any, fmt: str | None, output: Path | None, max_rows: int | None) -> None:
    _emit_stream(table.to_reader(), fmt, output, max_rows)


def _emit_stream(
    reader: Any, fmt: str | None, output: Path | None, max_rows: int | None, close: Callable[[], None] | None = None
) -> None:
    """Write a result batch by batch; a reader that went away (``| head``) ends it quietly, after ``close``."""
    terminal = sys.stdout.isatty() and output is None
    if fmt is None:
        fmt = "table" if terminal else "csv"
    if fmt == "parquet" and terminal:
        raise click.UsageError("parquet output is binary: use -o FILE or redirect standard output")
    if output is not None:
        _write_file(reader, fmt, output)
        return
    try:
        formats.write_stream(
            reader, fmt, sys.stdout.buffer, max_rows=max_rows if fmt == "table" else None, terminal=terminal
        )
        sys.stdout.flush()
    except BrokenPipeError:
        if close is not None:
            close()  # stop the query: fragments cancelled, the local DuckDB closed
        _quiet_exit()


def _write_file(reader: Any, fmt: str, output: Path) -> None:
    """All or nothing: a query that fails while its rows are written leaves no file (nor an older one clobbered);
    devices and pipes (``-o /dev/stdout``) are written directly."""
    if output.exists() and not output.is_file():
        with output.open("wb") as fh:
            formats.write_stream(reader, fmt, fh)
        return
    partial = output.with_name(f".{output.name}.fedquery-partial")
    try:
        with partial.open("wb") as fh:
            formats.write_stream(reader, fmt, fh)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def _quiet_exit() -> None:
    """The reader of standard output has gone: exit 0 at once, with no traceback and nothing left to flush
    (the query is closed; Arrow's I/O threads of a stopped scan must not meet the interpreter's shutdown)."""
    sys.stderr.flush()
    os._exit(0)


_format_option = click.option(
    "--format", "fmt", type=click.Choice(formats.FORMATS), default=None,
    help="Output format (default: table on a terminal, csv when piped).",
)  # fmt: skip
_pushdown_option = click.option(
    "--pushdown", type=click.Choice(["none", "filters", "full", "auto"]), default="auto", show_default=True,
    help="What to send to sources: whole tables, projections+filters, largest subtrees, or auto.",
)  # fmt: skip
_output_option = click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE.")
_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
    help="Cancel the query everywhere after SECONDS (default: [settings] query_timeout). Exit code 6.",
)  # fmt: skip


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c", "--config", envvar="FEDQUERY_CONFIG", type=click.Path(dir_okay=False),
    help="Catalog file (default: $FEDQUERY_CONFIG, else ./fedquery.toml).",
)  # fmt: skip
@click.option(
    "--user", envvar="FEDQUERY_USER",
    help="Run as USER (declared, not authenticated; default: $FEDQUERY_USER, else the OS user).",
)  # fmt: skip
@click.option(
    "--group", "groups", multiple=True, metavar="GROUP",
    help="A group (role) the user holds; repeatable (default: $FEDQUERY_GROUPS, comma-separated).",
)  # fmt: skip
@click.option("--purpose", envvar="FEDQUERY_PURPOSE", help="The project the query serves (default: $FEDQUERY_PURPOSE).")
@click.version_option(package_name="fedquery")
@click.pass_context
def main(
    ctx: click.Context, config: str | None, user: str | None, groups: tuple[str, ...], purpose: str | None
) -> None:
    """Query data across departments with one SQL statement.

    \b
    Examples:
      fedquery demo                      # build and query the demo federation
      fedquery -c fedquery.toml tables
      fedquery query "SELECT count(*) FROM dwp.claims"
      fedquery explain -f report.sql
    """
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    ctx.obj = _Context(config, {"user": user, "groups": list(groups) or None, "purpose": purpose})


@main.command()
@click.argument("sql", required=False)
@click.option("-f", "--file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read SQL from FILE.")
@_format_option
@_output_option
@click.option("--max-rows", type=int, default=100, show_default=True, help="Rows shown in table format.")
@click.option("--stats", is_flag=True, help="Print per-fragment rows, bytes and seconds to stderr.")
@_pushdown_option
@_timeout_option
@click.pass_obj
def query(
    obj: _Context,
    sql: str | None,
    file: Path | None,
    fmt: str | None,
    output: Path | None,
    max_rows: int,
    stats: bool,
    pushdown: str,
    timeout: float | None,
) -> None:
    """Run SQL across the federation.

    \b
    Examples:
      fedquery query "SELECT * FROM dwp.claims LIMIT 5"
      fedquery query -f q.sql --format json
      fedquery query --timeout 30 -f report.sql
      echo "SELECT 1" | fedquery query --format csv
    """
    text = _read_sql(sql, file)

    def work() -> None:
        result = obj.federation().sql(text, pushdown=pushdown, timeout=timeout)
        _emit_stream(result.reader(), fmt, output, max_rows, close=result.close)
        disclosure = result.plan.disclosure
        if disclosure is not None and disclosure.applied:  # safe outputs: say what was held back
            cells, margins = disclosure.suppressed
            _echo(f"disclosure control: {cells} small cell(s) and {margins} margin(s) suppressed; "
                  f"counts and sums rounded to multiples of {disclosure.rounding}", err=True)  # fmt: skip
        if stats:
            for s in result.stats:
                _echo(
                    f"{s.fragment} {s.department}.{s.source}: {s.rows} rows, {s.bytes} bytes, {s.seconds:.3f}s",
                    err=True,
                )

    try:
        _interruptible(obj, work)
    except FedQueryError as exc:
        _fail(exc)


@main.command()
@click.argument("sql", required=False)
@click.option("-f", "--file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read SQL from FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--analyze", is_flag=True, help="Run the query and add actual rows, bytes and seconds per fragment.")
@_pushdown_option
@_timeout_option
@click.pass_obj
def explain(
    obj: _Context, sql: str | None, file: Path | None, as_json: bool, analyze: bool, pushdown: str,
    timeout: float | None,
) -> None:  # fmt: skip
    """Show the SQL sent to each source, estimated rows and bytes, what runs locally, and why.

    \b
    Examples:
      fedquery explain "SELECT * FROM dwp.claims c JOIN hmrc.income i USING (person_id)"
      fedquery explain --analyze --timeout 60 -f report.sql
    """
    text = _read_sql(sql, file)

    def work() -> None:
        plan = obj.federation().explain(text, pushdown=pushdown, analyze=analyze, timeout=timeout)
        _echo(json.dumps(plan.to_dict(), indent=2) if as_json else str(plan))

    try:
        _interruptible(obj, work)
    except FedQueryError as exc:
        _fail(exc)


@main.command()
@click.argument("department", required=False)
@_format_option
@click.option("--strict", is_flag=True, help="Exit 4 if any source or table could not be read.")
@click.pass_obj
def tables(obj: _Context, department: str | None, fmt: str | None, strict: bool) -> None:
    """List tables (of one DEPARTMENT, or all) with their source and columns.

    A source or table that cannot be read is reported on stderr (one warning line
    each) beside the tables that work; with --strict the exit code is then 4.
    """
    try:
        rows = obj.federation().tables(department)
    except FedQueryError as exc:
        _fail(exc)
        return
    broken = [row for row in rows if row["error"] is not None]
    good = [{k: v for k, v in row.items() if k != "error"} for row in rows if row["error"] is None]
    for row in good:
        row["columns"] = ", ".join(f"{n} {t}" for n, t in row["columns"])
    _emit(formats.rows_table(good), fmt, None, None)
    for row in broken:
        what = row["table"] or f"{row['department']} (source {row['source']!r}, {row['kind']})"
        click.echo(f"warning: {what} cannot be read: {row['error']}", err=True)
    if broken and strict:
        sys.exit(4)


def _inventory(obj: _Context, refresh: bool) -> Any:
    try:
        return obj.federation().inventory(refresh=refresh)
    except FedQueryError as exc:
        _fail(exc)


def _write_text(text: str, output: Path | None) -> None:
    if output is not None:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(formats.safe(text) if sys.stdout.isatty() else text, nl=False)


def _report_problems(inventory: Any) -> None:
    for problem in inventory.problems:
        if problem.table:
            what = f"{problem.department}.{problem.table} (source {problem.source!r}) cannot be read"
        else:
            what = f"{problem.department}.{problem.source} is unreachable"
        _echo(f"warning: {what}: {problem.message}", err=True)


_refresh_option = click.option("--refresh", is_flag=True, help="Re-read every source instead of the cache.")


@main.group(invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(INVENTORY_FORMATS), default=None, help="Output format.")
@click.option("--department", help="Only this department.")
@_output_option
@_refresh_option
@click.pass_context
def inventory(ctx: click.Context, fmt: str | None, department: str | None, output: Path | None, refresh: bool) -> None:
    """What data exists across the federation, where it is stored and how to reach it.

    \b
    Examples:
      fedquery inventory                          # every dataset, one line each
      fedquery inventory --format dcat -o catalogue.jsonld
      fedquery inventory search "national insurance"
      fedquery inventory show dwp.claims
      fedquery inventory check                    # exit code 5 if metadata is missing
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj.refresh = refresh
        return
    inv = _inventory(ctx.obj, refresh)
    _report_problems(inv)
    if department:
        from fedquery.inventory import Inventory

        inv = Inventory([d for d in inv.datasets if d.department == department], inv.problems, inv.built_at)
    if fmt is None:
        fmt = "table" if sys.stdout.isatty() and output is None else "csv"
    if fmt == "table":
        from fedquery.inventory.export import rows

        keep = ("id", "title", "kind", "row_count", "contact", "licence", "update_frequency")
        table = formats.rows_table([{k: r[k] for k in keep} for r in rows(inv.datasets)])
        _emit(table, "table", output, None)
        return
    _write_text(inv.export(fmt), output)


@inventory.command("search")
@click.argument("text")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default=None)
@_refresh_option
@click.pass_obj
def inventory_search(obj: _Context, text: str, limit: int, fmt: str | None, refresh: bool) -> None:
    """Find datasets and columns by name, description or keyword, best first."""
    inv = _inventory(obj, refresh or getattr(obj, "refresh", False))
    hits = inv.search(text, limit)
    records = [
        {"dataset": h.dataset.id, "title": h.dataset.title, "score": h.score, "columns": ", ".join(h.columns),
         "matched": ", ".join(h.matched)}
        for h in hits
    ]  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps(records, indent=2))
    elif not records:
        _echo(f"no dataset matches {text!r}", err=True)
    else:
        _emit(formats.rows_table(records), fmt, None, None)


@inventory.command("show")
@click.argument("dataset")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "frictionless", "dcat"]), default="text")
@_refresh_option
@click.pass_obj
def inventory_show(obj: _Context, dataset: str, fmt: str, refresh: bool) -> None:
    """Show one dataset (DEPARTMENT.TABLE) in full, with an example query and how to reach it."""
    from fedquery.inventory import export

    inv = _inventory(obj, refresh or getattr(obj, "refresh", False))
    try:
        d = inv.get(dataset)
    except FedQueryError as exc:
        _fail(exc)
        return
    if fmt == "json":
        click.echo(json.dumps(d.to_dict(), indent=2, default=str))
    elif fmt == "frictionless":
        click.echo(json.dumps(export.to_frictionless(d), indent=2))
    elif fmt == "dcat":
        click.echo(json.dumps(export.to_dcat([d]), indent=2))
    else:
        _echo(export.show_text(d), nl=False)


@inventory.command("check")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@_refresh_option
@click.pass_obj
def inventory_check(obj: _Context, fmt: str, refresh: bool) -> None:
    """List, per dataset, the required metadata that is missing; exit 5 if any is.

    Required: title, description, contact, licence, update_frequency.
    """
    inv = _inventory(obj, refresh or getattr(obj, "refresh", False))
    _report_problems(inv)
    gaps = inv.check()
    if fmt == "json":
        click.echo(json.dumps([{"dataset": g.dataset, "missing": g.missing} for g in gaps], indent=2))
    else:
        for gap in gaps:
            _echo(f"{gap.dataset}: missing {', '.join(gap.missing)}")
        complete = len(inv.datasets) - len(gaps)
        click.echo(f"{complete} of {len(inv.datasets)} datasets have complete metadata", err=True)
    if gaps or inv.problems:
        sys.exit(INCOMPLETE_METADATA)


@main.command()
@click.argument("target", required=False)
@click.option("--show", is_flag=True, help="Print the statistics the planner has now; do not refresh them.")
@_format_option
@click.pass_obj
def analyze(obj: _Context, target: str | None, show: bool, fmt: str | None) -> None:
    """Refresh the planner's statistics of every table, a DEPARTMENT, or DEPARTMENT.TABLE.

    One aggregate query per table, run inside each source where it can be: exact row
    counts, null counts, min/max and distinct counts, cached until the next analyze.

    \b
    Examples:
      fedquery analyze                  # every table
      fedquery analyze dwp              # one department
      fedquery analyze dwp.claims --show
    """
    fed = obj.federation()
    try:
        entries = fed.statistics(target) if show else fed.analyze(target)
    except FedQueryError as exc:
        _fail(exc)
        return
    rows = []
    for entry in entries:
        record = entry.to_dict()
        for column, c in record["columns"].items() or [("", {})]:
            rows.append(
                {"table": entry.table, "rows": record["row_count"], "column": column, "min": _text(c.get("min")),
                 "max": _text(c.get("max")), "nulls": c.get("null_count"), "distinct": c.get("distinct"),
                 "method": record["method"], "collected_at": record["collected_at"]}
            )  # fmt: skip
    _emit(formats.rows_table(rows), fmt, None, None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def doctor(obj: _Context, fmt: str) -> None:
    """Connect to every source; warn when an account is a superuser or can write.

    Exit 0 when every source answers with a read-only account, 4 when a source is
    unreachable, 7 when an account can do more than read (see the README for the
    SQL that creates a read-only account).

    \b
    Examples:
      fedquery doctor
      fedquery doctor --format json
    """
    from fedquery.doctor import exit_code

    try:
        checks = obj.federation().doctor()
    except FedQueryError as exc:
        _fail(exc)
        return
    if fmt == "json":
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        for check in checks:
            _echo(f"{check.department}.{check.source} ({check.kind}, {check.location}): {check.status}")
            if check.error:
                _echo(f"  error: {check.error}")
            for warning in check.warnings:
                _echo(f"  warning: {warning}")
            for note in check.notes:
                _echo(f"  note: {note}")
    sys.exit(exit_code(checks))


@main.command()
@click.argument("directory", required=False, default="fedquery-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-run", is_flag=True, help="Only write the demo federation, do not run the example queries.")
def demo(directory: Path, no_run: bool) -> None:
    """Write the demo federation into DIRECTORY and run cross-department queries on it.

    \b
    The demo models the pandemic's questions: PPE stock per hospital trust (CSV,
    hive-partitioned by region), PPE orders (SQLite), benefit claims (Parquet),
    free school meals (CSV) and income records (DuckDB file).
    """
    from fedquery import demo as demo_module

    try:
        config = demo_module.write_demo(directory)
        click.echo(f"Wrote the demo federation to {directory}/ (catalog: {config})")
        if not no_run:
            demo_module.run_demo(config, echo=click.echo)
    except FedQueryError as exc:
        _fail(exc)


from fedquery.audit_cli import audit  # noqa: E402 - the sub-command group lives in its own module

main.add_command(audit)

if __name__ == "__main__":  # pragma: no cover
    main()
