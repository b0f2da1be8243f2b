"""The database: SQLite (WAL, foreign keys, busy timeout) by default, PostgreSQL by URL.

A :class:`Database` is made once per database by whoever composes the program (the runtime,
a command, a test's fixture) and handed to what needs it: it owns the engine, the sessions
drawn from it, the SQLite writer turn and the plan cache, so two databases never share them.

On SQLite, units of work of one process take turns for the database's single write lock
through an asyncio lock (:class:`WriterTurn`) instead of colliding on ``BEGIN IMMEDIATE``:
SQLite's busy handler would make the loser sleep in steps of up to 100 ms while the event
loop has nothing to do. Processes still wait for each other through the busy timeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession

from storage.plan_cache import PlanCache

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
READ_ONLY = "pgibot_read_only"
"""Execution option: a transaction that only reads (a plain deferred BEGIN on SQLite)."""

DatabaseError: TypeAlias = SQLAlchemyError
"""Any fault the database layer raises (lost connection, lock timeout, constraint)."""


def shown_url(url: str) -> str:
    """A database as the administrator writes it: a SQLite file by its path, no password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


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


CASEFOLD = "pgibot_casefold"
"""The SQLite function that case-folds any letter (PostgreSQL's lower() does so already)."""


def _casefold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


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
        # SQLite's lower() folds ASCII letters only: searches fold Vietnamese with this one.
        dbapi_connection.create_function(CASEFOLD, 1, _casefold, deterministic=True)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class WriterTurn:
    """The turn to write to one SQLite database, for the tasks of this process.

    Re-entrant for the task that holds it (a unit of work opened inside another waits on
    SQLite as before, never on itself). Fair: waiters get it in the order they asked.
    """

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0
        self._waiting = 0

    async def acquire(self) -> None:
        """Wait for the turn (at once if this task has it)."""
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a lock belongs to one event loop (tests run several)
            self._lock, self._loop, self._owner, self._depth = asyncio.Lock(), loop, None, 0
            self._waiting = 0
        if task is not None and self._owner is task:
            self._depth += 1
            return
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        self._owner, self._depth = task, 1

    def release(self) -> None:
        """Give the turn back (when the outermost holder is done)."""
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()

    @property
    def wanted(self) -> bool:
        """Tell whether another task waits while the outermost holder has the turn."""
        return self._depth == 1 and self._waiting > 0


@asynccontextmanager
async def read_only_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """Open a session whose transaction only reads: on SQLite it does not wait for writers."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await session.connection(execution_options={READ_ONLY: True})
        yield session


class Database:
    """One database and what this process keeps for it.

    Usage::

        database = Database(settings.database)
        async with UnitOfWork(database) as uow:
            ...
        await database.dispose()
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.writer_turn = WriterTurn() if is_sqlite(url) else None
        """Whose turn it is to write, on SQLite; None on PostgreSQL (it has row locks)."""
        self.plan_cache = PlanCache()
        """What this process read of the plan (:mod:`storage.plan_cache`)."""

    def session(self) -> AsyncSession:
        """Open a session: for units of work, and tests that seed or read rows directly."""
        return self._sessions()

    async def dispose(self) -> None:
        """Close the connections (the object is not used afterwards)."""
        await self.engine.dispose()


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
