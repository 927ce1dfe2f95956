"""Threads kept for the next task, so a query does not pay a thread start for each piece of its work.

Starting a thread costs 0.3-2 ms (more on a loaded machine): on a query that is otherwise a
few milliseconds (a LIMIT or a ``count(*)`` over a Parquet file) that is a fixed cost worth
removing. A :class:`Workers` pool hands a task to an idle thread of its own, or starts a new
one when every thread is busy: it never queues a task behind another, because tasks may wait
for each other (a semi-join consumer waits for its producer). A thread idle for
``idle_seconds`` ends.

Each task runs in a new, empty :mod:`contextvars` context, so nothing a task binds (a query's
deadline) is seen by the next task on the same thread.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable


class Workers:
    """A pool of daemon threads named ``name`` (``stack_bytes``: each thread's stack, None for the default)."""

    def __init__(self, name: str, stack_bytes: int | None = None, idle_seconds: float = 60.0) -> None:
        self.name = name
        self.stack_bytes = stack_bytes
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0  # threads waiting on _tasks

    def start(self, task: Callable[[], None]) -> bool:
        """Run ``task`` on an idle thread, or a new one; False if no thread could be started.

        ``task`` must not raise: what it raises is lost (it hands its outcome over itself)."""
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                self._tasks.put(task)
                return True
            old_size = threading.stack_size()
            try:
                if self.stack_bytes is not None:
                    threading.stack_size(self.stack_bytes)
                threading.Thread(target=self._worker, args=(task,), name=self.name, daemon=True).start()
            except (RuntimeError, ValueError, MemoryError):
                return False
            finally:
                if self.stack_bytes is not None:
                    threading.stack_size(old_size)
        return True

    @property
    def idle(self) -> int:
        """Threads waiting for a task."""
        return self._idle

    def _worker(self, task: Callable[[], None]) -> None:
        while True:
            try:
                contextvars.Context().run(task)
            except BaseException:  # noqa: BLE001, S110 - a task hands its own outcome over; the thread goes on
                pass
            with self._lock:
                self._idle += 1
            try:
                task = self._tasks.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    try:
                        task = self._tasks.get_nowait()  # handed over while this thread was timing out
                    except queue.Empty:
                        self._idle -= 1
                        return
