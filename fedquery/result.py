"""The result of a federated query: a stream of Arrow record batches."""

from __future__ import annotations

import atexit
import weakref
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from fedquery.executor import Execution, FragmentStats
    from fedquery.planner.plan import Plan

HTML_ROW_CAP = 50
#: rows ``repr(result)`` and ``print(result)`` show
TEXT_ROWS = 10
#: results not yet read to the end: their scans may still run, and are stopped before the interpreter exits
_OPEN: weakref.WeakSet[Result] = weakref.WeakSet()


class Result:
    """Read it once: as Arrow, pandas, polars, a reader, or Python tuples."""

    def __init__(self, reader: pa.RecordBatchReader, execution: Execution) -> None:
        self._reader: pa.RecordBatchReader | None = reader
        self._schema = reader.schema  # still known once the reader has been handed out
        self._table: pa.Table | None = None
        self._execution = execution
        _OPEN.add(self)

    @property
    def plan(self) -> Plan:
        return self._execution.plan

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema if self._table is not None else self._schema

    @property
    def stats(self) -> list[FragmentStats]:
        """Per fragment: department, source, remote SQL, rows, bytes, seconds (a list; HTML in notebooks)."""
        from fedquery.notebook import Listing

        return Listing(self._execution.stats, title="fragments")

    def reader(self) -> pa.RecordBatchReader:
        """Stream the result (only before it has been read another way)."""
        if self._table is not None:
            return self._table.to_reader()
        reader, self._reader = self._reader, None
        self._execution.reader_taken = True  # whoever holds the reader now ends the query (see Federation)
        if reader is None:
            raise RuntimeError("this result has already been streamed; run the query again")
        return reader

    def arrow(self) -> pa.Table:
        if self._table is None:
            self._table = self.reader().read_all()
        return self._table

    def df(self, *, decimals: str = "float") -> Any:
        """A pandas DataFrame typed as DuckDB's ``.df()``: dates as ``datetime64``, decimals as ``float64``
        (``decimals="object"`` keeps exact ``Decimal`` values), integers with NULLs as ``Int64``."""
        from fedquery.notebook import to_pandas

        return to_pandas(self.arrow(), decimals=decimals)

    def pl(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.arrow())

    def fetchall(self) -> list[tuple[Any, ...]]:
        table = self.arrow()
        from fedquery.pyvalues import column_values

        columns = [column_values(c) for c in table.columns]
        return list(zip(*columns)) if columns else []

    def chart(
        self,
        kind: str | None = None,
        x: str | None = None,
        y: str | None = None,
        color: str | None = None,
        title: str | None = None,
        **options: Any,
    ) -> Any:
        """An Altair chart of the result (needs ``pip install 'fedquery[viz]'``); what is not given is chosen
        from the column types: time -> line, category x measure -> bar, two measures -> scatter, one measure
        -> histogram. Large results are aggregated or sampled first, and the subtitle says so. Save it with
        ``fedquery.viz.save(chart, "out.png" | "out.svg" | "out.html")`` (offline). See fedquery.viz.chart."""
        from fedquery.viz.chart import chart

        return chart(self.arrow(), kind, x, y, color, title, **options)

    def close(self) -> None:
        """Stop the query (a result not read to its end keeps its fragments' scans running until then)."""
        _OPEN.discard(self)
        self._execution.close()

    def cancel(self) -> None:
        """Stop the query from any thread: statements still running at sources are cancelled, the local
        DuckDB is interrupted, and whoever reads the result gets :class:`~fedquery.errors.QueryCancelledError`."""
        self._execution.cancel()

    def show(self, n: int = 20) -> None:
        """Print the first ``n`` rows as a table, with the row count."""
        from fedquery import formats

        print(formats.render(self.arrow(), "table", max_rows=n))

    def _repr_html_(self) -> str:
        from fedquery.notebook import html_table

        return html_table(self.arrow(), cap=HTML_ROW_CAP)

    def __repr__(self) -> str:
        head = f"<fedquery.Result {len(self.plan.fragments)} fragment(s), columns={self.schema.names}>"
        if self._table is None and self._reader is None:
            return head + " (streamed: run the query again to see its rows)"
        from fedquery import formats

        return head + "\n" + formats.render(self.arrow(), "table", max_rows=TEXT_ROWS)

    __str__ = __repr__


@atexit.register
def _close_open_results() -> None:
    # A scan thread still inside Arrow's file readers when the interpreter finalises aborts the process.
    for result in list(_OPEN):
        result.close()
