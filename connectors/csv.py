"""CSV files on any fsspec filesystem.

Per-table options: ``delimiter``, ``header`` (default true), ``null_values``
and ``columns`` (a map of column name to SQL type, e.g. ``"decimal(15,2)"``
or ``"date"``, for types that inference would get wrong).
"""

from __future__ import annotations

import pyarrow.csv as pacsv
import pyarrow.dataset as ds

from connectors.base import TableInfo, TableStats
from connectors.files import FileConnector
from connectors.types import arrow_type
from fedquery.errors import ConfigError

#: CSV files carry no row count: count by streaming one column when the table is at most this big.
COUNT_LIMIT_BYTES = 64 * 1024 * 1024
#: ... and beyond that, estimate the rows from the line length of this much of the first file.
SAMPLE_BYTES = 1024 * 1024


class CsvConnector(FileConnector):
    kind = "csv"
    suffixes = (".csv", ".tsv", ".csv.gz", ".txt")

    def statistics(self, table: TableInfo) -> TableStats:
        """Counted when the files are small; otherwise estimated from the first megabyte (sampled)."""
        size = super().statistics(table).size_bytes
        if size is None:
            return TableStats()
        dataset = self._cached_dataset(table)
        if size > COUNT_LIMIT_BYTES:
            return TableStats(row_count=self._sampled_rows(dataset, size), size_bytes=size)
        first = dataset.schema.names[:1]
        rows = sum(batch.num_rows for batch in dataset.to_batches(columns=first))
        return TableStats(row_count=rows, size_bytes=size)

    def _sampled_rows(self, dataset: ds.Dataset, size: int) -> int | None:
        files = getattr(dataset, "files", [])
        if not files:
            return None
        fs, _ = self.filesystem()
        try:
            with fs.open(files[0], "rb") as fh:
                sample = fh.read(SAMPLE_BYTES)
        except OSError:
            return None
        lines = sample.count(b"\n")
        if not lines or len(sample) < SAMPLE_BYTES:
            return lines or None
        return int(size * lines / len(sample))

    def file_format(self, table: TableInfo) -> ds.FileFormat:
        opts = {**self.config.options.get("csv", {}), **table.options}
        delimiter = opts.get("delimiter", "\t" if table.remote[0].endswith(".tsv") else ",")
        header = opts.get("header", True)
        column_types = {}
        for name, sql_type in (opts.get("columns") or {}).items():
            try:
                column_types[name] = arrow_type(sql_type)
            except ValueError as exc:
                raise ConfigError(
                    f"bad type for column {name!r}: {exc}",
                    department=self.department,
                    source=self.name,
                    table=table.name,
                ) from None
        convert = pacsv.ConvertOptions(
            column_types=column_types,
            null_values=opts.get("null_values", ["", "NULL", "null"]),
            strings_can_be_null=True,
        )
        read = pacsv.ReadOptions(autogenerate_column_names=not header, block_size=1 << 20)
        parse = pacsv.ParseOptions(delimiter=delimiter)
        return ds.CsvFileFormat(parse_options=parse, convert_options=convert, read_options=read)
