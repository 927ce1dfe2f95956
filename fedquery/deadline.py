"""A query's deadline and cancellation, shared by the executor and the connectors.

One :class:`Deadline` per query (``Federation.sql``): it expires on its own timer
and can be cancelled from any thread (``Result.cancel()``, ``Federation.interrupt()``,
Ctrl-C in the CLI). Whatever is running registers a cancel hook (``on_cancel``)
while it runs: a PostgreSQL cursor's cancel request, a MariaDB ``KILL QUERY``
from a side connection, the local DuckDB's interrupt. Cancelling runs the hooks
at once, in the cancelling thread, so the statements end at the sources instead
of running on until their own timeouts.

Each execution of the query (a top-N retry runs it again) works in a
:meth:`Deadline.scope`: a child that the parent's cancel reaches, and that the
execution closes on its own when it ends without cancelling the query.

Connectors find the deadline of the fragment they read with :func:`current`
(the executor sets it in every thread it starts), so the connector interface
``scan(fragment)`` stays as it is.

>>> d = Deadline(60)
>>> d.cancelled, round(d.remaining() or 0) <= 60
(False, True)
>>> d.cancel(); d.cancelled, d.reason
(True, 'cancelled')
>>> d.finish()
"""

from __future__ import annotations

import contextlib
import contextvars
import heapq
import itertools
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator

from fedquery.errors import QueryCancelledError, QueryTimeoutError

_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("fedquery_deadline", default=None)
_ids = itertools.count()


class Deadline:
    """When a query must end, whether it was cancelled, and what to stop when it is."""

    def __init__(self, timeout: float | None = None, *, parent: Deadline | None = None) -> None:
        self.parent = parent
        self.timeout: float | None = parent.timeout if parent is not None else timeout
        self.started = time.monotonic()
        self.expires: float | None = (
            parent.expires if parent is not None else (self.started + timeout if timeout else None)
        )
        self._reason: str | None = None
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: dict[int, Callable[[], None]] = {}
        self._children: list[Deadline] = []
        self._phase = "planning"
        self._timer: int | None = None
        self._finished = False
        if parent is not None:
            parent._adopt(self)
        elif timeout and self.expires is not None:
            # The timer holds the deadline weakly: a query dropped unread must not be kept alive (and its
            # local tables held) by a timer still waiting for its deadline.
            self._timer = _TIMERS.add(self.expires, weakref.ref(self))

    # -- state ------------------------------------------------------------------------------------
    @property
    def root(self) -> Deadline:
        return self.parent.root if self.parent is not None else self

    @property
    def phase(self) -> str:
        """Where the query is: planning, fetch, local step or output (kept by the root)."""
        return self.root._phase

    @phase.setter
    def phase(self, value: str) -> None:
        self.root._phase = value

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    @property
    def reason(self) -> str | None:
        """``timeout``, ``cancelled``, or ``closed`` (a scope ended by its own execution), once set."""
        return self._reason

    def expired(self) -> bool:
        return self.expires is not None and time.monotonic() >= self.expires

    def remaining(self) -> float | None:
        """Seconds left (never below 0), or None without a deadline."""
        return None if self.expires is None else max(0.0, self.expires - time.monotonic())

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once when cancelled; True if cancelled."""
        return self._event.wait(seconds)

    # -- cancelling -------------------------------------------------------------------------------
    def cancel(self, reason: str = "cancelled") -> None:
        """Stop everything registered here and in every scope below; callable from any thread."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            hooks = list(self._hooks.values())
            self._hooks.clear()
            children = list(self._children)
        self._event.set()
        for child in children:
            child.cancel(reason)
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - a cancel request that fails must not stop the others
                pass

    def on_cancel(self, hook: Callable[[], None]) -> int:
        """Run ``hook`` when cancelled (at once if already); returns a handle for :meth:`discard`."""
        handle = next(_ids)
        with self._lock:
            if self._reason is None:
                self._hooks[handle] = hook
                return handle
        try:
            hook()
        except Exception:  # noqa: BLE001 - as in cancel()
            pass
        return handle

    def discard(self, handle: int) -> None:
        """The thing ``handle`` would stop has ended by itself."""
        with self._lock:
            self._hooks.pop(handle, None)

    def scope(self) -> Deadline:
        """A child for one execution: cancelled with this one, closed on its own."""
        return Deadline(parent=self)

    def close(self) -> None:
        """End a scope: run what is still registered (statements still running are cancelled) without
        cancelling the parent."""
        self.cancel("closed")
        if self.parent is not None:
            with self.parent._lock:
                if self in self.parent._children:
                    self.parent._children.remove(self)

    def finish(self) -> None:
        """The query is over: stop the timer; later cancels do nothing."""
        if self._timer is not None:
            _TIMERS.discard(self._timer)
        with self._lock:
            self._finished = True
            self._hooks.clear()
            self._children.clear()

    @property
    def finished(self) -> bool:
        return self._finished

    def _adopt(self, child: Deadline) -> None:
        with self._lock:
            if self._reason is None:
                self._children.append(child)
                return
        child.cancel(self._reason)

    # -- errors -----------------------------------------------------------------------------------
    def check(self, running: Iterable[str] = ()) -> None:
        """Raise the typed error if the query was cancelled or its deadline passed."""
        if self.cancelled or self.expired():
            raise self.error(running)

    def error(self, running: Iterable[str] = (), **facts: str) -> QueryCancelledError:
        """The typed error for this cancellation: a timeout if the deadline passed, else a cancel."""
        root = self.root
        timed_out = root.reason == "timeout" or (root.reason is None and self.expired())
        cls = QueryTimeoutError if timed_out else QueryCancelledError
        return cls(phase=self.phase, running=running, timeout=self.timeout, **facts)

    @property
    def stopped(self) -> bool:
        """Cancelled or timed out by the query's owner (not a scope closed after its own end)."""
        root = self.root
        return root.reason in ("timeout", "cancelled") or self.expired()

    def __repr__(self) -> str:
        left = self.remaining()
        return f"<Deadline {self.phase} {'none' if left is None else f'{left:.1f}s left'} {self.reason or ''}>"


def current() -> Deadline:
    """The deadline of the query this thread works for (one that never expires outside a query)."""
    deadline = _current.get()
    return deadline if deadline is not None else _NONE


def bind(deadline: Deadline) -> None:
    """Make ``deadline`` :func:`current` in this thread (the executor calls it in the threads it starts)."""
    _current.set(deadline)


@contextlib.contextmanager
def bound(deadline: Deadline) -> Iterator[Deadline]:
    """:func:`current` is ``deadline`` in this thread for the block (planning runs in the caller's thread)."""
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def seconds_for_source(deadline: Deadline, ceiling: float, margin: float = 0.25) -> float:
    """A statement timeout for a source: the time left plus a margin (the cancel request is meant to
    arrive first; the server's own timeout is the backstop), never above the source's ``ceiling``.

    >>> seconds_for_source(Deadline(None), 300.0)
    300.0
    """
    left = deadline.remaining()
    return ceiling if left is None else min(ceiling, left + margin)


class _Timers:
    """The deadlines' timers, all on one thread (a ``threading.Timer`` per query cost a thread start,
    1-2 ms on a loaded machine, on every query).

    A heap of (expiry, handle, deadline reference); a discarded timer is dropped when it reaches the
    top, or all at once when most of the heap is discarded timers.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, weakref.ref[Deadline]]] = []
        self._discarded: set[int] = set()
        self._thread: threading.Thread | None = None

    def add(self, when: float, ref: weakref.ref[Deadline]) -> int:
        handle = next(_ids)
        with self._cond:
            heapq.heappush(self._heap, (when, handle, ref))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fedquery-deadlines", daemon=True)
                self._thread.start()
            self._cond.notify()
        return handle

    def discard(self, handle: int) -> None:
        with self._cond:
            self._discarded.add(handle)
            if len(self._discarded) > 64 and 2 * len(self._discarded) > len(self._heap):
                self._heap = [entry for entry in self._heap if entry[1] not in self._discarded]
                heapq.heapify(self._heap)
                self._discarded.clear()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][1] in self._discarded:
                        self._discarded.discard(heapq.heappop(self._heap)[1])
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay <= 0:
                        _, _, ref = heapq.heappop(self._heap)
                        break
                    self._cond.wait(delay)
            _expire(ref)


_TIMERS = _Timers()


def _after_fork() -> None:
    global _TIMERS
    _TIMERS = _Timers()  # a forked child has none of its parent's threads (nor its locks' owners)


os.register_at_fork(after_in_child=_after_fork)
_NONE = Deadline(None)


def _expire(ref: weakref.ref[Deadline]) -> None:
    deadline = ref()
    if deadline is not None:
        deadline.cancel(reason="timeout")
