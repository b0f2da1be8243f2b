"""Every report version in the order it was made, a page at a time (the API's feed)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.access import ReportRecord
from storage.models import Agency, AgencyName, Attachment, Cycle, Member, Submission, Task


class ReportRepository:
    """Report versions for other systems: in the order recorded, from a moment, after an id."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def page(
        self,
        *,
        limit: int,
        year: int | None = None,
        since: datetime | None = None,
        after: int | None = None,
    ) -> list[ReportRecord]:
        """Return up to ``limit`` versions in the order they were recorded (by id).

        ``since``: made at or after that moment; ``after``: with a greater id (the last id
        of the previous page).
        """
        attachments = (
            select(Attachment.submission_id, func.count().label("n"))
            .group_by(Attachment.submission_id)
            .subquery()
        )
        query = (
            select(
                Submission.id,
                Cycle.year,
                Task.code,
                Submission.agency_id,
                Agency.code,
                Agency.name,
                Member.full_name,
                Submission.status,
                Submission.progress,
                Submission.results,
                Submission.difficulties,
                Submission.proposals,
                Submission.version,
                Submission.created_at,
                attachments.c.n,
            )
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .join(Task, Task.id == Submission.task_id)
            .join(Agency, Agency.id == Submission.agency_id)
            .join(Member, Member.id == Submission.member_id)
            .outerjoin(attachments, attachments.c.submission_id == Submission.id)
            .order_by(Submission.id)
            .limit(limit)
        )
        if year is not None:
            query = query.where(Cycle.year == year)
        if since is not None:
            query = query.where(Submission.created_at >= since)
        if after is not None:
            query = query.where(Submission.id > after)
        rows = (await self._session.execute(query)).all()
        former = await self._former_names({row[3] for row in rows})
        return [
            ReportRecord(
                id=sid,
                year=cycle_year,
                task_code=task_code,
                agency_code=agency_code,
                agency_name=_name_on(former.get(agency_id, []), name, at.date()),
                member_name=member_name,
                status=status,
                progress=progress,
                results=results,
                difficulties=difficulties,
                proposals=proposals,
                version=version,
                created_at=at,
                attachments=files or 0,
            )
            for (
                sid,
                cycle_year,
                task_code,
                agency_id,
                agency_code,
                name,
                member_name,
                status,
                progress,
                results,
                difficulties,
                proposals,
                version,
                at,
                files,
            ) in rows
        ]

    async def _former_names(self, agencies: set[int]) -> dict[int, list[tuple[date, str]]]:
        """Return the names the agencies used to have, each with the day it ended."""
        former: dict[int, list[tuple[date, str]]] = {}
        if agencies:
            for agency_id, name, until in await self._session.execute(
                select(AgencyName.agency_id, AgencyName.name, AgencyName.used_until).where(
                    AgencyName.agency_id.in_(agencies)
                )
            ):
                former.setdefault(agency_id, []).append((until, name))
        return former


def _name_on(former: list[tuple[date, str]], current: str, on: date) -> str:
    """Return the name in use on a day: the earliest former name still used then, or today's."""
    return min(((until, name) for until, name in former if until > on), default=(on, current))[1]
