"""Translate a pushed SQL predicate into a ``pyarrow.dataset`` filter.

Only forms whose Arrow meaning equals their SQL meaning are translated:
comparisons of a column with a literal (the literal cast exactly to the
column's type; on floating-point columns NaN is above every value and equal
to itself, as in DuckDB), IN lists without NULL, BETWEEN, IS [NOT] NULL and AND/OR/NOT
of those. Anything else raises :class:`Untranslatable` and is not pushed.

>>> import pyarrow as pa, sqlglot
>>> to_arrow_filter(sqlglot.parse_one("x > 2 AND y IS NULL"), pa.schema([("x", pa.int64()), ("y", pa.string())]))
<pyarrow.compute.Expression ((x > 2) and is_null(y, {nan_is_null=false}))>
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp


class Untranslatable(Exception):
    """The predicate has no exact Arrow equivalent."""


_COMPARE: dict[type[exp.Expr], str] = {
    exp.EQ: "__eq__",
    exp.NEQ: "__ne__",
    exp.GT: "__gt__",
    exp.GTE: "__ge__",
    exp.LT: "__lt__",
    exp.LTE: "__le__",
}
_FLIP: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
    exp.EQ: exp.EQ,
    exp.NEQ: exp.NEQ,
}


def to_arrow_filter(node: exp.Expr, schema: pa.Schema) -> pc.Expression:
    if node.args.get("negate"):
        # sqlglot writes NOT LIKE / NOT IN / NOT BETWEEN as the positive form with negate=True.
        positive = node.copy()
        positive.set("negate", None)
        return ~to_arrow_filter(positive, schema)
    if isinstance(node, exp.Paren):
        return to_arrow_filter(node.this, schema)
    if isinstance(node, exp.Boolean):  # FALSE: a semi-join whose producer is empty
        return pc.scalar(bool(node.this))
    if isinstance(node, (exp.And, exp.Or)):
        # A chain of 1,000 ORs is 1,000 levels deep: walk it flat and combine it balanced.
        terms = [to_arrow_filter(term, schema) for term in node.flatten()]
        return _balanced(terms, and_=isinstance(node, exp.And))
    if isinstance(node, exp.Not):
        inner = node.this
        if isinstance(inner, exp.Is):
            return ~_is_null(inner, schema)
        return ~to_arrow_filter(inner, schema)
    if isinstance(node, exp.Is):
        return _is_null(node, schema)
    if isinstance(node, exp.Column):
        field, typ = _field(node, schema)
        if not pa.types.is_boolean(typ):
            raise Untranslatable("non-boolean column as a predicate")
        return field
    if isinstance(node, exp.Like) and not node.args.get("escape"):
        field, typ = _field(node.this, schema)
        pattern = node.expression
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            raise Untranslatable("LIKE on a non-string column")
        if not (isinstance(pattern, exp.Literal) and pattern.is_string) or "\\" in pattern.this:
            # Arrow treats backslash as an escape; DuckDB does not (without ESCAPE).
            raise Untranslatable("LIKE pattern must be a literal without backslashes")
        options = pc.MatchSubstringOptions(pattern.this)
        return pc.Expression._call("match_like", [field], options)
    if isinstance(node, exp.Binary) and type(node) in _COMPARE:
        left, right = node.left, node.right
        op: type[exp.Expr] = type(node)
        if not isinstance(left, exp.Column) and isinstance(right, exp.Column):
            left, right, op = right, left, _FLIP[op]
        field, typ = _field(left, schema)
        value = _literal(right, typ)
        compared: pc.Expression = getattr(field, _COMPARE[op])(value)
        # DuckDB orders NaN above every other value (+inf included) and equal to itself
        return _nan_as_duckdb(field, typ, compared, nan_truth=op in (exp.NEQ, exp.GT, exp.GTE))
    if isinstance(node, exp.Between):
        field, typ = _field(node.this, schema)
        low, high = _literal(node.args["low"], typ), _literal(node.args["high"], typ)
        return _nan_as_duckdb(field, typ, (field >= low) & (field <= high), nan_truth=False)
    if isinstance(node, exp.In):
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise Untranslatable("IN subquery")
        field, typ = _field(node.this, schema)
        values = [_literal(v, typ) for v in node.expressions]
        if any(v is None or (isinstance(v, pa.Scalar) and not v.is_valid) for v in values):
            raise Untranslatable("IN list with NULL")
        if pa.types.is_floating(typ):
            # Arrow's is_in hashes bits (-0.0 is not 0.0 there); SQL's = does not: compare one by one.
            member = _balanced([field == v for v in values], and_=False)
        else:
            member = field.isin(pa.array([v.as_py() for v in values], type=typ))
        member = _nan_as_duckdb(field, typ, member, nan_truth=False)
        # SQL: NULL IN (...) is NULL; Arrow's is_in says false. Keep SQL's answer so NOT IN stays right.
        return pc.Expression._call("if_else", [field.is_null(), pc.scalar(pa.scalar(None, pa.bool_())), member])
    raise Untranslatable(type(node).__name__)


def _nan_as_duckdb(
    field: pc.Expression, typ: pa.DataType, compared: pc.Expression, *, nan_truth: bool
) -> pc.Expression:
    """A comparison of a floating-point column with a non-NaN literal, with DuckDB's answer for NaN.

    Arrow follows IEEE (NaN compares false, but ``!=``); DuckDB orders NaN above every value. The
    NaN case is spelled out as its own branch, ``(is_nan(f) AND t) OR (NOT is_nan(f) AND cmp)``,
    also because Parquet min/max statistics exclude NaN: Arrow simplifies ``cmp`` by a row group's
    statistics, and only an explicit ``is_nan`` keeps a group holding NaN from being skipped (under
    NOT too, where a ``cmp`` that is true for the whole range would otherwise drop its NaN rows).
    """
    if not pa.types.is_floating(typ):
        return compared
    is_nan = pc.Expression._call("is_nan", [field])
    return (is_nan & pc.scalar(nan_truth)) | (~is_nan & compared)


def _balanced(terms: list[pc.Expression], *, and_: bool) -> pc.Expression:
    while len(terms) > 1:
        pairs = [(terms[i], terms[i + 1]) for i in range(0, len(terms) - 1, 2)]
        rest = terms[len(pairs) * 2 :]
        terms = [(a & b) if and_ else (a | b) for a, b in pairs] + rest
    return terms[0]


def _is_null(node: exp.Is, schema: pa.Schema) -> pc.Expression:
    if not isinstance(node.expression, exp.Null):
        raise Untranslatable("IS other than NULL")
    field, _ = _field(node.this, schema)
    return field.is_null()


def _field(node: exp.Expr, schema: pa.Schema) -> tuple[pc.Expression, pa.DataType]:
    if not isinstance(node, exp.Column):
        raise Untranslatable("not a column")
    index = schema.get_field_index(node.name)
    if index < 0:
        raise Untranslatable(f"unknown column {node.name}")
    return pc.field(node.name), schema.field(index).type


def _literal(node: exp.Expr, typ: pa.DataType) -> pa.Scalar:
    value = _python_value(node)
    try:
        if isinstance(value, str) and not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            if not (pa.types.is_date(typ) or pa.types.is_timestamp(typ)):
                raise Untranslatable("string literal against a non-string column")
        scalar = pa.scalar(value)
        return scalar.cast(typ) if scalar.type != typ else scalar
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, OverflowError) as exc:
        raise Untranslatable(str(exc)) from None


def _python_value(node: exp.Expr) -> Any:
    if isinstance(node, exp.Paren):
        return _python_value(node.this)
    if isinstance(node, exp.Neg):
        inner = _python_value(node.this)
        if isinstance(inner, (int, Decimal)):
            return -inner
        raise Untranslatable("negated non-number")
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        try:
            return int(text)
        except ValueError:
            try:
                return Decimal(text)
            except InvalidOperation:
                raise Untranslatable(f"literal {text}") from None
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        target = node.to.this
        if target == exp.DataType.Type.DATE:
            try:
                return dt.date.fromisoformat(node.this.this)
            except ValueError:
                raise Untranslatable("bad date literal") from None
        if target in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.DATETIME):
            try:
                return dt.datetime.fromisoformat(node.this.this)
            except ValueError:
                raise Untranslatable("bad timestamp literal") from None
    raise Untranslatable(f"{type(node).__name__} is not a literal")
