"""Agencies: found as typed, followed through mergers, and reorganised.

The reorganisations (add, rename, merge, retire) and the look-ups on models are the
functions of :mod:`storage.agencies`, which the plan import uses as well; this repository
answers with domain types over them. A reorganisation changes the plan: the unit of work's
commit empties the plan cache.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.agencies import AgencyInfo, AgencyStatus
from bot.core.domain.reorganisation import Followed
from storage.agencies import (
    add_agency,
    coordinator_agency,
    current_agency,
    find_agency,
    followed,
    get_agency,
    lineage_ids,
    merge_agency,
    rename_agency,
    retire_agency,
    settle_members,
    taking_over,
    to_info,
)
from storage.models import Agency


class AgencyRepository:
    """Agencies: the one a person means, the one that coordinates, and reorganisations."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, typed: str, on: date | None = None) -> AgencyInfo:
        """Return the agency that answers on a day (default: the latest) for what was typed.

        The agency named by its code, name, short name or a former name (see
        :func:`storage.agencies.find_agency`), or the one it was merged into. Raises
        :class:`storage.agencies.AgencyError`, saying why, when the text names no agency or
        several.
        """
        return to_info(
            await current_agency(self._session, await find_agency(self._session, typed, on), on)
        )

    async def by_code(self, code: str) -> AgencyInfo:
        """Return the agency with a code, as it is (merged or not); AgencyError if none."""
        return to_info(await get_agency(self._session, code))

    async def reporting(self) -> list[AgencyInfo]:
        """Return the agencies that report today (neither merged nor retired), by id."""
        rows = await self._session.scalars(
            select(Agency).where(Agency.status == AgencyStatus.ACTIVE).order_by(Agency.id)
        )
        return [to_info(agency) for agency in rows]

    async def coordinator(self, on: date | None = None) -> AgencyInfo | None:
        """Return the agency that coordinates the plan on a day (following mergers), if any."""
        agency = await coordinator_agency(self._session, on)
        return to_info(agency) if agency else None

    async def settle(self, now: datetime) -> None:
        """Let the members of agencies that ended by now follow them (see settle_members)."""
        await settle_members(self._session, now=now)

    def followed(self) -> list[Followed]:
        """Return (and forget) who followed their agency in this unit of work, to be told.

        An import, a merger, a retirement and :meth:`settle` may move people; the unit of
        work refuses to commit until they are taken (see :mod:`handlers.agency_notices`).
        """
        return followed(self._session)

    async def add(
        self, *, code: str, name: str, short_name: str, kind: str, now: datetime
    ) -> AgencyInfo:
        """Add an agency; adding one that exists with the same name changes nothing."""
        return to_info(
            await add_agency(
                self._session, code=code, name=name, short_name=short_name, kind=kind, now=now
            )
        )

    async def rename(
        self, code: str, *, name: str, short_name: str | None, on: date, now: datetime
    ) -> AgencyInfo:
        """Rename an agency from a date, keeping its former name."""
        return to_info(
            await rename_agency(
                self._session, code, name=name, short_name=short_name, on=on, now=now
            )
        )

    async def merge(self, code: str, *, into: str, on: date, now: datetime) -> AgencyInfo:
        """Merge an agency into another from a date: its tasks and members move."""
        return to_info(await merge_agency(self._session, code, into=into, on=on, now=now))

    async def retire(self, code: str, *, on: date, now: datetime) -> AgencyInfo:
        """Retire an agency from a date: it stops reporting, its members are deactivated."""
        return to_info(await retire_agency(self._session, code, on=on, now=now))

    async def taking_over(self, code: str) -> list[str]:
        """Return the names of who took over an ended agency's tasks (none: nobody)."""
        return await taking_over(self._session, await get_agency(self._session, code))

    async def lineage(self, agency_id: int) -> list[int]:
        """Return an agency's id and the ids of every agency merged into it."""
        return await lineage_ids(self._session, agency_id)
