"""The review of report versions and the reopenings of a year's reports after the deadline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.domain.members import Role
from bot.core.domain.plan import in_cycle
from bot.core.domain.review import QueuedReport, Reopening, Review, ReviewState
from bot.core.domain.submissions import AttachmentInfo
from storage.agencies import lineage_ids
from storage.models import Agency, Attachment, Cycle, Member, Plan, Submission, Task
from storage.models import Reopening as ReopeningRow

_Reviewer = aliased(Member)
_Leader = aliased(Member)


class ReviewRepository:
    """Report versions waiting for review, the decisions on them, and reopenings."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- the queue ------------------------------------------------------------------------

    async def queue(
        self,
        *,
        agency_ids: Sequence[int] | None = None,
        task_code: str | None = None,
        awaiting_leader: bool | None = None,
        offset: int = 0,
        limit: int = 5,
    ) -> tuple[list[QueuedReport], int]:
        """Return a page of the versions waiting for review, oldest first, and how many wait.

        ``agency_ids`` keeps the reports of those agencies (and the agencies merged into
        them); ``task_code`` those on the tasks with that code; ``awaiting_leader`` True only
        those waiting for their agency's leader, False only those that no longer do (None:
        every waiting version, the leader's step off).
        """
        where: list[ColumnElement[bool]] = [Submission.review_state == ReviewState.WAITING.value]
        if awaiting_leader is not None:
            first = await self._awaits_leader()
            where.append(first if awaiting_leader else ~first)
        if agency_ids is not None:
            lineage = {i for a in agency_ids for i in await lineage_ids(self._session, a)}
            where.append(Submission.agency_id.in_(lineage))
        if task_code is not None:
            where.append(func.lower(Task.code) == task_code.casefold())
        total = await self._session.scalar(
            select(func.count())
            .select_from(Submission)
            .join(Task, Task.id == Submission.task_id)
            .where(*where)
        )
        rows = await self._session.execute(
            _queued()
            .where(*where)
            .order_by(Submission.created_at, Submission.id)
            .offset(offset)
            .limit(limit)
        )
        return [_queued_report(row) for row in rows], int(total or 0)

    async def item(
        self, submission_id: int, *, leader_step: bool = False
    ) -> tuple[QueuedReport, Review] | None:
        """Return one version with its review, whatever its state.

        ``leader_step`` (``PGIBOT_LEADER_REVIEW``) tells whether it may wait for its leader.
        """
        row = (
            await self._session.execute(
                _queued()
                .add_columns(
                    Submission.review_state,
                    _Reviewer.full_name.label("reviewer_name"),
                    Submission.reviewed_at,
                    Submission.review_reason,
                    _Leader.full_name.label("leader_name"),
                    Submission.leader_reviewed_at,
                )
                .outerjoin(_Reviewer, _Reviewer.id == Submission.reviewed_by_id)
                .outerjoin(_Leader, _Leader.id == Submission.leader_reviewed_by_id)
                .where(Submission.id == submission_id)
            )
        ).first()
        if row is None:
            return None
        led = await self.led_agencies() if leader_step else frozenset()
        review = Review(
            ReviewState(row.review_state),
            row.reviewer_name,
            row.reviewed_at,
            row.review_reason,
            row.leader_name,
            row.leader_reviewed_at,
            _waits(row.review_state, row.leader_reviewed_at, row.agency_id, led),
        )
        return _queued_report(row), review

    async def led_agencies(self) -> frozenset[int]:
        """Return the agencies with an active leader (and the agencies merged into them)."""
        rows = await self._session.scalars(
            select(Member.agency_id)
            .where(Member.role == Role.LEADER.value, Member.active.is_(True))
            .distinct()
        )
        led: set[int] = set()
        for agency_id in list(rows):
            led.update(await lineage_ids(self._session, agency_id))
        return frozenset(led)

    async def _awaits_leader(self) -> ColumnElement[bool]:
        led = await self.led_agencies()
        return Submission.leader_reviewed_at.is_(None) & Submission.agency_id.in_(sorted(led))

    async def forward(self, submission_id: int, *, leader_id: int, now: datetime) -> bool:
        """Record a leader's acceptance of a waiting version; False when decided or forwarded."""
        result: Any = await self._session.execute(
            update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.review_state == ReviewState.WAITING.value,
                Submission.leader_reviewed_at.is_(None),
            )
            .values(leader_reviewed_by_id=leader_id, leader_reviewed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def decide(
        self,
        submission_id: int,
        state: ReviewState,
        *,
        reviewer_id: int,
        now: datetime,
        reason: str | None = None,
    ) -> bool:
        """Accept or return a waiting version; False when it no longer waits (decided already)."""
        result: Any = await self._session.execute(
            update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.review_state == ReviewState.WAITING.value,
            )
            .values(
                review_state=state.value,
                reviewed_by_id=reviewer_id,
                reviewed_at=now,
                review_reason=reason,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def previous(self, submission_id: int) -> tuple[Review, int | None] | None:
        """Return the review of the version a version follows, and who decided it."""
        row = (
            await self._session.execute(
                select(
                    Submission.review_state,
                    _Reviewer.full_name,
                    Submission.reviewed_at,
                    Submission.review_reason,
                    Submission.reviewed_by_id,
                )
                .outerjoin(_Reviewer, _Reviewer.id == Submission.reviewed_by_id)
                .where(
                    Submission.id
                    == select(Submission.supersedes_id)
                    .where(Submission.id == submission_id)
                    .scalar_subquery()
                )
            )
        ).first()
        if row is None:
            return None
        state, name, at, reason, reviewer_id = row
        return Review(ReviewState(state), name, at, reason), reviewer_id

    async def in_agency(self, submission_id: int, agency_id: int) -> bool:
        """Tell whether a version is a report of an agency (or of one merged into it)."""
        author = await self._session.scalar(
            select(Submission.agency_id).where(Submission.id == submission_id)
        )
        return author is not None and author in await lineage_ids(self._session, agency_id)

    async def decisions(
        self, submission_ids: Sequence[int], *, leader_step: bool = False
    ) -> dict[int, Review]:
        """Return the review of each of these versions (the dashboard's report cards)."""
        if not submission_ids:
            return {}
        led = await self.led_agencies() if leader_step else frozenset()
        rows = await self._session.execute(
            select(
                Submission.id,
                Submission.review_state,
                _Reviewer.full_name,
                Submission.reviewed_at,
                Submission.review_reason,
                _Leader.full_name,
                Submission.leader_reviewed_at,
                Submission.agency_id,
            )
            .outerjoin(_Reviewer, _Reviewer.id == Submission.reviewed_by_id)
            .outerjoin(_Leader, _Leader.id == Submission.leader_reviewed_by_id)
            .where(Submission.id.in_(list(submission_ids)))
        )
        return {
            row[0]: Review(
                ReviewState(row[1]),
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                _waits(row[1], row[6], row[7], led),
            )
            for row in rows
        }

    async def task_code_exists(self, code: str) -> bool:
        """Tell whether some task of the plan has this code (any letter case)."""
        found = await self._session.scalar(
            select(Task.id).where(func.lower(Task.code) == code.casefold()).limit(1)
        )
        return found is not None

    async def attachments(self, submission_id: int) -> list[AttachmentInfo]:
        """Return the evidence files of a version, in the order they were sent."""
        rows = await self._session.scalars(
            select(Attachment)
            .where(Attachment.submission_id == submission_id)
            .order_by(Attachment.id)
        )
        return [
            AttachmentInfo(
                a.file_name, a.mime_type, a.size, a.sha256, a.storage_path, a.platform_file_id
            )
            for a in rows
        ]

    # --- reopenings -----------------------------------------------------------------------

    async def reopen(
        self,
        *,
        cycle_id: int,
        agency_id: int,
        task_id: int | None,
        until: date,
        granted_by: int,
        now: datetime,
    ) -> Reopening:
        """Record a reopening and return it."""
        row = ReopeningRow(
            cycle_id=cycle_id,
            agency_id=agency_id,
            task_id=task_id,
            until_date=until,
            granted_by_id=granted_by,
            granted_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        found = await self._reopenings([ReopeningRow.id == row.id])
        return found[0]

    async def reopenings(self, cycle_id: int, agency_id: int) -> list[Reopening]:
        """Return the reopenings granted to an agency (or those merged into it) for a year."""
        lineage = await lineage_ids(self._session, agency_id)
        return await self._reopenings(
            [ReopeningRow.cycle_id == cycle_id, ReopeningRow.agency_id.in_(lineage)]
        )

    async def of_cycle(self, cycle_id: int) -> list[Reopening]:
        """Return every reopening granted for a year, oldest first."""
        return await self._reopenings([ReopeningRow.cycle_id == cycle_id])

    async def _reopenings(self, where: Sequence[ColumnElement[bool]]) -> list[Reopening]:
        rows = await self._session.execute(
            select(ReopeningRow, Cycle.year, Task.code)
            .join(Cycle, Cycle.id == ReopeningRow.cycle_id)
            .outerjoin(Task, Task.id == ReopeningRow.task_id)
            .where(*where)
            .order_by(ReopeningRow.id)
        )
        return [
            Reopening(
                r.id, r.cycle_id, year, r.agency_id, r.task_id, code, r.until_date, r.granted_at
            )
            for r, year, code in rows
        ]


def _waits(state: str, leader_at: datetime | None, agency_id: int, led: frozenset[int]) -> bool:
    """Tell whether a version waits for its agency's leader first."""
    return state == ReviewState.WAITING.value and leader_at is None and agency_id in led


def _queued() -> Any:
    return (
        select(
            Submission.id,
            Submission.cycle_id,
            Cycle.year,
            Plan.first_year,
            Task.id.label("task_id"),
            Task.code,
            Task.title,
            Agency.id.label("agency_id"),
            Agency.name,
            Member.full_name,
            Submission.status,
            Submission.progress,
            Submission.results,
            Submission.version,
            Submission.created_at,
        )
        .join(Task, Task.id == Submission.task_id)
        .join(Agency, Agency.id == Submission.agency_id)
        .join(Member, Member.id == Submission.member_id)
        .join(Cycle, Cycle.id == Submission.cycle_id)
        .join(Plan, Plan.id == Cycle.plan_id)
    )


def _queued_report(row: Any) -> QueuedReport:
    return QueuedReport(
        submission_id=row.id,
        cycle_id=row.cycle_id,
        year=row.year,
        task_id=row.task_id,
        task_code=row.code,
        task_title=in_cycle(row.title, row.year, row.first_year),
        agency_id=row.agency_id,
        agency_name=row.name,
        member_name=row.full_name,
        status=row.status,
        progress=row.progress,
        results=row.results,
        version=row.version,
        created_at=row.created_at,
    )
