"""The result of a federated query: a stream of Arrow record batches."""

from __future__ import annotations

import atexit
import html
import weakref
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from fedquery.executor import Execution, FragmentStats
    from fedquery.planner.plan import Plan

HTML_ROW_CAP = 50
#: results not yet read to the end: their scans may still run, and are stopped before the interpreter exits
_OPEN: weakref.WeakSet[Result] = weakref.WeakSet()


class Result:
    """Read it once: as Arrow, pandas, polars, a reader, or Python tuples."""

    def __init__(self, reader: pa.RecordBatchReader, execution: Execution) -> None:
        self._reader: pa.RecordBatchReader | None = reader
        self._table: pa.Table | None = None
        self._execution = execution
        _OPEN.add(self)

    @property
    def plan(self) -> Plan:
        return self._execution.plan

    @property
    def schema(self) -> pa.Schema:
        return self._table.schema if self._table is not None else self._reader.schema  # type: ignore[union-attr]

    @property
    def stats(self) -> list[FragmentStats]:
        """Per fragment: department, source, remote SQL, rows, bytes, seconds."""
        return self._execution.stats

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

    def df(self) -> Any:
        return self.arrow().to_pandas()

    def pl(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.arrow())

    def fetchall(self) -> list[tuple[Any, ...]]:
        table = self.arrow()
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns)) if columns else []

    def close(self) -> None:
        """Stop the query (a result not read to its end keeps its fragments' scans running until then)."""
        _OPEN.discard(self)
        self._execution.close()

    def cancel(self) -> None:
        """Stop the query from any thread: statements still running at sources are cancelled, the local
        DuckDB is interrupted, and whoever reads the result gets :class:`~fedquery.errors.QueryCancelledError`."""
        self._execution.cancel()

    def _repr_html_(self) -> str:
        table = self.arrow()
        head = "".join(f"<th>{html.escape(n)}</th>" for n in table.column_names)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in list(zip(*[c.to_pylist() for c in table.slice(0, HTML_ROW_CAP).columns]))
        )
        more = f"<p>{table.num_rows - HTML_ROW_CAP} more rows not shown</p>" if table.num_rows > HTML_ROW_CAP else ""
        return f"<table><tr>{head}</tr>{body}</table>{more}<p>{table.num_rows} rows</p>"

    def __repr__(self) -> str:
        return f"<fedquery.Result {len(self.plan.fragments)} fragment(s), columns={self.schema.names}>"


@atexit.register
def _close_open_results() -> None:
    # A scan thread still inside Arrow's file readers when the interpreter finalises aborts the process.
    for result in list(_OPEN):
        result.close()
