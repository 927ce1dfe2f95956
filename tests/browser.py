"""A real headless browser for tests: Debian's chromium driven by Playwright, with every request that is not
``file://`` or loopback blocked and recorded, console errors and page errors recorded, screenshots kept."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("FEDQUERY_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip
REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(os.environ.get("FEDQUERY_TEST_ARTIFACTS", REPO / "tmp" / "test-artifacts"))


@dataclass
class Watched:
    """A page and what it did: requests outside the allowed origins (blocked), console errors, page errors."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def charts_drawn(self, expected: int, timeout: float = 20_000) -> list[dict[str, float]]:
        """Wait until ``expected`` charts have an SVG with marks; their sizes and mark counts."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('div.fq-chart svg').length >= n", arg=expected, timeout=timeout
        )
        return self.page.evaluate(
            """() => Array.from(document.querySelectorAll('div.fq-chart svg')).map(svg => {
                 const box = svg.getBoundingClientRect();
                 const marks = svg.querySelectorAll('g[class*="mark-"] path, g[class*="mark-"] line').length;
                 return {width: box.width, height: box.height, marks: marks};
               })"""
        )


def chromium_or_skip() -> None:
    """Skip without a browser, with the reason; under CI (``CI=true``) a missing browser fails, as a missing
    database server does."""
    missing = None if CHROMIUM.exists() else f"no chromium at {CHROMIUM} (.ci/run installs Debian's chromium package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = missing or "playwright is not installed (pip install -e '.[test]')"
    if missing and os.environ.get("CI", "").lower() == "true":
        pytest.fail(missing)
    if missing:
        pytest.skip(missing)


@contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield instance
        finally:
            instance.close()


def watch(instance: Any, allowed: tuple[str, ...] = ("file://",), viewport: tuple[int, int] = (1400, 1000)) -> Watched:
    """A new page whose requests outside ``allowed`` are aborted and listed."""
    page = instance.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    watched = Watched(page)

    def route(r: Any) -> None:
        url = r.request.url
        watched.requests.append(url)
        if url.startswith(allowed) or url.startswith("data:") or url == "about:blank":
            r.continue_()
        else:
            watched.blocked.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: watched.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.console_errors.append(f"page error: {e}"))
    return watched
