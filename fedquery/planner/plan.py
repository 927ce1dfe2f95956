"""A plan is data: fragments plus the local DuckDB SQL. It prints, serialises and hashes."""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass, field
from typing import Any

from fedquery.fragment import Fragment


@dataclass
class Plan:
    sql: str
    fragments: list[Fragment]
    local_sql: str
    notes: list[str] = field(default_factory=list)
    output_names: list[str] = field(default_factory=list)
    planning_seconds: float = 0.0
    pushdown: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "fragments": [f.to_dict() for f in self.fragments],
            "local_sql": self.local_sql,
            "notes": list(self.notes),
            "pushdown": self.pushdown,
            "hash": self.hash,
        }

    @property
    def hash(self) -> str:
        """Stable across runs: the same query and catalog give the same hash."""
        body = {"fragments": [f.to_dict() for f in self.fragments], "local_sql": self.local_sql}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]

    def __str__(self) -> str:
        lines = [f"Plan {self.hash}: {len(self.fragments)} fragment(s), pushdown={self.pushdown}"]
        for f in self.fragments:
            lines.append("")
            lines.append(f"[{f.name}] {f.department}.{f.source} ({f.kind}, {f.dialect}) tables: {', '.join(f.tables)}")
            lines.append(f"  pushed: {', '.join(f.pushed)}")
            lines.append(f"  remote SQL: {f.sql}")
        lines.append("")
        lines.append(f"local DuckDB SQL: {self.local_sql}")
        if self.notes:
            lines.append("")
            lines.append("not pushed:")
            lines.extend(f"  - {n}" for n in self.notes)
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(f.name)}</td><td>{html.escape(f.department)}.{html.escape(f.source)}</td>"
            f"<td>{html.escape(f.kind)}</td><td><code>{html.escape(f.sql)}</code></td></tr>"
            for f in self.fragments
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            f"<div><b>Plan {self.hash}</b><table><tr><th>fragment</th><th>source</th><th>kind</th>"
            f"<th>remote SQL</th></tr>{rows}</table><p>local DuckDB SQL: <code>{html.escape(self.local_sql)}</code></p>"
            + (f"<p>not pushed:</p><ul>{notes}</ul>" if notes else "")
            + "</div>"
        )
