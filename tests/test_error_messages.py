"""Errors in the user's terms: a corpus of broken queries, each with a typed, positioned message
that names what is wrong, and none that shows the parser's internals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import fedquery
from fedquery.cli import main
from fedquery.errors import FedQueryError, ParseError, UnknownColumnError, UnknownTableError

JOIN = "SELECT c.region FROM dwp.claims c JOIN hmrc.income i ON "

#: (query, error class, text the message must contain, (line, column) or None)
CORPUS: list[tuple[str, type, str, tuple[int, int] | None]] = [
    ("SELEC * FROM dwp.claims", ParseError, "'SELEC' does not start a statement. Did you mean SELECT?", (1, 1)),
    ("SELECT * FORM dwp.claims", ParseError, "did you mean FROM?", (1, 15)),
    ("SELECT region FROM dwp.claims GROPU BY region", ParseError, "did you mean GROUP?", (1, 37)),
    ("SELECT * FROM dwp.claims WHERE", ParseError, "expected an expression after WHERE", (1, 26)),
    ("SELECT 1 +", ParseError, "expected an expression after '+'", (1, 10)),
    ("SELECT 2 * FROM dwp.claims", ParseError, "expected an expression after '*'", None),
    ("SELECT (1 + 2 FROM dwp.claims", ParseError, "expected ')' before 'FROM'", (1, 15)),
    ("WITH x AS SELECT 1 SELECT * FROM x", ParseError, "expected '(' before 'SELECT'", (1, 11)),
    ("SELECT * FROM dwp.claims\nWHERE region = 'x' AND\nGROUP BY 1", ParseError, "after AND", (3, 1)),
    ("SELECT * FROM dwp.claims WHERE region = 'abc", ParseError, "string starting here is not closed", (1, 41)),
    ('SELECT * FROM "dwp.claims', ParseError, "quoted name starting here is not closed", (1, 15)),
    ("SELECT * FROM dwp.claims JOIN", ParseError, "expected a table name after 'JOIN'", (1, 26)),
    ("SELECT CASE WHEN 1 THEN 2 FROM dwp.claims", ParseError, "Expected END after CASE", None),
    ("FOO", ParseError, "'FOO' does not start a statement", (1, 1)),
    ("1 + 1", ParseError, "an expression, not a statement", None),
    # unknown columns in every clause, with suggestions and positions
    ("SELECT regoin FROM dwp.claims", UnknownColumnError, "unknown column 'regoin'. Did you mean 'region'?", (1, 8)),
    ("SELECT region FROM dwp.claims WHERE regoin = 'x'", UnknownColumnError, "Did you mean 'region'?", (1, 37)),
    (JOIN + "i.personid = c.person_id", UnknownColumnError,
     "unknown column i.personid: 'i' has no column 'personid'. Did you mean 'person_id'?", (1, 59)),
    ("SELECT i.personid FROM hmrc.income i", UnknownColumnError, "Did you mean 'person_id'?", (1, 10)),
    ("SELECT region, count(*) FROM dwp.claims GROUP BY regoin", UnknownColumnError, "Did you mean 'region'?", (1, 50)),
    ("SELECT region FROM dwp.claims ORDER BY regoin", UnknownColumnError, "Did you mean 'region'?", (1, 40)),
    ("SELECT region FROM dwp.claims GROUP BY region HAVING max(weekly_amont) > 1", UnknownColumnError,
     "Did you mean 'weekly_amount'?", (1, 58)),
    ("select\n  c.region\nfrom dwp.claims c\nwhere c.regon = 1", UnknownColumnError, "Did you mean 'region'?", (4, 9)),
    ("SELECT * FROM dwp.claims WHERE region IN (SELECT regoin FROM dwp.claims)", UnknownColumnError,
     "Did you mean 'region'?", (1, 50)),
    ("SELECT s.x FROM (SELECT region AS r FROM dwp.claims) s", UnknownColumnError, "'s' has no column 'x'", (1, 10)),
    ("SELECT x.region FROM dwp.claims c", UnknownTableError, "unknown table or alias 'x'", (1, 8)),
    ("SELECT * FROM dwp.claim", UnknownTableError, "Did you mean 'dwp.claims'?", (1, 15)),
    ("SELECT * FROM dwpp.claims", fedquery.UnknownDepartmentError, "Did you mean 'dwp'?", (1, 15)),
    ("SELECT * FROM claims", UnknownTableError, "Did you mean 'dwp.claims'?", (1, 15)),
]  # fmt: skip

FORBIDDEN = ("sqlglot", "<class", "Traceback", "Token(")


@pytest.fixture(scope="module")
def fed(demo_config: Path) -> Iterator[Any]:
    with fedquery.connect(demo_config) as federation:
        yield federation


@pytest.mark.parametrize(("sql", "error", "text", "where"), CORPUS, ids=[c[0][:40] for c in CORPUS])
def test_broken_query_message(fed: Any, sql: str, error: type, text: str, where: tuple[int, int] | None) -> None:
    with pytest.raises(error) as info:
        fed.sql(sql)
    message = str(info.value)
    assert text in message, message
    assert not any(word in message for word in FORBIDDEN), message
    if where is not None:
        assert (info.value.line, info.value.column) == where, message
        assert f"(line {where[0]}, column {where[1]})" in message


def test_valid_references_are_not_flagged(fed: Any) -> None:
    """Aliases, correlated references, CTE column lists, lambdas and case differences still bind."""
    for sql in (
        "SELECT region AS r, count(*) AS n FROM dwp.claims GROUP BY r HAVING n > 1 ORDER BY n",
        "SELECT c.region FROM dwp.claims c WHERE EXISTS (SELECT 1 FROM hmrc.income i WHERE i.person_id = c.person_id)",
        "WITH t(a, b) AS (SELECT region, claim_id FROM dwp.claims) SELECT a, t.b FROM t",
        "SELECT s.r FROM (SELECT region AS r FROM dwp.claims) s",
        "SELECT list_transform([1, 2], x -> x + 1) AS l",
        "SELECT [x * 2 FOR x IN [1, 2]] AS l",
        "SELECT region FROM dwp.claims UNION SELECT benefit FROM dwp.claims ORDER BY region",
        "SELECT t.s.a FROM (SELECT {'a': 1} AS s) t",
        "SELECT c.region FROM dwp.claims c, LATERAL (SELECT c.claim_id * 2 AS d) l WHERE l.d > 4",
        "WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r WHERE k < 3) SELECT k FROM r",
        "SELECT region FROM dwp.claims WHERE EXISTS (SELECT * FROM hmrc.income WHERE person_id = claims.person_id)",
        "SELECT C.REGION FROM DWP.CLAIMS C",
    ):
        fed.sql(sql).fetchall()


@pytest.mark.parametrize("sql", [c[0] for c in CORPUS[:3]] + [c[0] for c in CORPUS[15:18]])
def test_cli_shows_the_message_only(demo_config: Path, sql: str) -> None:
    result = CliRunner().invoke(main, ["-c", str(demo_config), "query", sql])
    assert result.exit_code == 1
    assert not any(word in result.stderr for word in FORBIDDEN) and "line 1, column" in result.stderr


def test_every_error_is_typed(fed: Any) -> None:
    for sql, *_ in CORPUS:
        with pytest.raises(FedQueryError):
            fed.sql(sql)
