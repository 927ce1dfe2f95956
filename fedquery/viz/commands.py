"""``fedquery dashboard list|build`` (and ``fedquery serve``): the command-line side of fedquery.viz.

Kept apart from fedquery/cli.py, which only registers these; library errors raised here
reach the CLI group, which prints them and exits with their class's code.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


def _config_path(obj: Any) -> Path | None:
    path = obj.federation().config.path
    return Path(path) if path is not None else None


def _params(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.UsageError(f"--param {item!r}: write it as NAME=VALUE")
        out[name.strip()] = value
    return out


@click.group()
def dashboard() -> None:
    """Dashboards as code: NAME.dashboard.toml files beside the catalog (or in dashboards/ beside it).

    \b
    Examples:
      fedquery dashboard list
      fedquery dashboard build pandemic -o dashboard.html
      fedquery dashboard build pandemic --param region=London -o london.html
    """


@dashboard.command("list")
@click.pass_obj
def dashboard_list(obj: Any) -> None:
    """The dashboards beside the catalog: name, title, panels, file."""
    from fedquery.viz import dashboard as boards

    found = boards.find(_config_path(obj))
    if not found:
        click.echo(f"no dashboards (files *{boards.SUFFIX} beside the catalog or in {boards.FOLDER}/)", err=True)
        return
    for name, path in found.items():
        board = boards.load(path)
        click.echo(f"{name}\t{board.title}\t{len(board.panels)} panel(s)\t{path}")


@dashboard.command("build")
@click.argument("name")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="HTML file (default NAME.html).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A parameter's value (default: its default).")  # fmt: skip
@click.option("--every-value", is_flag=True,
              help="Run the panels for every choice of the parameters; the page's drop-downs switch "
                   "between them.")  # fmt: skip
@click.pass_obj
def dashboard_build(obj: Any, name: str, output: Path | None, params: tuple[str, ...], every_value: bool) -> None:
    """Run dashboard NAME and write it as one self-contained HTML page (works offline, no CDN).

    A panel whose query fails shows the error in its place; the page is still written and the
    exit code is that error's.
    """
    from fedquery.viz import dashboard as boards
    from fedquery.viz import page

    board = boards.get(_config_path(obj), name)
    if every_value and params:
        raise click.UsageError("--every-value builds every choice: give no --param")
    if every_value:
        run, variants = boards.run_every(obj.federation(), board)
        errors = [e for v in variants for e in v.errors]
        html = page.render(run, variants=variants)
    else:
        run = boards.run(obj.federation(), board, _params(params))
        errors, html = run.errors, page.render(run)
    target = output or Path(f"{name}.html")
    target.write_text(html, encoding="utf-8")
    click.echo(f"Wrote dashboard {name!r} ({len(board.panels)} panels) to {target}", err=True)
    for error in errors:
        click.echo(f"Error in a panel: {error}", err=True)
    if errors:
        sys.exit(errors[0].exit_code)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback unless told).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--principal-headers", is_flag=True,
    help="Run each request as the principal an authenticating reverse proxy names in X-Forwarded-User, "
    "-Groups and -Purpose (only behind such a proxy).",
)  # fmt: skip
@click.pass_obj
def serve(obj: Any, host: str, port: int, principal_headers: bool) -> None:
    """Serve the dashboards and a SQL page as a local, read-only web app (needs fedquery[serve]).

    \b
    Every dashboard is re-run on load and on its refresh interval; its drop-downs re-run
    the panels with the chosen values, bound on the server. /sql runs, charts and
    explains a query. A query is cancelled when its browser goes away.
    \b
    Examples:
      fedquery serve                       # http://127.0.0.1:8000/
      fedquery -c fedquery-demo/fedquery.toml serve --port 8080
    """
    from fedquery.viz.serve import serve as run

    fed = obj.federation()
    click.echo(f"Serving {fed.config.path or 'the federation'} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    run(fed, host, port, _config_path(obj), principal_headers=principal_headers)
