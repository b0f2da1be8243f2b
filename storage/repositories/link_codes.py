"""Link codes: one-time codes that join a member's accounts on two channels (``/lienket``)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkCode

LINK_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely
LINK_CODE_LENGTH = 6
"""Characters of a link code: short to type, valid for minutes and used once."""


class LinkCodeRepository:
    """Link codes: made on one channel, used once from another before they expire."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def create(self, member_id: int, channel: str, now: datetime, minutes: int) -> str:
        """Make a code for a member, asked on a channel, valid for some minutes; return it."""
        code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
        self._session.add(
            LinkCode(
                code=code,
                member_id=member_id,
                channel=channel,
                expires_at=now + timedelta(minutes=minutes),
                created_at=now,
            )
        )
        return code

    async def find_usable(self, code: str, now: datetime) -> tuple[int, str] | None:
        """Return the member and the channel a code was made for, if it is unused and valid."""
        row = await self._session.scalar(select(LinkCode).where(LinkCode.code == code))
        if row is None or row.used_at is not None or row.expires_at <= now:
            return None
        return row.member_id, row.channel

    async def mark_used(self, code: str, now: datetime) -> bool:
        """Use a code up, atomically; False when it was used meanwhile."""
        result = await self._session.execute(
            update(LinkCode)
            .where(LinkCode.code == code, LinkCode.used_at.is_(None))
            .values(used_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
