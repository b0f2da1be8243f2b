"""Submissions and cycles: what officers report, version by version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.agencies import lineage_ids
from storage.dto import CycleInfo, NewSubmission, ReportStatus, SubmissionInfo
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
from storage.plan_cache import plan_cache
from storage.plan_import import ensure_milestones

LATE_REPORT_MONTHS = 3
"""A cycle stays open this many months into the next year, for late reports."""


class ReportRepository:
    """Submissions, their versions and attachments; the cycles they belong to."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def open_cycles(self, today: date) -> list[CycleInfo]:
        """Return the cycles reports can be filed for today, creating this year's if needed.

        A cycle is open during its year and the first months of the next, so that late
        reports for last year can still be filed in January.
        """
        cycles = await plan_cache(self._session).get(
            self._session, ("open cycles", today), lambda: self._open_cycles(today)
        )
        return list(cycles)

    async def _open_cycles(self, today: date) -> tuple[CycleInfo, ...]:
        plan = await self._session.scalar(select(Plan).order_by(Plan.id).limit(1))
        if plan is None:
            return ()
        if today.year >= plan.first_year:
            await self._ensure_cycle(plan, today.year)
        years = [today.year]
        if today.month <= LATE_REPORT_MONTHS:
            years.insert(0, today.year - 1)
        cycles = await self._session.scalars(
            select(Cycle)
            .where(Cycle.plan_id == plan.id, Cycle.year.in_(years))
            .order_by(Cycle.year)
        )
        return tuple([await self._cycle_info(cycle) for cycle in cycles])

    async def cycle(self, cycle_id: int) -> CycleInfo | None:
        """Return one cycle."""
        return await plan_cache(self._session).get(
            self._session, ("cycle", cycle_id), lambda: self._cycle(cycle_id)
        )

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
        """Store a submission as the next version of the agency's report on the task."""
        previous = await self._session.scalar(
            select(Submission)
            .where(
                Submission.cycle_id == new.cycle_id,
                Submission.task_id == new.task_id,
                Submission.agency_id == new.agency_id,
            )
            .order_by(Submission.version.desc())
            .limit(1)
        )
        deadlines = await plan_cache(self._session).get(
            self._session,
            ("assigned deadlines", new.cycle_id),
            lambda: self._assigned_deadlines(new.cycle_id),
        )
        milestone_id = next((m for due, m in deadlines if due >= now.date()), None)
        row = Submission(
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
        )
        self._session.add(row)
        await self._session.flush()
        for attachment in new.attachments:
            self._session.add(
                Attachment(
                    submission_id=row.id,
                    file_name=attachment.file_name,
                    mime_type=attachment.mime_type,
                    size=attachment.size,
                    sha256=attachment.sha256,
                    storage_path=attachment.storage_path,
                    platform_file_id=attachment.platform_file_id,
                    created_at=now,
                )
            )
        await self._session.flush()
        info = await self.get(row.id)
        assert info is not None
        return info

    async def get(self, submission_id: int) -> SubmissionInfo | None:
        """Return one submission."""
        found = await self._select([Submission.id == submission_id], limit=1)
        return found[0] if found else None

    async def latest_by_task(self, cycle_id: int, agency_id: int) -> dict[int, SubmissionInfo]:
        """Return the latest version of each task's report by an agency (and its predecessors)."""
        agencies = await lineage_ids(self._session, agency_id)
        rows = await self._select(
            [Submission.cycle_id == cycle_id, Submission.agency_id.in_(agencies)]
        )
        latest: dict[int, SubmissionInfo] = {}
        for info in rows:  # newest first
            latest.setdefault(info.task_id, info)
        return latest

    async def recent(self, agency_id: int, limit: int = 10) -> list[SubmissionInfo]:
        """Return an agency's most recent submissions, its predecessors' included."""
        agencies = await lineage_ids(self._session, agency_id)
        return await self._select([Submission.agency_id.in_(agencies)], limit=limit)

    async def _select(
        self, where: Sequence[object], limit: int | None = None
    ) -> list[SubmissionInfo]:
        attachments = (
            select(Attachment.submission_id, func.count().label("n"))
            .group_by(Attachment.submission_id)
            .subquery()
        )
        query = (
            select(Submission, Task, Agency, Member, Cycle, attachments.c.n)
            .join(Task, Task.id == Submission.task_id)
            .join(Agency, Agency.id == Submission.agency_id)
            .join(Member, Member.id == Submission.member_id)
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .outerjoin(attachments, attachments.c.submission_id == Submission.id)
            .where(*where)  # type: ignore[arg-type]
            .order_by(Submission.created_at.desc(), Submission.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            SubmissionInfo(
                id=s.id,
                cycle_year=cycle.year,
                task_id=task.id,
                task_code=task.code,
                task_title=task.title,
                agency_name=agency.name,
                member_name=member.full_name,
                status=ReportStatus(s.status),
                progress=s.progress,
                results=s.results,
                difficulties=s.difficulties,
                proposals=s.proposals,
                version=s.version,
                created_at=s.created_at,
                attachment_count=count or 0,
            )
            for s, task, agency, member, cycle, count in (await self._session.execute(query)).all()
        ]
