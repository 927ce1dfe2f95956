"""``fedquery serve``: the app on a real uvicorn server on loopback, driven by urllib and by headless chromium:
dashboards re-run with server-side parameters, the SQL page, typed errors as messages, cancel on disconnect."""

from __future__ import annotations

import contextlib
import html
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import fedquery
from tests.browser import browser, chromium_or_skip, watch

#: ~10^12 row pairs: runs until cancelled
ENDLESS = "SELECT count(*) FROM hmrc.income a, hmrc.income b, hmrc.income c WHERE a.region <> c.region || b.region"


class Served:
    def __init__(self, fed: Any, app: Any, url: str) -> None:
        self.fed, self.app, self.url = fed, app, url

    def get(self, path: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.url + path, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def running(self) -> int:
        """Requests whose queries are running now."""
        return int(self.app.state.working)


@contextlib.contextmanager
def running(app: Any) -> Iterator[str]:
    """``app`` on a real uvicorn server on a free loopback port; yields its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def served(demo_config: Path) -> Iterator[Served]:
    from fedquery.viz.serve import create_app

    fed = fedquery.connect(demo_config)
    app = create_app(fed)
    with running(app) as url:
        yield Served(fed, app, url)
    fed.close()


def test_pages_and_typed_errors(served: Served) -> None:
    status, home = served.get("/")
    assert status == 200 and '<a href="/dashboards/pandemic">' in home
    status, board = served.get("/dashboards/pandemic?region=Midlands")
    assert status == 200 and "region = &#x27;Midlands&#x27;" in board and 'http-equiv="refresh" content="300"' in board
    status, bad = served.get("/dashboards/pandemic?region=" + urllib.parse.quote("x' OR '1'='1"))
    assert status == 400 and "is not one of its choices" in bad and "Traceback" not in bad
    status, missing = served.get("/dashboards/pandemix")
    assert status == 404 and "Did you mean &#x27;pandemic&#x27;" in missing
    status, query = served.get("/sql?q=" + urllib.parse.quote("SELECT * FROM dwp.claim"))
    assert status == 200 and 'class="error"' in query and "Did you mean &#x27;dwp.claims&#x27;" in query
    status, refused = served.get("/sql?q=" + urllib.parse.quote("DROP TABLE dwp.claims"))
    assert 'class="error"' in refused and "Traceback" not in refused
    assert served.get("/sql", method="POST")[0] == 405, "read-only: GET only"
    status, big = served.get("/sql?q=" + urllib.parse.quote("SELECT * FROM hmrc.income"))
    assert "Result: 12,000 rows" in big and "The first 100 of 12,000 rows; 11,900 more not shown here." in big
    assert "the 60 largest of 6,000 person_id values shown" in big, "the chart says what it drew"


def test_inventory_pages(served: Served) -> None:
    status, listing = served.get("/inventory")
    assert status == 200 and '<a href="/inventory/dwp.claims">dwp.claims</a>' in listing
    status, found = served.get("/inventory?q=" + urllib.parse.quote("national insurance"))
    assert status == 200 and "dwp.claims" in found and "hmrc.income" in found and "dhsc.ppe_stock" not in found
    status, page = served.get("/inventory/dwp.claims")
    assert status == 200 and "Benefit claims" in page and 'href="/sql?q=SELECT' in page
    example = re.search(r'href="(/sql\?q=[^"]+)"', page).group(1)  # type: ignore[union-attr]
    status, ran = served.get(html.unescape(example))
    assert status == 200 and "Result: 10 rows" in ran
    status, missing = served.get("/inventory/dwp.claim")
    assert status == 404 and "Did you mean &#x27;dwp.claims&#x27;" in missing


def test_a_query_is_cancelled_when_the_browser_goes_away(served: Served) -> None:
    client = socket.create_connection(("127.0.0.1", int(served.url.rsplit(":", 1)[1])))
    path = "/sql?q=" + urllib.parse.quote(ENDLESS)
    client.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    deadline = time.monotonic() + 20
    while served.running() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    assert served.running() == 1, "the endless query is running"
    client.close()
    deadline = time.monotonic() + 20
    while served.running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.running() == 0, "closing the connection cancelled the query"
    assert served.get("/")[0] == 200, "the server goes on"


@pytest.mark.slow
def test_served_app_in_a_browser(served: Served) -> None:
    chromium_or_skip()
    with browser() as instance:
        watched = watch(instance, allowed=(served.url + "/",))
        page = watched.page
        page.goto(served.url + "/dashboards/pandemic")
        assert len(watched.charts_drawn(3)) == 3
        watched.screenshot("served-dashboard")
        before = page.locator("#panel-1 pre.sql").text_content() or ""
        assert "'London'" in before
        with page.expect_navigation():
            page.select_option("select[name=region]", "South West")
        assert len(watched.charts_drawn(3)) == 3
        after = page.locator("#panel-1 pre.sql").text_content() or ""
        assert "'South West'" in after and "'London'" not in after, "the panels re-ran with the new value"
        assert page.url.endswith("?region=South+West")

        page.goto(served.url + "/sql")
        page.fill("textarea[name=q]", "SELECT benefit, count(*) AS claims FROM dwp.claims GROUP BY benefit")
        with page.expect_navigation():
            page.click("button[value=run]")
        assert len(watched.charts_drawn(1)) == 1
        assert page.locator("table.data tr").count() == 5, "a header and four benefits"
        watched.screenshot("served-sql")
        page.fill("textarea[name=q]", "SELECT * FROM dwp.claim")
        with page.expect_navigation():
            page.click("button[value=run]")
        assert "Did you mean 'dwp.claims'" in (page.locator("div.error").text_content() or "")
        watched.screenshot("served-error")
        assert watched.console_errors == [] and watched.blocked == []


def test_each_request_runs_as_the_principal_its_proxy_names(demo_config: Path) -> None:
    """Behind an authenticating proxy (``principal_headers``), every request runs under its own user's
    access rules: the SQL page, the inventory and the audit log see that principal, not the server's."""
    from fedquery.viz.serve import create_app

    fed = fedquery.connect(demo_config)
    app = create_app(fed, principal_headers=True)
    with running(app) as url:
        served = Served(fed, app, url)
        status, page = served.get("/sql?q=" + urllib.parse.quote("SELECT 1"))
        assert status == 401 and "x-forwarded-user" in page.lower() and "Traceback" not in page
        hana = {"X-Forwarded-User": "hana", "X-Forwarded-Groups": "dhsc_analysts"}
        status, page = served.get("/sql?q=" + urllib.parse.quote("SELECT count(*) FROM dwp.claims"), headers=hana)
        assert status == 200 and 'class="error"' in page and "hana" in page and "dwp.claims" in page
        status, page = served.get("/inventory", headers=hana)
        assert status == 200 and "dhsc.ppe_stock" in page and "dwp.claims" not in page
        wendy = {"X-Forwarded-User": "wendy", "X-Forwarded-Groups": "dwp_analysts"}
        query = "/sql?q=" + urllib.parse.quote("SELECT person_id FROM dwp.claims LIMIT 3")
        status, page = served.get(query, headers=wendy)
        assert status == 200 and "*****" in page and 'class="error"' not in page
    users = {r["user"] for r in fed.audit.records()} if fed.audit is not None else set()
    fed.close()
    assert {"hana", "wendy"} <= users, users
