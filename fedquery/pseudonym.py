"""Pseudonymised linkage: ``pseudonymise(column, 'project')`` (filled in below)."""

from __future__ import annotations

import threading

_shown: dict[str, str] = {}
_lock = threading.Lock()


def redact_keys(text: str) -> str:
    """``text`` with every pseudonym key and key-derived pad replaced by ``<pseudonym key: project>``."""
    with _lock:
        known = sorted(_shown.items(), key=lambda kv: len(kv[0]), reverse=True)
    for secret, shown in known:
        text = text.replace(secret, shown)
    return text
