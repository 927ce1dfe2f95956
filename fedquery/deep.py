"""Room for deep queries: planning runs on a thread with a large stack and a raised recursion limit.

sqlglot's parser, optimizer rules and generator recurse once (or a few times) per level
of the expression tree, so a 1,000-term ``OR`` (a left-deep chain 1,000 levels deep), a
48-table join or 100 nested subqueries exceed Python's default limit of 1,000 frames.
Measured (2026-11-27): those three need about 4,000 frames; at :data:`RECURSION_LIMIT`
the planner takes a 5,000-term ``OR`` (24 s) and 100 nested subqueries (3 s).

The limit is raised only while a deep call runs (counted, so concurrent plans share it)
and restored afterwards; the frames live on the planning thread's own
:data:`STACK_BYTES` stack (reserved address space, touched only as deep as used), so
the main thread's smaller C stack is never asked to hold them. Deeper queries fail with
a typed :class:`~fedquery.errors.PlanError`.

Planning threads are kept: one that finishes waits (a minute) for the next plan, so a query does
not pay a thread start (1-2 ms on a loaded machine); a new one is started only when all are busy.
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fedquery.errors import PlanError
from fedquery.workers import Workers

#: Python frames a planning thread may use.
RECURSION_LIMIT = 20_000
#: The planning thread's stack: enough for RECURSION_LIMIT frames of sqlglot's recursion.
STACK_BYTES = 512 * 1024 * 1024

T = TypeVar("T")
_lock = threading.Lock()
_active = 0
_previous_limit = 0
#: planning threads, kept for the next plan (a minute)
_planners = Workers("fedquery-plan", STACK_BYTES)


def deep_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` on a thread with room for deep recursion; its exception is re-raised here."""
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()  # the caller's query deadline (fedquery.deadline.current) goes along

    def target() -> None:
        try:
            outcome["value"] = context.run(fn, *args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread as is
            outcome["error"] = exc

    done = threading.Event()

    def task() -> None:
        try:
            target()
        finally:
            done.set()

    _enter()  # before the thread runs it: it must find the raised limit
    try:
        started = _planners.start(task)
        if started:
            while not done.wait(0.1):  # a short wait, so Ctrl-C reaches the caller
                pass
    finally:
        _leave()
    if not started:
        # No room for a big stack (a tight ulimit -v): plan here, within Python's own limit.
        try:
            return fn(*args, **kwargs)
        except RecursionError:
            raise _too_deep() from None
    error = outcome.get("error")
    if isinstance(error, RecursionError):
        raise _too_deep() from None
    if error is not None:
        raise error
    return outcome["value"]  # type: ignore[no-any-return]


def _too_deep() -> PlanError:
    return PlanError(
        f"the query is nested too deeply to plan (more than {RECURSION_LIMIT:,} levels of recursion); "
        "split it, or replace long OR chains with IN lists"
    )


def _enter() -> None:
    global _active, _previous_limit
    with _lock:
        if _active == 0:
            _previous_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_previous_limit, RECURSION_LIMIT))
        _active += 1


def _leave() -> None:
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            sys.setrecursionlimit(_previous_limit)
