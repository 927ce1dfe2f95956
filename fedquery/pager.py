"""Long terminal output through a pager, as psql and git do.

Only on a terminal, only when the text is taller than the screen, and only when
``--no-pager`` was not given. The pager is ``$PAGER`` (an empty ``PAGER`` turns it
off), else ``less`` where installed; ``less`` gets ``LESS=FRSX`` unless ``$LESS`` is
set (quit if one screen, raw colours, chop long lines instead of wrapping them,
keep the screen), so a wide table scrolls sideways instead of wrapping.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys


def command() -> str | None:
    """The pager to run, or None."""
    pager = os.environ.get("PAGER")
    if pager is not None:
        return pager.strip() or None
    return "less" if shutil.which("less") else None


def wanted(text: bytes) -> bool:
    """Is ``text`` taller than the terminal (and is there a pager to show it)?"""
    if not sys.stdout.isatty() or command() is None:
        return False
    return text.count(b"\n") >= shutil.get_terminal_size().lines - 1


def page(text: bytes) -> None:
    """Show ``text`` in the pager (on standard output if it cannot be started). Ctrl-C goes to the pager
    (it is ours to ignore while the pager runs); quitting the pager early is not an error."""
    pager = command()
    if pager is None:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return
    env = dict(os.environ)
    env.setdefault("LESS", "FRSX")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # A shell runs $PAGER, as git and psql run it: it may carry arguments ("less -S").
        process = subprocess.Popen(pager, shell=True, stdin=subprocess.PIPE, env=env)  # noqa: S602
    except OSError:
        signal.signal(signal.SIGINT, previous)
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return
    try:
        assert process.stdin is not None
        try:
            process.stdin.write(text)
            process.stdin.close()
        except BrokenPipeError:
            pass  # the pager was quit before reading everything
        if process.wait() == 127:  # the shell found no such program: the text is not lost
            sys.stdout.buffer.write(text)
            sys.stdout.flush()
    finally:
        signal.signal(signal.SIGINT, previous)
