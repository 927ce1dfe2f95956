"""The README's pushdown tables, generated from the tables (``python -m connectors.pushdown --markdown``)."""

from __future__ import annotations

import sys

from connectors.pushdown.entries import Entry, NotPushable
from connectors.pushdown.tables import TABLES

#: How the README spells the sqlglot classes the tables are keyed by.
_SQL = {
    "EQ": "=", "NEQ": "<>", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<=", "Add": "+", "Sub": "-", "Mul": "*",
    "Div": "/", "Mod": "%", "Neg": "unary -", "DPipe": "||", "Paren": "( … )", "Is": "IS [NOT] NULL",
    "Escape": "LIKE … ESCAPE", "Ordered": "ORDER BY", "Group": "GROUP BY", "Select": "SELECT DISTINCT",
    "Distinct": "aggregate(DISTINCT …)", "Filter": "aggregate FILTER (WHERE …)", "If": "IF / one-branch CASE",
    "StrPosition": "STRPOS", "Window": "… OVER (…)", "GroupingSets": "GROUPING SETS", "TryCast": "TRY_CAST",
    "Pseudonymise": "pseudonymise()",
}  # fmt: skip
_KINDS = {"postgres": "PostgreSQL", "mysql": "MySQL/MariaDB", "sqlite": "SQLite", "duckdb": "DuckDB files"}


def markdown() -> str:
    """The README's pushdown tables, one per source kind, generated from the tables themselves."""
    out: list[str] = []
    for kind, table in TABLES.items():
        out.append(f"#### {_KINDS[kind]}")
        out.append("")
        if table.everything:
            out.append(f"{(table.__doc__ or '').strip()}")
            out.append("")
            continue
        out.append("| SQL | Pushed? | Rendering, conditions, or why not |")
        out.append("|---|---|---|")
        for name, entry in sorted(table.entries().items(), key=lambda item: _spelt(item[0]).lower()):
            out.append(_row(_spelt(name), entry, table.dialect))
        for name, entry in sorted(table.casts.items()):
            out.append(_row(f"CAST AS {name}", entry, table.dialect))
        out.append(f"| anything else | no | not in {table.dialect}'s pushdown table |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _spelt(name: str) -> str:
    return _SQL.get(name, name.upper())


def _row(name: str, entry: Entry, dialect: str) -> str:
    if isinstance(entry, NotPushable):
        text = entry.because.format(dialect=dialect, detail="…")
        return f"| `{name}` | no | {_cell(text)} |"
    text = entry.doc
    if entry.render is not None:
        text += f" (rendered by `{entry.render.__name__}`)"
    if entry.unless:
        text += ". **Kept local:** " + "; ".join(
            _cell(u.because.format(dialect=dialect, detail="…")) for u in entry.unless
        )
    return f"| `{name}` | yes | {_cell(text)} |"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args != ["--markdown"]:
        print("usage: python -m connectors.pushdown --markdown", file=sys.stderr)
        return 2
    sys.stdout.write(markdown())
    return 0
