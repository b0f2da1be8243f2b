"""Finding a year's reports (every version) by words, agency, person, task, state and dates.

What the dashboard's report pages read. The agency names are those of the year
(:meth:`storage.summary.SummaryRepository.agency_names`), so a past year reads as it was.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.members import name_key
from bot.core.domain.plan import in_cycle
from bot.core.domain.search import EvidenceFile, EvidenceInfo, ReportHit, ReportPage, ReportQuery
from bot.core.i18n import current_timezone
from storage.agencies import lineage_ids
from storage.db import CASEFOLD
from storage.models import Attachment, Cycle, Member, Plan, Submission, Task
from storage.summary import SummaryRepository

MAX_LIMIT = 200


def _like(text: str) -> str:
    """Return a LIKE pattern that finds the text anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ReportSearch:
    """Search a year's reports; read one evidence file's record."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _fold(self, column: Any) -> Any:
        """Return a column case-folded: Vietnamese letters too, on SQLite as on PostgreSQL."""
        if self._session.get_bind().dialect.name == "sqlite":
            return getattr(func, CASEFOLD)(column)
        return func.lower(column)

    def _where(self, query: ReportQuery, cycle_id: int) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [Submission.cycle_id == cycle_id]
        if query.agency_ids:
            where.append(Submission.agency_id.in_(query.agency_ids))
        if query.task_code:
            where.append(Task.code == query.task_code)
        if query.status:
            where.append(Submission.status == query.status)
        if query.person:
            where.append(Member.name_key.like(_like(name_key(query.person)), escape="\\"))
        if query.text:  # one folded text per row: the three answers together
            answers = (
                func.coalesce(Submission.results, "")
                + "\n"
                + func.coalesce(Submission.difficulties, "")
                + "\n"
                + func.coalesce(Submission.proposals, "")
            )
            where.append(self._fold(answers).like(_like(query.text.casefold()), escape="\\"))
        zone = current_timezone()
        if query.since is not None:
            start = datetime.combine(query.since, time(), zone).astimezone(UTC)
            where.append(Submission.created_at >= start)
        if query.until is not None:
            end = datetime.combine(query.until + timedelta(days=1), time(), zone).astimezone(UTC)
            where.append(Submission.created_at < end)
        return where

    async def search(self, query: ReportQuery) -> ReportPage:
        """Return a page of the reports matching a query, newest first, with their files."""
        found = (
            await self._session.execute(
                select(Cycle.id, Plan.first_year)
                .join(Plan, Plan.id == Cycle.plan_id)
                .where(Cycle.year == query.year)
                .order_by(Plan.id)
                .limit(1)
            )
        ).first()
        if found is None:
            return ReportPage([], 0)
        cycle_id, first_year = found
        if query.agency_ids:  # an agency answers for those merged into it
            lineages = [await lineage_ids(self._session, a) for a in query.agency_ids]
            query = replace(query, agency_ids=tuple(i for ids in lineages for i in ids))
        where = self._where(query, cycle_id)
        joined: Any = (
            select(func.count())
            .select_from(Submission)
            .join(Task, Task.id == Submission.task_id)
            .join(Member, Member.id == Submission.member_id)
            .where(*where)
        )
        columns = (
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
        )
        order = (Submission.created_at.desc(), Submission.id.desc())
        offset, limit = max(query.offset, 0), min(max(query.limit, 1), MAX_LIMIT)
        if query.text:  # the words are the costly test: one pass finds every match
            found_ids = list(
                await self._session.scalars(
                    select(Submission.id)
                    .join(Task, Task.id == Submission.task_id)
                    .join(Member, Member.id == Submission.member_id)
                    .where(*where)
                    .order_by(*order)
                )
            )
            total = len(found_ids)
            wanted = found_ids[offset : offset + limit]
            by_id = {
                row[0]: row
                for row in await self._session.execute(
                    select(*columns)
                    .join(Task, Task.id == Submission.task_id)
                    .join(Member, Member.id == Submission.member_id)
                    .where(Submission.id.in_(wanted))
                )
            }
            rows = [by_id[i] for i in wanted if i in by_id]
        else:
            total = int(await self._session.scalar(joined) or 0)
            rows = list(
                await self._session.execute(
                    select(*columns)
                    .join(Task, Task.id == Submission.task_id)
                    .join(Member, Member.id == Submission.member_id)
                    .where(*where)
                    .order_by(*order)
                    .offset(offset)
                    .limit(limit)
                )
            )
        evidence = await self._evidence([row[0] for row in rows])
        names = await SummaryRepository(self._session).agency_names(query.year) if rows else {}
        hits = [
            ReportHit(
                id=sid,
                number=f"{query.year}/{sid:05d}",
                created_at=at,
                task_code=code,
                task_title=in_cycle(title, query.year, first_year),
                agency_id=agency_id,
                agency_name=names.get(agency_id, ""),
                member_name=member,
                status=status,
                progress=progress,
                results=results,
                difficulties=difficulties,
                proposals=proposals,
                version=version,
                evidence=tuple(evidence.get(sid, ())),
            )
            for (
                sid,
                at,
                code,
                title,
                agency_id,
                member,
                status,
                progress,
                results,
                difficulties,
                proposals,
                version,
            ) in rows
        ]
        return ReportPage(hits, total)

    async def _evidence(self, submission_ids: list[int]) -> dict[int, list[EvidenceInfo]]:
        if not submission_ids:
            return {}
        found: dict[int, list[EvidenceInfo]] = {}
        for row in await self._session.execute(
            select(
                Attachment.id,
                Attachment.submission_id,
                Attachment.file_name,
                Attachment.mime_type,
                Attachment.size,
            )
            .where(Attachment.submission_id.in_(submission_ids))
            .order_by(Attachment.id)
        ):
            found.setdefault(row.submission_id, []).append(EvidenceInfo(*row))
        return found

    async def evidence_file(self, attachment_id: int) -> EvidenceFile | None:
        """Return an evidence file's record, with the agency whose report it belongs to."""
        row = (
            await self._session.execute(
                select(
                    Attachment.id,
                    Attachment.submission_id,
                    Attachment.file_name,
                    Attachment.mime_type,
                    Attachment.size,
                    Attachment.storage_path,
                    Submission.agency_id,
                )
                .join(Submission, Submission.id == Attachment.submission_id)
                .where(Attachment.id == attachment_id)
            )
        ).first()
        if row is None:
            return None
        return EvidenceFile(EvidenceInfo(*row[:5]), row.storage_path, row.agency_id)
