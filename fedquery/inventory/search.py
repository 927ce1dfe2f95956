"""Find datasets and columns by name, title, description or keyword across all departments.

Every query word must match somewhere in a dataset (or one of its columns). Matches
are weighted by where they are: a name beats a title, a title beats a keyword, a
keyword beats a description; whole-word matches beat prefixes and substrings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fedquery.inventory.model import Dataset

_WORD = re.compile(r"[a-z0-9]+")
WEIGHTS = {"name": 8.0, "title": 5.0, "keyword": 4.0, "column": 4.0, "column_description": 2.5, "description": 2.0}


@dataclass
class Hit:
    dataset: Dataset
    score: float
    columns: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)  # where the words were found


class SearchIndex:
    """Pre-tokenised text of every dataset, so a search is a scan over small sets."""

    def __init__(self, datasets: list[Dataset]) -> None:
        self._entries = []
        for d in datasets:
            fields = {
                "name": _words(d.id.replace(".", " ")),
                "title": _words(d.title or ""),
                "keyword": _words(" ".join(d.keywords)),
                "description": _words(d.description or ""),
            }
            columns = [
                (
                    c.name,
                    _words(c.name.replace("_", " ")) | _words(c.name),
                    _words(f"{c.description or ''} {' '.join(c.keywords)}"),
                )
                for c in d.columns
            ]
            self._entries.append((d, fields, columns))

    def search(self, text: str, limit: int = 20) -> list[Hit]:
        terms = sorted(_words(text))
        if not terms:
            return []
        hits = []
        for dataset, fields, columns in self._entries:
            score = 0.0
            matched: set[str] = set()
            matched_columns: dict[str, float] = {}
            for term in terms:
                best = 0.0
                for where, words in fields.items():
                    strength = _strength(term, words)
                    if strength:
                        best = max(best, WEIGHTS[where] * strength)
                        matched.add(where)
                for name, name_words, desc_words in columns:
                    strength = max(
                        WEIGHTS["column"] * _strength(term, name_words),
                        WEIGHTS["column_description"] * _strength(term, desc_words),
                    )
                    if strength:
                        best = max(best, strength)
                        matched_columns[name] = matched_columns.get(name, 0.0) + strength
                if best == 0.0:
                    break  # every word must match somewhere
                score += best
            else:
                ranked = sorted(matched_columns, key=lambda n: -matched_columns[n])
                if matched_columns:
                    matched.add("column")
                hits.append(Hit(dataset, round(score, 3), ranked, sorted(matched)))
        hits.sort(key=lambda h: (-h.score, h.dataset.id))
        return hits[:limit]


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower()))


def _strength(term: str, words: frozenset[str]) -> float:
    if term in words:
        return 1.0
    if any(w.startswith(term) for w in words):
        return 0.6
    if len(term) >= 4 and any(term in w for w in words):
        return 0.3
    return 0.0
