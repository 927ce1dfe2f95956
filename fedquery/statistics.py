"""Table statistics for the planner: what each source cheaply knows, cached, refreshed by ``analyze``.

Two ways in:

* **from the source** (on first use): each connector's ``statistics()`` — PostgreSQL
  ``pg_class``/``pg_stats``, MySQL ``information_schema`` and MariaDB's column
  statistics, Parquet footers, a count for SQLite/DuckDB files and small CSVs. These
  entries expire after ``[settings] statistics_max_age`` seconds.
* **analyze** (``fed.analyze()`` / ``fedquery analyze``): one aggregate query per table,
  sent through the planner like any query (so it runs inside SQL sources), giving exact
  row counts, null counts, min/max of non-text columns and distinct counts. Analyzed
  entries are kept until the next analyze of the table.

Entries are cached on disk per catalog (``statistics-*.json`` under the cache
directory) with the time they were collected. Statistics only steer the plan's costs:
a wrong or missing figure never changes a result.
"""

from __future__ import annotations

import datetime as dt
import decimal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connectors.base import ColumnStats, TableStats
from fedquery.cache import cache_path, read_json, write_json

if TYPE_CHECKING:
    from fedquery.catalog import Catalog, CatalogTable

VERSION = 1


@dataclass(frozen=True)
class StatisticsEntry:
    table: str
    stats: TableStats
    #: "source" (what the source cheaply reports) or "analyze" (computed by fedquery analyze)
    method: str
    collected_at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "method": self.method,
            "collected_at": dt.datetime.fromtimestamp(self.collected_at, dt.timezone.utc).isoformat(timespec="seconds"),
            "row_count": self.stats.row_count,
            "size_bytes": self.stats.size_bytes,
            "columns": {
                name: {"min": _plain(c.min), "max": _plain(c.max), "null_count": c.null_count, "distinct": c.distinct}
                for name, c in self.stats.columns.items()
            },
        }


class StatisticsStore:
    """Per catalog: statistics by table, in memory and on disk."""

    def __init__(self, catalog: Catalog, cache_dir: Path | None = None) -> None:
        from fedquery.config import METADATA_KEYS

        self.catalog = catalog
        self.path = cache_path(catalog.config, "statistics", cache_dir, ignore=METADATA_KEYS)
        self._entries: dict[str, StatisticsEntry] | None = None
        self._lock = threading.RLock()

    def get(self, table: CatalogTable) -> TableStats:
        """The table's statistics: cached, else collected from the source (never raises)."""
        entry = self.entry(table)
        return entry.stats if entry is not None else TableStats()

    def entry(self, table: CatalogTable) -> StatisticsEntry | None:
        with self._lock:
            entries = self._load()
            entry = entries.get(table.sql_name)
            max_age = self.catalog.config.settings.statistics_max_age
            if entry is not None and (entry.method == "analyze" or time.time() - entry.collected_at < max_age):
                return entry
        try:
            stats = table.connector.statistics(table.info)
        except Exception:  # noqa: BLE001 - an estimate must never fail a plan; the scan reports the error
            return None
        return self.put(table, stats, "source")

    def analyzed(self, table: CatalogTable) -> bool:
        """Has ``analyze`` collected this table's statistics (kept until the next analyze)?"""
        with self._lock:
            entry = self._load().get(table.sql_name)
            return entry is not None and entry.method == "analyze"

    def put(self, table: CatalogTable, stats: TableStats, method: str) -> StatisticsEntry:
        entry = StatisticsEntry(table.sql_name, stats, method, time.time())
        with self._lock:
            self._load()[table.sql_name] = entry
            self._save()
        if method == "analyze":  # new figures for a table plans may already have read (collected ones are first reads)
            self.catalog.changed()
        return entry

    def forget(self, table: CatalogTable) -> None:
        with self._lock:
            self._load().pop(table.sql_name, None)
            self._save()
        self.catalog.changed()

    def _load(self) -> dict[str, StatisticsEntry]:
        if self._entries is None:
            data = read_json(self.path, VERSION) or {}
            self._entries = {}
            for name, record in (data.get("tables") or {}).items():
                try:
                    self._entries[name] = _decode(name, record)
                except (KeyError, TypeError, ValueError, decimal.InvalidOperation):
                    continue  # an entry we cannot read is collected again
        return self._entries

    def _save(self) -> None:
        assert self._entries is not None
        write_json(self.path, {"version": VERSION, "tables": {k: _encode(e) for k, e in self._entries.items()}})


# -- JSON encoding of typed values ---------------------------------------------------------------------
def _encode(entry: StatisticsEntry) -> dict[str, Any]:
    s = entry.stats
    return {
        "method": entry.method,
        "collected_at": entry.collected_at,
        "row_count": s.row_count,
        "size_bytes": s.size_bytes,
        "columns": {name: [_tag(c.min), _tag(c.max), c.null_count, c.distinct] for name, c in s.columns.items()},
    }


def _decode(name: str, record: dict[str, Any]) -> StatisticsEntry:
    columns = {
        column: ColumnStats(min=_untag(lo), max=_untag(hi), null_count=nulls, distinct=distinct)
        for column, (lo, hi, nulls, distinct) in record["columns"].items()
    }
    stats = TableStats(row_count=record["row_count"], size_bytes=record["size_bytes"], columns=columns)
    return StatisticsEntry(name, stats, str(record["method"]), float(record["collected_at"]))


def _tag(value: Any) -> list[Any] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", value]
    if isinstance(value, float):
        return ["float", value]
    if isinstance(value, decimal.Decimal):
        return ["decimal", str(value)]
    if isinstance(value, dt.datetime):
        return ["datetime", value.isoformat()]
    if isinstance(value, dt.date):
        return ["date", value.isoformat()]
    if isinstance(value, str):
        return ["str", value]
    return None  # other types are not used for estimates


def _untag(tagged: list[Any] | None) -> Any:
    if tagged is None:
        return None
    kind, value = tagged
    decoders: dict[str, Any] = {
        "bool": bool,
        "int": int,
        "float": float,
        "decimal": decimal.Decimal,
        "datetime": dt.datetime.fromisoformat,
        "date": dt.date.fromisoformat,
        "str": str,
    }
    return decoders[kind](value)


def _plain(value: Any) -> Any:
    """A JSON-able form of a statistics value (dates and decimals as text)."""
    tagged = _tag(value)
    return None if tagged is None else tagged[1]
