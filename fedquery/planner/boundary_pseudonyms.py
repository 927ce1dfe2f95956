"""Pseudonyms computed at the fragment boundary: ``pseudonymise(f.x, 'p')`` left for the local DuckDB
over a fragment's integer or text column that the local query uses nowhere else becomes the
column itself, and the executor replaces the column's values with their tokens (Python's ``hmac``)
as the fragment's rows arrive, before they reach the local DuckDB or any join. So a source that
cannot compute the HMAC (SQLite, CSV, Parquet), or a query that pseudonymises above a join, never
puts the raw values into the local engine. Runs after split, before render.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from fedquery.pseudonym import Pseudonymise, key

if TYPE_CHECKING:
    from fedquery.planner.context import PlanContext

#: types whose Python ``str`` is DuckDB's VARCHAR cast (the canonical text the HMAC is over)
_EXACT = (pa.types.is_integer, pa.types.is_string, pa.types.is_large_string)


def boundary_pseudonyms(expression: exp.Expr, *, context: PlanContext) -> exp.Expr:
    fragments = {f.name: f for f in context.fragments}
    # Only an alias naming exactly one relation in the whole local query: a column then reads that fragment.
    named = [node.alias_or_name for node in expression.find_all(exp.Table, exp.Subquery, exp.CTE)]
    aliases = {
        table.alias_or_name: fragments[table.name]
        for table in expression.find_all(exp.Table)
        if table.name in fragments and not table.db and named.count(table.alias_or_name) == 1
    }
    uses: dict[tuple[str, str], list[exp.Column]] = {}
    for column in expression.find_all(exp.Column):
        if column.table in aliases:
            uses.setdefault((column.table, column.name), []).append(column)
    for (alias, name), columns in uses.items():
        fragment = aliases[alias]
        calls = [c.parent for c in columns]
        if not all(isinstance(call, Pseudonymise) and call.this is col for call, col in zip(calls, columns)):
            continue  # the raw value is used as well: the local DuckDB needs it
        projects = {call.args["project"].this for call in calls if call is not None}
        kind = fragment.output_type(name)
        if len(projects) != 1 or kind is None or not any(test(kind) for test in _EXACT):
            continue
        if fragment.reducers or fragment.top_n is not None or name in fragment.pseudonymised:
            continue
        (project,) = projects
        fragment = context.evolve(
            fragment,
            pseudonymised={**fragment.pseudonymised, name: project},
            pushed=(*fragment.pushed, f"pseudonymise({name}, '{project}') at the fragment boundary"),
        )
        aliases = {a: fragment if f.name == fragment.name else f for a, f in aliases.items()}
        for call, column in zip(calls, columns):
            call.replace(column.copy())  # type: ignore[union-attr]
    return expression


def tokenise(batch: pa.RecordBatch, columns: dict[str, str]) -> pa.RecordBatch:
    """``batch`` with each column in ``columns`` (name -> project) replaced by its pseudonyms."""
    arrays, fields = [], []
    for field, array in zip(batch.schema, batch.columns):
        project = columns.get(field.name)
        if project is not None:
            secret = key(project)
            tokens = [
                None if v is None else hmac.new(secret, str(v).encode(), hashlib.sha256).hexdigest()
                for v in array.to_pylist()
            ]
            array = pa.array(tokens, type=pa.string())
            field = pa.field(field.name, pa.string(), field.nullable)
        arrays.append(array)
        fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def tokenised_schema(schema: pa.Schema, columns: dict[str, str]) -> pa.Schema:
    return pa.schema([pa.field(f.name, pa.string(), f.nullable) if f.name in columns else f for f in schema])
