"""Absences: declared, cancelled, in force on a day, and the members back from one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.domain.absences import Absence
from storage.models import AbsenceRow, Member, SnoozeRow

_StandIn = aliased(Member)
_ABSENCES = (
    select(AbsenceRow, Member.full_name, Member.agency_id, _StandIn.full_name)
    .join(Member, Member.id == AbsenceRow.member_id)
    .outerjoin(_StandIn, _StandIn.id == AbsenceRow.stand_in_id)
    .where(AbsenceRow.cancelled_at.is_(None))
    .order_by(AbsenceRow.starts_on, AbsenceRow.id)
)


class AbsenceRepository:
    """One row per declared absence; a cancelled one stays, marked."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _many(self, query: Any) -> list[Absence]:
        return [
            Absence(
                row.id,
                row.member_id,
                name,
                agency_id,
                row.starts_on,
                row.ends_on,
                row.stand_in_id,
                stand_in,
            )
            for row, name, agency_id, stand_in in (await self._session.execute(query)).all()
        ]

    async def add(
        self,
        member_id: int,
        starts_on: date,
        ends_on: date,
        stand_in_id: int | None,
        declared_by: int | None,
        now: datetime,
    ) -> Absence:
        """Record an absence (the caller has checked the rules)."""
        row = AbsenceRow(
            member_id=member_id,
            starts_on=starts_on,
            ends_on=ends_on,
            stand_in_id=stand_in_id,
            declared_by=declared_by,
            declared_at=now,
        )
        self._session.add(row)
        await self._session.flush()
        [absence] = await self._many(_ABSENCES.where(AbsenceRow.id == row.id))
        return absence

    async def get(self, absence_id: int) -> Absence | None:
        """Return an absence not cancelled, or None."""
        found = await self._many(_ABSENCES.where(AbsenceRow.id == absence_id))
        return found[0] if found else None

    async def cancel(self, absence_id: int, now: datetime) -> Absence | None:
        """Cancel an absence; return it, or None if there was none to cancel."""
        absence = await self.get(absence_id)
        row = await self._session.get(AbsenceRow, absence_id)
        if absence is None or row is None:
            return None
        row.cancelled_at = now
        await self._session.flush()
        return absence

    async def of_member(self, member_id: int, since: date) -> list[Absence]:
        """Return a member's absences that end on or after a day."""
        return await self._many(
            _ABSENCES.where(AbsenceRow.member_id == member_id, AbsenceRow.ends_on >= since)
        )

    async def on(self, day: date, agency_id: int | None = None) -> dict[int, Absence]:
        """Return the absences in force on a day (of one agency's members), by member."""
        query = _ABSENCES.where(AbsenceRow.starts_on <= day, AbsenceRow.ends_on >= day)
        if agency_id is not None:
            query = query.where(Member.agency_id == agency_id)
        return {a.member_id: a for a in await self._many(query)}

    async def back(self, today: date) -> list[Absence]:
        """Return the absences over before a day whose member has not been welcomed back."""
        return await self._many(
            _ABSENCES.where(
                AbsenceRow.ends_on < today,
                AbsenceRow.welcomed_at.is_(None),
                AbsenceRow.ends_on >= date.fromordinal(today.toordinal() - 31),
            )
        )

    async def welcomed(self, absence_id: int, now: datetime) -> None:
        """Record that the member was sent the summary of their absence."""
        row = await self._session.get(AbsenceRow, absence_id)
        if row is not None:
            row.welcomed_at = now
            await self._session.flush()


class SnoozeRepository:
    """Snoozes ("remind me later"): one row each; a member's latest one holds."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, member_id: int, milestone_id: int, until: datetime, now: datetime) -> bool:
        """Record a snooze; False if the same one was recorded already (a second press)."""
        exists = await self._session.scalar(
            select(SnoozeRow.id).where(
                SnoozeRow.member_id == member_id,
                SnoozeRow.milestone_id == milestone_id,
                SnoozeRow.until_at == until,
            )
        )
        if exists is not None:
            return False
        self._session.add(
            SnoozeRow(
                member_id=member_id, milestone_id=milestone_id, until_at=until, created_at=now
            )
        )
        await self._session.flush()
        return True

    async def latest(self, milestone_id: int) -> dict[int, datetime]:
        """Return each member's latest snooze of a deadline (a later choice replaces one)."""
        rows = await self._session.execute(
            select(SnoozeRow.member_id, SnoozeRow.until_at)
            .where(SnoozeRow.milestone_id == milestone_id)
            .order_by(SnoozeRow.created_at, SnoozeRow.id)
        )
        return {member: until for member, until in rows.all()}
