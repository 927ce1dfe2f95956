"""The terminal table (``--format table``) against golden files, at several terminal widths.

Each case is rendered at 40, 80 and 200 cells and compared with ``tests/golden/<case>-<width>.txt``
(``FEDQUERY_UPDATE_GOLDEN=1`` rewrites them; read the diff before committing). Independently of the
files, every case checks what a terminal needs: no line wider than the terminal, every line of the
box exactly as wide as the others (measured in cells, as a terminal draws wide characters), and no
raw control character.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from fedquery import formats
from fedquery.boxtable import width_of

GOLDEN = Path(__file__).parent / "golden"
WIDTHS = (40, 80, 200)


def _wide() -> pa.Table:
    return pa.table({f"column_{i}": [i, i * 1000, -i] for i in range(30)})


def _long() -> pa.Table:
    return pa.table({"id": list(range(1, 101)), "name": [f"person {i}" for i in range(1, 101)]})


def _unicode() -> pa.Table:
    return pa.table(
        {
            "city": ["東京", "서울", "Zürich", "Ελλάδα", "naïve e\u0301"],
            "note": ["日本語のテキスト", "😀 smile", "👍🏽 ok", "mixed 漢字 and ascii", "🇬🇧 flag"],
            "n": [1, 22, 333, 4444, 55555],
        }
    )


def _values() -> pa.Table:
    return pa.table(
        {
            "amount": pa.array([Decimal("11231.99"), Decimal("0.00"), None, Decimal("-5.10")], pa.decimal128(12, 2)),
            "ratio": [1234567.891, 0.1 + 0.2, None, 1e-7],
            "big": [10**15, None, -1, 0],
            "flag": [True, False, None, True],
            "day": [dt.date(2020, 3, 23), None, dt.date(1999, 12, 31), dt.date(2024, 2, 29)],
            "text": ["two\nlines", "tab\there", None, "esc\x1b[2J bell\x07 bidi\u202e"],
        }
    )


def _wrapped() -> pa.Table:
    columns = ", ".join(f"column_{i} decimal(12,2)" for i in range(12))
    return pa.table({"table": ["dwp.claims", "hmrc.income"], "columns": [columns, "person_id varchar"]})


CASES = {
    "wide": (_wide, {}),
    "long": (_long, {"max_rows": 10}),
    "unicode": (_unicode, {}),
    "values": (_values, {}),
    "wrapped": (_wrapped, {"wrap": True}),
}


def _render(case: str, width: int) -> str:
    make, options = CASES[case]
    out = io.BytesIO()
    formats.write(make(), "table", out, width=width, **options)
    return out.getvalue().decode("utf-8")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case: str, width: int) -> None:
    text = _render(case, width)
    golden = GOLDEN / f"{case}-{width}.txt"
    if os.environ.get("FEDQUERY_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", (20, *WIDTHS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_fits_and_aligns(case: str, width: int) -> None:
    lines = _render(case, width).splitlines()
    box = [line for line in lines if line[:1] in "┌│├└"]
    assert len({width_of(line) for line in box}) == 1, "\n".join(box)  # every border and row equally wide
    assert all(width_of(line) <= width for line in lines) or width < 40  # 20: the first column alone, cut
    assert not any(ch in "".join(lines) for ch in "\x1b\x07\u202e\t")


def test_numbers_are_right_aligned_at_full_precision() -> None:
    text = _render("values", 200)
    row = next(line for line in text.splitlines() if "11231.99" in line)
    assert "│      11231.99 │         1234567.891 │ 1000000000000000 │ true    │ 2020-03-23 │ two\\nlines" in row
    assert "│          0.00 │ 0.30000000000000004 │             NULL │ false   │ NULL       │ tab\\there" in text
    assert "│         -5.10 │               1e-07 │" in text  # the decimal keeps its scale; tiny floats as DuckDB
    assert "decimal(12,2)" in text and "boolean" in text and "date" in text and "date32" not in text


def test_numbers_are_never_cut() -> None:
    for width in (20, *WIDTHS):
        for case in CASES:
            assert not re.search(r"[0-9]…", _render(case, width)), (case, width)


def test_wide_results_leave_out_middle_columns_with_a_note() -> None:
    text = _render("wide", 80)
    header = text.splitlines()[1]
    assert "column_0" in header and "column_29" in header and "…" in header and "column_15" not in header
    shown = header.count("column_")
    assert text.splitlines()[-1] == f"3 rows, 30 columns ({shown} shown)"


def test_long_results_show_head_and_tail_with_the_count() -> None:
    lines = _render("long", 80).splitlines()
    ids = [int(line.split("│")[1]) for line in lines if line.startswith("│") and line.split("│")[1].strip().isdigit()]
    assert ids == [1, 2, 3, 4, 5, 96, 97, 98, 99, 100]
    assert lines[-1] == "100 rows (10 shown)"


def test_the_table_streams_keeping_only_head_and_tail() -> None:
    """Many small batches: the tail is the last rows of the last batches, whatever their size."""
    batches = [pa.record_batch({"i": list(range(k * 7, k * 7 + 7))}) for k in range(50)]
    reader = pa.RecordBatchReader.from_batches(batches[0].schema, batches)
    out = io.BytesIO()
    assert formats.write_stream(reader, "table", out, max_rows=9) == 350
    values = [line.split("│")[1].strip() for line in out.getvalue().decode().splitlines() if line.startswith("│")]
    assert values[2:7] == ["0", "1", "2", "3", "4"] and values[-4:] == ["346", "347", "348", "349"]


def test_vertical_format() -> None:
    out = io.BytesIO()
    formats.write(_values().slice(0, 2), "vertical", out)
    text = out.getvalue().decode()
    assert text.splitlines()[:4] == [
        "*************************** 1. row ***************************",
        "amount: 11231.99",
        " ratio: 1234567.891",
        "   big: 1000000000000000",
    ]
    assert "  text: two\\nlines" in text and "  flag: false" in text and text.endswith("2 rows\n")
    out = io.BytesIO()
    formats.write(_long(), "vertical", out, max_rows=2)
    assert out.getvalue().decode().endswith("  id: 2\nname: person 2\n100 rows (2 shown)\n")


def test_empty_results() -> None:
    out = io.BytesIO()
    formats.write(pa.table({"a": pa.array([], pa.int64())}), "table", out, width=80)
    assert out.getvalue().decode().splitlines() == [
        "┌────────┐", "│   a    │", "│ bigint │", "├────────┤", "└────────┘", "0 rows",
    ]  # fmt: skip
    out = io.BytesIO()
    formats.write(pa.table({}), "table", out, width=80)
    assert out.getvalue().decode() == "0 rows\n"
