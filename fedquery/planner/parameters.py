"""Query parameters bound as literals into the parsed tree, before any planning.

A parameter becomes a sqlglot literal node where its placeholder was, so it is quoted by
the generator in each source's dialect (never pasted into SQL text) and pushed down like a
literal the user had typed. Styles:

- positional, ``params=[...]``: ``?`` (in order) or ``$1``, ``$2`` ... (not both in one query);
- named, ``params={...}``: ``$name`` or ``:name``.

Every placeholder needs a value and every value a placeholder; otherwise a
:class:`~fedquery.errors.ParameterError` names the one that is wrong. Python values map to:

===================  =======================================================
None                 NULL
bool                 TRUE / FALSE
int                  integer literal (beyond ±2**127: refused)
float                ``CAST(x AS DOUBLE)``; NaN and ±inf as ``CAST('nan' AS DOUBLE)``
Decimal              exact numeric literal (DuckDB types it DECIMAL(p, s)); NaN refused
str                  string literal (a NUL character is refused: sources cannot carry it)
bytes                ``unhex('...')`` (a BLOB)
date                 ``CAST('YYYY-MM-DD' AS DATE)``
datetime             ``CAST(... AS TIMESTAMP)``; with a tzinfo ``CAST(... AS TIMESTAMPTZ)``
time                 ``CAST('HH:MM:SS' AS TIME)``
timedelta            ``INTERVAL '<d> days <s> seconds <us> microseconds'``
list / tuple         only as the single item of ``IN (?)``: expanded to the items (not empty)
===================  =======================================================
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from fedquery.errors import ParameterError, ParameterValueError

Params = Sequence[Any] | Mapping[str, Any] | None
_HUGEINT = 2**127


def bind_parameters(expression: exp.Expr, params: Params) -> exp.Expr:
    """Replace every placeholder of ``expression`` by the literal of its parameter.

    >>> import sqlglot
    >>> bind_parameters(sqlglot.parse_one("SELECT $n + 1", read="duckdb"), {"n": 41}).sql()
    'SELECT 41 + 1'
    >>> bind_parameters(sqlglot.parse_one("SELECT ? || ?", read="duckdb"), ["it's", None]).sql("duckdb")
    "SELECT 'it''s' || NULL"
    """
    # In the order written (parse.py keeps each placeholder's token position; the tree's order is not the text's).
    holders = sorted(expression.find_all(exp.Placeholder, exp.Parameter), key=lambda n: n.meta.get("fq_token", 0))
    if params is None:
        if holders:
            raise ParameterError(
                f"the query has {len(holders)} parameter(s) ({_shown(holders[0])}) but no params were given"
            )
        return expression
    if isinstance(params, (str, bytes)) or not isinstance(params, (Sequence, Mapping)):
        raise ParameterError(
            f"params must be a list (for ? or $1) or a dict (for $name or :name), not {type(params).__name__}"
        )
    kinds = {_kind(h) for h in holders}
    if len(kinds) > 1:
        first, other = holders[0], next(h for h in holders if _kind(h) != _kind(holders[0]))
        raise ParameterError(
            f"parameters {_shown(first)} and {_shown(other)} are of two styles; use one style per query"
        )
    kind = kinds.pop() if kinds else ("named" if isinstance(params, Mapping) else "positional")
    if isinstance(params, Mapping):
        if kind != "named" and holders:
            raise ParameterError(
                f"params is a dict, so the query's parameters must be named ($name or :name), not {_shown(holders[0])}"
            )
        values = _named(holders, params)
    else:
        if kind == "named":
            raise ParameterError(
                f"params is a list, so the query's parameters must be ? or $1, not {_shown(holders[0])}"
            )
        values = _positional(holders, list(params))
    for holder, (name, value) in zip(holders, values):
        if isinstance(value, (list, tuple)):
            _bind_list(holder, name, value)
        else:
            holder.replace(literal(value, name))
    return expression


def _kind(holder: exp.Expr) -> str:
    name = _name(holder)
    if name is None:
        return "qmark"
    return "numbered" if name.isdigit() else "named"


def _name(holder: exp.Expr) -> str | None:
    this = holder.this
    if this is None:
        return None
    return this.name if isinstance(this, exp.Expr) else str(this)


def _shown(holder: exp.Expr) -> str:
    name = _name(holder)
    return "?" if name is None else f"${name}"


def _positional(holders: Sequence[exp.Expr], params: list[Any]) -> list[tuple[str, Any]]:
    if holders and _kind(holders[0]) == "numbered":
        numbers = {int(_name(h) or 0) for h in holders}
        for number in sorted(numbers):
            if not 1 <= number <= len(params):
                raise ParameterError(f"parameter ${number} has no value: {len(params)} params were given")
        unused = [i + 1 for i in range(len(params)) if i + 1 not in numbers]
        if unused:
            raise ParameterError(f"param {unused[0]} of {len(params)} is not used: the query has no ${unused[0]}")
        return [(f"${_name(h)}", params[int(_name(h) or 0) - 1]) for h in holders]
    if len(holders) != len(params):
        raise ParameterError(f"the query has {len(holders)} ? parameter(s) but {len(params)} params were given")
    return [(f"parameter {i + 1}", v) for i, v in enumerate(params)]


def _named(holders: Sequence[exp.Expr], params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    from fedquery.errors import suggest

    wanted = {_name(h) or "" for h in holders}
    for name in sorted(wanted):
        if name not in params:
            raise ParameterError(f"parameter ${name} has no value in params.{suggest(name, [str(k) for k in params])}")
    for key in params:
        if key not in wanted:
            hint = suggest(str(key), wanted)
            raise ParameterError(f"param {key!r} is not used: the query has no ${key} or :{key}.{hint}")
    return [(f"${_name(h)}", params[_name(h) or ""]) for h in holders]


def _bind_list(holder: exp.Expr, name: str, value: list[Any] | tuple[Any, ...]) -> None:
    """``x IN (?)`` with a list: the list's items become the IN list."""
    parent = holder.parent
    if not isinstance(parent, exp.In) or len(parent.expressions) != 1 or parent.expressions[0] is not holder:
        raise ParameterValueError(f"{name}: a list is bound only as the single item of IN (?)", parameter=name)
    if not value:
        raise ParameterValueError(f"{name}: IN (?) needs at least one value, got an empty list", parameter=name)
    parent.set("expressions", [literal(v, name) for v in value])


def literal(value: Any, name: str = "parameter") -> exp.Expr:
    """The sqlglot literal node of one Python value (see the module's table)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        if not -_HUGEINT <= value < _HUGEINT:
            raise ParameterValueError(f"{name}: integer {value} is out of range (±2**127)", parameter=name)
        return exp.Literal.number(value)
    if isinstance(value, float):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else None
        number = exp.Literal.string(text) if text else exp.Literal.number(repr(value))
        return exp.cast(number, exp.DataType.Type.DOUBLE)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise ParameterValueError(f"{name}: Decimal {value} is not a number SQL can hold", parameter=name)
        return exp.Literal.number(format(value, "f"))
    if isinstance(value, str):
        if "\x00" in value:
            raise ParameterValueError(
                f"{name}: the string contains a NUL character, which sources cannot carry", parameter=name
            )
        return exp.Literal.string(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return exp.Unhex(this=exp.Literal.string(bytes(value).hex()))
    if isinstance(value, dt.datetime):
        kind = exp.DataType.Type.TIMESTAMPTZ if value.utcoffset() is not None else exp.DataType.Type.TIMESTAMP
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, dt.time):
        if value.utcoffset() is not None:
            raise ParameterValueError(f"{name}: a time with a time zone is not supported", parameter=name)
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.TIME)
    if isinstance(value, dt.timedelta):
        text = f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
        return exp.Interval(this=exp.Literal.string(text))
    raise ParameterValueError(
        f"{name}: values of type {type(value).__name__} cannot be bound "
        "(None, bool, int, float, Decimal, str, bytes, date, datetime, time, timedelta, or a list for IN (?))",
        parameter=name,
    )
