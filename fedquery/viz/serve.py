"""``fedquery serve``: the dashboards and a SQL page as a small local web app (Starlette on uvicorn).

Read-only (GET only; the queries go through the federation's read-only layers), one warm
:class:`~fedquery.federation.Federation` for every request, bound to 127.0.0.1 unless told
otherwise. A dashboard page re-runs its panels on every load and reloads itself on the
dashboard's ``refresh`` interval; its drop-downs submit the parameters, which are checked
against their choices and bound into the parsed queries on the server. A query still running
when the browser goes away is cancelled at every source. Typed errors are shown as messages,
never tracebacks.
"""

from __future__ import annotations

import asyncio
import copy
import html
import threading
import urllib.parse
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fedquery.errors import ChartError, ConfigError, DashboardError, FedQueryError, QueryError
from fedquery.principal import Principal
from fedquery.viz import require

if TYPE_CHECKING:
    from fedquery.federation import Federation

T = TypeVar("T")
BUNDLE_URL = "/assets/vega-bundle.js"
DISCONNECT_POLL_SECONDS = 0.1
EXAMPLE = "SELECT region, count(*) AS claims FROM dwp.claims GROUP BY region ORDER BY region"


#: the headers an authenticating reverse proxy sets when ``principal_headers`` is on (see create_app)
USER_HEADER, GROUPS_HEADER, PURPOSE_HEADER = "x-forwarded-user", "x-forwarded-groups", "x-forwarded-purpose"


def request_principal(headers: Any) -> Principal:
    """The principal an authenticating proxy named in the request's headers (a typed error without a user)."""
    user = headers.get(USER_HEADER)
    if not user:
        raise ConfigError(f"no principal: the request has no {USER_HEADER} header (set by the authenticating proxy)")
    return Principal.of(user, groups=headers.get(GROUPS_HEADER, ""), purpose=headers.get(PURPOSE_HEADER) or None)


def _scoped(fed: Federation, principal: Principal | None = None) -> Federation:
    """The warm federation seen by one request: the same config and catalog (connections, statistics), its own
    list of running queries, so that its ``interrupt()`` cancels this request's queries and no one else's.

    (A query blocks in ``sql()`` until its local step has produced the first rows, so a handle on its
    Result would come too late to stop, say, a huge aggregate.)"""
    scoped = copy.copy(fed)
    scoped._running = weakref.WeakSet()
    scoped._running_lock = threading.Lock()
    if principal is not None:
        scoped.principal = principal  # the request's queries, EXPLAIN and inventory run under its rules
    return scoped


async def _run(request: Any, fed: Federation, work: Callable[[Federation], T]) -> T:
    """Run blocking ``work`` on a worker thread; cancel its queries if the client disconnects first."""
    scoped = _scoped(fed, request.state.principal)
    state = request.app.state
    state.working += 1  # requests whose queries are running now (tests and the load benchmark read it)
    try:
        task = asyncio.ensure_future(asyncio.to_thread(work, scoped))
        while not task.done():
            await asyncio.wait({task}, timeout=DISCONNECT_POLL_SECONDS)
            if not task.done() and await request.is_disconnected():
                scoped.interrupt()  # every source's statement gets its cancel request; the local DuckDB is interrupted
                break
        return await task
    finally:
        state.working -= 1


def create_app(fed: Federation, config_path: Path | None = None, *, principal_headers: bool = False) -> Any:
    """The ASGI app over a warm federation (``config_path``: where the dashboard files are found).

    ``principal_headers``: each request runs as the principal an authenticating reverse proxy names in
    ``X-Forwarded-User`` / ``-Groups`` (comma-separated) / ``-Purpose`` (a request without a user gets 401);
    otherwise every request runs as the federation's own principal. Only behind a proxy that sets these
    headers itself and drops any a client sent: the app trusts them as given."""
    require("starlette")
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, Response
    from starlette.routing import Route

    from fedquery.viz import dashboard as boards
    from fedquery.viz import page

    where = config_path if config_path is not None else fed.config.path

    async def home(request: Request) -> Response:
        items = []
        for name, path in boards.find(where).items():
            try:
                board = boards.load(path)
                items.append(
                    f'<li><a href="/dashboards/{html.escape(name)}">{html.escape(board.title)}</a> '
                    f"({len(board.panels)} panels)</li>"
                )
            except DashboardError as exc:
                items.append(f'<li>{html.escape(name)}: <span class="error">{html.escape(str(exc))}</span></li>')
        listing = f"<ul>{''.join(items)}</ul>" if items else "<p>No dashboards beside the catalog.</p>"
        return HTMLResponse(_shell("fedquery", f"<h1>Dashboards</h1>{listing}"))

    async def dashboard(request: Request) -> Response:
        name = request.path_params["name"]
        given = dict(request.query_params)
        try:
            board = boards.get(where, name)
            run = await _run(request, fed, lambda scoped: boards.run(scoped, board, given))
        except FedQueryError as exc:
            status = 404 if isinstance(exc, DashboardError) and "no dashboard named" in exc.message else 400
            return HTMLResponse(_shell("error", _error(exc)), status_code=status)
        return HTMLResponse(page.render(run, live=True, nav=_NAV, bundle_url=BUNDLE_URL))

    async def sql_page(request: Request) -> Response:
        text = request.query_params.get("q", "")
        action = request.query_params.get("action", "run")
        body = [_sql_form(text or EXAMPLE)]
        scripts = ""
        if text.strip():
            try:
                if action == "explain":
                    the_plan = await _run(request, fed, lambda scoped: scoped.explain(text))
                    body.append(f'<h2>Plan</h2><div class="plan">{the_plan.graph().svg()}</div>')
                    body.append(f'<pre class="sql">{html.escape(str(the_plan))}</pre>')
                else:
                    shown, scripts = await _run(request, fed, lambda scoped: _query(scoped, text))
                    body.append(shown)
            except FedQueryError as exc:
                body.append(_error(exc))
        return HTMLResponse(_shell("SQL", "".join(body), scripts))

    async def inventory(request: Request) -> Response:
        text = request.query_params.get("q", "").strip()
        inv = await asyncio.to_thread(_scoped(fed, request.state.principal).inventory)
        form = (
            '<form method="get" action="/inventory"><input name="q" size="40" '
            f'placeholder="search datasets and columns" value="{html.escape(text)}"> '
            '<button type="submit">Search</button></form>'
        )
        if text:
            hits = inv.search(text)
            rows = [(h.dataset, f"{h.score:.2f}", ", ".join(h.columns)) for h in hits]
            head = "<tr><th>dataset</th><th>title</th><th>score</th><th>matching columns</th></tr>"
            found = f"<p>{len(hits)} dataset(s) match “{html.escape(text)}”.</p>" if hits else "<p>No match.</p>"
        else:
            rows = [(d, "", "") for d in inv.datasets]
            head = "<tr><th>dataset</th><th>title</th><th></th><th></th></tr>"
            found = f"<p>{len(inv.datasets)} datasets.</p>"
        cells = "".join(
            f'<tr><td><a href="/inventory/{html.escape(d.id)}">{html.escape(d.id)}</a></td>'
            f"<td>{html.escape(d.title or '')}</td><td>{html.escape(score)}</td><td>{html.escape(columns)}</td></tr>"
            for d, score, columns in rows
        )
        return HTMLResponse(_shell("Data inventory", f'{form}{found}<table class="data">{head}{cells}</table>'))

    async def dataset(request: Request) -> Response:
        from fedquery.inventory.export import show_text

        inv = await asyncio.to_thread(_scoped(fed, request.state.principal).inventory)
        try:
            d = inv.get(request.path_params["dataset"])
        except FedQueryError as exc:
            return HTMLResponse(_shell("Data inventory", _error(exc)), status_code=404)
        example = d.example_query()
        link = "/sql?" + urllib.parse.urlencode({"q": example})
        body = (
            f'<p><a href="{html.escape(link)}">Run the example query</a>: <code>{html.escape(example)}</code></p>'
            f'<pre class="sql">{html.escape(show_text(d))}</pre>'
        )
        return HTMLResponse(_shell(d.id, body))

    async def bundle(request: Request) -> Response:
        from fedquery.viz.html import vega_bundle

        script = await asyncio.to_thread(vega_bundle)
        return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    async def failure(request: Request, exc: Exception) -> Response:
        # Anything untyped: a message and the status, never a traceback.
        message = '<div class="error" role="alert">Internal error: the request failed.</div>'
        return HTMLResponse(_shell("error", message), status_code=500)

    def governed(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """``handler`` run as the request's principal (see ``principal_headers``); 401 without one."""

        async def wrapped(request: Request) -> Response:
            request.state.principal = None
            if principal_headers:
                try:
                    request.state.principal = request_principal(request.headers)
                except ConfigError as exc:
                    return HTMLResponse(_shell("error", _error(exc)), status_code=401)
            return await handler(request)  # type: ignore[no-any-return]

        return wrapped

    routes = [
        Route("/", governed(home)),
        Route("/dashboards/{name}", governed(dashboard)),
        Route("/sql", governed(sql_page)),
        Route("/inventory", governed(inventory)),
        Route("/inventory/{dataset}", governed(dataset)),
        Route(BUNDLE_URL, bundle),
    ]
    app = Starlette(routes=routes, exception_handlers={Exception: failure})
    app.state.working = 0
    return app


def _query(fed: Federation, text: str) -> tuple[str, str]:
    """The SQL page's answer: a chart where the columns allow one, the table, and the scripts to draw it."""
    from fedquery.viz.chart import chart
    from fedquery.viz.html import scripts, spec_block
    from fedquery.viz.page import table_html

    result = fed.sql(text)
    table = result.arrow()
    out = [f"<h2>Result: {table.num_rows:,} rows</h2>"]
    tail = ""
    try:
        spec = chart(table).to_dict() if table.num_rows else None
    except ChartError:
        spec = None  # columns no chart kind fits: the table alone
    if spec is not None:
        out.append('<div class="fq-chart" data-spec="fq-spec-0"></div>')
        tail = spec_block("fq-spec-0", spec) + scripts(BUNDLE_URL)
    out.append(table_html(table))  # its first rows, saying how many more there are
    reads = ", ".join(f"{s.department}.{s.source} ({s.rows:,} rows)" for s in result.stats)
    out.append(f'<p class="provenance">Read from: {html.escape(reads) or "no source"}</p>')
    return "".join(out), tail


_LINK = 'style="color:inherit"'
_NAV = (
    f'<nav class="meta"><a href="/" {_LINK}>Dashboards</a> · <a href="/sql" {_LINK}>SQL</a> · '
    f'<a href="/inventory" {_LINK}>Data inventory</a></nav>'
)


def _shell(title: str, body: str, scripts: str = "") -> str:
    from fedquery.viz.page import CSS

    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{CSS} .content{{padding:16px 24px}} textarea{{width:100%;font-family:monospace}}</style></head>"
        f'<body><header>{_NAV}<h1>{html.escape(title)}</h1></header><div class="content">{body}</div>{scripts}'
        "</body></html>"
    )


def _sql_form(text: str) -> str:
    return (
        '<form method="get" action="/sql"><textarea name="q" rows="6">'
        f"{html.escape(text)}</textarea><br>"
        '<button type="submit" name="action" value="run">Run</button> '
        '<button type="submit" name="action" value="explain">Explain</button></form>'
    )


def _error(exc: FedQueryError) -> str:
    kind = "Query error" if isinstance(exc, QueryError) else type(exc).__name__
    return f'<div class="error" role="alert"><b>{html.escape(kind)}</b>: {html.escape(str(exc))}</div>'


def serve(
    fed: Federation,
    host: str = "127.0.0.1",
    port: int = 8000,
    config_path: Path | None = None,
    *,
    principal_headers: bool = False,
) -> None:
    """Run the app with uvicorn until interrupted."""
    uvicorn = require("uvicorn")
    app = create_app(fed, config_path, principal_headers=principal_headers)
    uvicorn.run(app, host=host, port=port, log_level="warning")
