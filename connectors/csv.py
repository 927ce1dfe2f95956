"""CSV files on any fsspec filesystem.

Per-table options: ``delimiter``, ``header`` (default true), ``null_values``
and ``columns`` (a map of column name to SQL type, e.g. ``"decimal(15,2)"``
or ``"date"``, for types that inference would get wrong).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

import pyarrow.csv as pacsv
import pyarrow.dataset as ds
from sqlglot import exp

from connectors.base import Option, TableInfo, TableStats, check_keys
from connectors.file_sandbox import reader_call
from connectors.files import FileConnector
from connectors.types import arrow_type
from fedquery.errors import ConfigError

if TYPE_CHECKING:
    from fedquery.config import SourceConfig

#: CSV files carry no row count: count by streaming one column when the table is at most this big.
COUNT_LIMIT_BYTES = 64 * 1024 * 1024
#: ... and beyond that, estimate the rows from the line length of this much of the first file.
SAMPLE_BYTES = 1024 * 1024


class CsvConnector(FileConnector):
    kind = "csv"
    #: a CSV file is read whole with or without semi-join keys: never worth waiting for them
    scan_capabilities = dataclasses.replace(FileConnector.scan_capabilities, reduction_min_rows=float("inf"))
    sql_capabilities = dataclasses.replace(FileConnector.sql_capabilities, reduction_min_rows=float("inf"))
    suffixes = (".csv", ".tsv", ".csv.gz", ".txt")
    #: how the files are read: per table, or for every table of the source under ``csv = {...}``
    reading: ClassVar[dict[str, Option]] = {
        "columns": Option("table"), "delimiter": Option("str"), "header": Option("bool"), "null_values": Option("list"),
    }  # fmt: skip
    options = {**FileConnector.options, "csv": Option("table")}
    table_options = {**FileConnector.table_options, **reading}

    @classmethod
    def check_config(cls, config: SourceConfig) -> None:
        super().check_config(config)
        where = f"departments.{config.department}.sources.{config.name}.csv: a csv source's reading options"
        check_keys(cls.reading, config.options.get("csv", {}), where, config)
        for table, options in {"csv": config.options.get("csv", {}), **config.tables}.items():
            for column, sql_type in (options.get("columns") or {}).items():
                try:
                    arrow_type(sql_type)
                except (ValueError, TypeError) as exc:
                    raise ConfigError(
                        f"bad type for column {column!r} of {table}: {exc}", department=config.department,
                        source=config.name, table=table,
                    ) from None  # fmt: skip

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

    def sandbox_reader(
        self, table: TableInfo, files: list[str], pinned: dict[str, str], partitions: dict[str, str]
    ) -> exp.Expr:
        """``read_csv`` with every column's name and type given (DuckDB's sniffer would type them
        differently from Arrow's inference, which the catalog reports)."""
        delimiter, header, null_values = self._reading(table)
        columns = exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.to_identifier(name, quoted=True), expression=exp.Literal.string(sql_type))
                for name, sql_type in pinned.items()
                if name not in partitions
            ]
        )
        options: dict[str, exp.Expr] = {
            "columns": columns,
            "header": exp.Boolean(this=header),
            "delim": exp.Literal.string(delimiter),
            "quote": exp.Literal.string('"'),
            "escape": exp.Literal.string('"'),
            "nullstr": exp.Array(expressions=[exp.Literal.string(v) for v in null_values]),
            # the sniffer keeps the given names, types and dialect; it still estimates the rows, which
            # DuckDB's join order needs (without it a 30 M-row file is guessed at 42 rows and built on)
            "auto_detect": exp.Boolean(this=True),
        }
        return reader_call("read_csv", files, options, partitions)

    def _reading(self, table: TableInfo) -> tuple[str, bool, list[str]]:
        opts = {**self.config.options.get("csv", {}), **table.options}
        delimiter = opts.get("delimiter", "\t" if table.remote[0].endswith(".tsv") else ",")
        return delimiter, bool(opts.get("header", True)), list(opts.get("null_values", ["", "NULL", "null"]))

    def file_format(self, table: TableInfo) -> ds.FileFormat:
        opts = {**self.config.options.get("csv", {}), **table.options}
        delimiter, header, null_values = self._reading(table)
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
            null_values=null_values,
            strings_can_be_null=True,
        )
        read = pacsv.ReadOptions(autogenerate_column_names=not header, block_size=1 << 20)
        parse = pacsv.ParseOptions(delimiter=delimiter)
        return ds.CsvFileFormat(parse_options=parse, convert_options=convert, read_options=read)
