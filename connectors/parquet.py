"""Parquet files on any fsspec filesystem."""

from __future__ import annotations

from typing import Any

import pyarrow.dataset as ds

from connectors.base import TableInfo, TableStats
from connectors.files import FileConnector, IOCounter


class ParquetConnector(FileConnector):
    kind = "parquet"
    suffixes = (".parquet", ".parq", ".pq")

    def file_format(self, table: TableInfo) -> ds.FileFormat:
        return ds.ParquetFileFormat()

    def _parts(self, fragment: ds.Fragment, arrow_filter: Any, counter: IOCounter) -> list[ds.Fragment]:
        # One part per row group that the filter may match (statistics pruning).
        parts = fragment.split_by_row_group(filter=arrow_filter) if arrow_filter is not None else [fragment]
        if arrow_filter is None:
            counter.row_groups += fragment.metadata.num_row_groups
        else:
            counter.row_groups += len(parts)
        return list(parts)

    def statistics(self, table: TableInfo) -> TableStats:
        dataset = self._cached_dataset(table)
        rows = 0
        for fragment in dataset.get_fragments():
            rows += fragment.metadata.num_rows
        return TableStats(row_count=rows, size_bytes=super().statistics(table).size_bytes)
