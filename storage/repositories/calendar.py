"""The days the province declares: days off and working days on top of the national calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.calendar import DeclaredDay, WorkingCalendar
from bot.core.domain.plan import ImportResult
from storage.models import CalendarDay

PLAN = "plan"
ADMIN = "admin"


def _info(row: CalendarDay) -> DeclaredDay:
    return DeclaredDay(row.day, row.working, row.reason, row.source)


class CalendarRepository:
    """One row per declared day; the plan file's and the administrator's side by side."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def declared(self, year: int | None = None) -> list[DeclaredDay]:
        """Return the declared days in date order (of one year, if given)."""
        query = select(CalendarDay).order_by(CalendarDay.day)
        if year is not None:
            query = query.where(
                CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)
            )
        return [_info(row) for row in await self._session.scalars(query)]

    async def working_calendar(self) -> WorkingCalendar:
        """Return the working calendar with every declared day."""
        return WorkingCalendar.declared(await self.declared())

    async def declare(
        self, day: date, *, working: bool, reason: str, now: datetime
    ) -> DeclaredDay | None:
        """Declare a day off or a working day; return what it replaced, if anything.

        The administrator's word wins over the plan file's for that day.
        """
        row = await self._session.get(CalendarDay, day)
        before = _info(row) if row is not None else None
        if row is None:
            self._session.add(
                CalendarDay(day=day, working=working, reason=reason, source=ADMIN, declared_at=now)
            )
        else:
            row.working, row.reason, row.source, row.declared_at = working, reason, ADMIN, now
        await self._session.flush()
        return before

    async def remove(self, day: date) -> DeclaredDay | None:
        """Remove a declared day; return it, or None if it was not declared."""
        row = await self._session.get(CalendarDay, day)
        if row is None:
            return None
        await self._session.delete(row)
        await self._session.flush()
        return _info(row)


async def sync_plan_days(
    session: AsyncSession, days: Sequence[DeclaredDay], now: datetime, report: ImportResult
) -> None:
    """Make the plan file's declared days those of its ``calendar`` section.

    A day the administrator declared is left as they declared it; a day the file no longer
    names is removed only if the file had declared it.
    """
    rows = {row.day: row for row in await session.scalars(select(CalendarDay))}
    wanted = {d.day: d for d in days}
    for day, spec in wanted.items():
        row = rows.get(day)
        if row is None:
            session.add(
                CalendarDay(
                    day=day, working=spec.working, reason=spec.reason, source=PLAN, declared_at=now
                )
            )
            report.count(report.created, "calendar day")
        elif row.source == PLAN and (row.working, row.reason) != (spec.working, spec.reason):
            row.working, row.reason, row.declared_at = spec.working, spec.reason, now
            report.count(report.updated, "calendar day")
    for day, row in rows.items():
        if row.source == PLAN and day not in wanted:
            await session.delete(row)
            report.count(report.removed, "calendar day")
    await session.flush()
