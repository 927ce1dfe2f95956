"""A department's access-rules file: loaded, checked, cached until it changes, matched per principal.

The format follows Trino's file-based access control, so administrators recognise it (TOML, or
JSON with the same keys)::

    [keys]                      # semi-join key shipping (default: both allowed)
    send = true                 # this department's join keys may be sent to other departments
    receive = true              # other departments' keys may be sent here

    [[tables]]                  # ordered: the first rule that matches wins; no match denies
    group = "dwp_analysts"      # full-match regular expressions; absent = any
    purpose = "benefit-review"
    table = "claims"            # over the table's name within the department
    privileges = ["SELECT"]     # or [] to deny
    columns = [
      { name = "person_id", mask = "'***' || right(person_id, 3)" },
      { name = "notes", allow = false },
    ]                           # columns not listed are allowed as they are
    filter = "region = current_user"   # ``current_user`` / ``current_purpose`` become literals

Every problem is a :class:`~fedquery.errors.RulesError` naming the file and line; the caller
(:mod:`fedquery.policy.access`) then denies the whole department, never opens it.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from fedquery.errors import RulesError
from fedquery.principal import Principal

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

RULE_KEYS = ("user", "group", "purpose", "table", "privileges", "columns", "filter", "description")
COLUMN_KEYS = ("name", "mask", "allow")
#: names a filter may use for the principal's attributes (bound as literals)
PRINCIPAL_NAMES = ("current_user", "current_purpose")
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class ColumnRule:
    name: str
    mask: exp.Expr | None = None
    allow: bool = True
    line: int | None = None


@dataclass(frozen=True)
class TableRule:
    """One ``[[tables]]`` entry. ``index`` counts from 1, as an administrator would."""

    index: int
    line: int | None
    user: re.Pattern[str] | None = None
    group: re.Pattern[str] | None = None
    purpose: re.Pattern[str] | None = None
    table: re.Pattern[str] | None = None
    select: bool = True
    columns: tuple[ColumnRule, ...] = ()
    filter: exp.Expr | None = None
    filter_line: int | None = None

    def matches(self, principal: Principal, table: str) -> bool:
        if self.user is not None and not self.user.fullmatch(principal.user):
            return False
        if self.group is not None and not any(self.group.fullmatch(g) for g in principal.groups):
            return False
        if self.purpose is not None and (principal.purpose is None or not self.purpose.fullmatch(principal.purpose)):
            return False
        return self.table is None or bool(self.table.fullmatch(table))


@dataclass(frozen=True)
class Rules:
    """A parsed rules file."""

    path: str
    tables: tuple[TableRule, ...] = ()
    send_keys: bool = True
    receive_keys: bool = True
    text: str = field(default="", repr=False)

    def match(self, principal: Principal, table: str) -> TableRule | None:
        """The first rule that matches, or None (deny)."""
        for rule in self.tables:
            if rule.matches(principal, table):
                return rule
        return None

    def line_of(self, needle: str, start: int | None = None) -> int | None:
        """The first line (from ``start``) whose text contains ``needle``: where a semantic error points."""
        for number, text in enumerate(self.text.splitlines(), start=1):
            if (start is None or number >= start) and needle in text:
                return number
        return None


_cache: dict[str, tuple[tuple[int, int], Rules | RulesError]] = {}
_lock = threading.Lock()


def file_stamp(path: Path) -> tuple[int, int]:
    """What tells a changed rules file: its modification time (ns) and size. Raises OSError."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def load_rules(path: Path, department: str | None = None, shown: str | None = None) -> Rules:
    """The rules in ``path``, re-read whenever the file's modification time or size changes.

    Raises :class:`RulesError` (naming the file, as ``shown``, and line) for a missing, unreadable or
    wrong file; the error is cached like a good file, until the file changes.
    """
    key = shown or str(path)
    try:
        stamp = file_stamp(path)
    except OSError as exc:
        raise RulesError(
            f"cannot read it ({exc.strerror or type(exc).__name__})", path=key, department=department
        ) from None
    with _lock:
        cached = _cache.get(str(path))
    if cached is None or cached[0] != stamp or _shown(cached[1]) != key:
        try:
            loaded: Rules | RulesError = parse_rules(path.read_text(encoding="utf-8"), key, department)
        except RulesError as exc:
            loaded = exc
        except (OSError, UnicodeDecodeError) as exc:
            loaded = RulesError(f"cannot read it ({type(exc).__name__})", path=key, department=department)
        cached = (stamp, loaded)
        with _lock:
            _cache[str(path)] = cached
    if isinstance(cached[1], RulesError):
        raise cached[1]
    return cached[1]


def _shown(loaded: Rules | RulesError) -> str:
    return loaded.path


def parse_rules(text: str, path: str, department: str | None = None) -> Rules:
    """Parse a rules file's text (TOML, or JSON where ``path`` ends in ``.json``).

    >>> rules = parse_rules('[[tables]]\\ntable = "claims"\\nprivileges = ["SELECT"]\\n', "dwp.toml")
    >>> rules.match(Principal.of("ana"), "claims").index, rules.match(Principal.of("ana"), "other")
    (1, None)
    """

    def fail(message: str, line: int | None = None) -> RulesError:
        return RulesError(message, path=path, line=line, department=department)

    if path.lower().endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise fail(f"not valid JSON: {exc.msg}", exc.lineno) from None
        headers: list[int | None] = []
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            line = int(found.group(1)) if found else max(1, len(text.splitlines()))  # "at end of document"
            raise fail(f"not valid TOML: {str(exc).split(' (at ')[0]}", line) from None
        headers = [n for n, line in enumerate(text.splitlines(), start=1) if re.match(r"\s*\[\[\s*tables\s*\]\]", line)]
    if not isinstance(data, dict):
        raise fail("the file must hold a table (object) with [[tables]] rules")
    unknown = set(data) - {"tables", "keys"}
    if unknown:
        raise fail(
            f"unknown top-level key(s) {sorted(unknown)}; expected 'tables' and 'keys'", _find(text, sorted(unknown)[0])
        )
    keys = data.get("keys", {})
    if (
        not isinstance(keys, dict)
        or set(keys) - {"send", "receive"}
        or not all(isinstance(v, bool) for v in keys.values())
    ):
        raise fail("[keys] takes only send = true|false and receive = true|false", _find(text, "keys"))
    raw_rules = data.get("tables", [])
    if not isinstance(raw_rules, list):
        raise fail("'tables' must be a list of rules ([[tables]])", _find(text, "tables"))
    rules = Rules(path, (), keys.get("send", True), keys.get("receive", True), text)
    parsed = tuple(
        _rule(raw, i + 1, headers[i] if i < len(headers) else None, rules, fail) for i, raw in enumerate(raw_rules)
    )
    return Rules(path, parsed, rules.send_keys, rules.receive_keys, text)


def _rule(raw: Any, index: int, line: int | None, rules: Rules, fail: Any) -> TableRule:
    where = f"rule {index}"
    if not isinstance(raw, dict):
        raise fail(f"{where} must be a table (object)", line)
    end = _next_header(rules.text, line)

    def at(needle: str) -> int | None:
        """The line of ``needle`` (a key, or a quoted column name) within this rule, else the rule's."""
        pattern = needle if needle.startswith('"') else f"{needle} ="
        found = rules.line_of(pattern, line)
        if found is None and not needle.startswith('"'):
            found = rules.line_of(f'"{needle}"', line)  # JSON
        return found if found is not None and (end is None or found < end) else line

    unknown = set(raw) - set(RULE_KEYS)
    if unknown:
        name = sorted(unknown)[0]
        raise fail(f"{where}: unknown key {name!r}; a rule takes {', '.join(RULE_KEYS)}", at(name))
    patterns: dict[str, re.Pattern[str] | None] = {}
    for key in ("user", "group", "purpose", "table"):
        value = raw.get(key)
        if value is None:
            patterns[key] = None
            continue
        if not isinstance(value, str):
            raise fail(f"{where}: {key} must be a regular expression (text)", at(key))
        try:
            patterns[key] = re.compile(value, re.IGNORECASE if key == "table" else 0)
        except re.error as exc:
            raise fail(f"{where}: {key} {value!r} is not a valid regular expression: {exc}", at(key)) from None
    privileges = raw.get("privileges", ["SELECT"])
    if not isinstance(privileges, list) or any(not isinstance(p, str) or p.upper() != "SELECT" for p in privileges):
        raise fail(f'{where}: privileges must be ["SELECT"] or [] (deny)', at("privileges"))
    columns = []
    for entry in raw.get("columns", []) if isinstance(raw.get("columns", []), list) else [None]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise fail(
                f'{where}: each of columns must be {{ name = "...", mask = "..." | allow = false }}', at("columns")
            )
        name = entry["name"]
        spot = at(f'"{name}"')
        extra = set(entry) - set(COLUMN_KEYS)
        if extra:
            raise fail(f"{where}: column {name!r}: unknown key {sorted(extra)[0]!r}; use name, mask or allow", spot)
        allow = entry.get("allow", True)
        if not isinstance(allow, bool):
            raise fail(f"{where}: column {name!r}: allow must be true or false", spot)
        mask = entry.get("mask")
        if mask is not None and not allow:
            raise fail(f"{where}: column {name!r}: give either mask or allow = false, not both", spot)
        columns.append(
            ColumnRule(name, _expression(mask, f"{where}: mask of column {name!r}", spot, fail), allow, spot)
        )
    row_filter = raw.get("filter")
    filter_line = at("filter") if row_filter is not None else None
    return TableRule(
        index=index,
        line=line,
        user=patterns["user"],
        group=patterns["group"],
        purpose=patterns["purpose"],
        table=patterns["table"],
        select=bool(privileges),
        columns=tuple(columns),
        filter=_expression(row_filter, f"{where}: filter", filter_line, fail),
        filter_line=filter_line,
    )


def _expression(text: Any, what: str, line: int | None, fail: Any) -> exp.Expr | None:
    """A mask or filter: one SQL expression over the row (no subqueries, aggregates or windows)."""
    if text is None:
        return None
    if not isinstance(text, str) or not text.strip():
        raise fail(f"{what} must be a SQL expression (text)", line)
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except SqlglotError as exc:
        raise fail(f"{what} {text!r} is not valid SQL: {str(exc).splitlines()[0]}", line) from None
    if isinstance(tree, (exp.Query, exp.Command)) or tree.find(exp.Query, exp.Table, exp.AggFunc, exp.Window, exp.Star):
        raise fail(
            f"{what} {text!r} must be an expression over the row (no queries, tables, aggregates or windows)", line
        )
    return tree


def _find(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*(\[+\s*)?\"?{re.escape(key)}\b", line):
            return number
    return None


def _next_header(text: str, line: int | None) -> int | None:
    if line is None:
        return None
    for number, content in enumerate(text.splitlines(), start=1):
        if number > line and re.match(r"\s*\[", content):
            return number
    return None
