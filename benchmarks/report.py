"""Reports of a harness run: the markdown table, the PNG chart, and the comparison of two runs."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any


def _label(query: Any) -> str:
    text = str(query)
    return text.upper() if text.startswith("q") else text


def _by(result: dict[str, Any]) -> dict[tuple[Any, str], dict[str, Any]]:
    return {(r["query"], r["strategy"]): r for r in result["results"]}


def _strategies(result: dict[str, Any]) -> list[str]:
    seen = ["local"] + list(result["strategies"])
    if any(r["strategy"] == "duckdb_scanners" for r in result["results"]):
        seen.append("duckdb_scanners")
    return seen


def markdown(result: dict[str, Any]) -> str:
    by = _by(result)
    strategies = _strategies(result)
    # TPC-DS numbers in numeric order; TPC-H ids (q01, dept/...) as text
    queries = sorted(
        {r["query"] for r in result["results"]}, key=lambda q: (0, q, "") if isinstance(q, int) else (1, 0, q)
    )
    lines = [
        f"{result.get('benchmark', 'TPC-H')} SF {result['scale_factor']:g}: median of {result['runs']} runs "
        f"after a warm-up; {result['machine']}; "
        f"{result['date']}; fedquery {result['versions']['fedquery']}, duckdb {result['versions']['duckdb']}. "
        f"Set-up {result['setup_seconds']:.0f} s, analyze {result.get('analyze_seconds', 0):.0f} s, "
        f"whole run {result['total_seconds']:.0f} s.",
        "",
        "Seconds (× local):",
        "",
        "| query | " + " | ".join(strategies) + " |",
        "| --- | " + " | ".join("---" for _ in strategies) + " |",
    ]
    for q in queries:
        base = by.get((q, "local"), {}).get("median_s")
        cells = []
        for s in strategies:
            r = by.get((q, s))
            if r is None:
                cells.append("")
            elif not r.get("correct"):
                cells.append("**WRONG**" if "error" not in r else "**ERROR**")
            else:
                ratio = f" ({r['median_s'] / base:.1f}×)" if base and s != "local" else ""
                cells.append(f"{r['median_s']:.3f}{ratio}")
        lines.append(f"| {_label(q)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Totals:",
        "",
        "| strategy | correct | sum (s) | geomean × local | geomean × none | geomean × duckdb_scanners "
        "| rows moved | bytes moved | × none bytes | max planning (ms) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    none_bytes = sum(by[(q, "none")].get("bytes_moved", 0) for q in queries if (q, "none") in by)
    for s in strategies:
        rows = [by[(q, s)] for q in queries if (q, s) in by]
        good = [r for r in rows if r.get("correct")]
        total = sum(r["median_s"] for r in good)
        geo_local = _geomean([r["median_s"] / by[(r["query"], "local")]["median_s"] for r in good if s != "local"])
        geo_none = _geomean(
            [r["median_s"] / by[(r["query"], "none")]["median_s"] for r in good
             if (r["query"], "none") in by and by[(r["query"], "none")].get("median_s") and s != "none"]
        )  # fmt: skip
        peer = [
            r["median_s"] / by[(r["query"], "duckdb_scanners")]["median_s"] for r in good
            if by.get((r["query"], "duckdb_scanners"), {}).get("median_s") and s != "duckdb_scanners"
        ]  # fmt: skip
        geo_peer = _geomean(peer)
        moved = sum(r.get("rows_moved", 0) for r in rows)
        moved_bytes = sum(r.get("bytes_moved", 0) for r in rows)
        planning = max((r.get("planning_s", 0.0) for r in rows), default=0.0)
        lines.append(
            f"| {s} | {len(good)}/{len(rows)} | {total:.2f} | {_fmt(geo_local)} | {_fmt(geo_none)} | "
            f"{_fmt(geo_peer)} | "
            f"{moved if s not in ('local', 'duckdb_scanners') else ''} | "
            f"{moved_bytes if s not in ('local', 'duckdb_scanners') else ''} | "
            f"{_fmt(moved_bytes / none_bytes) if none_bytes and s not in ('local', 'duckdb_scanners') else ''} | "
            f"{1000 * planning:.1f} |"
        )
    if result.get("peer"):
        lines += ["", f"duckdb_scanners: {result['peer'].get('note', '')}"]
    if result.get("peak_rss_mb_after"):
        peaks = ", ".join(f"{k} {v:.0f} MB" for k, v in result["peak_rss_mb_after"].items())
        lines += ["", f"Peak RSS of the process: {peaks}."]
    return "\n".join(lines) + "\n"


def _geomean(values: list[float]) -> float | None:
    values = [v for v in values if v > 0]
    return math.exp(statistics.mean(math.log(v) for v in values)) if values else None


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def chart(result: dict[str, Any], path: Path) -> bool:
    """Time per query per strategy (log scale) and bytes moved; False if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    by = _by(result)
    strategies = _strategies(result)
    queries = sorted({r["query"] for r in result["results"]}, key=str)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(14, 9), sharex=True)
    width = 0.8 / len(strategies)
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    positions = list(range(len(queries)))
    for i, s in enumerate(strategies):
        color = palette[i % len(palette)]  # the same colour for a strategy in both panels
        xs = [x + (i - len(strategies) / 2) * width for x in positions]
        times = [by.get((q, s), {}).get("median_s") or 0 for q in queries]
        top.bar(xs, times, width, label=s, color=color)
        if s not in ("local", "duckdb_scanners"):
            moved = [by.get((q, s), {}).get("bytes_moved", 0) / 1e6 for q in queries]
            bottom.bar(xs, moved, width, label=s, color=color)
    top.set_yscale("log")
    top.set_ylabel("median seconds (log)")
    top.set_title(f"TPC-H SF {result['scale_factor']:g} split across departments")
    top.legend(ncol=len(strategies))
    bottom.set_yscale("symlog")
    bottom.set_ylabel("MB moved from sources")
    bottom.set_xticks(positions)
    bottom.set_xticklabels([_label(q).replace("DEPT/", "d/")[:14] for q in queries], rotation=60, ha="right")
    bottom.legend(ncol=len(strategies))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def compare(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Which queries changed plan (plan hash) and which got faster or slower, by how much."""
    a, b = _by(before), _by(after)
    lines = [
        f"Comparing {before['date']} (SF {before['scale_factor']:g}) "
        f"with {after['date']} (SF {after['scale_factor']:g})",
        "",
        "| query | strategy | plan | before (s) | after (s) | after / before |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    changed = faster = slower = 0
    for key in sorted(set(a) & set(b)):
        x, y = a[key], b[key]
        plan = "same" if x.get("plan_hash") == y.get("plan_hash") else "changed"
        changed += plan == "changed"
        if x.get("median_s") and y.get("median_s"):
            ratio = y["median_s"] / x["median_s"]
            faster += ratio < 0.9
            slower += ratio > 1.1
            cells = f"{x['median_s']:.3f} | {y['median_s']:.3f} | {ratio:.2f}"
        else:
            cells = f"{x.get('median_s', 'wrong')} | {y.get('median_s', 'wrong')} | "
        lines.append(f"| {_label(key[0])} | {key[1]} | {plan} | {cells} |")
    lines += ["", f"{changed} plan(s) changed; {faster} faster and {slower} slower by more than 10%."]
    return "\n".join(lines) + "\n"
