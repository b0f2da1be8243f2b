"""Database engines: SQLite (WAL, foreign keys, busy timeout) by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "pgibot_read_only"
"""Execution option: a transaction that only reads (a plain deferred BEGIN on SQLite)."""

SessionFactory: TypeAlias = async_sessionmaker[AsyncSession]
"""What a unit of work draws its sessions from; handlers name it without importing SQLAlchemy."""
DatabaseError: TypeAlias = SQLAlchemyError
"""Any fault the database layer raises (lost connection, lock timeout, constraint)."""


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create an async engine; on SQLite, make the folder and set the pragmas on every connection.

    SQLite transactions start with ``BEGIN IMMEDIATE``: a writer takes the write lock at the
    start instead of failing with "database is locked" when it upgrades a read lock later.
    ``synchronous=FULL``: each commit is flushed to disk before it returns, so a report whose
    receipt was sent survives a power loss, not only a crash of the process (with NORMAL, the
    last commits before a power loss may vanish). The inbox worker's group commit pays this
    once per batch of updates.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}  # codes, report texts
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> SessionFactory:
    """Create the session factory every unit of work draws from."""
    return async_sessionmaker(engine, expire_on_commit=False)


class DatabaseUnavailable(Exception):
    """The database cannot be reached or written for now: the work waits for it, unchanged.

    ``answered`` holds the replies of the updates of a batch that were handled (and committed)
    before the database went away, in order; the rest of the batch is to be handled again.
    """

    def __init__(self, reason: str, answered: list[Any] | None = None) -> None:
        super().__init__(reason)
        self.answered: list[Any] = answered or []


_AWAY = (
    "database is locked",
    "disk i/o error",
    "database or disk is full",
    "unable to open database",
    "readonly database",
    "could not connect",
    "connect call failed",
    "connection refused",
    "connection was closed",
    "connection is closed",
    "connection reset",
    "server closed the connection",
    "terminating connection",
    "the database system is",
    "no route to host",
)
"""What SQLite's and PostgreSQL's drivers say when the database is away, not the work wrong."""


def database_unavailable(error: BaseException) -> bool:
    """Tell whether an error means the database is away for now (an outage, a held lock).

    Such an error says nothing about the work being done: the same work succeeds once the
    database is back. Any other error (a constraint, a bug) is a fault of the work itself.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DatabaseUnavailable | ConnectionError):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, SQLAlchemyError | OSError):
            text = str(current).lower()
            if any(marker in text for marker in _AWAY):
                return True
        current = current.__cause__ or current.__context__
    return False
