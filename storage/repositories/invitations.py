"""Invitations: the codes people join with, and the codes guessed that were none."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.members import InvitationInfo, Role
from bot.core.i18n import current_timezone
from storage.agencies import ended_error, find_agency
from storage.models import Agency, Invitation, InvitationFailure

INVITATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely
INVITATION_LENGTH = 10
"""Characters of an invitation code: 50 bits, against guessing (with the global limit)."""


class InvitationRepository:
    """Invitation codes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        agency_code: str,
        role: Role,
        max_uses: int,
        valid_for: timedelta,
        created_by: str,
        now: datetime,
    ) -> InvitationInfo:
        """Create an invitation for an agency (named by code or name) and return it.

        An agency that no longer exists today is refused, naming who took over its tasks.
        """
        today = now.astimezone(current_timezone()).date()
        agency = await find_agency(self._session, agency_code, today)
        if agency.valid_to is not None and agency.valid_to <= today:
            raise await ended_error(self._session, agency)
        while True:
            code = "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(INVITATION_LENGTH))
            if not await self._session.scalar(
                select(Invitation.id).where(Invitation.code == code)
            ):
                break
        invitation = Invitation(
            code=code,
            agency_id=agency.id,
            role=role.value,
            max_uses=max_uses,
            used_count=0,
            expires_at=now + valid_for,
            created_at=now,
            created_by=created_by,
        )
        self._session.add(invitation)
        await self._session.flush()
        return self._info(invitation, agency)

    async def by_code(self, code: str) -> InvitationInfo | None:
        """Return the invitation with a code (case-insensitive), if any."""
        row = (
            await self._session.execute(
                select(Invitation, Agency)
                .join(Agency, Agency.id == Invitation.agency_id)
                .where(Invitation.code == code.strip().upper())
            )
        ).first()
        return self._info(*row) if row else None

    async def use(self, invitation_id: int) -> bool:
        """Count one use of an invitation, atomically; False when none is left."""
        result = await self._session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.used_count < Invitation.max_uses)
            .values(used_count=Invitation.used_count + 1)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def record_failure(self, channel: str, user_id: str, now: datetime) -> None:
        """Remember that an account tried a code that is no invitation."""
        self._session.add(InvitationFailure(at=now, channel=channel, user_id=user_id[:255]))

    async def failures_since(self, since: datetime) -> int:
        """Return how many codes that were no invitation were tried since a moment, by anyone."""
        count = await self._session.scalar(
            select(func.count()).select_from(InvitationFailure).where(InvitationFailure.at > since)
        )
        return int(count or 0)

    async def forget_failures_before(self, before: datetime) -> None:
        """Delete the failures older than any window still looks at."""
        await self._session.execute(delete(InvitationFailure).where(InvitationFailure.at < before))

    @staticmethod
    def _info(invitation: Invitation, agency: Agency) -> InvitationInfo:
        return InvitationInfo(
            id=invitation.id,
            code=invitation.code,
            agency_id=agency.id,
            agency_code=agency.code,
            agency_name=agency.name,
            role=Role(invitation.role),
            max_uses=invitation.max_uses,
            used_count=invitation.used_count,
            expires_at=invitation.expires_at,
            revoked=invitation.revoked_at is not None,
            agency_ended_on=agency.valid_to,
        )
