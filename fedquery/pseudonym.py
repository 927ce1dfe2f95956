"""Pseudonymised linkage: ``pseudonymise(value, 'project')`` = HMAC-SHA256 keyed per project, as hex text.

The key of project ``p`` is the environment variable ``FEDQUERY_PSEUDONYM_KEY_<P>`` (the project
name upper-cased, ``-`` as ``_``), at least 16 characters, used as its UTF-8 bytes. A missing or
short key is a :class:`PseudonymKeyError` naming the variable; there is no default key.

The message is the value's canonical text: its text as DuckDB casts it to VARCHAR, UTF-8 encoded
(integers without ``.0``, text as is, nothing trimmed); NULL gives NULL. So

    token = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()   # for ints and text

The planner turns the call into a :class:`Pseudonymise` node that each dialect renders as the
same HMAC, composed from the source's own SHA-256 (HMAC = H((K ^ opad) || H((K ^ ipad) || m))):
PostgreSQL 11+ ``sha256(bytea)``, MySQL/MariaDB ``SHA2``/``UNHEX``, DuckDB ``sha256(blob)``.
PostgreSQL, MySQL/MariaDB and DuckDB files compute it inside the source for integer and text
columns (their text form of those equals DuckDB's); other sources (SQLite, CSV, Parquet) and
other types send the column and fedquery's local DuckDB computes the token before any join.

The pads derived from the key are in the statement sent to the source (it must compute the HMAC)
and in the local DuckDB's statement; everywhere fedquery *shows* SQL (EXPLAIN, ``Plan.to_dict``,
the plan hash, errors, the audit, logs) they are replaced by ``'<pseudonym key: project>'``.

>>> import os; os.environ["FEDQUERY_PSEUDONYM_KEY_DOCTEST"] = "a key of sixteen+ chars"
>>> token("AB123456C", "doctest") == token("AB123456C", "doctest") != token("AB123456D", "doctest")
True
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import threading
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.generator import Generator

from fedquery.errors import QueryError

MIN_KEY_LENGTH = 16
VARIABLE_PREFIX = "FEDQUERY_PSEUDONYM_KEY_"
_PROJECT = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_BLOCK = 64  # SHA-256's block size
#: HMAC = H((K ^ opad) || H((K ^ ipad) || text)) per dialect: :o and :i are the pads in hex, :x the value
_TEMPLATES = {
    "postgres": "ENCODE(SHA256(DECODE(:o, 'hex') || SHA256(DECODE(:i, 'hex') || "
                "CONVERT_TO(CAST(:x AS TEXT), 'UTF8'))), 'hex')",
    "mysql": "LOWER(SHA2(CONCAT(UNHEX(:o), UNHEX(SHA2(CONCAT(UNHEX(:i), "
             "CONVERT(CAST(:x AS CHAR) USING utf8mb4)), 256))), 256))",
    "duckdb": "SHA256(UNHEX(:o) || UNHEX(SHA256(UNHEX(:i) || ENCODE(CAST(:x AS VARCHAR)))))",
}  # fmt: skip
#: key material (the key, its pads in hex) -> what is shown in its place
_shown: dict[str, str] = {}
_lock = threading.Lock()


class PseudonymKeyError(QueryError):
    """``pseudonymise`` was called for a project whose key is missing or unusable; ``variable`` names it."""

    def __init__(self, message: str, *, variable: str | None = None) -> None:
        self.variable = variable
        super().__init__(message)


class Pseudonymise(exp.Expression, exp.Func):
    """``pseudonymise(this, 'project')`` after the planner checked it: rendered per dialect as the HMAC."""

    arg_types = {"this": True, "project": True}


def variable(project: str) -> str:
    """The environment variable holding ``project``'s key.

    >>> variable("support-2026")
    'FEDQUERY_PSEUDONYM_KEY_SUPPORT_2026'
    """
    return VARIABLE_PREFIX + project.upper().replace("-", "_")


def keys_digest() -> str:
    """A digest of every project's key in the environment ("" when there is none): it changes when a
    key does, and tells nothing of the keys (the plan cache keys plans by it)."""
    found = sorted((k, v) for k, v in os.environ.items() if k.startswith(VARIABLE_PREFIX))
    if not found:
        return ""
    digest = hashlib.sha256()
    for name, value in found:
        digest.update(f"{len(name)}:{name}{len(value)}:{value}".encode())
    return digest.hexdigest()


def key(project: str) -> bytes:
    """``project``'s key from the environment (a typed error naming the variable when missing)."""
    if not _PROJECT.match(project):
        raise PseudonymKeyError(
            f"pseudonymise: project {project!r} must be a name of letters, digits, '_' or '-' (starting with a letter)"
        )
    name = variable(project)
    value = os.environ.get(name)
    if value is None:
        raise PseudonymKeyError(f"pseudonymise: no key for project {project!r}: set {name}", variable=name)
    if len(value) < MIN_KEY_LENGTH:
        raise PseudonymKeyError(
            f"pseudonymise: the key in {name} is shorter than {MIN_KEY_LENGTH} characters", variable=name
        )
    shown = f"<pseudonym key: {project}>"
    with _lock:
        _shown[value] = shown
    return value.encode()


def pads(project: str) -> tuple[str, str]:
    """The HMAC's inner and outer pads of ``project``'s key, as hex (registered for redaction)."""
    material = key(project)
    if len(material) > _BLOCK:
        material = hashlib.sha256(material).digest()
    material = material.ljust(_BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in material).hex()
    outer = bytes(b ^ 0x5C for b in material).hex()
    shown = f"<pseudonym key: {project}>"
    with _lock:
        for text in (inner, outer, inner.upper(), outer.upper()):
            _shown[text] = shown
    from fedquery.secrets import remember

    remember([inner, outer, material.decode("utf-8", "replace").rstrip("\0")])  # masked in every log record
    return inner, outer


def canonical(value: Any) -> str | None:
    """The text a value is hashed as (DuckDB's VARCHAR cast for ints and text; None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def token(value: Any, project: str) -> str | None:
    """The pseudonym of ``value`` in ``project``, computed in Python (the reference for every dialect)."""
    text = canonical(value)
    if text is None:
        return None
    return hmac.new(key(project), text.encode(), hashlib.sha256).hexdigest()


def redact_keys(text: str) -> str:
    """``text`` with every pseudonym key and key-derived pad replaced by ``<pseudonym key: project>``.

    >>> inner, outer = pads("doctest")
    >>> redact_keys(f"UNHEX('{inner}')")
    "UNHEX('<pseudonym key: doctest>')"
    """
    with _lock:
        known = sorted(_shown.items(), key=lambda kv: len(kv[0]), reverse=True)
    for secret, shown in known:
        if secret in text:
            text = text.replace(secret, shown)
    return text


def rewrite(expression: exp.Expr) -> exp.Expr:
    """Every ``pseudonymise(x, 'project')`` call in ``expression`` as a checked :class:`Pseudonymise`
    (a typed error for a wrong call or a missing key)."""
    for call in list(expression.find_all(exp.Anonymous)):
        if call.name.lower() not in ("pseudonymise", "pseudonymize"):
            continue
        args = call.expressions
        if len(args) != 2 or not (isinstance(args[1], exp.Literal) and args[1].is_string):
            raise QueryError("pseudonymise takes a value and a project name as a string: pseudonymise(nino, 'support')")
        project = args[1].this
        pads(project)  # the key must exist now, at planning, not when a source runs the statement
        call.replace(Pseudonymise(this=args[0], project=exp.Literal.string(project)))
    return expression


def _pseudonymise_sql(self: Generator, expression: Pseudonymise) -> str:
    """The HMAC in this generator's dialect (postgres, mysql, or DuckDB's for every other)."""
    dialect = type(self.dialect).__name__.lower() if self.dialect is not None else "duckdb"
    template = _TEMPLATES.get(dialect, _TEMPLATES["duckdb"])
    read = dialect if dialect in _TEMPLATES else "duckdb"
    inner, outer = pads(expression.args["project"].this)
    values = {"i": exp.Literal.string(inner), "o": exp.Literal.string(outer), "x": expression.this.copy()}
    tree = sqlglot.parse_one(template, read=read)
    for placeholder in list(tree.find_all(exp.Placeholder)):
        placeholder.replace(values[placeholder.name].copy())
    return self.sql(tree)


# sqlglot dispatches on ``<key>_sql`` methods of the expression classes it knows, cached per generator.
exp.EXPR_CLASSES["pseudonymise"] = Pseudonymise
Generator.pseudonymise_sql = _pseudonymise_sql  # type: ignore[attr-defined]
sqlglot.generator._DISPATCH_CACHE.clear()
