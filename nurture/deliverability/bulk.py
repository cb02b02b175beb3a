"""Thousands of rows in one statement, the cheapest way each backend offers.

PostgreSQL gets one array parameter per column, unnested into rows: a multi-row
VALUES list or an executemany of 10,000 rows costs psycopg more to build and send
than the server takes to run the statement. SQLite's executemany is already cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, func, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

Columns = Mapping[str, TypeEngine[Any]]
Row = Mapping[str, Any]
# Given each incoming column by name, the UPDATE's WHERE clauses and SET values.
Shape = Callable[
    [Mapping[str, ColumnElement[Any]]],
    tuple[list[ColumnElement[bool]], dict[str, Any]],
]


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def unnest(columns: Columns, rows: Sequence[Row], name: str = "incoming") -> TableValuedAlias:
    """`rows` as a PostgreSQL FROM item with one array parameter per column."""
    arrays = [
        bindparam(f"u_{column}", [row[column] for row in rows], type_=ARRAY(kind))
        for column, kind in columns.items()
    ]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name=name)


def update_many(
    session: Session, table: Table, columns: Columns, rows: Sequence[Row], shape: Shape
) -> None:
    """One UPDATE applied once per row of `rows`, written the way the backend does it fastest."""
    if not rows:
        return
    if is_postgres(session):
        source = unnest(columns, rows)
        where, values = shape({column: source.c[column] for column in columns})
        session.execute(update(table).where(*where).values(values))
        return
    params = {column: bindparam(f"p_{column}", type_=kind) for column, kind in columns.items()}
    where, values = shape(params)
    session.execute(
        update(table).where(*where).values(values),
        [{f"p_{column}": value for column, value in row.items()} for row in rows],
    )
