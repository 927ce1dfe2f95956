"""The conditions under which a pushable entry is kept local, and the named renderings.

A condition takes the node and the connector (None when judged without one) and returns a detail
for the reason (often the column it concerns; "" when there is none), or None where it does not
hold. A rendering takes a copy of the node and returns what is sent instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from sqlglot import exp

from connectors.pushdown.entries import Test, _short


def _typed(node: Any, names: tuple[str, ...]) -> bool:
    dtype = getattr(node, "type", None)
    return dtype is not None and dtype.this.name in names


def like_pattern_unsafe(node: exp.Expr, connector: Any) -> str | None:
    if isinstance(node.parent, exp.Escape):
        return None  # an explicit ESCAPE says what the escape character is
    pattern = node.expression
    return "" if not isinstance(pattern, exp.Literal) or "\\" in pattern.this else None


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
    else:
        keys = []
    for key in keys:
        value = key.unalias()
        if _is_text(value) and not _binary_column(value, connector):
            return value.sql("duckdb")[:40]
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


def not_a_text_literal(node: exp.Expr, connector: Any) -> str | None:
    return None if isinstance(node.this, exp.Literal) and node.this.is_string else _short(node)


def not_a_date_literal(node: exp.Expr, connector: Any) -> str | None:
    ok = isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.to.this == exp.DataType.Type.DATE
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
    infos = [_pg_column(op, connector) for op in present]
    # Only an enum against text is compared as text. Enum against enum (a column, a subquery's MIN)
    # orders by the declaration order at the server as in DuckDB, so it is left alone.
    textual = all(
        (info is not None and info.enum_labels)
        or (isinstance(op, exp.Literal) and op.is_string)
        or (info is not None and pa.types.is_string(info.arrow))
        for op, info in zip(present, infos)
    )
    all_enums = not textual or all(i is not None and i.enum_labels for i in infos)

    def as_text(operand: exp.Expr) -> exp.Expr:
        info = _pg_column(operand, connector)
        if info is None:
            return operand
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
