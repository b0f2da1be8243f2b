"""The unit of work: one session and its repositories, committed at the boundary.

Its session is its own: what is read and written goes through the repositories
(``uow.members``, ``uow.plans``, …). On SQLite it holds the database's writer turn
(:class:`storage.db.WriterTurn`) while open; its commit empties the plan cache when it
changed the plan (:mod:`storage.plan_cache`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.priority import give_way
from storage.agencies import FOLLOWED
from storage.db import READ_ONLY, Database
from storage.history import HistoryRepository
from storage.inbox import InboxRepository
from storage.notifications import NotificationRepository
from storage.outbox import OutboxRepository
from storage.plan_cache import PLAN_READS, PlanReads
from storage.report_search import ReportSearch
from storage.repositories.absences import AbsenceRepository, SnoozeRepository
from storage.repositories.agencies import AgencyRepository
from storage.repositories.api_keys import ApiKeyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.calendar import CalendarRepository
from storage.repositories.conversations import ConversationRepository
from storage.repositories.downloads import DownloadLinkRepository
from storage.repositories.explanations import ExplanationRepository
from storage.repositories.extensions import ExtensionRepository
from storage.repositories.instances import InstanceRepository
from storage.repositories.invitations import InvitationRepository
from storage.repositories.jobs import JobRunRepository
from storage.repositories.link_codes import LinkCodeRepository
from storage.repositories.members import MemberRepository
from storage.repositories.plan import PlanRepository
from storage.repositories.reports import ReportRepository
from storage.repositories.results import ResultRepository
from storage.repositories.reviews import ReviewRepository
from storage.repositories.submissions import SubmissionRepository
from storage.repositories.web_logins import WebLoginRepository
from storage.summary import SummaryRepository
from storage.synthetic import SyntheticData


class Repositories:
    """The repositories over one session: a unit of work's, or a read-only one."""

    members: MemberRepository
    absences: AbsenceRepository
    snoozes: SnoozeRepository
    invitations: InvitationRepository
    link_codes: LinkCodeRepository
    conversations: ConversationRepository
    plans: PlanRepository
    agencies: AgencyRepository
    audit: AuditRepository
    calendar: CalendarRepository
    jobs: JobRunRepository
    instances: InstanceRepository
    submissions: SubmissionRepository
    reviews: ReviewRepository
    explanations: ExplanationRepository
    extensions: ExtensionRepository
    inbox: InboxRepository
    notifications: NotificationRepository
    outbox: OutboxRepository
    summaries: SummaryRepository
    history: HistoryRepository
    synthetic: SyntheticData
    web_logins: WebLoginRepository
    reports: ReportSearch
    api_keys: ApiKeyRepository
    downloads: DownloadLinkRepository
    report_feed: ReportRepository

    def _open(self, session: AsyncSession) -> None:
        self.members = MemberRepository(session)
        self.absences = AbsenceRepository(session)
        self.snoozes = SnoozeRepository(session)
        self.invitations = InvitationRepository(session)
        self.link_codes = LinkCodeRepository(session)
        self.conversations = ConversationRepository(session)
        self.plans = PlanRepository(session)
        self.results = ResultRepository(session)
        self.agencies = AgencyRepository(session)
        self.audit = AuditRepository(session)
        self.calendar = CalendarRepository(session)
        self.jobs = JobRunRepository(session)
        self.instances = InstanceRepository(session)
        self.submissions = SubmissionRepository(session)
        self.reviews = ReviewRepository(session)
        self.explanations = ExplanationRepository(session)
        self.extensions = ExtensionRepository(session)
        self.inbox = InboxRepository(session)
        self.notifications = NotificationRepository(session)
        self.outbox = OutboxRepository(session)
        self.summaries = SummaryRepository(session)
        self.history = HistoryRepository(session)
        self.synthetic = SyntheticData(session)
        self.web_logins = WebLoginRepository(session)
        self.reports = ReportSearch(session)
        self.api_keys = ApiKeyRepository(session)
        self.downloads = DownloadLinkRepository(session)
        self.report_feed = ReportRepository(session)


class Reads(Repositories):
    """Repositories over a read-only session (see :meth:`UnitOfWork.reading`)."""

    def __init__(self, session: AsyncSession) -> None:
        self._open(session)


class UnitOfWork(Repositories):
    """One short transaction: repositories over one session; rolled back unless committed."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._session: AsyncSession | None = None
        self._turn = database.writer_turn
        self._holding = False
        """Whether this unit of work holds the writer turn (released exactly once)."""
        self._plan = PlanReads(database.plan_cache)
        self.shared = False
        """Whether several updates are handled in it (see :meth:`reading`)."""

    def _new_session(self) -> AsyncSession:
        session = self._database.session()
        session.info[PLAN_READS] = self._plan
        return session

    async def __aenter__(self) -> UnitOfWork:
        if self._turn is not None:
            await self._turn.acquire()
            self._holding = True
        self._plan.rolled_back()  # a new transaction: it starts from the cache as it is now
        self._session = self._new_session()
        self._open(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._live()
        try:
            await session.rollback()
            self._plan.rolled_back()
        finally:
            try:
                await session.close()
            finally:
                self._session = None
                if self._turn is not None and self._holding:
                    self._holding = False
                    self._turn.release()

    def _live(self) -> AsyncSession:
        assert self._session is not None, "use the unit of work in `async with`"
        return self._session

    def plan_changed(self) -> None:
        """Say that this transaction changes the plan: its commit empties the plan cache.

        Until then it reads the plan from the database (it sees its own change).
        """
        self._plan.mark_changed()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[Repositories]:
        """Read through a separate read-only session, for long reads that must not block writers.

        In a shared unit of work (the inbox worker's group commit), read through its own
        session instead: a separate one would not see what the batch's earlier updates wrote.
        Usable without entering the unit of work.
        """
        if self.shared:
            yield self
            return
        async with self._new_session() as session:
            await session.connection(execution_options={READ_ONLY: True})
            yield Reads(session)

    async def flush(self) -> None:
        """Send what was done so far to the database, in the transaction (not committed)."""
        await self._live().flush()

    async def give_way(self) -> None:
        """Commit what was done so far, then let the intake go first (long background work).

        The writer turn is given back meanwhile, so that the intake's own transactions are not
        kept waiting for it (see :mod:`bot.core.priority`).
        """
        await self.commit()
        if self._turn is None or not self._holding:
            await give_way()
            return
        self._holding = False
        self._turn.release()
        try:
            await give_way()
        finally:
            await self._turn.acquire()
            self._holding = True

    async def commit(self) -> None:
        """Commit what was done so far (and let another writer of this process go first).

        Members who followed their agency's end must have been taken to be told
        (``uow.agencies.followed()``): a commit that would move them in silence is refused.
        """
        if self._live().info.get(FOLLOWED):
            raise RuntimeError("members followed their agency but were not told")
        try:
            await self._live().commit()
        except BaseException:
            if self._plan.changed:  # committed or not, nobody can tell: forget the plan
                self._plan.committed()
            raise
        self._plan.committed()
        if self._turn is not None and self._holding and self._turn.wanted:
            self._holding = False  # if cancelled while queueing again, nothing to give back
            self._turn.release()
            await self._turn.acquire()
            self._holding = True
