"""What may be pushed to each SQL dialect: one declarative table per dialect.

Each class attribute of a table is named after the sqlglot expression class it governs
(``Abs``, ``EQ``, ``Like``, ``Cast``, ``Sum`` ...) and is either

* :class:`Pushed` — sent to the source, rendered by sqlglot's generator for the dialect or by
  the named rendering function (``render``), except where one of its ``unless`` conditions holds
  (each with the reason EXPLAIN shows); its ``examples`` are run at the real server on edge
  values against DuckDB's answer (``tests/test_pushdown_tables.py``), so a wrong entry fails a
  test; or
* :class:`NotPushable` — kept local, ``because`` says why (EXPLAIN shows it); ``trap`` names the
  test in ``tests/test_dialect_traps.py`` that returns different rows if it were pushed.

A function, operator or aggregate not in a dialect's table is not pushed ("not in
PostgreSQL's pushdown table"). Structural nodes (SELECT, JOIN, columns, literals) are governed
by the connector's :class:`~connectors.base.Capabilities`; the table may still list them with
conditions (``Group``, ``Ordered``: ordering and grouping follow the column's collation).

    python -m connectors.pushdown --markdown    # the README's "Pushdown tables" section

>>> import sqlglot
>>> PostgresPushdown.reason(sqlglot.parse_one("SUBSTRING(x, -1, 2)"))
'SUBSTRING with a start or length that may be zero or negative differs in PostgreSQL'
>>> print(PostgresPushdown.reason(sqlglot.parse_one("md5(x)")))
MD5 (MD5(x)) is not in PostgreSQL's pushdown table
"""

from __future__ import annotations

import datetime as dt
import math
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import pyarrow as pa
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


# -- conditions ------------------------------------------------------------------------------------


def _typed(node: Any, names: tuple[str, ...]) -> bool:
    dtype = getattr(node, "type", None)
    return dtype is not None and dtype.this.name in names


def like_pattern_unsafe(node: exp.Expr, connector: Any) -> str | None:
    if isinstance(node.parent, exp.Escape):
        return None  # an explicit ESCAPE says what the escape character is
    pattern = node.expression
    return "" if not isinstance(pattern, exp.Literal) or "\\" in pattern.this else None


def like_one_byte_wildcard(node: exp.Expr, connector: Any) -> str | None:
    """A LIKE pattern with ``_`` matched on the bytes: there ``_`` is one byte, in DuckDB one character."""
    pattern = node.expression
    return "" if isinstance(pattern, exp.Literal) and "_" in pattern.this else None


def substring_bound_unsafe(node: exp.Expr, connector: Any) -> str | None:
    for key, least in (("start", 1), ("length", 0)):
        bound = node.args.get(key)
        if bound is not None and not (bound.is_int and bound.to_py() >= least):
            return key
    return None


def float_operand(node: exp.Expr, connector: Any) -> str | None:
    return "" if any(_typed(op, ("FLOAT", "DOUBLE")) for op in (node.this, node.expression)) else None


def temporal_operand(node: exp.Expr, connector: Any) -> str | None:
    temporal = ("DATE", "DATETIME", "TIMESTAMP", "TIMESTAMPTZ")
    return "" if any(_typed(op, temporal) for op in (node.this, node.expression)) else None


def float_arithmetic(node: exp.Expr, connector: Any) -> str | None:
    """A floating-point value (not a number literal: DuckDB types 1.5 as DECIMAL) in arithmetic."""
    operands = (node.this, node.expression)
    return "" if any(_typed(op, ("FLOAT", "DOUBLE")) and not isinstance(op, exp.Literal) for op in operands) else None


def real_operand(node: exp.Expr, connector: Any) -> str | None:
    return "" if any(_typed(op, ("FLOAT",)) for op in node.iter_expressions()) else None


def float_to_text(node: exp.Expr, connector: Any) -> str | None:
    cast = node if isinstance(node, exp.Cast) else None
    if cast is not None and cast.to.is_type(*exp.DataType.TEXT_TYPES) and _typed(cast.this, ("FLOAT", "DOUBLE")):
        return ""
    return None


def temporal_to_text(node: exp.Expr, connector: Any) -> str | None:
    cast = node if isinstance(node, exp.Cast) else None
    temporal = ("DATE", "DATETIME", "TIMESTAMP", "TIMESTAMPTZ")
    if cast is not None and cast.to.is_type(*exp.DataType.TEXT_TYPES) and _typed(cast.this, temporal):
        return ""
    return None


def distinct_of_several(node: exp.Expr, connector: Any) -> str | None:
    inner = node.this
    if not isinstance(inner, exp.Distinct):
        return None
    several = len(inner.expressions) > 1 or any(isinstance(e, (exp.Tuple, exp.Paren)) for e in inner.expressions)
    return "" if several else None


def grouping_sets(node: exp.Expr, connector: Any) -> str | None:
    return "" if any(node.args.get(k) for k in ("rollup", "cube", "grouping_sets")) else None


def nullif_key(node: exp.Expr, connector: Any) -> str | None:
    """A GROUP BY key holding NULLIF: MariaDB rewrites NULLIF(a, b) as a CASE over two copies of ``a``,
    and ONLY_FULL_GROUP_BY then finds ``a`` itself in no GROUP BY ("'a.bo' isn't in GROUP BY")."""
    for key in node.expressions:
        found = key.find(exp.Nullif)
        if found is not None:
            return found.sql("duckdb")[:40]
    return None


def divisor_may_be_zero(node: exp.Expr, connector: Any) -> str | None:
    divisor = node.expression
    while isinstance(divisor, exp.Paren):
        divisor = divisor.this
    if isinstance(divisor, exp.Literal) and divisor.is_number and float(divisor.this) != 0:
        return None
    return ""


def _columns_of(node: exp.Expr, connector: Any) -> Iterator[tuple[exp.Column, Any]]:
    """The source's columns ``node`` compares or orders, each with what the source says of it; an
    output alias (``ORDER BY l`` where ``l`` is ``label AS l``) is looked through."""
    if connector is None:
        return
    if isinstance(node, exp.Select):
        keys: list[exp.Expr] = list(node.expressions)
    elif isinstance(node, exp.SetOperation):
        keys = list(node.left.expressions) if isinstance(node.left, exp.Select) else []
        keys += [c for c in node.find_all(exp.Column)]
    else:
        keys = [node]
    for key in keys:
        for column in key.find_all(exp.Column):
            select = column.find_ancestor(exp.Select)
            targets = [column]
            if not column.meta.get("fq_table") and not column.table and select is not None:
                named = [p for p in select.expressions if isinstance(p, exp.Alias) and p.alias == column.name]
                if named:
                    targets = [c for p in named for c in p.this.find_all(exp.Column)]
            for target in targets:
                tag = target.meta.get("fq_table")
                if tag and tuple(tag[:2]) == (connector.department, connector.name):
                    info = connector.column_info(tuple(tag[2:]), target.name)
                else:
                    info = connector._info(target) if hasattr(connector, "_info") else None
                if info is not None:
                    yield target, info


def _label(column: exp.Column) -> str:
    tag = column.meta.get("fq_table")
    return ".".join([*tag[2:], column.name]) if tag else column.sql("duckdb")


def inexact_equality(node: exp.Expr, connector: Any) -> str | None:
    """A PostgreSQL column with a nondeterministic collation decides equality ('APPLE' = 'apple')."""
    if isinstance(node, exp.Select) and node.args.get("distinct") is None:
        return None
    if isinstance(node, exp.SetOperation) and not node.args.get("distinct"):
        return None
    for column, info in _columns_of(node, connector):
        if not info.exact_equality:
            return _label(column)
    return None


def non_byte_order(node: exp.Expr, connector: Any) -> str | None:
    """A text column whose collation does not sort in byte order is ordered."""
    for column, info in _columns_of(node, connector):
        if pa.types.is_string(info.arrow) and not info.binary_collation:
            return _label(column)
    return None


def extract_part(parts: set[str]) -> Test:
    def test(node: exp.Expr, connector: Any) -> str | None:
        return None if node.name.upper() in parts else node.name.upper()

    return test


def _is_text(node: exp.Expr) -> bool:
    if isinstance(node, exp.Literal):
        return node.is_string
    t = node.type
    return t is not None and t.this in exp.DataType.TEXT_TYPES


def text_key_not_binary(node: exp.Expr, connector: Any) -> str | None:
    """MySQL: text grouped, sorted, deduplicated or compared by MIN/MAX under a non-binary collation."""
    if isinstance(node, exp.Group):
        keys = list(node.expressions)
    elif isinstance(node, (exp.Ordered, exp.Min, exp.Max)):
        keys = [node.this]
    elif isinstance(node, exp.Select):
        keys = list(node.expressions) if node.args.get("distinct") else []
    elif isinstance(node, exp.Count):
        keys = list(node.this.expressions) if isinstance(node.this, exp.Distinct) else []
    elif isinstance(node, exp.SetOperation):
        keys = list(node.left.expressions) if isinstance(node.left, exp.Select) else []
    elif isinstance(node, exp.Window):  # PARTITION BY groups (its ORDER BY is an Ordered, above)
        keys = list(node.args.get("partition_by") or [])
    else:
        keys = _compared_inside(node)
    for key in keys:
        value = key.unalias()
        if _is_text(value) and not _binary_column(value, connector):
            return value.sql("duckdb")[:40]
    return None


def _compared_inside(node: exp.Expr) -> list[exp.Expr]:
    """What a NULLIF or a simple CASE (``CASE x WHEN v …``) compares for equality, with no operator
    of its own to carry the source's rules for comparing."""
    if isinstance(node, exp.Nullif):
        return [node.this, node.expression]
    if isinstance(node, exp.Case) and node.this is not None:
        return [node.this, *(branch.this for branch in node.args.get("ifs") or [])]
    return []


def compared_inside_fuzzy(node: exp.Expr, connector: Any) -> str | None:
    """PostgreSQL: a NULLIF or simple CASE comparing a column of a nondeterministic collation."""
    for key in _compared_inside(node):
        for column, info in _columns_of(key, connector):
            if not info.exact_equality:
                return _label(column)
    return None


def _binary_column(node: exp.Expr, connector: Any) -> bool:
    if not isinstance(node, exp.Column) or connector is None:
        return False
    tag = node.meta.get("fq_table")
    info = connector.column_info(tuple(tag[2:]), node.name) if tag else None
    return info is not None and info.binary_collation


def _column_type(node: exp.Expr, connector: Any) -> pa.DataType | None:
    if not isinstance(node, exp.Column) or connector is None:
        return None
    info = connector._info(node)
    return None if info is None else info.arrow


def boolean_column(node: exp.Expr, connector: Any) -> str | None:
    for op in node.iter_expressions():
        t = _column_type(op, connector)
        if t is not None and pa.types.is_boolean(t):
            return op.sql("duckdb")
    return None


def temporal_column(node: exp.Expr, connector: Any) -> str | None:
    t = _column_type(node.this, connector)
    return node.this.sql("duckdb") if t is not None and (pa.types.is_date(t) or pa.types.is_timestamp(t)) else None


def temporal_arithmetic(node: exp.Expr, connector: Any) -> str | None:
    """A date or timestamp plus or minus a number or another date (not an INTERVAL)."""
    operands = (node.this, node.expression)
    if any(isinstance(op, exp.Interval) for op in operands):
        return None
    for op in operands:
        if _typed(op, ("DATE", "DATETIME", "TIMESTAMP", "TIMESTAMPTZ")):
            return op.sql("duckdb")[:40]
    return None


def not_text(node: exp.Expr, connector: Any) -> str | None:
    """An argument not known to be text (DuckDB's ``len`` parses as LENGTH and takes lists too)."""
    return None if _typed(node.this, tuple(t.name for t in exp.DataType.TEXT_TYPES)) else _short(node.this)


def not_a_date_literal(node: exp.Expr, connector: Any) -> str | None:
    ok = isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.to.this == exp.DataType.Type.DATE
    return None if ok and not_a_canonical_literal(node, connector) is None else _short(node)


_INTEGER_RANGES = {"TINYINT": 7, "SMALLINT": 15, "INT": 31, "BIGINT": 63}
_DECIMAL_TEXT = re.compile(r"[+-]?(\d*)(?:\.(\d*))?")
_FLOAT_TEXT_FORM = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DATE_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP_FORM = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,6})?)?")


def not_a_canonical_literal(node: exp.Expr, connector: Any) -> str | None:
    """A cast whose operand is not a text literal in the plain form of its target type (digits for
    integers in range, a finite number for DOUBLE, a decimal that fits its scale, a real ISO date or
    timestamp, or any text for a text type). A lenient source converts anything else its own way
    (MySQL reads 'nan' AS DOUBLE as 0, '2024-02-30' AS DATE as NULL) where DuckDB gives NaN or fails."""
    literal = node.this
    if not (isinstance(node, exp.Cast) and isinstance(literal, exp.Literal) and literal.is_string):
        return _short(node)
    text, to = literal.this, node.to
    name = to.this.name
    ok = False
    if name in _TEXT_CASTS:
        ok = True
    elif name in _INTEGER_RANGES:
        bits = _INTEGER_RANGES[name]
        ok = re.fullmatch(r"[+-]?\d{1,20}", text) is not None and -(2**bits) <= int(text) < 2**bits
    elif name == "DOUBLE":
        ok = _FLOAT_TEXT_FORM.fullmatch(text) is not None and math.isfinite(float(text))
    elif name == "DECIMAL":
        match = _DECIMAL_TEXT.fullmatch(text)
        params = [int(p.name) for p in to.expressions if p.name.isdigit()]
        precision, scale = (params + [18, 3][len(params) :])[:2] if params else (18, 3)
        ok = (
            match is not None and bool(match.group(1) or match.group(2))
            and len(match.group(1).lstrip("0")) <= precision - scale and len(match.group(2) or "") <= scale
        )  # fmt: skip
    elif name in ("DATE", "TIMESTAMP"):
        form = _DATE_FORM if name == "DATE" else _TIMESTAMP_FORM
        try:
            ok = form.fullmatch(text) is not None and dt.datetime.fromisoformat(text).year >= 1
        except ValueError:
            ok = False
    return None if ok else _short(node)


def pseudonym_unsafe(node: exp.Expr, connector: Any) -> str | None:
    from connectors.remote import pseudonym_reason

    return None if connector is None or pseudonym_reason(connector, node) is None else ""


# -- renderings ------------------------------------------------------------------------------------


def ieee_division(node: exp.Expr, connector: Any) -> exp.Expr:
    """``x / y`` that gives ±Infinity or NaN for a zero divisor, as DuckDB does (PostgreSQL raises)."""
    if divisor_may_be_zero(node, connector) is None:
        return node
    infinity = exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE"))
    zero = exp.EQ(this=node.expression.copy(), expression=exp.Literal.number(0))
    by_zero = exp.Mul(this=exp.Cast(this=node.this.copy(), to=exp.DataType.build("DOUBLE")), expression=infinity)
    return exp.Case(ifs=[exp.If(this=zero, true=by_zero)], default=node)


def astronomical_year(node: exp.Expr, connector: Any) -> exp.Expr:
    """``EXTRACT(YEAR …)`` with a year 0 (1 BC is 0, 44 BC is -43), as DuckDB counts; PostgreSQL has none."""
    if node.name.upper() != "YEAR" or node.meta.get("fq_year"):
        return node
    node.meta["fq_year"] = True
    negative = exp.LT(this=node.copy(), expression=exp.Literal.number(0))
    shift = exp.Case(ifs=[exp.If(this=negative, true=exp.Literal.number(1))], default=exp.Literal.number(0))
    return exp.Paren(this=exp.Add(this=node, expression=shift))


def _pg_column(node: exp.Expr, connector: Any) -> Any:
    tag = node.meta.get("fq_table") if isinstance(node, exp.Column) and connector is not None else None
    return connector.column_info(tuple(tag[2:]), node.name) if tag else None


def pg_char_as_text(node: exp.Expr, connector: Any) -> exp.Expr:
    """A ``char(n)`` column read as its text wherever it appears. PostgreSQL gives CASE, COALESCE,
    GREATEST and set operations over ``char(n)`` and ``varchar`` the type ``char``, whose trailing
    blanks do not count: ``'x '`` from the varchar side came back as ``'x'``. DuckDB holds the unpadded
    text, which is what the cast gives."""
    info = _pg_column(node, connector)
    if info is not None and info.native_type == "bpchar":
        return exp.Cast(this=node, to=exp.DataType.build("TEXT"))
    return node


def _char_text_column(node: exp.Expr) -> exp.Expr:
    """The column inside ``CAST(col AS TEXT)`` (how a char(n) column is read), else ``node`` itself."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Column) and node.to.this == exp.DataType.Type.TEXT:
        return node.this
    return node


def pg_text_operands(node: exp.Expr, connector: Any) -> exp.Expr:
    """``char(n)`` and enum columns compared as their text, as DuckDB compares them.

    ``char(n)``: PostgreSQL ignores trailing blanks (``'ab' = 'ab '``), DuckDB holds the unpadded text.
    An enum against anything but another enum: DuckDB compares ``CAST(e AS VARCHAR)`` in byte order
    (``'happy' < 'ok'`` whatever the declaration order), and a literal that is no label matches nothing
    there where PostgreSQL raises; so the enum is sent as ``CAST(e AS TEXT) COLLATE "C"``."""
    compared = ["this", "expression", "low", "high"]
    keys = ["this"] if isinstance(node, exp.Like) else compared  # a LIKE pattern is text already
    operands = [node.args.get(k) for k in compared] + (list(node.expressions) if isinstance(node, exp.In) else [])
    present = [op for op in operands if op is not None]
    # A char(n) column may already be read as its text (the Column entry's pg_char_as_text): look through
    # that cast, or an enum compared with it is left an enum, which PostgreSQL will not compare with text.
    infos = [_pg_column(_char_text_column(op), connector) for op in present]
    # Only an enum against text is compared as text. Enum against enum (a column, a subquery's MIN)
    # orders by the declaration order at the server as in DuckDB, so it is left alone.
    textual = all(
        (info is not None and info.enum_labels)
        or (isinstance(op, exp.Literal) and op.is_string)
        or (info is not None and pa.types.is_string(info.arrow))
        or _text_valued(op)
        for op, info in zip(present, infos)
    )
    all_enums = not textual or all(i is not None and i.enum_labels for i in infos)

    def as_text(operand: exp.Expr) -> exp.Expr:
        info = _pg_column(operand, connector)
        if info is None or operand is not _char_text_column(operand):
            return operand  # not a column, or a char(n) column already read as its text
        text = exp.Cast(this=operand, to=exp.DataType.build("TEXT"))
        if info.enum_labels and not all_enums:
            return exp.Collate(this=text, expression=exp.to_identifier("C", quoted=True))
        return text if info.native_type == "bpchar" else operand

    for key in keys:
        operand = node.args.get(key)
        if operand is not None:
            node.set(key, as_text(operand))
    if isinstance(node, exp.In):
        node.set("expressions", [as_text(e) for e in node.expressions])
    return node


#: Expressions that are text in PostgreSQL whatever their operands (an enum among them): ``en || 'x'`` is
#: text, where a CASE or COALESCE over an enum is the enum.
_TEXT_VALUED = (exp.DPipe, exp.Concat, exp.Substring, exp.Upper, exp.Lower, exp.Trim)


def _text_valued(operand: exp.Expr) -> bool:
    operand = operand.unnest()
    if isinstance(operand, exp.Cast):
        return operand.to.is_type(*exp.DataType.TEXT_TYPES)
    return isinstance(operand, _TEXT_VALUED)


def set_operation_enum(node: exp.Expr, connector: Any) -> str | None:
    """A PostgreSQL enum column output by a branch of a UNION/INTERSECT/EXCEPT: PostgreSQL will not
    match an enum with text ("INTERSECT types mood and character varying cannot be matched") where
    DuckDB compares it as text."""
    branches = [node]
    while branches:
        branch = branches.pop()
        if isinstance(branch, exp.Subquery):
            branches.append(branch.this)
        elif isinstance(branch, exp.SetOperation):
            branches.extend([branch.left, branch.right])
        elif isinstance(branch, exp.Select):
            for projection in branch.expressions:
                info = _pg_column(projection.unalias(), connector)
                if info is not None and info.enum_labels:
                    return _label(projection.unalias())  # type: ignore[arg-type]
    return None


def pg_boolean_extreme(node: exp.Expr, connector: Any) -> exp.Expr:
    """MIN/MAX of a boolean as PostgreSQL's BOOL_AND/BOOL_OR (it has no MIN(boolean)): false < true, NULLs
    skipped, NULL over no value, as DuckDB's MIN/MAX."""
    value = node.this
    info = _pg_column(value, connector)
    typed = info.arrow if info is not None else None
    boolean = (typed is not None and pa.types.is_boolean(typed)) or (
        typed is None and value.type is not None and value.type.this == exp.DataType.Type.BOOLEAN
    )
    if not boolean:
        return node
    return (exp.LogicalAnd if isinstance(node, exp.Min) else exp.LogicalOr)(this=value)


def enum_pair(node: exp.Expr, connector: Any) -> str | None:
    """Two MySQL ENUMs ordered against each other: MySQL compares their labels as text, DuckDB by index."""
    enums = [
        op.sql("duckdb")
        for op in node.iter_expressions()
        if isinstance(op, exp.Column) and connector is not None and (info := connector._info(op)) is not None
        and info.enum_labels
    ]  # fmt: skip
    return " and ".join(enums) if len(enums) > 1 else None


def enum_extreme(node: exp.Expr, connector: Any) -> str | None:
    """MIN/MAX of a MySQL ENUM: MySQL compares the labels as text, DuckDB by declaration order."""
    value = node.this
    info = connector._info(value) if isinstance(value, exp.Column) and connector is not None else None
    return value.sql("duckdb") if info is not None and info.enum_labels else None


def binary_text_comparison(node: exp.Expr, connector: Any) -> exp.Expr:
    """Text against text compared byte by byte in MySQL: no case or accent folding, no PAD SPACE."""
    if isinstance(node, exp.Between):
        keys = ["this", "low", "high"]
    elif isinstance(node, exp.In):
        if _is_text(node.this) and node.expressions and all(_is_text(v) for v in node.expressions):
            node.set("this", _as_binary(node.this))
            node.set("expressions", [_as_binary(v) for v in node.expressions])
        return node
    else:
        keys = ["this", "expression"]
    operands = [node.args.get(k) for k in keys]
    # Only text against text (LIKE: the column): a number compared with '02' stays numeric, as in DuckDB.
    if all(op is not None and _is_text(op) for op in operands) or isinstance(node, exp.Like):
        for key, op in zip(keys, operands):
            if op is not None:
                node.set(key, _as_binary(op))
    return node


def _as_binary(node: exp.Expr) -> exp.Expr:
    return exp.Cast(this=node, to=exp.DataType.build("BINARY"))


# -- the tables ------------------------------------------------------------------------------------

_FLOAT_OVERFLOW = Unless(
    float_arithmetic,
    "floating-point arithmetic past the double range is an error in {dialect} (DuckDB: ±Infinity)",
    trap="floating-point overflow",
)
_INT = "arithmetic in DuckDB's result type (the fragment's result is cast to it); integer overflow is an error in both"
_SAME = "the same meaning in both"
_NULLS = "NULL in, NULL out"
_TRAPS = "tests/test_dialect_traps.py"


class SqlPushdown(PushdownTable):
    """What PostgreSQL and MySQL/MariaDB share: the logic, comparisons and aggregates of standard SQL."""

    And = Pushed("three-valued logic", examples=("i > 0 AND t = 'a'",))
    Or = Pushed("three-valued logic", examples=("i > 0 OR t IS NULL",))
    Not = Pushed("three-valued logic", examples=("NOT (i > 0)",))
    Paren = Pushed("grouping", examples=("(i + 1) * 2",))
    DPipe = Pushed(
        "text concatenation (MySQL: CONCAT); NULL in, NULL out; integers and decimals spelt as DuckDB does",
        unless=(
            Unless(float_operand, "a floating-point number turned into text is spelt differently by {dialect}"),
            Unless(temporal_operand, "a date turned into text is spelt differently by {dialect} (BC, far-future)"),
        ),
        examples=("t || 'x'", "t || t", "'n' || i", "'n' || n"),
    )
    Neg = Pushed(_INT, examples=("-i", "-n", "-f"))
    Add = Pushed(_INT, unless=(_FLOAT_OVERFLOW,), examples=("i + 1", "n + 1.5", "b + i"))
    Sub = Pushed(_INT, unless=(_FLOAT_OVERFLOW,), examples=("i - 1", "n - 0.25", "b - 1"))
    Mul = Pushed(_INT, unless=(_FLOAT_OVERFLOW,), examples=("i * 2", "n * 3", "b * a"))
    Is = Pushed("IS NULL", examples=("i IS NULL", "t IS NOT NULL"))
    Distinct = Pushed("DISTINCT inside an aggregate", examples=("SELECT count(DISTINCT i) FROM {t}",))
    Coalesce = Pushed(_NULLS, examples=("coalesce(i, -1)", "coalesce(t, 'none')"))
    Nullif = Pushed(_SAME, examples=("nullif(i, 0)", "nullif(t, '')"))
    Case = Pushed(_SAME, examples=("CASE WHEN i > 0 THEN 'pos' WHEN i < 0 THEN 'neg' ELSE 'zero' END",))
    If = Pushed("a CASE with one branch", examples=("CASE WHEN t = '' THEN 1 ELSE 0 END",))
    Abs = Pushed("absolute value; abs(minimum integer) is an error in both", examples=("abs(n)", "abs(f)", "abs(b)"))
    Floor = Pushed(_SAME, examples=("floor(n)", "floor(f)"))
    Ceil = Pushed(_SAME, examples=("ceil(n)", "ceil(f)"))
    Count = Pushed(
        "COUNT",
        unless=(
            Unless(distinct_of_several, "COUNT(DISTINCT over several columns) counts NULL-holding rows differently in "
                   "{dialect}", trap="COUNT(DISTINCT) of several columns"),
        ),
        examples=("SELECT count(*), count(i), count(t), count(d) FROM {t}", "SELECT count(DISTINCT n) FROM {t}"),
    )  # fmt: skip
    Sum = Pushed("SUM; the result is cast to DuckDB's type", examples=("SELECT sum(i), sum(b), sum(n) FROM {t}",))
    Min = Pushed("MIN", examples=("SELECT min(i), min(n), min(d) FROM {t}",))
    Max = Pushed("MAX", examples=("SELECT max(i), max(n), max(d) FROM {t}",))
    Rollup = NotPushable("ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}", trap="GROUP BY ROLLUP")
    Cube = NotPushable("ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}")
    GroupingSets = NotPushable("ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}")
    Filter = NotPushable("aggregate FILTER clauses are kept local for {dialect}", trap="aggregate FILTER")
    Upper = NotPushable("UPPER of non-ASCII text follows {dialect}'s locale (DuckDB: Unicode rules)",
                        trap="upper/lower of non-ASCII text")  # fmt: skip
    Lower = NotPushable("LOWER of non-ASCII text follows {dialect}'s locale (DuckDB: Unicode rules)",
                        trap="upper/lower of non-ASCII text")  # fmt: skip
    Substring = Pushed(
        "SUBSTRING counted in characters",
        unless=(Unless(substring_bound_unsafe, "SUBSTRING with a start or length that may be zero or negative differs "
                       "in {dialect}", trap="SUBSTRING with a negative start"),),
        examples=("substring(t, 1, 2)", "substring(t, 2)"),
    )  # fmt: skip
    Escape = Pushed("LIKE … ESCAPE names its escape character", examples=("t LIKE 'a!%%' ESCAPE '!'",))


_REAL = Unless(real_operand, "a REAL/FLOAT value compared in {dialect} is widened to double there, in DuckDB the "
               "other way round")  # fmt: skip
_LIKE = Unless(like_pattern_unsafe, "LIKE treats \\ as an escape character in {dialect}, DuckDB does not",
               trap="LIKE: backslash is no escape character")  # fmt: skip
_LIKE_BYTES = Unless(like_one_byte_wildcard, "LIKE matches the bytes in {dialect} (CAST AS BINARY): '_' is one byte "
                     "there, one character in DuckDB ('ß' is two bytes)", trap="LIKE: _ is one character")  # fmt: skip
_PG_FUZZY = Unless(inexact_equality, "{detail} has a nondeterministic collation in PostgreSQL ('A' may equal 'a')")
_PG_ORDER = Unless(non_byte_order, "ordering on {detail} uses a non-byte-order collation in PostgreSQL")
_PG_COMPARED_INSIDE = Unless(compared_inside_fuzzy, "NULLIF/CASE compares {detail}, which has a nondeterministic "
                             "collation in PostgreSQL ('A' may equal 'a')")  # fmt: skip
_MY_SET_OPERATIONS = "set operations on numbers, dates and binary-collated text"


def set_operation(doc: str, unless: tuple[Unless, ...], *examples: str) -> Pushed:
    """A UNION, INTERSECT or EXCEPT entry: the same reasons for each, examples of its own."""
    return Pushed(doc, unless=unless, examples=examples)


_PG_SET_ENUM = Unless(set_operation_enum, "a set operation over the enum {detail}: PostgreSQL will not match an enum "
                      "with text, DuckDB compares it as text")  # fmt: skip
_PG_PARTS = {"YEAR", "MONTH", "DAY", "QUARTER", "HOUR", "MINUTE"}
_TEXT_CASTS = ("VARCHAR", "TEXT", "CHAR", "NCHAR", "NVARCHAR")


def _cast_entries(every: tuple[Unless, ...] = (), **unless: tuple[Unless, ...]) -> dict[str, Entry]:
    """The plain scalar targets every SQL source means the same way by; anything else (PostgreSQL's
    ``regclass``, user-defined types) looks names up in the source's own catalogs: not listed."""
    names = ("BOOLEAN", "TINYINT", "SMALLINT", "INT", "BIGINT", "FLOAT", "DOUBLE", "DECIMAL", *_TEXT_CASTS, "DATE",
             "TIMESTAMP")  # fmt: skip
    return {name: Pushed(f"CAST to {name}", unless=every + unless.get(name, ())) for name in names}


_FLOAT_TEXT = Unless(float_to_text, "a floating-point number cast to text is spelt differently by {dialect}",
                     trap="a double cast to text")  # fmt: skip


_DATE_TEXT = Unless(temporal_to_text, "a date or timestamp cast to text is spelt differently by {dialect} (BC and "
                    "far-future years)")  # fmt: skip


class PostgresPushdown(SqlPushdown):
    """PostgreSQL (sessions in UTC, ISO dates, full float precision: see connectors.postgres)."""

    dialect = "PostgreSQL"
    casts = _cast_entries(**{name: (_FLOAT_TEXT, _DATE_TEXT) for name in _TEXT_CASTS})
    Cast = Pushed(
        "CAST to a plain scalar type (the targets below)",
        examples=("CAST(i AS BIGINT)", "CAST(n AS DOUBLE)", "CAST(i AS VARCHAR)", "CAST(n AS INT)", "CAST(f AS INT)"),
    )
    TryCast = NotPushable("TRY_CAST is not sent to this source (it would fail where DuckDB gives NULL)")
    Nullif = Pushed(_SAME, unless=(_PG_COMPARED_INSIDE,), examples=SqlPushdown.Nullif.examples)
    Case = Pushed(
        _SAME,
        unless=(_PG_COMPARED_INSIDE,),
        examples=SqlPushdown.Case.examples + ("CASE t WHEN 'abc' THEN 1 WHEN '' THEN 2 ELSE 0 END",),
    )
    Column = Pushed("a column; a char(n) one is read as its text (CAST(c AS TEXT)), trailing blanks gone as in "
                    "DuckDB, wherever it appears (a CASE over char and varchar is char there)",
                    render=pg_char_as_text, examples=("t",))  # fmt: skip
    EQ = Pushed(
        "equality",
        render=pg_text_operands,
        unless=(_REAL, _PG_FUZZY),
        examples=("i = 0", "t = 'abc'", "d = DATE '2020-02-29'"),
    )
    NEQ = Pushed(
        "inequality", render=pg_text_operands, unless=(_REAL, _PG_FUZZY), examples=("i <> 0", "t <> ''", "f <> 1")
    )
    GT = Pushed(
        "ordering",
        render=pg_text_operands,
        unless=(_REAL, _PG_ORDER),
        examples=("i > 0", "t > 'abc'", "d > DATE '2000-01-01'"),
    )
    GTE = Pushed(
        "ordering", render=pg_text_operands, unless=(_REAL, _PG_ORDER), examples=("i >= 0", "t >= 'b'", "n >= 0")
    )
    LT = Pushed(
        "ordering",
        render=pg_text_operands,
        unless=(_REAL, _PG_ORDER),
        examples=("i < 0", "t < 'b'", "f < 0", "d < DATE '0001-01-01'"),
    )
    LTE = Pushed(
        "ordering", render=pg_text_operands, unless=(_REAL, _PG_ORDER), examples=("i <= 0", "t <= 'abc'", "n <= 0")
    )
    Between = Pushed(
        "ordering",
        render=pg_text_operands,
        unless=(_REAL, _PG_ORDER),
        examples=("i BETWEEN -1 AND 1", "t BETWEEN 'a' AND 'b'"),
    )
    In = Pushed(
        "equality with each item",
        render=pg_text_operands,
        unless=(_REAL, _PG_FUZZY),
        examples=("i IN (0, 1)", "t IN ('', 'abc')"),
    )
    Like = Pushed(
        "LIKE without backslashes (no escape character in DuckDB)",
        render=pg_text_operands,
        unless=(_LIKE, _PG_FUZZY),
        examples=("t LIKE 'a%'", "t LIKE '%c_'", "t LIKE ''"),
    )
    ILike = NotPushable(
        "ILIKE folds non-ASCII case by PostgreSQL's ctype (locale-dependent), not proven equal to DuckDB's rules"
    )
    Div = Pushed("division as DuckDB's: floating point for integers (sqlglot's typed division); a zero "
                 "divisor gives ±Infinity or NaN as in DuckDB, not an error", render=ieee_division,
                 examples=("i / 2", "n / 4", "f / 2", "i / a", "n / a", "f / a"))  # fmt: skip
    Mod = Pushed("% of integers or decimals (a zero divisor is an error in both)", unless=(
        Unless(float_operand, "% of floating-point numbers differs in {dialect}", trap="% of a double"),),
        examples=("i % 7", "n % 2", "-7 % 2"))  # fmt: skip
    Length = Pushed("length in characters", unless=(
        Unless(not_text, "length of a non-text value ({detail}: DuckDB's len of a list) has no equivalent in "
               "{dialect} (tests/test_expression_fidelity.py)"),), examples=("length(t)",))  # fmt: skip
    StrPosition = Pushed("position in characters, 1 for an empty needle", examples=("strpos(t, 'b')", "strpos(t, '')"))
    Greatest = Pushed("GREATEST ignoring NULLs", unless=(_PG_ORDER,), examples=("greatest(i, 0)", "greatest(n, 1.5)"))
    Least = Pushed("LEAST ignoring NULLs", unless=(_PG_ORDER,), examples=("least(i, 0)", "least(n, 1.5)"))
    Sqrt = NotPushable(
        "SQRT of a negative number is an error in PostgreSQL (DuckDB: NaN)", trap="SQRT and LN of negative numbers"
    )
    Exp = NotPushable("EXP past the double range is an error in PostgreSQL (DuckDB: Infinity)")
    Ln = NotPushable(
        "LN of zero or a negative number is an error in PostgreSQL (DuckDB: -Infinity or NaN)",
        trap="SQRT and LN of negative numbers",
    )
    Round = NotPushable(
        "ROUND of floating-point ties differs in PostgreSQL (to even) from DuckDB (away from zero)",
        trap="ROUND of floating-point ties",
    )
    Avg = Pushed("AVG; the result is cast to DuckDB's DOUBLE", examples=("SELECT avg(i), avg(n), avg(b) FROM {t}",))
    Extract = Pushed(
        "EXTRACT of calendar and clock fields; years counted with a year 0, as DuckDB does (44 BC is -43)",
        unless=(Unless(extract_part(_PG_PARTS), "EXTRACT({detail}) differs between PostgreSQL and DuckDB",
                       trap="EXTRACT day of week"),),
        render=astronomical_year,
        examples=("extract(year FROM d)", "extract(month FROM d)", "extract(day FROM d)", "extract(quarter FROM d)"),
    )  # fmt: skip
    Group = Pushed("GROUP BY", unless=(Unless(grouping_sets, "ROLLUP/CUBE/GROUPING SETS are kept local for "
                                              "{dialect}"), _PG_FUZZY),
                   examples=("SELECT a, count(*), sum(i) FROM {t} GROUP BY a", "SELECT t, count(*) FROM {t} GROUP BY t",
                             "SELECT f, count(*) FROM {t} GROUP BY f"))  # fmt: skip
    Select = Pushed(
        "SELECT (DISTINCT)",
        unless=(_PG_FUZZY,),
        examples=("SELECT DISTINCT a FROM {t}", "SELECT DISTINCT t FROM {t}", "SELECT DISTINCT f FROM {t}"),
    )
    Distinct = Pushed("DISTINCT inside an aggregate", unless=(_PG_FUZZY,), examples=SqlPushdown.Distinct.examples)
    Window = Pushed(
        "aggregates listed here over a window",
        unless=(_PG_FUZZY,),
        examples=("SELECT id, sum(i) OVER (PARTITION BY a) FROM {t}",),
    )
    Union = set_operation(
        "set operations",
        (_PG_FUZZY, _PG_SET_ENUM),
        "SELECT a FROM {t} UNION SELECT i FROM {t}",
        "SELECT t FROM {t} UNION SELECT 'abc'",
    )
    Intersect = set_operation(
        "set operations", (_PG_FUZZY, _PG_SET_ENUM), "SELECT a FROM {t} INTERSECT SELECT i FROM {t}"
    )
    Except = set_operation("set operations", (_PG_FUZZY, _PG_SET_ENUM), "SELECT a FROM {t} EXCEPT SELECT i FROM {t}")
    Ordered = Pushed(
        "ORDER BY, with NULLS FIRST/LAST said explicitly",
        unless=(_PG_ORDER,),
        examples=(
            "SELECT id, i FROM {t} ORDER BY i DESC, id",
            "SELECT id FROM {t} ORDER BY t, id",
            "SELECT id, f FROM {t} ORDER BY f, id LIMIT 6",
            "SELECT id FROM {t} ORDER BY d DESC, id",
        ),
    )
    Min = Pushed(
        "MIN; of a boolean, BOOL_AND",
        unless=(_PG_ORDER,),
        render=pg_boolean_extreme,
        examples=SqlPushdown.Min.examples + ("SELECT min(t) FROM {t}", "SELECT min(i > 0) FROM {t}"),
    )
    Max = Pushed(
        "MAX; of a boolean, BOOL_OR",
        unless=(_PG_ORDER,),
        render=pg_boolean_extreme,
        examples=SqlPushdown.Max.examples + ("SELECT max(t) FROM {t}", "SELECT max(i > 0) FROM {t}"),
    )
    Pseudonymise = Pushed("HMAC-SHA-256 composed from the server's SHA-256, over integers and text only",
                          unless=(Unless(pseudonym_unsafe, "pseudonymise over a value other than an integer or text "
                                         "column is computed by fedquery's DuckDB"),))  # fmt: skip


_MY_BOOL = Unless(boolean_column, "TINYINT(1) holds any small integer in MySQL (= TRUE misses 2); DuckDB reads it as "
                  "BOOLEAN")  # fmt: skip
_MY_TEXT = Unless(text_key_not_binary, "{detail} on text would follow MySQL's case-insensitive collation",
                  trap="collation: GROUP BY")  # fmt: skip
_MY_COMPARED_INSIDE = Unless(text_key_not_binary, "NULLIF/CASE compares {detail} as text under MySQL's "
                             "case-insensitive collation")  # fmt: skip
_MY_DATE_ADD = Unless(
    temporal_arithmetic, "MySQL adds a number to a date ({detail}) as a YYYYMMDD number", trap="date plus a number"
)
_MY_DATE_SUB = Unless(
    temporal_arithmetic, "MySQL subtracts dates ({detail}) as YYYYMMDD numbers", trap="date minus a date"
)
_MY_ENUM_EXTREME = Unless(enum_extreme, "MIN/MAX of a MySQL ENUM ({detail}) compare its labels as text there, by "
                          "declaration order in DuckDB")  # fmt: skip
_MY_ENUM_ORDER = Unless(enum_pair, "ordering of MySQL ENUMs against each other ({detail}) compares their labels as "
                        "text there, by declaration order in DuckDB")  # fmt: skip
_MY_COMPARE = "compared byte by byte (CAST(x AS BINARY)) where both sides are text"


class MySQLPushdown(SqlPushdown):
    """MySQL and MariaDB (sessions in UTC, read-only: see connectors.mysql)."""

    dialect = "MySQL"
    casts = _cast_entries(every=(Unless(not_a_canonical_literal, "CAST ({detail}) follows MySQL's conversion rules",
                                        trap="a text literal MySQL converts its own way"),))  # fmt: skip
    Cast = Pushed("only text literals (DATE '2020-01-01'); other casts follow MySQL's conversion rules",
                  examples=("d >= DATE '2020-01-01'",))  # fmt: skip
    TryCast = NotPushable("TRY_CAST is not sent to this source (it would fail where DuckDB gives NULL)")
    Nullif = Pushed(_SAME, unless=(_MY_COMPARED_INSIDE, _REAL, _MY_BOOL), examples=("nullif(i, 0)", "nullif(d, d)"))
    Case = Pushed(
        _SAME,
        unless=(_MY_COMPARED_INSIDE,),
        examples=SqlPushdown.Case.examples + ("CASE i WHEN 0 THEN 'zero' WHEN 1 THEN 'one' END",),
    )
    EQ = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL), render=binary_text_comparison,
                examples=("i = 0", "t = 'abc'", "t = 'abc '", "f = 0", "d = DATE '2020-02-29'"))  # fmt: skip
    NEQ = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL), render=binary_text_comparison, examples=("i <> 0", "t <> ''"))
    GT = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER), render=binary_text_comparison,
                examples=("i > 0", "t > 'abc'", "f > 0", "d > DATE '2000-01-01'"))  # fmt: skip
    GTE = Pushed(
        _MY_COMPARE,
        unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER),
        render=binary_text_comparison,
        examples=("i >= 0", "t >= 'b'"),
    )
    LT = Pushed(
        _MY_COMPARE,
        unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER),
        render=binary_text_comparison,
        examples=("i < 0", "t < 'b'"),
    )
    LTE = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER), render=binary_text_comparison,
                 examples=("i <= 0", "t <= 'abc'", "n <= 0"))  # fmt: skip
    Between = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL, _MY_ENUM_ORDER), render=binary_text_comparison,
                     examples=("i BETWEEN -1 AND 1", "t BETWEEN 'a' AND 'b'"))  # fmt: skip
    In = Pushed(_MY_COMPARE, unless=(_REAL, _MY_BOOL), render=binary_text_comparison,
                examples=("i IN (0, 1)", "t IN ('', 'abc', 'ABC')"))  # fmt: skip
    Like = Pushed("LIKE without backslashes or '_', on the bytes (CAST(x AS BINARY): case-sensitive)",
                  unless=(_LIKE, _LIKE_BYTES), render=binary_text_comparison,
                  examples=("t LIKE 'a%'", "t LIKE '%c%'", "t LIKE ''"))  # fmt: skip
    Is = Pushed("IS NULL", unless=(Unless(temporal_column, "IS NULL on a MySQL date matches its zero dates "
                                          "('0000-00-00'); DuckDB reads those as NULL"),),
                examples=("i IS NULL", "t IS NOT NULL"))  # fmt: skip
    Add = Pushed(_INT, unless=(_FLOAT_OVERFLOW, _MY_DATE_ADD), examples=SqlPushdown.Add.examples)
    Sub = Pushed(_INT, unless=(_FLOAT_OVERFLOW, _MY_DATE_SUB), examples=SqlPushdown.Sub.examples)
    Div = NotPushable("/ in MySQL returns DECIMAL with a fixed extra scale, not DuckDB's DOUBLE",
                      trap="scale of DECIMAL division")  # fmt: skip
    Avg = NotPushable("AVG in MySQL returns DECIMAL with 4 extra digits of scale, not DuckDB's DOUBLE",
                      trap="AVG of DECIMAL")  # fmt: skip
    Mod = Pushed("% of integers or decimals by a non-zero literal", unless=(
        Unless(float_operand, "% of floating-point numbers differs in {dialect}", trap="% of a double"),
        Unless(divisor_may_be_zero, "% by zero gives NULL in MySQL; DuckDB raises an error")),
        examples=("i % 7", "n % 2"))  # fmt: skip
    Extract = Pushed("EXTRACT of calendar and clock fields (MySQL dates have no BC years)",
                     unless=(Unless(extract_part(_PG_PARTS), "EXTRACT({detail}) differs between MySQL and DuckDB",
                                    trap="EXTRACT day of week"),),
                     examples=("extract(year FROM d)", "extract(month FROM d)", "extract(quarter FROM d)"))  # fmt: skip
    Group = Pushed(
        "GROUP BY on numbers, dates and binary-collated text; a key that is an output expression is sent as "
        "its position (MariaDB's ONLY_FULL_GROUP_BY check refuses some expressions as keys)",
        unless=(
            Unless(grouping_sets, "ROLLUP/CUBE/GROUPING SETS are kept local for {dialect}", trap="GROUP BY ROLLUP"),
            _MY_TEXT,
            Unless(
                nullif_key,
                "grouping by {detail}: MariaDB rewrites NULLIF into a CASE that its ONLY_FULL_GROUP_BY "
                "check then refuses",
            ),
        ),
        examples=(
            "SELECT a, count(*), sum(i) FROM {t} GROUP BY a",
            "SELECT d, count(*) FROM {t} GROUP BY d",
            "SELECT t IS NOT NULL AS p, count(*) FROM {t} GROUP BY t IS NOT NULL",
        ),
    )
    # fmt: skip
    Ordered = Pushed(
        "ORDER BY on numbers, dates and binary text, NULLs placed as in DuckDB",
        unless=(_MY_TEXT,),
        examples=("SELECT id, i FROM {t} ORDER BY i DESC, id", "SELECT id FROM {t} ORDER BY d, id LIMIT 4"),
    )
    Select = Pushed(
        "SELECT DISTINCT on numbers, dates and binary-collated text",
        unless=(_MY_TEXT,),
        examples=("SELECT DISTINCT a FROM {t}", "SELECT DISTINCT d FROM {t}"),
    )
    Union = set_operation(_MY_SET_OPERATIONS, (_MY_TEXT,), "SELECT a FROM {t} UNION SELECT i FROM {t}")
    Intersect = set_operation(_MY_SET_OPERATIONS, (_MY_TEXT,), "SELECT a FROM {t} INTERSECT SELECT i FROM {t}")
    Except = set_operation(_MY_SET_OPERATIONS, (_MY_TEXT,), "SELECT a FROM {t} EXCEPT SELECT i FROM {t}")
    Min = Pushed(
        "MIN on numbers, dates, binary text", unless=(_MY_TEXT, _MY_ENUM_EXTREME), examples=SqlPushdown.Min.examples
    )
    Max = Pushed(
        "MAX on numbers, dates, binary text", unless=(_MY_TEXT, _MY_ENUM_EXTREME), examples=SqlPushdown.Max.examples
    )
    Count = Pushed("COUNT", unless=(*SqlPushdown.Count.unless, _MY_TEXT), examples=SqlPushdown.Count.examples)
    Window = Pushed(
        "aggregates listed here over a window partitioned by numbers, dates or binary-collated text",
        unless=(_MY_TEXT,),
        examples=("SELECT id, sum(i) OVER (PARTITION BY a) FROM {t}",),
    )
    Pseudonymise = PostgresPushdown.Pseudonymise


_DECIMAL_TYPES = (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL, exp.DataType.Type.UNKNOWN)


def decimal_arithmetic(node: exp.Expr, connector: Any) -> str | None:
    """Could DuckDB compute this in exact DECIMAL where SQLite would use floating point?"""
    for operand in [node, *node.iter_expressions()]:
        if isinstance(operand, exp.Literal) and not operand.is_string and not operand.this.lstrip("-").isdigit():
            return _short(node)  # DuckDB types 0.06 as DECIMAL(3,2)
        t = operand.type
        if t is None or t.this in _DECIMAL_TYPES:
            return _short(node)
    return None


_SQLITE_DECIMAL = Unless(decimal_arithmetic, "{detail} is DECIMAL arithmetic, which SQLite does in binary floating "
                         "point")  # fmt: skip


class SQLitePushdown(PushdownTable):
    """SQLite: no DATE type, binary floating point for DECIMAL, case-insensitive LIKE."""

    dialect = "SQLite"
    casts = {"DATE": Pushed("a text literal as a DATE (DATE '2020-01-01'); stored as ISO text", unless=(
        Unless(not_a_date_literal, "CAST ({detail}) has no exact SQLite equivalent"),))}  # fmt: skip
    Cast = Pushed("only date literals")
    And = SqlPushdown.And
    Or = SqlPushdown.Or
    Not = SqlPushdown.Not
    Paren = SqlPushdown.Paren
    Is = SqlPushdown.Is
    Distinct = SqlPushdown.Distinct
    EQ = Pushed("equality")
    NEQ = Pushed("inequality")
    GT = Pushed("ordering (text in byte order: BINARY collation)")
    GTE = Pushed("ordering")
    LT = Pushed("ordering")
    LTE = Pushed("ordering")
    Between = Pushed("ordering")
    In = Pushed("equality with each item")
    Add = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Sub = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Mul = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Neg = Pushed("arithmetic on integers and floats", unless=(_SQLITE_DECIMAL,))
    Div = NotPushable("/ of integers is integer division in SQLite")
    Count = Pushed("COUNT")
    Sum = Pushed("SUM of integers and floats", unless=(_SQLITE_DECIMAL,))
    Avg = Pushed("AVG of integers and floats", unless=(_SQLITE_DECIMAL,))
    Min = Pushed("MIN")
    Max = Pushed("MAX")
    Case = SqlPushdown.Case
    If = SqlPushdown.If
    Coalesce = SqlPushdown.Coalesce
    Abs = Pushed("absolute value")
    Like = NotPushable("LIKE is case-insensitive in SQLite")
    Extract = NotPushable("SQLite has no DATE type: EXTRACT has no exact equivalent")


class DuckDBPushdown(PushdownTable):
    """A DuckDB file: the same engine answers, so everything is pushed (casts to plain types only)."""

    dialect = "DuckDB"
    everything = True


TABLES: dict[str, type[PushdownTable]] = {
    "postgres": PostgresPushdown,
    "mysql": MySQLPushdown,
    "sqlite": SQLitePushdown,
    "duckdb": DuckDBPushdown,
}


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


# -- the README section -----------------------------------------------------------------------------

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


if __name__ == "__main__":
    raise SystemExit(main())

__all__ = ["TABLES", "NotPushable", "Pushed", "PushdownTable", "Unless"]
