"""IPython magics: ``%load_ext fedquery``, then ``%fedsql SELECT ...`` or a ``%%fedsql`` cell.

Both return a :class:`~fedquery.result.Result` (shown as an HTML table). The federation is the
one given with ``--fed NAME`` (a variable of the notebook), else the one opened by
``%fedsql_connect PATH``, else ``fedquery.connect()`` (``$FEDQUERY_CONFIG`` or ./fedquery.toml).
Named parameters (``:region`` or ``$region``) take the notebook variable of that name, bound as a
literal; nothing from the notebook is ever pasted into the SQL text (IPython's own ``$var``
expansion is turned off for these magics). ``--out NAME`` also stores the result in a variable.

    %%fedsql --out claims
    SELECT region, count(*) AS n FROM dwp.claims WHERE start_date >= :since GROUP BY region
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, no_var_expand

import fedquery
from fedquery.errors import FedQueryError


@magics_class
class FedQueryMagics(Magics):  # type: ignore[misc]
    """``%fedsql``, ``%%fedsql`` and ``%fedsql_connect``."""

    federation: Any = None

    @line_magic  # type: ignore[misc]
    def fedsql_connect(self, line: str) -> Any:
        """Open the federation the magics use: ``%fedsql_connect path/to/fedquery.toml``."""
        try:
            self.federation = fedquery.connect(line.strip() or None)
        except FedQueryError as exc:
            _report(exc)
            return None
        return self.federation

    @no_var_expand  # type: ignore[misc]
    @line_magic  # type: ignore[misc]
    def fedsql(self, line: str) -> Any:
        """``%fedsql [--fed NAME] [--out NAME] SELECT ...``: run one query, return its Result."""
        options, sql = _options(line)
        return self._run(sql, options)

    @no_var_expand  # type: ignore[misc]
    @cell_magic("fedsql")  # type: ignore[misc,arg-type]
    def fedsql_cell(self, line: str, cell: str) -> Any:
        """``%%fedsql [--fed NAME] [--out NAME]`` then the query in the cell."""
        options, rest = _options(line)
        return self._run((rest + "\n" + cell).strip(), options)

    def _run(self, sql: str, options: dict[str, str]) -> Any:
        assert self.shell is not None
        namespace = self.shell.user_ns
        try:
            fed = self._federation(options.get("fed"), namespace)
            result = fed.sql(sql, params=_named_params(sql, namespace))
            result.arrow()  # read now: a displayed result is read once, and errors show here
        except FedQueryError as exc:
            _report(exc)
            return None
        if options.get("out"):
            namespace[options["out"]] = result
        return result

    def _federation(self, name: str | None, namespace: dict[str, Any]) -> Any:
        from fedquery.errors import InterfaceError

        if name:
            fed = namespace.get(name)
            if not hasattr(fed, "sql"):
                raise InterfaceError(f"--fed {name}: no federation of that name in the notebook")
            return fed
        if self.federation is None:
            self.federation = fedquery.connect()
        return self.federation


def _options(line: str) -> tuple[dict[str, str], str]:
    """Leading ``--fed NAME`` / ``--out NAME`` options, and the rest of the line (SQL)."""
    from fedquery.errors import InterfaceError

    options: dict[str, str] = {}
    words = line.strip().split(None, 2)
    while words and words[0] in ("--fed", "--out"):
        if len(words) < 2:
            raise InterfaceError(f"{words[0]} needs a name")
        options[words[0][2:]] = words[1]
        rest = words[2] if len(words) > 2 else ""
        words = rest.split(None, 2) if rest.startswith("--") else ([rest] if rest else [])
    return options, " ".join(words) if words else ""


def _named_params(sql: str, namespace: dict[str, Any]) -> dict[str, Any] | None:
    """The notebook variables the query's named parameters name (unknown names are left to the binder)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None  # fedquery's parser reports it, in the user's terms
    names = {str(p.this.name if isinstance(p.this, exp.Expr) else p.this)
             for p in tree.find_all(exp.Placeholder) if p.this is not None}  # fmt: skip
    names = {n for n in names if not n.isdigit()}
    return {n: namespace[n] for n in names if n in namespace} if names else None


def _report(exc: FedQueryError) -> None:
    # A notebook user gets the typed error's message, not an IPython traceback through fedquery.
    print(f"{type(exc).__name__}: {exc}", file=sys.stderr)


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(FedQueryMagics)


__all__ = ["FedQueryMagics", "load_ipython_extension"]
