"""Parquet files on any fsspec filesystem."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
from sqlglot import exp

from connectors.base import ColumnStats, TableInfo, TableStats
from connectors.file_sandbox import reader_call
from connectors.files import FileConnector, IOCounter


class ParquetConnector(FileConnector):
    kind = "parquet"
    suffixes = (".parquet", ".parq", ".pq")

    def file_format(self, table: TableInfo) -> ds.FileFormat:
        return ds.ParquetFileFormat()

    def sandbox_reader(
        self, table: TableInfo, files: list[str], pinned: dict[str, str], partitions: dict[str, str]
    ) -> exp.Expr:
        # Parquet's min/max statistics leave NaN out: without this DuckDB prunes row groups holding NaN
        # rows that a filter (p > 100: NaN is above every number in DuckDB) must return
        floats = any(sql_type in ("FLOAT", "DOUBLE") for sql_type in pinned.values())
        return reader_call("read_parquet", files, {"can_have_nan": exp.true()} if floats else {}, partitions)

    def _parts(
        self, fragment: ds.Fragment, arrow_filter: Any, counter: IOCounter, schema: pa.Schema | None = None
    ) -> list[ds.Fragment]:
        # One part per row group that the filter may match (statistics pruning). The table's schema
        # lets a filter on a hive partition column (not in the file itself) be evaluated.
        # Split without a filter too: a scan that stops early (a LIMIT) then reads only the row groups
        # it needs, where one scanner over the whole file would read ahead through the rest of it.
        parts = fragment.split_by_row_group(filter=arrow_filter, schema=schema)
        counter.row_groups += len(parts)
        return list(parts)

    def statistics(self, table: TableInfo) -> TableStats:
        """Row counts, and per-column min, max and null counts, from the files' footers."""
        dataset = self._cached_dataset(table)
        rows = 0
        columns: dict[str, dict[str, Any]] = {}
        for fragment in dataset.get_fragments():
            metadata = fragment.metadata
            rows += metadata.num_rows
            for g in range(metadata.num_row_groups):
                group = metadata.row_group(g)
                for c in range(group.num_columns):
                    chunk = group.column(c)
                    _merge(columns, chunk.path_in_schema, chunk.statistics)
        known = {name: stats for name, stats in _column_stats(columns).items() if name in dataset.schema.names}
        return TableStats(row_count=rows, size_bytes=super().statistics(table).size_bytes, columns=known)


def _merge(columns: dict[str, dict[str, Any]], name: str, stats: Any) -> None:
    entry = columns.setdefault(name, {"min": None, "max": None, "nulls": 0, "complete": True})
    if stats is None or not stats.has_min_max or stats.null_count is None:
        entry["complete"] = False
        return
    entry["nulls"] += stats.null_count
    try:
        if entry["min"] is None or stats.min < entry["min"]:
            entry["min"] = stats.min
        if entry["max"] is None or stats.max > entry["max"]:
            entry["max"] = stats.max
    except TypeError:  # values of a type that does not compare (or mixed across files)
        entry["complete"] = False


def _column_stats(columns: dict[str, dict[str, Any]]) -> dict[str, ColumnStats]:
    out = {}
    for name, entry in columns.items():
        if entry["complete"]:
            out[name] = ColumnStats(min=entry["min"], max=entry["max"], null_count=entry["nulls"])
    return out
