"""The data inventory: what data exists across the federation, where it is stored, how to reach it."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedquery.errors import UnknownTableError, suggest
from fedquery.inventory import export
from fedquery.inventory.check import REQUIRED, Gap, check
from fedquery.inventory.model import Column, Dataset, SourceProblem, build
from fedquery.inventory.search import Hit, SearchIndex

if TYPE_CHECKING:
    from fedquery.catalog import Catalog


class Inventory:
    """Every dataset (table) of every department, with its facts and metadata."""

    def __init__(self, datasets: list[Dataset], problems: list[SourceProblem], built_at: float) -> None:
        self.datasets = sorted(datasets, key=lambda d: d.id)
        self.problems = problems
        self.built_at = built_at
        self._index: SearchIndex | None = None

    @classmethod
    def build(cls, catalog: Catalog, *, refresh: bool = False, cache_dir: Path | None = None) -> Inventory:
        return cls(*build(catalog, refresh=refresh, cache_dir=cache_dir))

    def __len__(self) -> int:
        return len(self.datasets)

    def get(self, dataset_id: str) -> Dataset:
        for d in self.datasets:
            if d.id.lower() == dataset_id.lower():
                return d
        hint = suggest(dataset_id, [d.id for d in self.datasets])
        raise UnknownTableError(f"no dataset {dataset_id!r} in the inventory.{hint}")

    def search(self, text: str, limit: int = 20) -> list[Hit]:
        if self._index is None:
            self._index = SearchIndex(self.datasets)
        return self._index.search(text, limit)

    def check(self) -> list[Gap]:
        return check(self.datasets)

    def to_dcat(self) -> dict[str, Any]:
        return export.to_dcat(self.datasets)

    def to_frictionless(self) -> dict[str, Any]:
        return export.to_frictionless_package(self.datasets)

    def to_csv(self) -> str:
        return export.to_csv(self.datasets)

    def to_markdown(self) -> str:
        return export.to_markdown(self.datasets)

    def to_json(self) -> str:
        return export.to_json(self.datasets)

    def export(self, fmt: str) -> str:
        """One of dcat, frictionless, csv, markdown, json, as text."""
        if fmt == "dcat":
            return json.dumps(self.to_dcat(), indent=2) + "\n"
        if fmt == "frictionless":
            return json.dumps(self.to_frictionless(), indent=2) + "\n"
        if fmt == "csv":
            return self.to_csv()
        if fmt == "markdown":
            return self.to_markdown()
        if fmt == "json":
            return self.to_json()
        raise ValueError(f"unknown inventory format {fmt!r}; choose dcat, frictionless, csv, markdown or json")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(d.id)}</td><td>{html.escape(d.title or '')}</td><td>{d.kind}</td>"
            f"<td>{'' if d.row_count is None else d.row_count}</td><td>{len(d.columns)}</td></tr>"
            for d in self.datasets[:50]
        )
        return f"<table><tr><th>dataset</th><th>title</th><th>kind</th><th>rows</th><th>columns</th></tr>{rows}</table>"

    def __repr__(self) -> str:
        return f"<fedquery.Inventory {len(self.datasets)} datasets, {len(self.problems)} unreachable source(s)>"


__all__ = ["REQUIRED", "Column", "Dataset", "Gap", "Hit", "Inventory", "SourceProblem"]
