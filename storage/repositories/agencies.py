"""Agencies as the conversations look them up: found as typed, followed through mergers.

The reorganisations themselves (add, rename, merge, retire) and the look-ups on models that
the plan import and the command line use are the functions of :mod:`storage.agencies`; this
repository answers with domain types over the same functions.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.agencies import AgencyInfo
from storage.agencies import coordinator_agency, current_agency, find_agency, to_info


class AgencyRepository:
    """Agencies: the one a person means, and the one that coordinates the plan."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, typed: str) -> AgencyInfo:
        """Return the agency that answers today for what a person typed.

        The agency named by its code, name, short name or a former name (see
        :func:`storage.agencies.find_agency`), or the one it was merged into. Raises
        :class:`storage.agencies.AgencyError`, with a message for the person, when the text
        names no agency or several.
        """
        return to_info(
            await current_agency(self._session, await find_agency(self._session, typed))
        )

    async def coordinator(self) -> AgencyInfo | None:
        """Return the agency that coordinates the plan today (following mergers), if any."""
        agency = await coordinator_agency(self._session)
        return to_info(agency) if agency else None
