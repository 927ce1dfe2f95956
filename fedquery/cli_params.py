"""``-p name=value`` on the command line: query parameters, typed where asked (``-p n:int=5``).

A value is a string unless its name carries a type: ``int``, ``float``, ``decimal``, ``bool``
(true/false/1/0/yes/no), ``date`` (YYYY-MM-DD), ``timestamp`` (ISO 8601), ``time``, ``null`` (the
value is ignored). Names that are all numbers (``-p 1=a -p 2=b``) fill ``?`` / ``$1`` parameters
in order; other names fill ``$name`` / ``:name``.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Sequence
from typing import Any

import click


def _bool(text: str) -> bool:
    folded = text.strip().lower()
    if folded in ("true", "t", "yes", "y", "1"):
        return True
    if folded in ("false", "f", "no", "n", "0"):
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false)")


TYPES: dict[str, Callable[[str], Any]] = {
    "str": str,
    "int": int,
    "float": float,
    "decimal": decimal.Decimal,
    "bool": _bool,
    "date": dt.date.fromisoformat,
    "timestamp": dt.datetime.fromisoformat,
    "time": dt.time.fromisoformat,
    "null": lambda _text: None,
}


def parse_params(values: Sequence[str]) -> list[Any] | dict[str, Any] | None:
    """``["n:int=5", "region=London"]`` -> ``{"n": 5, "region": "London"}``; numbered names -> a list.

    >>> parse_params(["n:int=5", "region=North East"])
    {'n': 5, 'region': 'North East'}
    >>> parse_params(["2=b", "1:int=7"])
    [7, 'b']
    """
    if not values:
        return None
    named: dict[str, Any] = {}
    for item in values:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: write name=value (or name:type=value)", param_hint="-p")
        name, _, kind = name.partition(":")
        convert = TYPES.get(kind or "str")
        if convert is None:
            raise click.BadParameter(f"{item!r}: unknown type {kind!r} (one of {', '.join(TYPES)})", param_hint="-p")
        if name in named:
            raise click.BadParameter(f"parameter {name!r} is given twice", param_hint="-p")
        try:
            named[name] = convert(text)
        except (ValueError, decimal.InvalidOperation) as exc:
            raise click.BadParameter(f"{item!r}: not a {kind}: {exc}", param_hint="-p") from None
    if all(n.isdigit() for n in named):
        numbers = sorted(int(n) for n in named)
        if numbers != list(range(1, len(numbers) + 1)):
            raise click.BadParameter(f"numbered parameters must be 1..{len(numbers)}, got {numbers}", param_hint="-p")
        return [named[str(n)] for n in numbers]
    return named


param_option = click.option(
    "-p", "--param", "params", multiple=True, metavar="NAME[:TYPE]=VALUE",
    help="A query parameter ($name, :name; 1=, 2= for ? and $1); TYPE: " + ", ".join(TYPES) + " (default str).",
)  # fmt: skip
