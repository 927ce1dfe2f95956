"""The vocabulary of the pushdown tables: entries, conditions and the table base class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlglot import exp

#: A condition: given the node and the connector (None when judged without one), a detail to put in
#: the reason (often the column it concerns; "" when there is none), or None where it does not hold.
Test = Callable[[exp.Expr, Any], "str | None"]


@dataclass(frozen=True)
class Unless:
    """A case in which an otherwise pushable entry is kept local."""

    test: Test
    because: str
    trap: str | None = None

    def reason(self, node: exp.Expr, connector: Any, dialect: str) -> str | None:
        detail = self.test(node, connector)
        return None if detail is None else self.because.format(dialect=dialect, detail=detail)


@dataclass(frozen=True)
class Pushed:
    """Sent to the source; ``doc`` says why its meaning there equals DuckDB's."""

    doc: str
    unless: tuple[Unless, ...] = ()
    #: a function ``(node, connector) -> node`` that rewrites the node before sqlglot renders it
    render: Callable[[exp.Expr, Any], exp.Expr] | None = None
    #: SQL run at the real server and in DuckDB on the edge-value table (tests): an expression over
    #: its columns, or a whole query naming the table as ``{t}``
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotPushable:
    """Kept local; ``because`` is what EXPLAIN shows."""

    because: str
    trap: str | None = None


Entry = Pushed | NotPushable


class PushdownTable:
    """Base of the per-dialect tables (subclasses list their entries as class attributes)."""

    dialect: ClassVar[str] = ""
    #: every expression is pushed (a DuckDB file: the same engine)
    everything: ClassVar[bool] = False
    #: CAST targets (sqlglot type names) and what happens to a cast to each; a target not listed stays local
    casts: ClassVar[dict[str, Entry]] = {}

    @classmethod
    def entries(cls) -> dict[str, Entry]:
        """Every entry of the table, by the sqlglot expression class name it governs."""
        out: dict[str, Entry] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, (Pushed, NotPushable)):
                    out[name] = value
        return out

    @classmethod
    def entry(cls, node: exp.Expr) -> Entry | None:
        value = getattr(cls, type(node).__name__, None)
        return value if isinstance(value, (Pushed, NotPushable)) else None

    @classmethod
    def reason(cls, node: exp.Expr, connector: Any = None) -> str | None:
        """Why ``node`` (a whole query or an expression) cannot be sent to this dialect, or None."""
        if cls.everything:
            return None
        for sub in node.walk():
            reason = cls.node_reason(sub, connector)
            if reason:
                return reason
        return None

    @classmethod
    def node_reason(cls, node: exp.Expr, connector: Any = None) -> str | None:
        """Why this one node (not its children) cannot be sent, or None."""
        entry = cls.entry(node)
        if entry is None:
            if not governed(node):
                return None
            return f"{_name(node)} ({_short(node)}) is not in {cls.dialect}'s pushdown table"
        if isinstance(entry, NotPushable):
            return entry.because.format(dialect=cls.dialect, detail=_short(node))
        for case in entry.unless:
            reason = case.reason(node, connector, cls.dialect)
            if reason:
                return reason
        if isinstance(node, exp.Cast):
            return cls.cast_reason(node, connector)
        return None

    @classmethod
    def cast_reason(cls, node: exp.Cast, connector: Any = None) -> str | None:
        to = node.to
        if to.find(exp.DataType) is not to or to.args.get("kind") or to.expressions and not _sized(to):
            return f"a cast to {to.sql('duckdb')} is not sent to sources"
        name = to.this.name
        target = cls.casts.get(name)
        if target is None:
            return f"a cast to {name} is not sent to sources (not in {cls.dialect}'s pushdown table)"
        if isinstance(target, NotPushable):
            return target.because.format(dialect=cls.dialect, detail=_short(node))
        for case in target.unless:
            reason = case.reason(node, connector, cls.dialect)
            if reason:
                return reason
        return None

    @classmethod
    def render(cls, tree: exp.Expr, connector: Any = None) -> exp.Expr:
        """``tree`` with every node whose entry names a rendering function rewritten by it (innermost
        first; each rendering is given a copy of its node, already holding its rendered children)."""
        if cls.everything:
            return tree
        for node in reversed(list(tree.dfs())):
            entry = cls.entry(node)
            if not isinstance(entry, Pushed) or entry.render is None:
                continue
            new = entry.render(node.copy(), connector)
            if node is tree:
                tree = new
            else:
                node.replace(new)
        return tree


def governed(node: exp.Expr) -> bool:
    """Is ``node`` a function, operator, cast or aggregate (what a pushdown table must list)?"""
    if isinstance(node, exp.SubqueryPredicate):
        return False  # EXISTS / ANY / ALL: placement of subqueries decides (fedquery.planner.colocated)
    if isinstance(node, exp.Func):
        return not isinstance(node, exp.Connector)
    return isinstance(node, (exp.Binary, exp.Unary, exp.Predicate))


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    return type(node).key.upper() if hasattr(type(node), "key") else type(node).__name__


def _short(node: exp.Expr, limit: int = 40) -> str:
    text = node.sql("duckdb")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _sized(to: exp.DataType) -> bool:
    """DECIMAL(p,s), VARCHAR(n): parameters that are plain numbers."""
    return all(isinstance(e, exp.DataTypeParam) and e.this.is_int for e in to.expressions)
