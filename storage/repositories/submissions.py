"""Submissions and cycles: what officers report, version by version."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Row, Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.plan import CycleInfo, in_cycle
from bot.core.domain.review import Review, ReviewState
from bot.core.domain.standing import year_open
from bot.core.domain.submissions import NewSubmission, ReportStatus, SubmissionInfo
from storage.agencies import lineage_ids
from storage.models import (
    Agency,
    Attachment,
    Cycle,
    Member,
    Milestone,
    MilestoneRule,
    Plan,
    Submission,
    Task,
)
from storage.plan_cache import cached, mark_plan_changed
from storage.plan_import import ensure_milestones

logger = logging.getLogger(__name__)

VERSION_ATTEMPTS = 50
"""Times a submission tries the next version number when others took it at the same moment."""


class SubmissionRepository:
    """Submissions, their versions and attachments; the cycles they belong to."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_cycles(self, today: date) -> list[CycleInfo]:
        """Return the cycles reports can be filed for today, creating this year's if needed.

        A cycle is open during its year and the first months of the next, so that late
        reports for last year can still be filed in January
        (:func:`bot.core.domain.standing.year_open`).
        """
        cycles = await cached(
            self._session, ("open cycles", today), lambda: self._open_cycles(today)
        )
        return list(cycles)

    async def _open_cycles(self, today: date) -> tuple[CycleInfo, ...]:
        plan = await self._session.scalar(select(Plan).order_by(Plan.id).limit(1))
        if plan is None:
            return ()
        if today.year >= plan.first_year:
            await self._ensure_cycle(plan, today.year)
        years = [y for y in (today.year - 1, today.year) if year_open(y, today)]
        cycles = await self._session.scalars(
            select(Cycle)
            .where(Cycle.plan_id == plan.id, Cycle.year.in_(years))
            .order_by(Cycle.year)
        )
        return tuple([await self._cycle_info(cycle) for cycle in cycles])

    async def cycle(self, cycle_id: int) -> CycleInfo | None:
        """Return one cycle."""
        return await cached(self._session, ("cycle", cycle_id), lambda: self._cycle(cycle_id))

    async def _cycle(self, cycle_id: int) -> CycleInfo | None:
        cycle = await self._session.get(Cycle, cycle_id)
        return await self._cycle_info(cycle) if cycle else None

    async def _assigned_deadlines(self, cycle_id: int) -> tuple[tuple[date, int], ...]:
        """Return the due dates and ids of a cycle's deadlines for assigned agencies, by date."""
        rows = await self._session.execute(
            select(Milestone.due_date, Milestone.id)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .where(
                Milestone.cycle_id == cycle_id,
                MilestoneRule.recipients == "assigned",
                MilestoneRule.active.is_(True),
            )
            .order_by(Milestone.due_date, Milestone.id)
        )
        return tuple((due, milestone_id) for due, milestone_id in rows.all())

    async def _cycle_info(self, cycle: Cycle) -> CycleInfo:
        deadline = await self._session.scalar(
            select(func.max(Milestone.due_date))
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .where(
                Milestone.cycle_id == cycle.id,
                MilestoneRule.active.is_(True),
                MilestoneRule.recipients == "assigned",
            )
        )
        return CycleInfo(cycle.id, cycle.year, deadline)

    async def _ensure_cycle(self, plan: Plan, year: int) -> None:
        cycle = await self._session.scalar(
            select(Cycle).where(Cycle.plan_id == plan.id, Cycle.year == year)
        )
        if cycle is None:
            mark_plan_changed(self._session)
            cycle = Cycle(plan_id=plan.id, year=year)
            self._session.add(cycle)
            await self._session.flush()
            rules = await self._session.scalars(
                select(MilestoneRule).where(MilestoneRule.plan_id == plan.id)
            )
            await ensure_milestones(self._session, cycle, list(rules))
            await self._session.flush()

    async def by_idempotency_key(self, key: str) -> SubmissionInfo | None:
        """Return the submission an update already created, if any."""
        row_id = await self._session.scalar(
            select(Submission.id).where(Submission.idempotency_key == key)
        )
        return await self.get(row_id) if row_id else None

    async def create(self, new: NewSubmission, now: datetime) -> SubmissionInfo:
        """Store a submission as the next version of the agency's report on the task.

        Versions are unique per (cycle, task, agency) by constraint. When another transaction
        wrote the same version at the same moment (two officers, or two processes), the
        insert fails inside a savepoint and is tried again with the next number, linked to
        the version that won; the same update confirmed twice returns the first submission.
        """
        deadlines = await cached(
            self._session,
            ("assigned deadlines", new.cycle_id),
            lambda: self._assigned_deadlines(new.cycle_id),
        )
        milestone_id = next((m for due, m in deadlines if due >= now.date()), None)
        for attempt in range(1, VERSION_ATTEMPTS + 1):
            previous = await self._latest_version(new.cycle_id, new.task_id, new.agency_id)
            try:
                async with self._session.begin_nested():
                    submission_id = await self._insert(new, now, milestone_id, previous)
            except IntegrityError:
                if new.idempotency_key and (
                    done := await self.by_idempotency_key(new.idempotency_key)
                ):
                    return done
                if attempt == VERSION_ATTEMPTS:
                    raise
                logger.info(
                    "version %s of task %s (agency %s) was taken meanwhile; trying the next",
                    previous.version + 1 if previous else 1,
                    new.task_id,
                    new.agency_id,
                )
                continue
            break
        for attachment in new.attachments:
            self._session.add(
                Attachment(
                    submission_id=submission_id,
                    file_name=attachment.file_name,
                    mime_type=attachment.mime_type,
                    size=attachment.size,
                    sha256=attachment.sha256,
                    storage_path=attachment.storage_path,
                    platform_file_id=attachment.platform_file_id,
                    created_at=now,
                )
            )
        if new.attachments:
            await self._session.flush()
        info = await self.get(submission_id)
        assert info is not None
        return info

    async def _latest_version(
        self, cycle_id: int, task_id: int, agency_id: int
    ) -> Row[Any, Any] | None:
        """Return (id, version) of the latest version of an agency's report on a task."""
        return (
            await self._session.execute(
                select(_S.c.id, _S.c.version)
                .where(
                    _S.c.cycle_id == cycle_id,
                    _S.c.task_id == task_id,
                    _S.c.agency_id == agency_id,
                )
                .order_by(_S.c.version.desc())
                .limit(1)
            )
        ).first()

    async def _insert(
        self,
        new: NewSubmission,
        now: datetime,
        milestone_id: int | None,
        previous: Row[Any, Any] | None,
    ) -> int:
        """Insert a submission as the version after ``previous``; return its id."""
        submission_id: int = (
            await self._session.execute(
                insert(_S)
                .values(
                    cycle_id=new.cycle_id,
                    task_id=new.task_id,
                    agency_id=new.agency_id,
                    member_id=new.member_id,
                    milestone_id=milestone_id,
                    status=new.status.value,
                    progress=new.progress,
                    results=new.results,
                    difficulties=new.difficulties,
                    proposals=new.proposals,
                    version=previous.version + 1 if previous else 1,
                    supersedes_id=previous.id if previous else None,
                    idempotency_key=new.idempotency_key,
                    created_at=now,
                    period_start=new.period_start,
                    period_end=new.period_end,
                )
                .returning(_S.c.id)
            )
        ).scalar_one()
        return submission_id

    async def latest(self, cycle_id: int, task_id: int, agency_id: int) -> SubmissionInfo | None:
        """Return the latest report of an agency (or its predecessors) on one task."""
        agencies = await lineage_ids(self._session, agency_id)
        found = await self._select(
            [_S.c.cycle_id == cycle_id, _S.c.task_id == task_id, _S.c.agency_id.in_(agencies)],
            limit=1,
        )
        return found[0] if found else None

    async def get(self, submission_id: int) -> SubmissionInfo | None:
        """Return one submission."""
        found = await self._select([_S.c.id == submission_id], limit=1)
        return found[0] if found else None

    async def latest_by_task(self, cycle_id: int, agency_id: int) -> dict[int, SubmissionInfo]:
        """Return the latest version of each task's report by an agency (and its predecessors)."""
        agencies = await lineage_ids(self._session, agency_id)
        rows = await self._select([_S.c.cycle_id == cycle_id, _S.c.agency_id.in_(agencies)])
        latest: dict[int, SubmissionInfo] = {}
        for info in rows:  # newest first
            latest.setdefault(info.task_id, info)
        return latest

    async def recent(self, agency_id: int, limit: int = 10) -> list[SubmissionInfo]:
        """Return an agency's most recent submissions, its predecessors' included."""
        agencies = await lineage_ids(self._session, agency_id)
        return await self._select([_S.c.agency_id.in_(agencies)], limit=limit)

    async def _select(
        self, where: Sequence[ColumnElement[bool]], limit: int | None = None
    ) -> list[SubmissionInfo]:
        """Read submissions with what a receipt or a history line shows (Core: on hot paths)."""
        query = _SUBMISSIONS.where(*where)
        if limit is not None:
            query = query.limit(limit)
        return [
            SubmissionInfo(
                id=row.id,
                cycle_year=row.cycle_year,
                task_id=row.task_id,
                task_code=row.task_code,
                task_title=in_cycle(row.task_title, row.cycle_year, row.first_year),
                agency_name=row.agency_name,
                member_name=row.member_name,
                status=ReportStatus(row.status),
                progress=row.progress,
                results=row.results,
                difficulties=row.difficulties,
                proposals=row.proposals,
                version=row.version,
                created_at=row.created_at,
                attachment_count=row.attachment_count or 0,
                review=Review(
                    ReviewState(row.review_state),
                    row.reviewer_name,
                    row.reviewed_at,
                    row.review_reason,
                    row.leader_name,
                    row.leader_reviewed_at,
                ),
                period_start=row.period_start,
                period_end=row.period_end,
            )
            for row in await self._session.execute(query)
        ]


_S = cast(Table, Submission.__table__)
_T = cast(Table, Task.__table__)
_AG = cast(Table, Agency.__table__)
_M = cast(Table, Member.__table__)
_C = cast(Table, Cycle.__table__)
_P = cast(Table, Plan.__table__)
_ATT = cast(Table, Attachment.__table__)
_REVIEWER = _M.alias("reviewer")
_LEADER = _M.alias("leader")
_ATTACHMENTS = (
    select(_ATT.c.submission_id, func.count().label("n")).group_by(_ATT.c.submission_id).subquery()
)
_SUBMISSIONS = (
    select(
        _S.c.id,
        _C.c.year.label("cycle_year"),
        _P.c.first_year.label("first_year"),
        _T.c.id.label("task_id"),
        _T.c.code.label("task_code"),
        _T.c.title.label("task_title"),
        _AG.c.name.label("agency_name"),
        _M.c.full_name.label("member_name"),
        _S.c.status,
        _S.c.progress,
        _S.c.results,
        _S.c.difficulties,
        _S.c.proposals,
        _S.c.version,
        _S.c.created_at,
        _ATTACHMENTS.c.n.label("attachment_count"),
        _S.c.review_state,
        _REVIEWER.c.full_name.label("reviewer_name"),
        _S.c.reviewed_at,
        _S.c.review_reason,
        _LEADER.c.full_name.label("leader_name"),
        _S.c.leader_reviewed_at,
        _S.c.period_start,
        _S.c.period_end,
    )
    .select_from(_S)
    .join(_T, _T.c.id == _S.c.task_id)
    .join(_AG, _AG.c.id == _S.c.agency_id)
    .join(_M, _M.c.id == _S.c.member_id)
    .join(_C, _C.c.id == _S.c.cycle_id)
    .join(_P, _P.c.id == _C.c.plan_id)
    .outerjoin(_ATTACHMENTS, _ATTACHMENTS.c.submission_id == _S.c.id)
    .outerjoin(_REVIEWER, _REVIEWER.c.id == _S.c.reviewed_by_id)
    .outerjoin(_LEADER, _LEADER.c.id == _S.c.leader_reviewed_by_id)
    .order_by(_S.c.created_at.desc(), _S.c.id.desc())
)
