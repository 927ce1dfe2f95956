"""A Fragment: one piece of a plan that a single source answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from fedquery.pseudonym import redact_keys

if TYPE_CHECKING:
    from connectors.base import TableInfo


@dataclass
class TopN:
    """The fragment drives a top-N query: it is sent ``ORDER BY keys LIMIT limit``.

    The answer is complete when the local query over the fetched rows still returns
    ``needed`` rows; otherwise the query runs again with more (see executor)."""

    #: (output column, descending) in order
    keys: list[tuple[str, bool]]
    limit: int
    needed: int

    def to_dict(self) -> dict[str, Any]:
        return {"keys": [[c, "DESC" if d else "ASC"] for c, d in self.keys], "limit": self.limit, "needed": self.needed}


@dataclass
class Fragment:
    """What is sent to one source.

    ``expression`` is the sqlglot tree with remote names (what ``sql`` renders
    from, in the source's ``dialect``). For a single-table scan ``table`` is the
    table, ``columns`` the projected columns and ``predicate`` the pushed filter
    (over bare column names), which is what file connectors use.
    """

    id: int
    name: str
    department: str
    source: str
    kind: str
    dialect: str
    expression: exp.Expr
    sql: str
    schema: pa.Schema
    tables: list[str]
    table: TableInfo | None = None
    columns: list[str] | None = None
    predicate: exp.Expr | None = None
    pushed: list[str] = field(default_factory=list)
    #: (name in the fragment's output, name the query uses) for every output column
    output_aliases: list[tuple[str, str]] = field(default_factory=list)
    #: estimated rows this fragment returns (from source statistics), where known
    estimated_rows: int | None = None
    #: estimated bytes of its result in Arrow, where known
    estimated_bytes: int | None = None
    #: semi-join reduction: (producer fragment name, producer output column, column of this fragment's
    #: source the keys filter); applied at run time once the producer has been read
    reducers: list[tuple[str, str, exp.Expr]] = field(default_factory=list)
    #: file scans: (column, Arrow array of keys) semi-join filters applied at run time as ``is_in``
    key_filters: list[tuple[str, Any]] = field(default_factory=list, repr=False)
    #: top-N through the joins above it (strategy auto), or None
    top_n: TopN | None = None
    #: parallel reads: read as this many ranges of the table of ``range_alias`` at once (0: one read)
    ranges: int = 0
    range_alias: str | None = None
    #: file scans: the source may stop after this many rows (a LIMIT with nothing between it and the scan)
    limit: int | None = None
    #: the session settings the source's connections are opened with (EXPLAIN shows them)
    session: dict[str, str] = field(default_factory=dict)
    #: output column -> project: the column's values are replaced by their pseudonyms as rows arrive
    pseudonymised: dict[str, str] = field(default_factory=dict)
    #: planning only: the catalog table behind each table alias of its top-level FROM list
    alias_tables: dict[str, Any] = field(default_factory=dict, repr=False)

    def output_type(self, column: str) -> pa.DataType | None:
        """The Arrow type of one of the fragment's outputs (None if it has no such output)."""
        index = self.schema.get_field_index(column)
        return self.schema.field(index).type if index >= 0 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "department": self.department,
            "source": self.source,
            "kind": self.kind,
            "dialect": self.dialect,
            "tables": list(self.tables),
            "sql": redact_keys(self.sql),
            "columns": [{"name": f.name, "type": str(f.type)} for f in self.schema],
            "pushed": list(self.pushed),
            "estimated_rows": self.estimated_rows,
            "estimated_bytes": self.estimated_bytes,
            "reduced_by": [f"{name}.{column}" for name, column, _ in self.reducers],
            "top_n": self.top_n.to_dict() if self.top_n is not None else None,
            "ranges": {"parts": self.ranges, "of": self.range_alias} if self.ranges else None,
            "session": dict(self.session),
            "limit": self.limit,
            "pseudonymised": dict(self.pseudonymised),
        }
