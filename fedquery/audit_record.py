"""The audit record of one query (see :mod:`fedquery.audit` for the log and its chain).

:class:`QueryAudit` writes a query's ``start`` record after planning (before anything is sent:
an AuditError then stops the query) and its ``end`` record when it ends. Remote SQL is stored
as :func:`summarise_sql` gives it: semi-join key lists counted, pseudonym keys redacted.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from fedquery.audit import AuditLog
from fedquery.errors import FedQueryError

if TYPE_CHECKING:
    from fedquery.executor import Execution
    from fedquery.planner.plan import Plan
    from fedquery.principal import Principal

#: IN-lists (and PostgreSQL key arrays) longer than this are summarised in the audit
MAX_LISTED_KEYS = 10


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


_KEY = r"(?:-?\d+(?:\.\d+)?|'(?:[^']|'')*')"
_IN_LIST = re.compile(r"\bIN\s*\((?:\s*" + _KEY + r"\s*,){" + str(MAX_LISTED_KEYS) + r",}\s*" + _KEY + r"\s*\)", re.I)
_PG_ARRAY = re.compile(r"ANY\s*\(\s*CAST\s*\(\s*'\{([^}']*)\}'\s+AS\s+[A-Z]+\[\]\s*\)\s*\)", re.I)


def summarise_sql(sql: str) -> str:
    """Remote SQL for the audit: semi-join key lists replaced by their length, pseudonym keys redacted.

    >>> summarise_sql("SELECT a FROM t WHERE k IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12) AND x IN (1, 2)")
    'SELECT a FROM t WHERE k IN (<12 keys>) AND x IN (1, 2)'
    >>> summarise_sql("SELECT a FROM t WHERE k = ANY(CAST('{1,2,3,4,5,6,7,8,9,10,11}' AS BIGINT[]))")
    'SELECT a FROM t WHERE k = ANY(<11 keys>)'
    """
    from fedquery.pseudonym import redact_keys

    def in_list(match: re.Match[str]) -> str:
        count = len(re.findall(r"-?\d+(?:\.\d+)?|'(?:[^']|'')*'", match.group(0)[match.group(0).index("(") :]))
        return f"IN (<{count:,} keys>)"

    text = _IN_LIST.sub(in_list, sql)
    text = _PG_ARRAY.sub(lambda m: f"ANY(<{len(m.group(1).split(',')):,} keys>)", text)
    return redact_keys(text)


class QueryAudit:
    """The audit of one query: ``planned`` writes its start record, ``ended``/``failed`` its end record."""

    def __init__(
        self, log: AuditLog | None, sql: str, principal: Principal, entry: str, departments: Iterable[str] = ()
    ) -> None:
        self.log = log
        #: the catalog's departments (to name those a refused query mentions)
        self.known_departments = frozenset(departments)
        self.id = uuid.uuid4().hex
        self.entry = entry
        self.started = time.perf_counter()
        self.base: dict[str, Any] = {
            "query": self.id,
            "time": _now(),
            "user": principal.user,
            "groups": list(principal.groups),
            "purpose": principal.purpose,
            "entry": entry,
            "sql": sql,
            "sql_sha256": hashlib.sha256(sql.encode()).hexdigest(),
        }
        self._done = False
        self._lock = threading.Lock()

    def planned(self, plan: Plan) -> None:
        """The start record, before any fragment is sent (raises AuditError: the query does not run)."""
        self.base.update(_plan_facts(plan))
        if self.log is not None:
            self.log.append({**self.base, "event": "start"})

    def ended(self, execution: Execution | None = None, plan: Plan | None = None, rows: int | None = None) -> None:
        """The end record of a query that ran (``execution``) or was only planned (``plan``)."""
        failure = getattr(execution, "failure", None)
        if execution is not None:
            self.base.update(_plan_facts(execution.plan))
            rows = execution.rows_out
        elif plan is not None:
            self.base.update(_plan_facts(plan))
        facts: dict[str, Any] = {"rows": rows}
        if execution is not None:
            facts["read_to_end"] = execution.exhausted
            facts["fragments"] = [
                {
                    "name": s.fragment,
                    "department": s.department,
                    "source": s.source,
                    "kind": s.kind,
                    "sql": summarise_sql(s.sql),
                    "rows": s.rows,
                    "reduced_keys": s.reduced_keys,
                }
                for s in execution.stats
            ]
        self._end(failure, facts)

    def failed(self, error: BaseException) -> None:
        if "departments" not in self.base:
            self.base["departments"] = _mentioned(self.base["sql"], self.known_departments)
        self._end(error, {"rows": None})

    def _end(self, error: BaseException | None, facts: dict[str, Any]) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        if error is None:
            outcome: dict[str, Any] = {"outcome": "ok", "error": None}
        else:
            message = error.message if isinstance(error, FedQueryError) else str(error)
            from fedquery.pseudonym import redact_keys

            outcome = {"outcome": "error", "error": {"class": type(error).__name__, "message": redact_keys(message)}}
        if self.log is not None:
            seconds = round(time.perf_counter() - self.started, 6)
            self.log.append({**self.base, **facts, **outcome, "event": "end", "seconds": seconds, "ended": _now()})


def _mentioned(sql: str, departments: frozenset[str]) -> list[str]:
    """The catalog departments a query names (for a query refused before it had a plan)."""
    import sqlglot

    try:
        trees = sqlglot.parse(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return []
    names = {t.db for tree in trees if tree is not None for t in tree.find_all(sqlglot.exp.Table)}
    return sorted(names & departments)


def _suppressed(plan: Plan) -> dict[str, int] | None:
    disclosure = getattr(plan, "disclosure", None)
    if disclosure is None or not disclosure.applied:
        return None
    cells, margins = disclosure.suppressed
    return {"cells": cells, "margins": margins}


def _plan_facts(plan: Plan) -> dict[str, Any]:
    return {
        "plan_hash": plan.hash,
        "departments": sorted({f.department for f in plan.fragments}),
        "rules_applied": list(getattr(plan, "rules_applied", []) or []),
        "output_rules": list(getattr(plan, "output_rules", []) or []),
        "suppressed": _suppressed(plan),
        "fragments": [
            {
                "name": f.name,
                "department": f.department,
                "source": f.source,
                "kind": f.kind,
                "sql": summarise_sql(f.sql),
            }
            for f in plan.fragments
        ],
    }
