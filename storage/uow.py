"""The unit of work: one session and its repositories, committed at the boundary.

On SQLite, units of work of one process take turns for the database's single write lock
through an asyncio lock (:class:`WriterTurn`) instead of colliding on ``BEGIN IMMEDIATE``:
SQLite's busy handler would make the loser sleep in steps of up to 100 ms while the event
loop has nothing to do. Processes still wait for each other through the busy timeout.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import READ_ONLY
from storage.inbox import InboxRepository
from storage.notifications import NotificationRepository
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.invitations import InvitationRepository
from storage.repositories.jobs import JobRunRepository
from storage.repositories.link_codes import LinkCodeRepository
from storage.repositories.members import MemberRepository
from storage.repositories.plan import PlanRepository
from storage.repositories.submissions import SubmissionRepository
from storage.summary import SummaryRepository


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


_turns: weakref.WeakKeyDictionary[Engine, WriterTurn] = weakref.WeakKeyDictionary()


def _writer_turn(sessions: async_sessionmaker[AsyncSession]) -> WriterTurn | None:
    """Return the writer turn of the SQLite database a session factory opens; None otherwise."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    turn = _turns.get(bind.sync_engine)
    if turn is None:
        turn = _turns[bind.sync_engine] = WriterTurn()
    return turn


class UnitOfWork:
    """One short transaction: repositories over one session; rolled back unless committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None
        self._turn = _writer_turn(sessions)
        self._holding = False
        """Whether this unit of work holds the writer turn (released exactly once)."""
        self.shared = False
        """Whether several updates are handled in it (see :meth:`reading`)."""

    async def __aenter__(self) -> UnitOfWork:
        if self._turn is not None:
            await self._turn.acquire()
            self._holding = True
        self._session = session = self._sessions()
        self.members = MemberRepository(session)
        self.invitations = InvitationRepository(session)
        self.link_codes = LinkCodeRepository(session)
        self.conversations = ConversationRepository(session)
        self.plans = PlanRepository(session)
        self.agencies = AgencyRepository(session)
        self.audit = AuditRepository(session)
        self.jobs = JobRunRepository(session)
        self.submissions = SubmissionRepository(session)
        self.inbox = InboxRepository(session)
        self.notifications = NotificationRepository(session)
        self.summaries = SummaryRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            await self._session.rollback()
        finally:
            try:
                await self._session.close()
            finally:
                self._session = None
                if self._turn is not None and self._holding:
                    self._holding = False
                    self._turn.release()

    @property
    def session(self) -> AsyncSession:
        """Return the session, for storage functions that take one."""
        assert self._session is not None, "use the unit of work in `async with`"
        return self._session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """Open a separate read-only session for long reads that must not block writers.

        In a shared unit of work (the inbox worker's group commit), read through its own
        session instead: a separate one would not see what the batch's earlier updates wrote.
        """
        if self.shared:
            yield self.session
            return
        async with self._sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            yield session

    async def commit(self) -> None:
        """Commit what was done so far (and let another writer of this process go first)."""
        await self.session.commit()
        if self._turn is not None and self._holding and self._turn.wanted:
            self._holding = False  # if cancelled while queueing again, nothing to give back
            self._turn.release()
            await self._turn.acquire()
            self._holding = True
