"""An agency's reports of one year, read as that year's views read it (``/lichsu YEAR``).

The year is read in the structure of its reference day
(:func:`bot.core.domain.progress.reference_day`), as :class:`storage.summary.SummaryRepository`
reads it: the reports are those that count for the agency on that day (its own, and those of
the agencies merged into it by then), each under its author's name of that day. An agency
formed after that day is read on its first day (Sở Nông nghiệp và Môi trường's 2024 is the
reports of the two departments it was formed from). No later merger, rename, retirement or
succession changes what a past year shows.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.plan import in_cycle
from bot.core.domain.progress import AgencyHistory, SubmissionRow, reference_day
from storage.agencies import current_agency
from storage.models import (
    Agency,
    Assignment,
    Attachment,
    Cycle,
    Member,
    Plan,
    Submission,
    Task,
)
from storage.structure import assignment_in_force
from storage.summary import SummaryRepository


class HistoryRepository:
    """An agency's reports of a year."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._summaries = SummaryRepository(session)

    async def year(self, year: int, agency_id: int, limit: int) -> AgencyHistory | None:
        """Return an agency's latest ``limit`` reports of a year (None: no such year)."""
        found = (
            await self._session.execute(
                select(Cycle, Plan.first_year)
                .join(Plan, Plan.id == Cycle.plan_id)
                .where(Cycle.year == year)
                .order_by(Plan.id)
                .limit(1)
            )
        ).first()
        mine = await self._session.get(Agency, agency_id)
        if found is None or mine is None:
            return None
        cycle, first_year = found
        on = reference_day(await self._summaries.milestones_of(cycle.id), year)
        if mine.valid_from is not None and on < mine.valid_from:
            on = mine.valid_from
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        owner = {a.id: (await current_agency(self._session, a, on)).id for a in agencies.values()}
        names = await self._summaries.names_on(agencies, owner, on)
        scope = [a for a in agencies if owner[a] == agency_id]
        leading = await self._leading(on)
        attachments = (
            select(Attachment.submission_id, func.count().label("n"))
            .group_by(Attachment.submission_id)
            .subquery()
        )
        mine_in_year = (Submission.cycle_id == cycle.id, Submission.agency_id.in_(scope))
        total = await self._session.scalar(
            select(func.count()).select_from(Submission).where(*mine_in_year)
        )
        rows = await self._session.execute(
            select(
                Submission.id,
                Submission.created_at,
                Task.code,
                Task.title,
                Submission.agency_id,
                Member.full_name,
                Submission.status,
                Submission.progress,
                Submission.results,
                Submission.difficulties,
                Submission.proposals,
                Submission.version,
                attachments.c.n,
                Submission.task_id,
            )
            .join(Task, Task.id == Submission.task_id)
            .join(Member, Member.id == Submission.member_id)
            .outerjoin(attachments, attachments.c.submission_id == Submission.id)
            .where(*mine_in_year)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
        return AgencyHistory(
            year,
            names[agency_id],
            [
                SubmissionRow(
                    f"{year}/{sid:05d}",
                    at,
                    code,
                    in_cycle(title, year, first_year),
                    None,
                    names[author],
                    member,
                    status,
                    progress,
                    results,
                    difficulties,
                    proposals,
                    version,
                    files or 0,
                    (task_id, owner[author]) in leading,
                )
                for (
                    sid,
                    at,
                    code,
                    title,
                    author,
                    member,
                    status,
                    progress,
                    results,
                    difficulties,
                    proposals,
                    version,
                    files,
                    task_id,
                ) in rows.all()
            ],
            int(total or 0),
        )

    async def _leading(self, on: date) -> set[tuple[int, int]]:
        rows = await self._session.execute(
            select(Assignment.task_id, Assignment.agency_id).where(
                Assignment.role == "lead", assignment_in_force(on)
            )
        )
        return {(task_id, agency_id) for task_id, agency_id in rows.all()}
