"""Notebook display: HTML parsed and checked, pandas dtypes against DuckDB's own .df(), the IPython magic."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

import fedquery


class _Cells(HTMLParser):
    """Rows of header and data cells, plus the text outside tables, of an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None
        self._in_table = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.tags.append(tag)
        if tag == "table":
            self._in_table += 1
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("|")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._in_table -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif not self._in_table:
            self.text.append(data)


def _parse(html: str) -> _Cells:
    parser = _Cells()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def fed(demo_config: Path) -> Iterator[Any]:
    with fedquery.connect(demo_config) as federation:
        yield federation


HOSTILE = "<script>alert('x')</script> & \"quotes\""


def test_result_html_has_names_types_nulls_and_escapes(fed: Any) -> None:
    result = fed.sql(
        "SELECT claim_id, region, weekly_amount, start_date, CAST(NULL AS INTEGER) AS missing, ? AS note "
        "FROM dwp.claims ORDER BY claim_id LIMIT 3",
        params=[HOSTILE],
    )
    html = result._repr_html_()
    assert "<script>" not in html  # escaped, never markup
    cells = _parse(html)
    assert cells.rows[0] == [
        "claim_id|BIGINT", "region|VARCHAR", "weekly_amount|DECIMAL(10,2)", "start_date|DATE", "missing|INTEGER",
        "note|VARCHAR",
    ]  # fmt: skip
    expected = fed.sql("SELECT claim_id, region, weekly_amount, start_date FROM dwp.claims ORDER BY 1 LIMIT 3")
    for shown, row in zip(cells.rows[1:], expected.fetchall()):
        assert shown == [str(v) for v in row] + ["NULL", HOSTILE]
    assert "3 rows × 6 columns" in "".join(cells.text)


def test_result_html_is_capped_with_a_note(fed: Any) -> None:
    cells = _parse(fed.sql("SELECT person_id FROM hmrc.income")._repr_html_())
    total = fed.sql("SELECT count(*) FROM hmrc.income").fetchall()[0][0]
    assert len(cells.rows) == 1 + 50
    assert f"{total:,} rows × 1 columns; first 50 shown, {total - 50:,} more rows not shown" in "".join(cells.text)


def test_plan_html_shows_estimates_then_actuals(fed: Any) -> None:
    sql = "SELECT c.region, count(*) AS n FROM dwp.claims c JOIN hmrc.income i USING (person_id) GROUP BY 1"
    planned = _parse(fed.explain(sql)._repr_html_())
    assert planned.rows[0][:5] == ["fragment", "source", "kind", "estimated rows", "estimated size"]
    assert "actual rows" not in planned.rows[0]
    analyzed_plan = fed.explain(sql, analyze=True)
    analyzed = _parse(analyzed_plan._repr_html_())
    assert analyzed.rows[0][5:8] == ["actual rows", "actual size", "seconds"]
    by_name = {row[0]: row for row in analyzed.rows[1:]}
    for stats in analyzed_plan.actuals.values():
        assert by_name[stats.fragment][5] == f"{stats.rows:,}"
    assert f"result: {analyzed_plan.result_rows:,} rows" in "".join(analyzed.text)


def test_lists_display_and_stay_lists(fed: Any) -> None:
    tables = fed.tables()
    assert isinstance(tables, list) and tables == list(tables) and json.dumps(tables) == json.dumps(list(tables))
    cells = _parse(tables._repr_html_())
    assert cells.rows[0][:2] == ["department", "table"] and len(cells.rows) == len(tables) + 1
    assert {r[1] for r in cells.rows[1:]} == {t["table"] for t in tables}
    statistics = fed.statistics()
    assert _parse(statistics._repr_html_()).rows[0][:2] == ["table", "method"]
    result = fed.sql("SELECT count(*) FROM dwp.claims")
    result.fetchall()
    stats = result.stats
    assert isinstance(stats, list) and len(_parse(stats._repr_html_()).rows) == len(stats) + 1


def test_show_and_repr_print_rows(fed: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = fed.sql("SELECT region, count(*) AS n FROM dwp.claims GROUP BY 1 ORDER BY 1")
    result.show(n=3)
    out = capsys.readouterr().out
    assert "East of England" in out and "7 rows (3 shown)" in out
    text = repr(result)
    assert text.startswith("<fedquery.Result") and "East of England" in text and "South West" in text
    assert str(result) == text
    streamed = fed.sql("SELECT 1 AS x")
    streamed.reader().read_all()
    assert "streamed" in repr(streamed)


DTYPES_SQL = (
    "SELECT claim_id, region, weekly_amount, start_date, "
    "CASE WHEN claim_id % 2 = 0 THEN claim_id END AS sometimes, claim_id % 3 = 0 AS third, "
    "CAST(start_date AS TIMESTAMP) AS ts, INTERVAL 3 DAY AS wait FROM dwp.claims ORDER BY claim_id LIMIT 20"
)


def test_df_dtypes_as_duckdb_gives_them(fed: Any, demo_config: Path) -> None:
    df = fed.sql(DTYPES_SQL).df()
    path = Path(demo_config).parent / "dwp" / "claims.parquet"
    con = duckdb.connect()
    con.execute(f"CREATE VIEW claims AS SELECT * FROM read_parquet('{path}')")  # test oracle, fixed path
    expected = con.sql(DTYPES_SQL.replace("dwp.claims", "claims")).df()
    assert df.dtypes.to_dict() == expected.dtypes.to_dict()
    assert str(df["start_date"].dtype).startswith("datetime64") and str(df["weekly_amount"].dtype) == "float64"
    assert df.equals(expected)
    exact = fed.sql(DTYPES_SQL).df(decimals="object")
    assert str(exact["weekly_amount"].dtype) == "object" and type(exact["weekly_amount"][0]).__name__ == "Decimal"
    with pytest.raises(fedquery.InterfaceError, match="decimals"):
        fed.sql("SELECT 1").df(decimals="double")


@pytest.fixture
def shell(demo_config: Path) -> Iterator[Any]:
    pytest.importorskip("IPython")
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance()
    before = os.environ.get("FEDQUERY_CONFIG")
    os.environ["FEDQUERY_CONFIG"] = str(demo_config)
    ip.run_line_magic("load_ext", "fedquery")
    yield ip
    magics = ip.magics_manager.registry["FedQueryMagics"]
    if magics.federation is not None:  # the magics' own federation holds its sources open
        magics.federation.close()
        magics.federation = None
    if before is None:
        os.environ.pop("FEDQUERY_CONFIG", None)
    else:
        os.environ["FEDQUERY_CONFIG"] = before


def test_magic_line_and_cell(shell: Any, fed: Any) -> None:
    shell.user_ns["region"] = "London'; DROP TABLE x; --"
    assert shell.run_line_magic("fedsql", "SELECT count(*) FROM dwp.claims WHERE region = :region").fetchall() == [(0,)]
    shell.user_ns["region"] = "London"
    result = shell.run_cell("%%fedsql --out by_region\nSELECT region, count(*) AS n\nFROM dwp.claims\n"
                            "WHERE region = $region GROUP BY region").result  # fmt: skip
    from fedquery.result import Result

    assert isinstance(result, Result)
    expected = fed.sql("SELECT region, count(*) AS n FROM dwp.claims WHERE region = 'London' GROUP BY region")
    assert result.fetchall() == expected.fetchall()
    assert shell.user_ns["by_region"] is result and "<table>" in result._repr_html_()


def test_magic_errors_are_messages(shell: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert shell.run_line_magic("fedsql", "SELEC * FROM dwp.claims") is None
    err = capsys.readouterr().err
    assert err.startswith("ParseError:") and "Traceback" not in err
    shell.run_line_magic("fedsql", "--fed nothing SELECT 1")
    assert "no federation of that name" in capsys.readouterr().err
