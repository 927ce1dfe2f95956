"""Keeping secrets out of what fedquery shows: reprs, messages, logs and exception chains.

A secret is any value substituted from ``${ENV:NAME}``, the password of a source's
URL, and the values of credential-like keys in ``storage_options`` (``secret``,
``token``, ``password``, ...). :class:`Secret` is a string whose repr and str are
``***``; :func:`install_log_masking` masks known secrets and URL passwords in every
log record of fedquery and of the libraries it drives (fsspec, s3fs, botocore,
aiohttp, urllib3, the database drivers), whatever handler the application uses.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
#: Keys of ``storage_options`` (and nested option tables) whose values are credentials.
SECRET_KEYS = re.compile(r"(secret|password|passwd|token|credential|account_key|sas|private|session|^key$)", re.I)
#: Secrets shorter than this are not masked as substrings (masking every "ab" would garble messages);
#: URL passwords are masked whatever their length.
MIN_SECRET_LENGTH = 4
#: Loggers of fedquery and of the libraries it drives; their records are masked.
LOGGERS = (
    "fedquery", "connectors", "fsspec", "s3fs", "gcsfs", "adlfs", "botocore", "aiobotocore", "boto3", "aiohttp",
    "urllib3", "requests", "adbc_driver_manager", "adbc_driver_postgresql", "pymysql", "connectorx", "asyncio",
)  # fmt: skip


class Secret(str):
    """A string that shows as ``***``: use :meth:`reveal` where the real value is needed.

    >>> s = Secret("hunter2")
    >>> s, str(s), f"{s}", s.reveal()
    ('***', '***', '***', 'hunter2')
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def reveal(self) -> str:
        return str.__str__(self)


def mask_url(url: str) -> str:
    """Hide the password of a connection URL.

    >>> mask_url("postgresql://ana:s3cret@db:5432/benefits")
    'postgresql://ana:***@db:5432/benefits'
    """
    return _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (longest first) and every URL password masked.

    >>> redact("login as ana/s3cret-pw at https://u:p@h/x", {"s3cret-pw"})
    'login as ana/*** at https://u:***@h/x'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SECRET_LENGTH:
            text = text.replace(secret, "***")
    return mask_url(text)


def secret_values(value: Any, key: str = "") -> set[str]:
    """The credential values inside an option value (a nested table of storage options, say).

    >>> sorted(secret_values({"key": "AKIA1", "secret": "abc123", "client_kwargs": {"region_name": "x"}}))
    ['AKIA1', 'abc123']
    """
    if isinstance(value, dict):
        return {s for k, v in value.items() for s in secret_values(v, str(k))}
    if isinstance(value, str) and key and SECRET_KEYS.search(key):
        return {value}
    return set()


def scrubbed(value: Any, secrets: Iterable[str], key: str = "") -> Any:
    """``value`` (an option, nested tables and lists included) with every secret replaced, however short.

    For what is derived from a source's identity (cache file names): no secret, not even a hash of one.

    >>> scrubbed({"url": "postgresql://a:pw@h/d", "storage_options": {"secret": "x"}, "path": "/d/pw"}, {"pw"})
    {'url': 'postgresql://a:***@h/d', 'storage_options': {'secret': '***'}, 'path': '/d/***'}
    """
    if isinstance(value, dict):
        return {k: scrubbed(v, secrets, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrubbed(v, secrets, key) for v in value]
    if isinstance(value, str):
        if key and SECRET_KEYS.search(key):
            return "***"
        text = mask_url(value)
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text
    return value


_known: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember(secrets: Iterable[str]) -> None:
    """Add secrets that log records must never show (every loaded config's secrets)."""
    with _lock:
        _known.update(s for s in secrets if s)


def install_log_masking() -> None:
    """Mask known secrets and URL passwords in the records of :data:`LOGGERS` (idempotent).

    A filter on a logger would miss records of its child loggers (``botocore.endpoint``),
    which reach handlers without passing the parent's filters; the record factory sees
    every record, so the masking holds whatever handlers the application configured.
    """
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.split(".", 1)[0] in LOGGERS:
            _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)


def _mask_record(record: logging.LogRecord) -> None:
    with _lock:
        secrets = tuple(_known)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a record whose arguments do not format is left to logging to report
        return
    record.msg, record.args = redact(message, secrets), None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info), secrets)
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)


def drop_chain(error: BaseException) -> BaseException:
    """Cut ``error`` off the exceptions it was raised while handling (driver errors may carry secrets).

    The error's own message names what failed (masked); ``__context__`` and ``__cause__`` would
    hand the driver's unmasked exception to anything that walks the chain (loggers, error trackers).
    """
    error.__cause__ = None
    error.__context__ = None
    error.__suppress_context__ = True
    return error
