"""The inventory in the formats government catalogues use: DCAT (JSON-LD), Frictionless, CSV, markdown, JSON.

DCAT follows the UK cross-government metadata exchange model (a DCAT profile):
each table is a ``dcat:Dataset`` with title, description, publisher, contact point,
identifier, issued/modified, licence, keywords, access rights and a distribution
whose access service is the federation (and whose media type is the storage format).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fedquery.inventory.model import Dataset

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "fq": "urn:fedquery:",
}
MEDIA_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv",
    "sqlite": "application/vnd.sqlite3",
    "duckdb": "application/x-duckdb",
    "postgres": "application/sql",
    "mysql": "application/sql",
}
FRICTIONLESS_TYPES = {
    "int": "integer", "uint": "integer", "decimal": "number", "double": "number", "float": "number",
    "bool": "boolean", "date32": "date", "timestamp": "datetime", "time": "time", "string": "string",
    "large_string": "string", "binary": "string",
}  # fmt: skip


def to_dcat(datasets: list[Dataset], title: str = "fedquery federation inventory") -> dict[str, Any]:
    return {
        "@context": CONTEXT,
        "@id": "fq:catalog",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dcat:dataset": [_dcat_dataset(d) for d in datasets],
    }


def _dcat_dataset(d: Dataset) -> dict[str, Any]:
    m = d.metadata
    out: dict[str, Any] = {
        "@id": f"fq:dataset:{d.id}",
        "@type": "dcat:Dataset",
        "dct:identifier": d.id,
        "dct:title": m.get("title") or d.id,
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": d.department_title or d.department},
        "dcat:distribution": [
            {
                "@type": "dcat:Distribution",
                "dct:title": f"{d.department}.{d.source} ({d.kind})",
                "dcat:mediaType": MEDIA_TYPES.get(d.kind, "application/octet-stream"),
                "dcat:accessService": {
                    "@type": "dcat:DataService",
                    "dct:title": "fedquery federated SQL",
                    "dcat:endpointDescription": d.example_query(),
                },
                "dcat:accessURL": {"@id": f"fq:table:{d.id}"},
            }
        ],
    }
    if m.get("description"):
        out["dct:description"] = m["description"]
    if m.get("contact"):
        contact = str(m["contact"])
        email = contact if contact.startswith("mailto:") or "@" not in contact else f"mailto:{contact}"
        out["dcat:contactPoint"] = {
            "@type": "vcard:Kind",
            "vcard:hasEmail": {"@id": email} if "@" in contact else contact,
        }
    if m.get("licence"):
        out["dct:license"] = m["licence"]
    if d.keywords:
        out["dcat:keyword"] = d.keywords
    if m.get("classification"):
        out["dct:accessRights"] = m["classification"]
    if m.get("update_frequency"):
        out["dct:accrualPeriodicity"] = m["update_frequency"]
    if m.get("temporal_coverage"):
        out["dct:temporal"] = m["temporal_coverage"]
    if m.get("issued"):
        out["dct:issued"] = {"@value": str(m["issued"]), "@type": "xsd:date"}
    if d.modified:
        out["dct:modified"] = {"@value": d.modified, "@type": "xsd:dateTime"}
    return out


def to_frictionless(d: Dataset) -> dict[str, Any]:
    """A Frictionless Table Schema for one dataset."""
    schema: dict[str, Any] = {
        "fields": [
            {
                "name": c.name,
                "type": _frictionless_type(c.type),
                **({"description": c.description} if c.description else {}),
                **({"constraints": {"required": True}} if not c.nullable else {}),
            }
            for c in d.columns
        ]
    }
    if d.primary_key:
        schema["primaryKey"] = list(d.primary_key)
    return schema


def to_frictionless_package(datasets: list[Dataset]) -> dict[str, Any]:
    return {
        "name": "fedquery-inventory",
        "resources": [
            {
                "name": d.id.replace(".", "-").lower(),
                "title": d.title or d.id,
                "description": d.description or "",
                "path": d.location,
                "schema": to_frictionless(d),
            }
            for d in datasets
        ],
    }


def _frictionless_type(arrow_type: str) -> str:
    for prefix, kind in FRICTIONLESS_TYPES.items():
        if arrow_type.startswith(prefix):
            return kind
    return "any"


CSV_COLUMNS = (
    "id", "department", "department_title", "title", "description", "source", "kind", "location", "columns",
    "primary_key", "row_count", "size_bytes", "modified", "contact", "licence", "update_frequency", "keywords",
    "classification", "temporal_coverage", "access", "output_rule",
)  # fmt: skip


def rows(datasets: list[Dataset]) -> list[dict[str, Any]]:
    out = []
    for d in datasets:
        m = d.metadata
        out.append(
            {
                "id": d.id, "department": d.department, "department_title": d.department_title, "title": d.title,
                "description": d.description, "source": d.source, "kind": d.kind, "location": d.location,
                "columns": ", ".join(f"{c.name} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in d.columns),
                "primary_key": ", ".join(d.primary_key or []), "row_count": d.row_count, "size_bytes": d.size_bytes,
                "modified": d.modified, "contact": m.get("contact"), "licence": m.get("licence"),
                "update_frequency": m.get("update_frequency"), "keywords": ", ".join(d.keywords),
                "classification": m.get("classification"), "temporal_coverage": m.get("temporal_coverage"),
                "access": d.access_rules, "output_rule": d.output_rule,
            }
        )  # fmt: skip
    return out


def to_csv(datasets: list[Dataset]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(rows(datasets))
    return buffer.getvalue()


def to_markdown(datasets: list[Dataset]) -> str:
    lines = [
        "| dataset | title | kind | rows | columns | contact | licence |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for d in datasets:
        cells = [d.id, d.title or "", d.kind, "" if d.row_count is None else str(d.row_count), str(len(d.columns)),
                 str(d.metadata.get("contact") or ""), str(d.metadata.get("licence") or "")]  # fmt: skip
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def to_json(datasets: list[Dataset]) -> str:
    return json.dumps([d.to_dict() for d in datasets], indent=2, default=str) + "\n"


def show_text(d: Dataset) -> str:
    m = d.metadata
    lines = [
        f"{d.id} — {d.title or '(no title)'}",
        "",
        d.description or "(no description)",
        "",
        f"department:   {d.department}" + (f" ({d.department_title})" if d.department_title else ""),
        f"source:       {d.department}.{d.source} ({d.kind})",
        f"stored at:    {d.location}",
        f"rows:         {'unknown' if d.row_count is None else d.row_count}",
        f"size:         {'unknown' if d.size_bytes is None else f'{d.size_bytes} bytes'}",
        f"modified:     {d.modified or 'unknown'}",
        f"primary key:  {', '.join(d.primary_key) if d.primary_key else 'none declared'}",
    ]
    if d.access_rules:
        lines.append(f"access:       {d.access_rules}")
    if d.output_rule:
        lines.append(f"output rule:  {d.output_rule}")
    for key in ("contact", "licence", "update_frequency", "temporal_coverage", "classification", "issued"):
        if m.get(key):
            lines.append(f"{key.replace('_', ' ') + ':':<13} {m[key]}")
    if d.keywords:
        lines.append(f"keywords:     {', '.join(d.keywords)}")
    lines += ["", "columns:"]
    width = max((len(c.name) for c in d.columns), default=4)
    for c in d.columns:
        note = f"  {c.description}" if c.description else ""
        flag = "" if c.nullable else " NOT NULL"
        lines.append(f"  {c.name:<{width}}  {c.type}{flag}{note}")
    lines += ["", "how to reach it:", f'  fedquery query "{d.example_query()}"', f"  fed.sql({d.example_query()!r})"]
    return "\n".join(lines) + "\n"
