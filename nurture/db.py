"""Engine, sessions and the declarative base shared by every domain's models."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import (
    DateTime,
    Engine,
    MetaData,
    String,
    any_,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute, Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from nurture.config import get_settings

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use nurture.clock")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnumText(TypeDecorator[E]):
    """A StrEnum kept as its value in a plain VARCHAR and loaded back as the enum.

    No database enum type, so a new status needs no migration; a value outside the
    enum is refused when written and when read, so a typo never reaches a row.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy API


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for its backend: SQLite gets WAL and a busy timeout, PostgreSQL no JIT."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # pysqlite's own transaction handling breaks SAVEPOINT (a released nested
            # transaction could not be rolled back): SQLAlchemy emits BEGIN itself.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # IMMEDIATE takes the write lock up front (waiting up to busy_timeout): a
            # deferred transaction that reads, then writes after another writer
            # committed, fails at once with "database is locked" instead of waiting.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # PostgreSQL's JIT compiles plans it guesses are costly, such as a count over
    # 100,000 leads with a consent look-up each; for these short OLTP queries the
    # compiling took longer than the query (about 430 ms on a console page).
    connect_args = {"options": "-c jit=off", **kwargs.pop("connect_args", {})}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def one_of(
    session: Session, column: ColumnElement[T] | QueryableAttribute[T], values: Collection[T]
) -> ColumnElement[bool]:
    """`column IN values`, as one array parameter on PostgreSQL (`= ANY(%s)`).

    A batch's IN list of hundreds of placeholders makes a statement psycopg must parse
    afresh each time, and one PostgreSQL must plan afresh: the array keeps the
    statement the same whatever the batch's size.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def upsert_insert(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT construct, which offers ON CONFLICT DO NOTHING on both backends."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The process-wide engine for the configured database."""
    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.database_url)


@lru_cache(maxsize=1)
def get_sessionmaker() -> sessionmaker[Session]:
    """Sessions on the process-wide engine; objects stay readable after commit."""
    return sessionmaker(get_engine(), expire_on_commit=False)
