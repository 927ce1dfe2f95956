"""A plan is data: fragments plus the local DuckDB SQL. It prints, serialises and hashes."""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from typing import Any

from fedquery.fragment import Fragment
from fedquery.pseudonym import redact_keys


@dataclass
class Plan:
    sql: str
    fragments: list[Fragment]
    local_sql: str
    notes: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    planning_seconds: float = 0.0
    pushdown: str = "auto"
    #: EXPLAIN ANALYZE: what each fragment actually did (by fragment name), once the query has run
    actuals: dict[str, Any] = field(default_factory=dict)
    #: EXPLAIN ANALYZE: rows of the final result and seconds the whole query took
    result_rows: int | None = None
    execution_seconds: float | None = None
    #: the access rules that decided what this query may read, one line per governed table
    #: (see fedquery.policy); the audit log records them
    rules_applied: list[str] = field(default_factory=list)
    #: introspection tables fedquery answers itself (DESCRIBE, SHOW, information_schema), by local name
    local_relations: dict[str, Any] = field(default_factory=dict, repr=False)
    #: printing: long key lists in full (else summarised as ``IN (<2,911 keys>)``)
    verbose: bool = False
    #: catalog tables of the plan whose statistics ``analyze`` has not collected (estimates use defaults)
    unanalyzed: list[str] = field(default_factory=list)
    #: disclosure control: the output rules that applied (``table: min_cell_count 10, rounding 5``)
    output_rules: list[str] = field(default_factory=list)
    #: ... and what the result's protection needs (hidden columns, limits; see fedquery.disclosure)
    disclosure: Any = field(default=None, repr=False)
    #: the plan of an identical earlier request, run again (see fedquery.plan_cache): not planned now
    reused: bool = False

    def to_dict(self) -> dict[str, Any]:
        fragments = []
        for f in self.fragments:
            record = f.to_dict()
            if f.name in self.actuals:
                record["actual"] = _actual(self.actuals[f.name])
            fragments.append(record)
        out = {
            "sql": self.sql,
            "fragments": fragments,
            "local_sql": redact_keys(self.local_sql),
            "notes": list(self.notes),
            "rules_applied": list(self.rules_applied),
            "pushdown": self.pushdown,
            "planning_seconds": self.planning_seconds,
            "reused": self.reused,
            "hash": self.hash,
            "output_rules": list(self.output_rules),
        }
        if self.local_relations:
            out["introspection"] = sorted(self.local_relations)
        if self.unanalyzed:
            out["unanalyzed"] = list(self.unanalyzed)
        if self.disclosure is not None and self.disclosure.applied:
            primary, secondary = self.disclosure.suppressed
            out["suppressed"] = {"cells": primary, "margins": secondary}
        if self.execution_seconds is not None:
            out["result_rows"] = self.result_rows
            out["execution_seconds"] = self.execution_seconds
        return out

    @property
    def hash(self) -> str:
        """Stable across runs: the same fragments and local SQL give the same hash (estimates aside)."""
        estimates = ("estimated_rows", "estimated_bytes")
        body = {
            "fragments": [{k: v for k, v in f.to_dict().items() if k not in estimates} for f in self.fragments],
            "local_sql": redact_keys(self.local_sql),
        }
        if self.rules_applied:  # absent where no rules applied, so hashes of open federations are unchanged
            body["rules_applied"] = list(self.rules_applied)
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def warnings(self) -> list[str]:
        """What the reader of the estimates should know (shown by EXPLAIN, text and HTML)."""
        if not self.unanalyzed:
            return []
        return [
            f"estimates use default selectivities: analyze has not run for {', '.join(self.unanalyzed)} "
            "(run `fedquery analyze` or fed.analyze() for column statistics)"
        ]

    def __str__(self) -> str:
        from fedquery.planner.display import shown_sql

        lines = [f"Plan {self.hash}: {len(self.fragments)} fragment(s), pushdown={self.pushdown}"]
        if self.reused:
            lines[0] += " (reused: the same query, principal, rules and catalog as an earlier one)"
        lines.extend(f"warning: {w}" for w in self.warnings())
        for f in self.fragments:
            lines.append("")
            lines.append(f"[{f.name}] {f.department}.{f.source} ({f.kind}, {f.dialect}) tables: {', '.join(f.tables)}")
            lines.append(f"  pushed: {', '.join(f.pushed)}")
            if f.session:
                lines.append(f"  session: {', '.join(f'{k}={v}' for k, v in f.session.items())}")
            lines.append(f"  estimated: {_figure(f.estimated_rows)} rows, {_size(f.estimated_bytes)}")
            sql = f.sql
            if f.name in self.actuals:
                a = _actual(self.actuals[f.name])
                reduced = f", reduced by {a['reduced_keys']:,} keys" if a.get("reduced_keys") else ""
                reduced += f", read as {a['ranges']} ranges" if a.get("ranges") else ""
                lines.append(f"  actual: {a['rows']:,} rows, {_size(a['bytes'])}, {a['seconds']:.3f} s{reduced}")
                lines.extend(f"  run-time reduction by {line}" for line in a.get("reductions", []))
                sql = a["sql"]
            lines.append("  remote SQL:")
            lines.extend(
                "    " + line for line in shown_sql(redact_keys(sql), f.dialect, verbose=self.verbose).splitlines()
            )
        lines.append("")
        lines.append("local DuckDB SQL:")
        lines.extend(
            "  " + line for line in shown_sql(redact_keys(self.local_sql), "duckdb", verbose=self.verbose).splitlines()
        )
        if self.execution_seconds is not None:
            lines.append(
                f"result: {self.result_rows:,} rows in {self.execution_seconds:.3f} s "
                f"(planning {self.planning_seconds * 1000:.1f} ms)"
            )
        if self.rules_applied:
            lines.append("")
            lines.append("rules applied:")
            lines.extend(f"  - {r}" for r in self.rules_applied)
        if self.output_rules:
            lines.append("")
            lines.append(f"disclosure control: {'; '.join(self.output_rules)}")
            if self.disclosure is not None and self.disclosure.applied:
                primary, secondary = self.disclosure.suppressed
                lines.append(
                    f"  suppressed: {primary} cell(s) under the threshold, {secondary} margin(s) that would reveal one"
                )
        if self.notes:
            lines.append("")
            lines.append("not pushed:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)

    def graph(self) -> Any:
        """The plan as a picture (:class:`fedquery.viz.plan_graph.PlanGraph`): ``.svg()``, ``.save("plan.svg")``;
        it renders itself in a notebook. Arrows carry estimated rows and bytes, or actual ones after analyze."""
        from fedquery.viz.plan_graph import PlanGraph

        return PlanGraph(self)

    def _repr_html_(self) -> str:
        from fedquery.planner.display import shown_sql

        analyzed = bool(self.actuals)
        head = "<th>fragment</th><th>source</th><th>kind</th><th>estimated rows</th><th>estimated size</th>"
        if analyzed:
            head += "<th>actual rows</th><th>actual size</th><th>seconds</th>"
        rows = []
        for f in self.fragments:
            cells = [f.name, f"{f.department}.{f.source}", f.kind, _figure(f.estimated_rows), _size(f.estimated_bytes)]
            sql = f.sql
            if analyzed and f.name in self.actuals:
                a = _actual(self.actuals[f.name])
                cells += [f"{a['rows']:,}", _size(a["bytes"]), f"{a['seconds']:.3f}"]
                sql = a["sql"]
            elif analyzed:
                cells += ["", "", ""]
            shown = shown_sql(redact_keys(sql), f.dialect, verbose=self.verbose)
            rows.append(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                + f"<td><pre>{html.escape(shown)}</pre></td></tr>"
            )
        warnings = "".join(f"<p><b>warning:</b> {html.escape(w)}</p>" for w in self.warnings())
        result = (
            f"<p>result: {self.result_rows:,} rows in {self.execution_seconds:.3f} s "
            f"(planning {self.planning_seconds * 1000:.1f} ms)</p>"
            if self.execution_seconds is not None and self.result_rows is not None
            else ""
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        local = html.escape(shown_sql(redact_keys(self.local_sql), "duckdb", verbose=self.verbose))
        return (
            f"<div><b>Plan {self.hash}</b> ({len(self.fragments)} fragment(s), pushdown={html.escape(self.pushdown)})"
            f"{warnings}<table><tr>{head}<th>remote SQL</th></tr>{''.join(rows)}</table>"
            f"<p>local DuckDB SQL:</p><pre>{local}</pre>{result}"
            + (f"<p>not pushed:</p><ul>{notes}</ul>" if notes else "")
            + "</div>"
        )


def _actual(stats: Any) -> dict[str, Any]:
    return {
        "rows": stats.rows,
        "bytes": stats.bytes,
        "seconds": round(stats.seconds, 6),
        "reduced_keys": stats.reduced_keys,
        "ranges": stats.ranges,
        "sql": redact_keys(stats.sql),
        "reductions": [r.describe() for r in getattr(stats, "reductions", [])],
    }


def _figure(n: int | None) -> str:
    return "?" if n is None else f"~{n:,}"


def _size(n: int | None) -> str:
    if n is None:
        return "? bytes"
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"
