"""``pseudonymise(x, 'project')`` calls become checked :class:`~fedquery.pseudonym.Pseudonymise` nodes.

Runs right after bind, before normalisation, so that masks the access rules put in place can use
it too. The project's key must be in the environment now (a typed error naming the variable);
each dialect then renders the node as the same HMAC (see :mod:`fedquery.pseudonym`).

>>> import os, sqlglot; os.environ["FEDQUERY_PSEUDONYM_KEY_DOCS"] = "sixteen chars or more"
>>> from fedquery.pseudonym import redact_keys
>>> tree = pseudonymise(sqlglot.parse_one("SELECT pseudonymise(nino, 'docs') FROM t"), context=None)
>>> redact_keys(tree.sql("postgres")).startswith("SELECT ENCODE(SHA256(DECODE('<pseudonym key: docs>', 'hex') ||")
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from fedquery.pseudonym import rewrite

if TYPE_CHECKING:
    from fedquery.planner.context import PlanContext


def pseudonymise(expression: exp.Expr, *, context: PlanContext | None) -> exp.Expr:
    return rewrite(expression)
