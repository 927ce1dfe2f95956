"""Which required metadata each dataset is missing (for departments' own CI)."""

from __future__ import annotations

from dataclasses import dataclass

from fedquery.inventory.model import Dataset

REQUIRED = ("title", "description", "contact", "licence", "update_frequency")


@dataclass
class Gap:
    dataset: str
    missing: list[str]


def check(datasets: list[Dataset]) -> list[Gap]:
    """One Gap per dataset that lacks any of :data:`REQUIRED` (empty values count as missing)."""
    gaps = []
    for d in datasets:
        missing = [k for k in REQUIRED if not d.metadata.get(k)]
        if missing:
            gaps.append(Gap(d.id, missing))
    return gaps
