"""The inventory's records and how they are built: discovered facts + the catalog file's metadata.

Discovered facts (columns, primary key, row count, size, last modified) are
expensive to collect, so they are cached on disk per catalog (keyed by a hash of
the source definitions) and re-read only with ``refresh=True``. Descriptive
metadata comes from the catalog file every time, merged department < source <
table, so editing a description never needs a refresh.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fedquery.cache import cache_path, read_json, write_json
from fedquery.config import METADATA_KEYS
from fedquery.errors import FedQueryError

if TYPE_CHECKING:
    from fedquery.catalog import Catalog, CatalogTable

#: Descriptive keys, as written in the catalog file (``license`` is accepted for ``licence``).
INHERITED = ("licence", "update_frequency", "classification", "contact")
CACHE_VERSION = 1
EXACT_COUNT_KINDS = ("postgres", "mysql")
EXACT_COUNT_BELOW = 1_000_000


@dataclass
class Column:
    name: str
    type: str
    nullable: bool
    description: str | None = None
    classification: str | None = None
    keywords: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    id: str  # department.table as written in SQL
    department: str
    department_title: str | None
    source: str
    kind: str
    location: str  # where it is stored, credentials masked
    columns: list[Column]
    primary_key: list[str] | None
    row_count: int | None
    size_bytes: int | None
    modified: str | None  # ISO 8601, where the source can tell
    metadata: dict[str, Any]  # merged descriptive metadata
    #: how the principal the inventory was built for may read it (see fedquery.policy)
    access_rules: str | None = None
    #: the output rule (disclosure control) results from it pass, if any (see fedquery.disclosure)
    output_rule: str | None = None

    @property
    def title(self) -> str | None:
        return self.metadata.get("title")

    @property
    def description(self) -> str | None:
        return self.metadata.get("description")

    @property
    def keywords(self) -> list[str]:
        return list(self.metadata.get("keywords") or [])

    def example_query(self) -> str:
        from sqlglot import exp

        columns: list[exp.Expr] = [exp.column(exp.to_identifier(c.name)) for c in self.columns[:5]] or [exp.Star()]
        table = exp.Table(
            this=exp.to_identifier(self.id.split(".")[-1]),
            db=exp.to_identifier(self.id.split(".")[-2]) if self.id.count(".") >= 1 else None,
            catalog=exp.to_identifier(self.id.split(".")[0]) if self.id.count(".") >= 2 else None,
        )
        return exp.select(*columns).from_(table).limit(10).sql("duckdb")

    def access(self) -> str:
        return (
            f"fedquery: {self.example_query()}  ·  held by {self.department}.{self.source} "
            f"({self.kind}) at {self.location}"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["example_query"] = self.example_query()
        return out


@dataclass
class SourceProblem:
    """A source that could not be listed, or (``table`` set) one of its tables that could not be read."""

    department: str
    source: str
    message: str
    table: str | None = None


def build(
    catalog: Catalog, *, refresh: bool = False, cache_dir: Path | None = None
) -> tuple[list[Dataset], list[SourceProblem], float]:
    """All datasets of all departments; returns (datasets, unreachable sources, build time of the facts)."""
    config = catalog.config
    path = _cache_path(catalog, cache_dir)
    facts: dict[str, Any] | None = None if refresh else _read_cache(path)
    if facts is None:
        facts = _discover(catalog)
        _write_cache(path, facts)
    datasets = [_dataset(record, catalog) for record in facts["tables"]]
    problems = [SourceProblem(**p) for p in facts["problems"]]
    known = set(config.departments)
    return [d for d in datasets if d.department in known], problems, float(facts["built_at"])


def _discover(catalog: Catalog) -> dict[str, Any]:
    tables: list[dict[str, Any]] = []
    problems: list[dict[str, str]] = []
    for department, dept in catalog.config.departments.items():
        for source_name in dept.sources:
            try:
                connector = catalog.connector(department, source_name)
                infos = connector.list_tables()
            except FedQueryError as exc:
                problems.append({"department": department, "source": source_name, "message": exc.message})
                continue
            for info in infos:
                # One corrupt file or broken view is reported beside the source's other tables.
                try:
                    tables.append(_facts(catalog, department, source_name, info))
                except Exception as exc:  # noqa: BLE001 - typed or not, it is reported and the others listed
                    message = exc.message if isinstance(exc, FedQueryError) else f"{type(exc).__name__}: {exc}"
                    problems.append(
                        {"department": department, "source": source_name, "table": info.name,
                         "message": connector.config.redact(message)}
                    )  # fmt: skip
    return {"version": CACHE_VERSION, "built_at": time.time(), "tables": tables, "problems": problems}


def _facts(catalog: Catalog, department: str, source: str, info: Any) -> dict[str, Any]:
    from fedquery.catalog import CatalogTable

    connector = catalog.connector(department, source)
    table = CatalogTable(department, source, info, connector)
    schema = table.arrow_schema()
    stats = connector.statistics(info)
    row_count = stats.row_count
    if row_count is None or (connector.kind in EXACT_COUNT_KINDS and row_count < EXACT_COUNT_BELOW):
        # Server catalogs only estimate row counts; counting a small table is cheap and cached.
        row_count = connector.exact_row_count(info) if connector.kind in EXACT_COUNT_KINDS else row_count
    modified = connector.modified(info)
    return {
        "id": table.sql_name,
        "department": department,
        "source": source,
        "table": info.name,
        "kind": connector.kind,
        "location": _location(table),
        "columns": [{"name": f.name, "type": str(f.type), "nullable": f.nullable} for f in schema],
        "primary_key": connector.primary_key(info),
        "row_count": row_count,
        "size_bytes": stats.size_bytes,
        "modified": modified.isoformat() if modified else None,
    }


def _location(table: CatalogTable) -> str:
    connector = table.connector
    remote = table.info.remote
    if connector.kind in ("parquet", "csv"):
        return connector.config.redact(remote[0])
    return f"{connector.location()} :: {'.'.join(remote)}"


def _dataset(record: dict[str, Any], catalog: Catalog) -> Dataset:
    dept = catalog.config.departments.get(record["department"])
    src = dept.sources.get(record["source"]) if dept else None
    table_opts = (src.tables.get(record["table"], {}) if src else {}) or {}
    merged = _merge(dept.metadata if dept else {}, src.metadata if src else {}, table_opts)
    fields = table_opts.get("fields") or {}
    columns = []
    for c in record["columns"]:
        extra = fields.get(c["name"], {}) if isinstance(fields, dict) else {}
        columns.append(
            Column(
                c["name"],
                c["type"],
                bool(c["nullable"]),
                extra.get("description"),
                extra.get("classification"),
                _keywords(extra.get("keywords")),
            )  # fmt: skip
        )
    return Dataset(
        id=record["id"],
        department=record["department"],
        department_title=(dept.metadata.get("title") if dept else None),
        source=record["source"],
        kind=record["kind"],
        location=record["location"],
        columns=columns,
        primary_key=record["primary_key"],
        row_count=record["row_count"],
        size_bytes=record["size_bytes"],
        modified=record["modified"],
        metadata=merged,
        output_rule=_output_rule(dept.output if dept else None, table_opts.get("output")),
    )


def _output_rule(department: Any, table: Any) -> str | None:
    from fedquery.disclosure import output_summary  # pyarrow, for an inventory that may not need it otherwise

    return output_summary(department, table)


def _merge(department: dict[str, Any], source: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    def pick(level: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in level.items() if k in METADATA_KEYS}
        if "license" in level and "licence" not in out:
            out["licence"] = level["license"]
        return out

    dept, src, tab = pick(department), pick(source), pick(table)
    merged: dict[str, Any] = {k: dept[k] for k in INHERITED if k in dept}
    merged.update({k: v for k, v in src.items() if k != "keywords"})
    merged.update({k: v for k, v in tab.items() if k != "keywords"})
    # Only the table's own title and description describe the dataset; the department's describe itself.
    for key in ("title", "description"):
        merged.pop(key, None)
        if key in tab:
            merged[key] = tab[key]
        elif key in src:
            merged[key] = src[key]
    keywords = _keywords(src.get("keywords")) + _keywords(tab.get("keywords"))
    if keywords:
        merged["keywords"] = list(dict.fromkeys(keywords))
    return merged


def _keywords(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    return [str(k) for k in value]


# -- cache ------------------------------------------------------------------------------------------
def _cache_path(catalog: Catalog, cache_dir: Path | None) -> Path:
    return cache_path(catalog.config, "inventory", cache_dir, ignore=METADATA_KEYS)


def _read_cache(path: Path) -> dict[str, Any] | None:
    return read_json(path, CACHE_VERSION)


def _write_cache(path: Path, facts: dict[str, Any]) -> None:
    write_json(path, facts)
