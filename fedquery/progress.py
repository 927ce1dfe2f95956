"""A progress line on stderr while a query runs, on a terminal only.

    ⠹ 4.2s fetch · dwp 1,434 rows 52.1KB ✓ · hmrc 8,192 rows 610.3KB · mem 212MB

Per department: rows and bytes received so far (✓ once its fragments are read),
the elapsed time, the phase (planning, fetch, local step) and the process's
resident memory. It is read by polling the running :class:`~fedquery.executor.Execution`'s
fragment counters (``FragmentStats``, kept by the reader threads anyway) ten
times a second from a thread of its own: the query does no extra work. The
federation hands each execution over through ``Federation.on_execution`` (a top-N
retry is a new execution, and counts on). Nothing is shown for the first half
second (a quick query does not flicker), when stderr is not a terminal, or with
``--no-progress``; the line is erased before any row is written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fedquery.executor import Execution

DELAY = 0.5
INTERVAL = 0.1
_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ACTIVE: list[Progress] = []


class Progress:
    """The progress line of one query (see the module's docstring)."""

    def __init__(self, stream: IO[str] | None = None, *, delay: float = DELAY) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.started = time.monotonic()
        self._executions: list[Execution] = []
        self._stop = threading.Event()
        self._shown = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="fedquery-progress", daemon=True)

    def watch(self, execution: Execution) -> None:
        """Follow ``execution`` (``Federation.on_execution``)."""
        self._executions.append(execution)

    def start(self) -> None:
        _ACTIVE.append(self)
        self._thread.start()

    def stop(self) -> None:
        """Erase the line; nothing more is drawn."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        self._erase()
        if self in _ACTIVE:
            _ACTIVE.remove(self)

    def line(self) -> str:
        """The text of the line now."""
        elapsed = time.monotonic() - self.started
        phase = self._executions[-1].deadline.phase if self._executions else "planning"
        departments: dict[str, list[Any]] = {}
        for execution in self._executions:
            for stream in execution.streams:
                s = stream.stats
                figures = departments.setdefault(s.department, [0, 0, True])
                figures[0] += s.rows
                figures[1] += s.bytes
                figures[2] = figures[2] and s.finished
        spinner = _SPINNER[int(elapsed / INTERVAL) % len(_SPINNER)]
        parts = [f"{spinner} {elapsed:.1f}s {phase}"]
        parts += [f"{d} {r:,} rows {_size(b)}{' ✓' if done else ''}" for d, (r, b, done) in departments.items()]
        rss = _resident()
        if rss is not None:
            parts.append(f"mem {_size(rss)}")
        return " · ".join(parts)

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        while not self._stop.is_set():
            self._draw()
            self._stop.wait(INTERVAL)

    def _draw(self) -> None:
        from fedquery.boxtable import clip
        from fedquery.formats import safe

        text = clip(safe(self.line(), multiline=False), shutil.get_terminal_size().columns - 1)
        with self._lock:
            if self._stop.is_set():
                return
            self._write("\r" + text + "\x1b[K")
            self._shown = True

    def _erase(self) -> None:
        with self._lock:
            if self._shown:
                self._write("\r\x1b[K")
                self._shown = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self._stop.set()  # stderr closed: no progress, the query goes on


@contextlib.contextmanager
def reporting(federation: Any, *, enabled: bool = True, stream: IO[str] | None = None) -> Iterator[Progress]:
    """Show progress for the queries ``federation`` runs inside the block (when ``enabled`` and ``stream``,
    stderr by default, is a terminal). Yields the :class:`Progress` (``stop()`` it before writing rows)."""
    out = stream or sys.stderr
    progress = Progress(out)
    show = enabled and _isatty(out)
    if show:
        federation.on_execution = progress.watch
        progress.start()
    try:
        yield progress
    finally:
        progress.stop()
        if show:
            federation.on_execution = None


def erase_active() -> None:
    """Erase any progress line (before a message such as "Interrupted")."""
    for progress in list(_ACTIVE):
        progress.stop()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _size(n: int) -> str:
    """A byte count, short.

    >>> _size(999), _size(53_350), _size(212_000_000)
    ('999B', '53.4KB', '212.0MB')
    """
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= factor:
            return f"{n / factor:.1f}{unit}"
    return f"{n}B"


def _resident() -> int | None:
    """The process's resident memory in bytes (Linux), else None."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
