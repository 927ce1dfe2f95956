"""A Fragment: one piece of a plan that a single source answers."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

import pyarrow as pa
from sqlglot import exp

from fedquery.pseudonym import redact_keys

if TYPE_CHECKING:
    from connectors.base import TableInfo


@dataclass(frozen=True)
class TopN:
    """The fragment drives a top-N query: it is sent ``ORDER BY keys LIMIT limit``.

    The answer is complete when the local query over the fetched rows still returns
    ``needed`` rows; otherwise the query runs again with more (see executor)."""

    #: (output column, descending) in order
    keys: tuple[tuple[str, bool], ...]
    limit: int
    needed: int

    def to_dict(self) -> dict[str, Any]:
        return {"keys": [[c, "DESC" if d else "ASC"] for c, d in self.keys], "limit": self.limit, "needed": self.needed}


class Reducer(NamedTuple):
    """A planned semi-join reduction: once ``producer`` (a fragment's name) has been read, its distinct
    ``column`` values filter ``target`` (a column of this fragment's source, ``alias.name``)."""

    producer: str
    column: str
    target: exp.Expr


@dataclass(frozen=True)
class Reduction:
    """A run-time reduction, as data: what the executor learnt from a producer and hands to the
    consumer's connector. ``render.reduced`` is the one place it becomes SQL (or an Arrow filter).

    ``keys`` are the producer's distinct keys; past the key budget they are None and ``low``/``high``
    bound them (or nothing does: ``abandoned`` says why the consumer was read unreduced)."""

    producer: str
    target: exp.Expr
    keys: Any = None  # pyarrow.Array
    low: Any = None
    high: Any = None
    #: the target column's own Arrow type, where known (keys are rendered in it)
    column_type: pa.DataType | None = None
    #: why no reduction applies (the producer sent far more keys than estimated, or past the budget)
    abandoned: str | None = None

    def describe(self) -> str:
        """One line for EXPLAIN ANALYZE and stats."""
        if self.abandoned:
            return f"{self.producer}: not reduced ({self.abandoned})"
        if self.keys is not None:
            return f"{self.producer}: {len(self.keys):,} keys"
        return f"{self.producer}: range {self.low} .. {self.high}"


@dataclass(frozen=True, eq=False)
class Fragment:
    """What is sent to one source: a value. Planner passes make new fragments (``evolve``), never edit
    one, and the executor never edits one either: its run-time reductions are :class:`Reduction` data
    rendered by ``fedquery.planner.render.reduced`` into the fragment that actually runs.

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
    tables: tuple[str, ...]
    table: TableInfo | None = None
    columns: tuple[str, ...] | None = None
    predicate: exp.Expr | None = None
    pushed: tuple[str, ...] = ()
    #: (name in the fragment's output, name the query uses) for every output column
    output_aliases: tuple[tuple[str, str], ...] = ()
    #: estimated rows this fragment returns (from source statistics), where known
    estimated_rows: int | None = None
    #: estimated bytes of its result in Arrow, where known
    estimated_bytes: int | None = None
    #: semi-join reductions planned for this fragment, applied at run time once each producer has been read
    reducers: tuple[Reducer, ...] = ()
    #: file scans, the fragment that runs: (column, Arrow array of keys) semi-join filters as ``is_in``
    #: (set only by ``render.reduced``; a planned fragment has none)
    key_filters: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
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

    def evolve(self, **changes: Any) -> Fragment:
        """A new fragment with ``changes``; this one is left as it was."""
        return replace(self, **changes)

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
            "reduced_by": [f"{r.producer}.{r.column}" for r in self.reducers],
            "top_n": self.top_n.to_dict() if self.top_n is not None else None,
            "ranges": {"parts": self.ranges, "of": self.range_alias} if self.ranges else None,
            "session": dict(self.session),
            "limit": self.limit,
            "pseudonymised": dict(self.pseudonymised),
        }
