"""``fedquery shell``: an interactive SQL shell over the federation, with one Federation kept warm.

On a terminal (prompt_toolkit, ``pip install 'fedquery[shell]'``): persistent history
(``$XDG_STATE_HOME/fedquery/history``, else ``~/.local/state/fedquery/history``), statements
over several lines ended by ``;``, Tab completion of departments, ``department.table``
names, columns and SQL keywords, and dot-commands (``.help`` lists them). Ctrl-C at the
prompt clears the line; during a query it cancels the query at every source and returns
to the prompt; Ctrl-D or ``.quit`` leaves. Errors are printed as one line, never a traceback.

The prompt appears before the federation is ready: the catalog is loaded, the engine
imported and the local DuckDB started on a background thread, so start-up to the prompt
costs only the shell's own imports.

With standard input not a terminal (``fedquery shell < script.sql``) the statements and
dot-commands are run in order; the exit code is that of the first error (0 if none).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fedquery.errors import ExtraNotInstalledError, FedQueryError, OutputError
from fedquery.shell_complete import CatalogNames, split_statements

PROMPT = "fedquery> "
CONTINUATION = "     ...> "
MAX_ROWS = 40
MODES = ("table", "vertical", "csv", "tsv", "json", "ndjson", "markdown")
HELP = """\
.tables [DEPARTMENT]     list the tables (of one department)
.schema [TABLE]          columns and SQL types of a table (or every table)
.mode FORMAT             table | vertical | csv | tsv | json | ndjson | markdown
.maxrows N               rows the table and vertical modes show (0: all)
.timer on|off            print each statement's run time
.explain SQL             the plan: SQL sent to each department, the local step
.read FILE               run the statements in FILE
.output FILE|stdout      write results to FILE (until .output stdout)
.help                    this text
.quit                    leave (also Ctrl-D)
Statements end with ';' and may span lines. Ctrl-C cancels a running query.
"""


def history_path() -> Path:
    """Where the shell keeps its history."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "fedquery" / "history"


class Shell:
    """The statements, dot-commands and settings of one shell session."""

    def __init__(self, connect: Callable[[], Any], *, interactive: bool) -> None:
        self.interactive = interactive
        self.mode = "table"
        self.max_rows = MAX_ROWS
        self.timer = False
        self.out: IO[bytes] = sys.stdout.buffer
        self.to_file: str | None = None
        self.names = CatalogNames()
        self.first_error = 0
        self._federation: Any = None
        self._failure: FedQueryError | None = None
        self._connect = connect
        self._ready = threading.Event()

    def start(self) -> None:
        """Open the federation on a background thread (the first statement waits for it)."""
        threading.Thread(target=self._warm, name="fedquery-shell-warm", daemon=True).start()

    # -- the warm federation ------------------------------------------------------------------
    def _warm(self) -> None:
        try:
            self._federation = self._connect()
        except FedQueryError as exc:
            self._failure = exc
            self._ready.set()
            self.names.ready.set()
            return
        self._ready.set()
        self.names.load(self._federation)
        try:  # the engine's imports and the local DuckDB, before the first statement needs them
            self._federation.sql("SELECT 1").arrow()
        except FedQueryError:
            pass

    def federation(self) -> Any:
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self._federation

    # -- running text -------------------------------------------------------------------------
    def run_text(self, text: str) -> None:
        """Run every statement and dot-command in ``text`` (a script, a .read file, a prompt's input)."""
        pending = ""
        for line in text.splitlines(keepends=True):
            if not pending.strip() and line.lstrip().startswith("."):
                self.dot(line.strip())
                pending = ""
                continue
            pending += line
            statements, pending = split_statements(pending)
            for statement in statements:
                self.execute(statement)
        if pending.strip() and not _only_comments(pending):
            self.execute(pending)  # the last statement of a script may omit its ';'

    def execute(self, sql: str) -> None:
        """Run one statement and write its result in the current mode; errors are printed."""
        started = time.perf_counter()
        self._guarded(lambda: self._query(sql))
        if self.timer:
            self._note(f"Run Time: {time.perf_counter() - started:.3f} s")

    def _query(self, sql: str) -> None:
        from fedquery import formats
        from fedquery.progress import reporting

        fed = self.federation()
        terminal = self.to_file is None and _isatty(sys.stdout)
        with reporting(fed, enabled=self.interactive) as bar:
            result = fed.sql(sql)
            reader = result.reader()
            bar.stop()
        try:
            width = shutil.get_terminal_size().columns if terminal else None
            shown = (self.max_rows or None) if self.mode in ("table", "vertical") else None
            formats.write_stream(reader, self.mode, self.out, max_rows=shown, terminal=terminal, width=width)
            self.out.flush()
        finally:
            result.close()

    def _guarded(self, work: Callable[[], None]) -> None:
        """Run ``work`` on a worker thread; Ctrl-C cancels the query (back to the prompt), errors are printed."""
        failure: list[BaseException] = []

        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported below, in the shell's thread
                failure.append(exc)

        worker = threading.Thread(target=run, name="fedquery-shell-query", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.05)
        except KeyboardInterrupt:
            if self._federation is not None:
                self._federation.interrupt()  # every source's statement gets its cancel request
            worker.join(5.0)
            self._erase_progress()
            self._error("Interrupted: the query was cancelled at every source.", 130)
            return
        if not failure:
            return
        exc = failure[0]
        if isinstance(exc, BrokenPipeError):  # the reader of a script's output went away (``| head``)
            from fedquery.cli import _quiet_exit

            _quiet_exit()
        if isinstance(exc, FedQueryError):
            self._error(f"Error: {exc}", exc.exit_code)
        elif isinstance(exc, OSError):
            self._error(f"Error: cannot write the result: {exc.strerror or exc}", OutputError.exit_code)
        elif isinstance(exc, RecursionError):
            self._error("Error: the query is nested too deeply to process", 1)
        else:  # a bug of ours: one line, and the shell goes on
            self._error(f"Error: unexpected {type(exc).__name__}: {exc}", 1)

    # -- dot-commands -------------------------------------------------------------------------
    def dot(self, line: str) -> bool:
        """Run a dot-command; False for ``.quit``."""
        command, _, argument = line.partition(" ")
        argument = argument.strip().rstrip(";").strip()
        handler = _DOT.get(command.lower())
        if handler is None:
            self._error(f"Error: unknown command {command!r}; .help lists them", 2)
            return True
        result = True
        try:
            result = handler(self, argument) is not False
        except FedQueryError as exc:
            self._error(f"Error: {exc}", exc.exit_code)
        return result

    def _tables(self, department: str) -> None:
        rows = self.federation().tables(department or None)
        self._say("\n".join(r["table"] for r in rows if r["table"]))

    def _schema(self, name: str) -> None:
        from fedquery.errors import UnknownTableError, suggest
        from fedquery.typenames import sql_type

        fed = self.federation()
        # The tables and columns the principal may see (fed.tables() applies the access rules).
        visible = {r["table"]: {c for c, _ in r["columns"]} for r in fed.tables() if r["table"] and not r["error"]}
        chosen = [
            t
            for t in fed.catalog.tables()
            if t.sql_name in visible and (not name or t.sql_name.lower() == name.lower())
        ]
        if not chosen:
            raise UnknownTableError(f"unknown table {name!r}.{suggest(name, list(visible))}")
        for table in chosen:
            fields = [f for f in table.arrow_schema() if f.name in visible[table.sql_name]]
            columns = ",\n".join(f"  {_ident(f.name)} {sql_type(f.type)}" for f in fields)
            self._say(f"CREATE TABLE {table.sql_name} (\n{columns}\n);")

    def _mode(self, mode: str) -> None:
        if mode not in MODES:
            self._error(f"Error: .mode takes one of {', '.join(MODES)}; now {self.mode}", 2)
            return
        self.mode = mode

    def _maxrows(self, value: str) -> None:
        if not value.isdigit():
            self._error("Error: .maxrows takes a number of rows (0: all)", 2)
            return
        self.max_rows = int(value)

    def _timer(self, value: str) -> None:
        if value not in ("on", "off"):
            self._error("Error: .timer on|off", 2)
            return
        self.timer = value == "on"

    def _explain(self, sql: str) -> None:
        if not sql:
            self._error("Error: .explain SQL", 2)
            return
        self._guarded(lambda: self._say(str(self.federation().explain(sql))))

    def _read(self, path: str) -> None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise OutputError(f"cannot read {path!r}: {exc.strerror}", path=path) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OutputError(
                f"{path} is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}", path=path
            ) from None
        self.run_text(text)

    def _output(self, target: str) -> None:
        from fedquery.cli import check_output_path

        if self.to_file is not None:
            self.out.close()
        self.out, self.to_file = sys.stdout.buffer, None
        if target in ("", "stdout"):
            return
        check_output_path(Path(target))
        try:
            self.out, self.to_file = open(target, "wb"), target  # noqa: SIM115 - kept open until .output stdout
        except OSError as exc:
            raise OutputError(f"cannot write {target!r}: {exc.strerror}", path=target) from None

    def _help(self, _argument: str) -> None:
        self._say(HELP.rstrip())

    def _quit(self, _argument: str) -> bool:
        return False

    # -- messages -----------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        from fedquery.formats import safe

        sys.stdout.write(safe(text) + "\n")
        sys.stdout.flush()

    def _note(self, text: str) -> None:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def _error(self, message: str, code: int) -> None:
        from fedquery.formats import safe

        self.first_error = self.first_error or code
        self._note(safe(message))

    def _erase_progress(self) -> None:
        if "fedquery.progress" in sys.modules:
            sys.modules["fedquery.progress"].erase_active()


_DOT: dict[str, Callable[[Shell, str], Any]] = {
    ".tables": Shell._tables,
    ".schema": Shell._schema,
    ".mode": Shell._mode,
    ".maxrows": Shell._maxrows,
    ".timer": Shell._timer,
    ".explain": Shell._explain,
    ".read": Shell._read,
    ".output": Shell._output,
    ".help": Shell._help,
    ".quit": Shell._quit,
    ".exit": Shell._quit,
}


def run_shell(obj: Any) -> int:
    """The shell over ``obj.federation()`` (the CLI's context); returns the exit code."""
    interactive = _isatty(sys.stdin)
    shell = Shell(obj.federation, interactive=interactive)
    if not interactive:
        shell.start()
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OutputError(
                f"standard input is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}",
                path="standard input",
            ) from None
        shell.run_text(text)
        return shell.first_error
    _prompt_loop(shell)
    return 0


def _prompt_loop(shell: Shell) -> None:
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory
        from prompt_toolkit.key_binding import KeyBindings
    except ImportError:
        message = "the interactive shell needs prompt_toolkit: pip install 'fedquery[shell]'"
        raise ExtraNotInstalledError(message) from None
    from fedquery.shell_complete import make_completer

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: Any) -> None:
        buffer = event.current_buffer
        text = buffer.text
        statements, rest = split_statements(text)
        if not text.strip() or text.lstrip().startswith(".") or (statements and not rest.strip()):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")  # the statement goes on: ';' ends it

    history: Any
    try:
        path = history_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except OSError:
        history = InMemoryHistory()
    session: Any = PromptSession(
        history=history,
        multiline=True,
        key_bindings=bindings,
        completer=make_completer(shell.names),
        complete_while_typing=False,
        prompt_continuation=lambda width, line, wrap: CONTINUATION,
    )
    print("fedquery shell: statements end with ';'. .help for commands, Ctrl-D to leave.", file=sys.stderr)
    shell.start()  # after the prompt's own imports: the engine's imports would slow them down
    while True:
        try:
            text = session.prompt(PROMPT)
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt: the line is cleared
        except EOFError:
            break
        try:
            if text.strip().startswith(".") and "\n" not in text.strip():
                if not shell.dot(text.strip()):
                    break
                continue
            shell.run_text(text)
        except KeyboardInterrupt:  # Ctrl-C in a dot-command that runs in this thread (.tables, .schema)
            shell._error("Interrupted.", 130)
    if shell.to_file is not None:
        shell.out.close()


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.splitlines())


def _ident(name: str) -> str:
    """A column name as SQL would need it written (quoted unless a plain lower-case identifier)."""
    from fedquery.formats import safe

    plain = name.isidentifier() and name == name.lower()
    return safe(name if plain else '"' + name.replace('"', '""') + '"', multiline=False)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
