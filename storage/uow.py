"""The unit of work: one session and its repositories, committed at the boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.db import READ_ONLY
from storage.inbox import InboxRepository
from storage.notifications import NotificationRepository
from storage.reports import ReportRepository
from storage.repositories import (
    AuditRepository,
    ConversationRepository,
    InvitationRepository,
    MemberRepository,
    PlanRepository,
)
from storage.summary import SummaryRepository


class UnitOfWork:
    """One short transaction: repositories over one session; rolled back unless committed."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._session = session = self._sessions()
        self.members = MemberRepository(session)
        self.invitations = InvitationRepository(session)
        self.conversations = ConversationRepository(session)
        self.plans = PlanRepository(session)
        self.audit = AuditRepository(session)
        self.reports = ReportRepository(session)
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
            await self._session.close()
            self._session = None

    @property
    def session(self) -> AsyncSession:
        """Return the session, for storage functions that take one."""
        assert self._session is not None, "use the unit of work in `async with`"
        return self._session

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """Open a separate read-only session for long reads that must not block writers."""
        async with self._sessions() as session:
            await session.connection(execution_options={READ_ONLY: True})
            yield session

    async def commit(self) -> None:
        """Commit what was done so far."""
        await self.session.commit()
