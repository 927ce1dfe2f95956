"""Files under the cache directory that remember what was expensive to learn from the sources.

One file per catalog and purpose (``inventory``, ``statistics``), keyed by a hash of
the catalog's location and of every source's connection options, so a changed
catalog never reads another's facts. Secrets (URL passwords, ``${ENV:...}`` values,
credential keys of ``storage_options``) are replaced before hashing: a file name must
not let anyone test guesses of a password offline. Writes are atomic; a cache that cannot be
written only costs the next run its speed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fedquery.config import Config
from fedquery.secrets import scrubbed


def cache_path(config: Config, purpose: str, cache_dir: Path | None = None, ignore: Iterable[str] = ()) -> Path:
    """The cache file of ``purpose`` for this catalog; table options named in ``ignore`` do not change it."""
    skip = set(ignore) | {"fields"}
    sources = [
        (
            d,
            s,
            src.kind,
            scrubbed(src.options, src.secrets),
            scrubbed({t: {k: v for k, v in o.items() if k not in skip} for t, o in src.tables.items()}, src.secrets),
        )
        for d, dept in sorted(config.departments.items())
        for s, src in sorted(dept.sources.items())
    ]
    digest = hashlib.sha256(json.dumps([str(config.path), sources], sort_keys=True, default=str).encode()).hexdigest()
    return Path(cache_dir or config.settings_cache_dir()) / f"{purpose}-{digest[:20]}.json"


def read_json(path: Path, version: int) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == version else None


def write_json(path: Path, data: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only home directory only costs the next run its speed
