"""The audit log: one hash-chained JSON line per query event, appended by every query.

Where: ``[settings] audit_log = "path"`` (relative to the catalog file). Default: ``audit.jsonl``
beside the catalog file; a dict config (no file) has no log unless ``audit_log`` is set;
``audit_log = false`` turns it off.

Events. ``start`` is written after planning and before any fragment is sent; if it cannot be
written the query fails with :class:`~fedquery.errors.AuditError` and nothing is sent (fail
closed: an unaudited query does not run). ``end`` is written when the query ends: its result read
to the end, a failure, ``Result.close()``, its reader collected after reading began, or the Result
collected before its reader was taken); it carries the rows returned, the fragments' remote SQL as
actually sent (semi-join key lists summarised as ``IN (<2,911 keys>)``) and the outcome. A query
whose process died leaves only its ``start`` record (shown as ``unfinished``).
A query refused while planning (bad SQL, unknown table, access denied) and an EXPLAIN without
ANALYZE leave one ``end`` record.

Chain. Each record carries ``prev`` (the previous record's ``hash``; the first :data:`GENESIS`)
and ``hash`` = sha256(prev + canonical JSON of the record without ``hash``) (sorted keys, no
spaces, UTF-8). Writers take an exclusive ``flock`` on the file (threads and processes) and
append with ``O_APPEND``. :meth:`AuditLog.verify` names the first record that breaks the chain.
Removing records from the END of the log cannot be seen from the log alone: keep the head hash
``verify`` prints somewhere else and pass it back as ``expect_head``.

>>> import tempfile, pathlib
>>> log = AuditLog(pathlib.Path(tempfile.mkdtemp()) / "audit.jsonl")
>>> _ = log.append({"event": "end", "sql": "SELECT 1"})
>>> log.verify().records
1
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedquery.errors import AuditError, AuditIntegrityError

if TYPE_CHECKING:
    from fedquery.config import Config

#: ``prev`` of the first record
GENESIS = "0" * 64
_LOCK = threading.Lock()


def canonical(body: dict[str, Any]) -> str:
    """The text a record's hash is computed over: sorted keys, no spaces.

    >>> canonical({"b": 1, "a": "é"})
    '{"a":"é","b":1}'
    """
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(body: dict[str, Any]) -> str:
    """sha256(prev + canonical(body without ``hash``))."""
    rest = {k: v for k, v in body.items() if k != "hash"}
    return hashlib.sha256((str(body.get("prev", "")) + canonical(rest)).encode()).hexdigest()


@dataclass(frozen=True)
class VerifyReport:
    """A log that verified: how many records, and the hash of the last one (keep it elsewhere)."""

    path: str
    records: int
    head: str


class AuditLog:
    """An append-only, hash-chained JSON-lines file."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def append(self, body: dict[str, Any]) -> dict[str, Any]:
        """Chain ``body`` to the last record and append it (under the file lock); returns the record."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _LOCK:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    record = dict(body)
                    record["prev"] = self._last_hash()
                    record["hash"] = record_hash(record)
                    data = (canonical(record) + "\n").encode()
                    if os.write(fd, data) != len(data):
                        raise OSError("short write")
                    os.fsync(fd)
                finally:
                    os.close(fd)  # closing releases the lock
        except OSError as exc:
            raise AuditError(f"cannot be written ({exc.strerror or exc})", path=str(self.path)) from None
        return record

    def _last_hash(self) -> str:
        """The hash of the last complete record (read backwards from the end)."""
        line = _last_line(self.path)
        if line is None:
            return GENESIS
        try:
            value = json.loads(line)["hash"]
            return str(value)
        except (ValueError, KeyError, TypeError):
            # A damaged tail: chain to a hash of its bytes, so verify reports the damage, never hides it.
            return hashlib.sha256(line.encode()).hexdigest()

    def lines(self) -> Iterator[tuple[int, str]]:
        try:
            with open(self.path, encoding="utf-8", newline="") as handle:
                yield from enumerate(handle, start=1)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise AuditError(f"cannot be read ({exc.strerror or exc})", path=str(self.path)) from None

    def verify(self, expect_head: str | None = None) -> VerifyReport:
        """Check the chain; raise :class:`AuditIntegrityError` naming the first bad record."""
        where = str(self.path)
        records: list[dict[str, Any]] = []
        for number, text in self.lines():
            if not text.endswith("\n"):
                raise AuditIntegrityError("truncated: the last record is incomplete", path=where, line=number)
            try:
                record = json.loads(text)
            except ValueError:
                raise AuditIntegrityError(
                    "not JSON (the line was edited or damaged)", path=where, line=number
                ) from None
            if not isinstance(record, dict) or not isinstance(record.get("hash"), str):
                raise AuditIntegrityError("not an audit record (no hash)", path=where, line=number)
            records.append(record)
        own = [r["hash"] == record_hash(r) for r in records]
        hashes = {r["hash"]: i for i, r in enumerate(records)}
        for i, record in enumerate(records):
            expected = records[i - 1]["hash"] if i else GENESIS
            if record.get("prev") != expected:
                line, problem = _broken_link(records, i, hashes)
                raise AuditIntegrityError(problem, path=where, line=line)
            if not own[i]:
                raise AuditIntegrityError("edited: its content does not match its hash", path=where, line=i + 1)
        head = records[-1]["hash"] if records else GENESIS
        if expect_head is not None and head != expect_head:
            where_head = hashes.get(expect_head)
            problem = (
                f"truncated: records after line {where_head + 1} were removed"
                if where_head is not None
                else "the expected head hash is not in the log (records were removed from its end or it was replaced)"
            )
            raise AuditIntegrityError(problem, path=where, line=len(records) + 1)
        return VerifyReport(where, len(records), head)

    def records(
        self,
        *,
        user: str | None = None,
        department: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        outcome: str | None = None,
    ) -> list[dict[str, Any]]:
        """One dict per query (its ``end`` record merged over its ``start``; ``outcome`` ``unfinished``
        for a query with a start and no end), filtered; oldest first."""
        low, high = _instant(since, "since"), _instant(until, "until")
        queries: dict[str, dict[str, Any]] = {}
        for _, text in self.lines():
            try:
                record = json.loads(text)
            except ValueError:
                continue  # verify reports it; show shows what can be read
            if not isinstance(record, dict):
                continue
            key = str(record.get("query", id(record)))
            merged = queries.setdefault(key, {"outcome": "unfinished"})
            merged.update({k: v for k, v in record.items() if v is not None or k not in merged})
        out = []
        for q in queries.values():
            when = _instant(q.get("time"), "time") if q.get("time") else None
            if user is not None and q.get("user") != user:
                continue
            if department is not None and department not in (q.get("departments") or []):
                continue
            if outcome is not None and q.get("outcome") != outcome:
                continue
            if low is not None and (when is None or when < low):
                continue
            if high is not None and (when is None or when > high):
                continue
            out.append(q)
        return out


def _broken_link(records: list[dict[str, Any]], i: int, hashes: dict[str, int]) -> tuple[int, str]:
    """The first bad line and why, when record ``i``'s ``prev`` is not the previous record's hash."""
    expected = records[i - 1]["hash"] if i else GENESIS
    following = records[i + 1].get("prev") if i + 1 < len(records) else None
    prev = str(records[i].get("prev"))
    if hashes.get(prev, -1) >= i:  # links to a record that comes later
        return i + 1, f"reordered: this record follows line {hashes[prev] + 1} in the chain"
    if following == expected:
        return i + 1, "inserted: this record is not part of the chain (the next record links over it)"
    before = records[i - 2]["hash"] if i >= 2 else GENESIS
    if i >= 1 and prev == before:
        return i, "inserted: this record is not part of the chain (the next record links over it)"
    if prev in hashes:
        return i + 1, f"reordered: this record follows line {hashes[prev] + 1} in the chain"
    if i == 0:
        return 1, "removed: the log does not start at the genesis (its first records were removed)"
    if prev == GENESIS:
        return i + 1, "reordered: this record is the chain's first"
    return i + 1, (
        f"removed or edited: the record before it (line {i}) was edited and re-hashed, or records between were removed"
    )


def _last_line(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            if end == 0:
                return None
            size, data = 4096, b""
            while True:
                start = max(0, end - size)
                handle.seek(start)
                data = handle.read(end - start)
                body = data[:-1] if data.endswith(b"\n") else data
                cut = body.rfind(b"\n")
                if cut >= 0 or start == 0:
                    return body[cut + 1 :].decode("utf-8", "replace")
                size *= 4
    except FileNotFoundError:
        return None


def _instant(value: Any, what: str) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.astimezone(timezone.utc) if isinstance(value, datetime) and value.tzinfo else value
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise AuditError(f"{what}: {value!r} is not an ISO 8601 time (2026-11-27T18:00:00Z)", path="-") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def log_path(config: Config) -> Path | None:
    """Where ``config``'s audit log lives (None: off)."""
    setting = config.settings.audit_log
    if setting is False or setting == "":
        return None
    base = config.path.parent if config.path is not None else Path.cwd()
    if setting is None or setting is True:
        return None if config.path is None else base / "audit.jsonl"
    return base / str(setting)
