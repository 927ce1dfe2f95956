"""The kept threads that read fragments and plan queries (fedquery.workers)."""

from __future__ import annotations

import contextvars
import threading

from fedquery.workers import Workers

_seen: contextvars.ContextVar[str] = contextvars.ContextVar("seen", default="unset")


def _run(pool: Workers, task: object) -> threading.Event:
    done = threading.Event()

    def wrapped() -> None:
        try:
            task()  # type: ignore[operator]
        finally:
            done.set()

    assert pool.start(wrapped)
    return done


def test_a_finished_thread_takes_the_next_task() -> None:
    pool = Workers("test-workers")
    idents: list[int] = []
    for _ in range(5):
        done = _run(pool, lambda: idents.append(threading.get_ident()))
        assert done.wait(5)
        for _ in range(100):  # the thread marks itself idle just after the task
            if pool.idle:
                break
            threading.Event().wait(0.01)
    assert len(set(idents)) == 1


def test_tasks_that_wait_for_each_other_never_queue_behind_each_other() -> None:
    pool = Workers("test-workers")
    produced = threading.Event()
    consumer = _run(pool, lambda: produced.wait(5) or None)  # busy until the producer runs
    producer = _run(pool, produced.set)
    assert producer.wait(5) and consumer.wait(5)


def test_nothing_a_task_binds_is_seen_by_the_next() -> None:
    pool = Workers("test-workers", idle_seconds=5)
    seen: list[str] = []
    assert _run(pool, lambda: _seen.set("first query")).wait(5)
    assert _run(pool, lambda: seen.append(_seen.get())).wait(5)
    assert seen == ["unset"]


def test_a_failing_task_leaves_the_thread_working() -> None:
    pool = Workers("test-workers")

    def boom() -> None:
        raise RuntimeError("boom")

    assert _run(pool, boom).wait(5)
    ran: list[bool] = []
    assert _run(pool, lambda: ran.append(True)).wait(5)
    assert ran == [True]


def test_an_idle_thread_ends() -> None:
    pool = Workers("test-workers-idle", idle_seconds=0.05)
    assert _run(pool, lambda: None).wait(5)
    for _ in range(200):
        if not any(t.name == "test-workers-idle" for t in threading.enumerate()):
            break
        threading.Event().wait(0.01)
    assert not any(t.name == "test-workers-idle" for t in threading.enumerate())
    assert pool.idle == 0
