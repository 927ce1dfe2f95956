"""The ``fedquery`` command line.

Exit codes: 0 success, 1 query error (bad SQL, unknown name, refused
statement, access denied by a department's rules), 2 usage error, 3 configuration error, 4 a source is unreachable
or failed, 5 ``inventory check`` found datasets with missing metadata, 6 the
query passed its deadline (``--timeout`` / ``query_timeout``), 7 ``doctor``
found an account that can do more than read, 8 the query would exceed
``memory_limit``, 9 the audit log cannot be written or read (the query did not run), 10 ``audit verify``
found a broken hash chain, 130 interrupted (Ctrl-C).
Each :class:`FedQueryError` class carries its code (``exit_code``); the group
turns any of them, raised anywhere in a command, into one line on stderr.

``-c/--config`` is taken before or after the sub-command (``fedquery query -c x.toml ...``).
Bad paths and bad input (an output directory that does not exist, SQL that is not UTF-8, a
negative ``--max-rows``) are usage errors (exit 2) that name the path; never a traceback.
Every command imports only what it needs: ``fedquery --version`` loads neither pyarrow nor
DuckDB.

Ctrl-C: the work of a command runs on a worker thread while the main thread
waits in short slices, so the interrupt is taken at once in every phase
(planning, fetch, local step, output). The federation's running queries are
cancelled (each source's statement gets its cancel request, the local DuckDB is
interrupted), the worker gets a moment to wind down, and the process exits 130
without a traceback.
"""

from __future__ import annotations

import io
import json
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from fedquery import __version__, formats
from fedquery.cli_params import param_option, parse_params
from fedquery.errors import FedQueryError, OutputError

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
            _import_arrow_dataset()
            from fedquery.federation import connect

            self._federation = connect(self.config, **self.principal)
        return self._federation


class _Unimportable:
    """A finder that refuses one module: importing it raises ImportError, as if it were not installed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == self.name:
            raise ImportError(f"{name} is not loaded by the fedquery command")


def _import_arrow_dataset() -> None:
    """Import ``pyarrow.dataset`` (the file connectors' reader) without pandas.

    pyarrow's dataset module imports pandas when it is installed (its module set-up asks
    pyarrow's pandas shim whether pandas is there): 0.2-0.4 s of a cold query's 0.8 s of CPU.
    Nothing the command line runs uses pandas, so it is refused to that one import; pyarrow
    imports it again when a DataFrame is asked for (``Result.df()``, ``to_pandas``). Only the
    command line does this: a notebook importing fedquery keeps pyarrow's own behaviour."""
    if "pandas" in sys.modules or "pyarrow.dataset" in sys.modules:
        return
    finder = _Unimportable("pandas")
    sys.meta_path.insert(0, finder)
    try:
        import pyarrow.dataset  # noqa: F401
    finally:
        sys.meta_path.remove(finder)


def _interrupted(obj: _Context | None) -> None:
    federation = obj._federation if obj is not None else None
    if federation is not None:
        federation.interrupt()  # the cancel requests go out now, before the process ends
    worker = obj.worker if obj is not None else None
    if worker is not None:
        worker.join(WIND_DOWN_SECONDS)
    if "fedquery.progress" in sys.modules:
        sys.modules["fedquery.progress"].erase_active()
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


def _set_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``-c`` given after the sub-command wins over one given before it (and over $FEDQUERY_CONFIG)."""
    obj = ctx.find_object(_Context)
    if value is not None and obj is not None:
        obj.config = value
        obj._federation = None


def _config_param() -> click.Option:
    return click.Option(
        ["-c", "--config"], type=click.Path(dir_okay=False), expose_value=False, callback=_set_config,
        help="Catalog file (also accepted before the sub-command).",
    )  # fmt: skip


class _Group(click.Group):
    """Library errors become a clean message and their class's exit code, wherever they are raised.
    Ctrl-C in any command: cancel what runs, exit 130, no traceback (click would print "Aborted!"
    and exit 1). Every sub-command (and sub-group) also takes ``-c/--config``."""

    group_class = type  # sub-groups are _Group too

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        if not any(p.name == "config" for p in cmd.params):
            cmd.params.append(_config_param())
        super().add_command(cmd, name)

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


def _decode(data: bytes, where: str) -> str:
    """UTF-8 text, or a usage error naming ``where`` and the byte offset of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutputError(
            f"{where} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} cannot be decoded",
            path=where,
        ) from None


def _read_sql(sql: str | None, file: Path | None) -> str:
    if sql and file:
        raise click.UsageError("give the SQL as an argument or with -f FILE, not both")
    if file:
        try:
            return _decode(file.read_bytes(), str(file))
        except OSError as exc:
            raise OutputError(f"cannot read {str(file)!r}: {exc.strerror}", path=str(file)) from None
    if sql == "-" or (sql is None and not sys.stdin.isatty()):
        text = _decode(sys.stdin.buffer.read(), "standard input")
        if text.strip():
            return text
    if not sql or sql == "-":
        raise click.UsageError("no SQL given: pass it as an argument, with -f FILE, or on standard input")
    return sql


def _emit(table: Any, fmt: str | None, output: Path | None, max_rows: int | None, *, wrap: bool = False) -> None:
    paged = _emit_stream(table.to_reader(), fmt, output, max_rows, wrap=wrap)
    if paged is not None:
        from fedquery.pager import page

        page(paged)


#: formats shown on a terminal whole (their rows bounded by --max-rows), so they can go through a pager
_PAGED = ("table", "vertical")


def _emit_stream(
    reader: Any,
    fmt: str | None,
    output: Path | None,
    max_rows: int | None,
    close: Callable[[], None] | None = None,
    *,
    pager: bool = True,
    wrap: bool = False,
    before_write: Callable[[], None] | None = None,
) -> bytes | None:
    """Write a result batch by batch; a reader that went away (``| head``) ends it quietly, after ``close``.

    On a terminal, the table and vertical formats fit its width and are returned (not written) when they are
    taller than it and ``pager`` is on: the caller shows them with :func:`fedquery.pager.page` from the main
    thread. ``before_write`` is called before anything is written to a terminal (the progress line is erased).
    """
    import shutil

    terminal = sys.stdout.isatty() and output is None
    if fmt is None:
        fmt = "table" if terminal else "csv"
    if fmt == "parquet" and terminal:
        raise click.UsageError("parquet output is binary: use -o FILE or redirect standard output")
    if output is not None:
        _write_file(reader, fmt, output)
        return None
    shown = (max_rows or None) if fmt in ("table", "vertical") else None  # 0: every row
    width = shutil.get_terminal_size().columns if terminal else None
    try:
        if terminal and fmt in _PAGED:
            from fedquery.pager import wanted

            buffer = io.BytesIO()
            formats.write_stream(reader, fmt, buffer, max_rows=shown, terminal=True, width=width, wrap=wrap)
            if before_write is not None:
                before_write()
            if pager and wanted(buffer.getvalue()):
                return buffer.getvalue()
            sys.stdout.buffer.write(buffer.getvalue())
        else:
            if terminal and before_write is not None:
                before_write()
            formats.write_stream(reader, fmt, sys.stdout.buffer, max_rows=shown, terminal=terminal, wrap=wrap)
        sys.stdout.flush()
    except BrokenPipeError:
        if close is not None:
            close()  # stop the query: fragments cancelled, the local DuckDB closed
        _quiet_exit()
    return None


def check_output_path(output: Path) -> None:
    """Refuse, before any query runs, a path that cannot be written: its directory is missing or not
    writable, or it is a directory."""
    parent = output.parent if str(output.parent) else Path(".")
    if output.is_dir():
        raise OutputError(f"cannot write {str(output)!r}: it is a directory", path=str(output))
    if not parent.is_dir():
        raise OutputError(f"cannot write {str(output)!r}: directory {str(parent)!r} does not exist", path=str(output))
    if not output.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {str(output)!r}: directory {str(parent)!r} is not writable", path=str(output))


def _write_file(reader: Any, fmt: str, output: Path) -> None:
    """All or nothing: a query that fails while its rows are written leaves no file (nor an older one clobbered);
    devices and pipes (``-o /dev/stdout``) are written directly."""
    check_output_path(output)
    try:
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
    except OSError as exc:
        raise OutputError(f"cannot write {str(output)!r}: {exc.strerror or exc}", path=str(output)) from None


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
_max_rows_option = click.option(
    "--max-rows", type=click.IntRange(min=0), default=100, show_default=True,
    help="Rows shown by the table and vertical formats: the first and last halves; 0 shows every row.",
)  # fmt: skip
_pager_option = click.option(
    "--pager/--no-pager", default=True, show_default=True,
    help="On a terminal, show output taller than the screen in $PAGER (default: less -FRSX).",
)  # fmt: skip
_progress_option = click.option(
    "--progress/--no-progress", default=True, show_default=True,
    help="On a terminal, show rows and bytes received per department and the elapsed time on stderr.",
)  # fmt: skip
_timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
    help="Cancel the query everywhere after SECONDS (default: [settings] query_timeout). Exit code 6.",
)  # fmt: skip


def _plot_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--plot FILE`` and its channels, gathered into one ``plot`` argument (None without ``--plot``)."""
    from fedquery.viz import KINDS

    def gather(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        ctx.meta.setdefault("fedquery.plot", {})[param.name] = value
        return value

    options = [
        click.option("--plot", "plot_path", metavar="FILE.png|svg|html", expose_value=False, callback=gather,
                     help="Also draw the result as a chart into FILE (offline; needs fedquery[viz])."),
        click.option("--kind", type=click.Choice(KINDS), expose_value=False, callback=gather,
                     help="Chart kind (default: from the column types)."),
        click.option("--x", "x", metavar="COLUMN", expose_value=False, callback=gather, help="Column on the x axis."),
        click.option("--y", "y", metavar="COLUMN", expose_value=False, callback=gather, help="Column on the y axis."),
        click.option("--color", metavar="COLUMN", expose_value=False, callback=gather, help="Column for colour."),
        click.option("--title", metavar="TEXT", expose_value=False, callback=gather, help="Chart title."),
    ]  # fmt: skip

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        gathered = click.get_current_context().meta.get("fedquery.plot", {})
        path = gathered.get("plot_path")
        channels = {k: v for k, v in gathered.items() if k != "plot_path" and v is not None}
        if path is None and channels:
            raise click.UsageError(f"--{next(iter(channels))} needs --plot FILE")
        plot = None if path is None else {"path": path, **channels}
        return command(*args, plot=plot, **kwargs)

    wrapped.__name__, wrapped.__doc__ = command.__name__, command.__doc__
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
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
@click.version_option(__version__, prog_name="fedquery")  # not read from the package metadata: a fast start
@click.pass_context
def main(
    ctx: click.Context, config: str | None, user: str | None, groups: tuple[str, ...], purpose: str | None
) -> None:
    """Query data across departments with one SQL statement.

    With no command on a terminal: the interactive shell (``fedquery shell``).

    \b
    Examples:
      fedquery demo                      # build and query the demo federation
      fedquery -c fedquery.toml tables
      fedquery query "SELECT count(*) FROM dwp.claims"
      fedquery explain -f report.sql
      fedquery shell                     # history, completion, .tables, .schema, .mode
    """
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    ctx.obj = _Context(config, {"user": user, "groups": list(groups) or None, "purpose": purpose})
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from fedquery.shell import run_shell

            sys.exit(run_shell(ctx.obj))
        else:
            click.echo(ctx.get_help())


@main.command()
@click.argument("sql", required=False)
@click.option("-f", "--file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read SQL from FILE.")
@_format_option
@_output_option
@_max_rows_option
@click.option("--stats", is_flag=True, help="Print per-fragment rows, bytes and seconds to stderr.")
@_pushdown_option
@_timeout_option
@_pager_option
@_progress_option
@param_option
@_plot_options
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
    pager: bool,
    progress: bool,
    params: tuple[str, ...],
    plot: dict[str, Any] | None = None,
) -> None:
    """Run SQL across the federation.

    \b
    Examples:
      fedquery query "SELECT * FROM dwp.claims LIMIT 5"
      fedquery query -f q.sql --format json
      fedquery query --timeout 30 -f report.sql
      fedquery query --format vertical "SELECT * FROM dwp.claims LIMIT 2"
      fedquery query -p region=London -p n:int=5 "SELECT * FROM dwp.claims WHERE region = $region LIMIT $n"
      echo "SELECT 1" | fedquery query --format csv
      fedquery query --plot claims.png "SELECT region, count(*) AS n FROM dwp.claims GROUP BY 1"
    """
    text = _read_sql(sql, file)
    bound = parse_params(params)
    if output is not None:
        check_output_path(output)  # before the query runs, not after
    if plot is not None:
        from fedquery.viz.export import file_format

        file_format(plot["path"])  # a wrong extension is a usage error before the query runs
    paged: list[bytes] = []

    def work() -> None:
        from fedquery.progress import reporting

        fed = obj.federation()
        with reporting(fed, enabled=progress) as bar:
            result = fed.sql(text, pushdown=pushdown, timeout=timeout, params=bound)
            if plot is not None:
                from fedquery import viz

                table = result.arrow()
                bar.stop()
                options = {k: v for k, v in plot.items() if k != "path"}
                _echo(f"Wrote the chart to {viz.plot(table, plot['path'], **options)}", err=True)
                pending = _emit_stream(table.to_reader(), fmt, output, max_rows, pager=pager)
            else:
                # A result read straight from its source is fetched while it is written: the line stays until
                # the first byte goes to the terminal.
                pending = _emit_stream(
                    result.reader(), fmt, output, max_rows, close=result.close, pager=pager, before_write=bar.stop
                )
        if pending is not None:
            paged.append(pending)
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
    if paged:
        from fedquery.pager import page

        page(paged[0])


@main.command()
@click.argument("sql", required=False)
@click.option("-f", "--file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Read SQL from FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--analyze", is_flag=True, help="Run the query and add actual rows, bytes and seconds per fragment.")
@click.option("--verbose", is_flag=True, help="Print long key lists in full (default: IN (<2,911 keys>)).")
@_pushdown_option
@_timeout_option
@_progress_option
@param_option
@click.option("--graph", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.svg|html",
              help="Also draw the plan: departments, the SQL each is sent, rows and bytes on the arrows.")  # fmt: skip
@click.pass_obj
def explain(
    obj: _Context, sql: str | None, file: Path | None, as_json: bool, analyze: bool, verbose: bool, pushdown: str,
    timeout: float | None, progress: bool, params: tuple[str, ...], graph: Path | None = None,
) -> None:  # fmt: skip
    """Show the SQL sent to each source, estimated rows and bytes, what runs locally, and why.

    \b
    Examples:
      fedquery explain "SELECT * FROM dwp.claims c JOIN hmrc.income i USING (person_id)"
      fedquery explain --analyze --timeout 60 -f report.sql
      fedquery explain --graph plan.svg -f report.sql
    """
    text = _read_sql(sql, file)
    bound = parse_params(params)
    if graph is not None and graph.suffix.lower() not in (".svg", ".html", ".htm"):
        raise click.UsageError(f"--graph {graph}: the file must end in .svg or .html")

    def work() -> None:
        from fedquery.progress import reporting

        fed = obj.federation()
        with reporting(fed, enabled=progress and analyze):  # --analyze runs the query
            plan = fed.explain(text, pushdown=pushdown, analyze=analyze, timeout=timeout, params=bound, verbose=verbose)
        _echo(json.dumps(plan.to_dict(), indent=2) if as_json else str(plan))
        if graph is not None:
            _echo(f"Wrote the plan picture to {plan.graph().save(graph)}", err=True)

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
    from fedquery.typenames import sql_type

    fed = obj.federation()
    try:
        rows = fed.tables(department)
        schemas = {t.sql_name: t.arrow_schema() for t in fed.catalog.tables(department) if t.sql_name in
                   {r["table"] for r in rows if r["error"] is None}}  # fmt: skip
    except FedQueryError as exc:
        _fail(exc)
        return
    broken = [row for row in rows if row["error"] is not None]
    good = [{k: v for k, v in row.items() if k != "error"} for row in rows if row["error"] is None]
    for row in good:  # SQL type names (date, bigint, decimal(12,2)), not Arrow's (date32[day])
        row["columns"] = ", ".join(f"{f.name} {sql_type(f.type)}" for f in schemas[row["table"]])
    _emit(formats.rows_table(good), fmt, None, None, wrap=True)  # the whole column list, over several lines
    for row in broken:
        what = row["table"] or f"{row['department']} (source {row['source']!r}, {row['kind']})"
        click.echo(f"warning: {what} cannot be read: {row['error']}", err=True)
    if broken and strict:
        sys.exit(4)


def _inventory(obj: _Context, refresh: bool) -> Any:
    try:
        fed = obj.federation()
        as_user = getattr(obj, "as_user", None)
        if as_user is None:
            return fed.inventory(refresh=refresh)
        from fedquery.principal import Principal

        # --as USER: what that user (with the --group/--purpose given) may see
        principal = Principal.of(as_user, groups=fed.principal.groups, purpose=fed.principal.purpose)
        return fed.inventory(refresh=refresh, principal=principal)
    except FedQueryError as exc:
        _fail(exc)


def _write_text(text: str, output: Path | None) -> None:
    if output is not None:
        check_output_path(output)
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {str(output)!r}: {exc.strerror or exc}", path=str(output)) from None
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
@click.option("--as", "as_user", metavar="USER", help="Show what USER may see (with --group/--purpose).")
@_output_option
@_refresh_option
@click.pass_context
def inventory(
    ctx: click.Context, fmt: str | None, department: str | None, as_user: str | None, output: Path | None, refresh: bool
) -> None:
    """What data exists across the federation, where it is stored and how to reach it.

    \b
    Examples:
      fedquery inventory                          # every dataset, one line each
      fedquery inventory --format dcat -o catalogue.jsonld
      fedquery inventory search "national insurance"
      fedquery inventory show dwp.claims
      fedquery inventory check                    # exit code 5 if metadata is missing
      fedquery --group dwp_analysts inventory --as ana   # what ana may see, with access rules
    """
    ctx.obj.as_user = as_user
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

        keep: tuple[str, ...] = ("id", "title", "kind", "row_count", "contact", "licence", "update_frequency")
        if any(d.access_rules and not d.access_rules.startswith("open") for d in inv.datasets):
            keep += ("access",)  # a governed federation: how this principal may read each dataset
        table = formats.rows_table([{k: r[k] for k in keep} for r in rows(inv.datasets)])
        _emit(table, "table", output, None)
        return
    _write_text(inv.export(fmt), output)


@inventory.command("search")
@click.argument("text")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
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
def shell() -> None:
    """Interactive SQL over the federation: history, multi-line statements, completion, dot-commands.

    Statements end with ';'. Tab completes departments, tables and columns; .help lists the
    dot-commands (.tables, .schema, .mode, .timer, .explain, .read, .output). Ctrl-C cancels a
    running query; Ctrl-D leaves. History: $XDG_STATE_HOME/fedquery/history. With standard
    input not a terminal, runs the statements it reads (exit code of the first error).

    \b
    Examples:
      fedquery -c fedquery.toml shell
      fedquery shell < report.sql
    """
    from fedquery.shell import run_shell

    code = run_shell(click.get_current_context().find_object(_Context))
    sys.exit(code)


@main.command()
@click.argument("directory", required=False, default="fedquery-demo", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-run", is_flag=True, help="Only write the demo federation, do not run the example queries.")
@click.option("--force", is_flag=True, help="Overwrite an edited fedquery.toml in DIRECTORY.")
def demo(directory: Path, no_run: bool, force: bool) -> None:
    """Write the demo federation into DIRECTORY and run cross-department queries on it.

    \b
    The demo models the pandemic's questions: PPE stock per hospital trust (CSV,
    hive-partitioned by region), PPE orders (SQLite), benefit claims (Parquet),
    free school meals (CSV) and income records (DuckDB file). A fedquery.toml
    already in DIRECTORY that is not the demo's own is kept (exit 2) unless --force.
    """
    from fedquery import demo as demo_module

    try:
        try:
            config = demo_module.write_demo(directory, force=force)
        except OSError as exc:
            raise OutputError(f"cannot write the demo into {str(directory)!r}: {exc.strerror or exc}",
                              path=str(directory)) from None  # fmt: skip
        click.echo(f"Wrote the demo federation to {directory}/ (catalog: {config})")
        if not no_run:
            demo_module.run_demo(config, echo=click.echo)
            demo_module.build_dashboard(config, echo=click.echo)
    except FedQueryError as exc:
        _fail(exc)



def _register_commands() -> None:
    """Sub-command groups that live in their own modules (imported only when the CLI is)."""
    from fedquery.audit_cli import audit
    from fedquery.viz.commands import dashboard, serve

    main.add_command(dashboard)
    main.add_command(serve)
    main.add_command(audit)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
