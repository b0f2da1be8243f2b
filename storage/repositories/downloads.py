"""Download links: a token (kept as its SHA-256) that gives one stored file for a while."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.access import DownloadFile, LinkRefusal, link_refusal
from storage.models import DownloadLink

TOKEN_BYTES = 24
"""Random bytes in a link's token (192 bits)."""


def token_hash(token: str) -> str:
    """Return the SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class DownloadLinkRepository:
    """The links to files the bot handed over by address rather than as a file."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def create(
        self, file: DownloadFile, *, now: datetime, valid_for: timedelta, once: bool
    ) -> str:
        """Record a link to a stored file; return its token (kept nowhere else)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._session.add(
            DownloadLink(
                token_hash=token_hash(token),
                file_name=file.file_name,
                media_type=file.media_type,
                sha256=file.sha256,
                size=file.size,
                once=once,
                created_at=now,
                expires_at=now + valid_for,
            )
        )
        return token

    async def take(self, token: str, now: datetime) -> DownloadFile | LinkRefusal:
        """Return the link's file, marking a one-use link used; or why it gives nothing."""
        row = await self._session.scalar(
            select(DownloadLink).where(DownloadLink.token_hash == token_hash(token))
        )
        if row is None:
            return LinkRefusal.UNKNOWN
        refusal = link_refusal(row.expires_at, row.used_at, row.once, now)
        if refusal is not None:
            return refusal
        if row.once:  # atomically: of two requests at once, one gets the file
            result = await self._session.execute(
                update(DownloadLink)
                .where(DownloadLink.id == row.id, DownloadLink.used_at.is_(None))
                .values(used_at=now)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return LinkRefusal.USED
        elif row.used_at is None:
            row.used_at = now
        return DownloadFile(row.file_name, row.media_type, row.sha256, row.size)

    async def purge(self, before: datetime) -> set[str]:
        """Delete the links expired before a moment; return the files no live link names."""
        gone = set(
            await self._session.scalars(
                select(DownloadLink.sha256).where(DownloadLink.expires_at < before)
            )
        )
        if not gone:
            return set()
        await self._session.execute(delete(DownloadLink).where(DownloadLink.expires_at < before))
        kept = set(
            await self._session.scalars(
                select(DownloadLink.sha256).where(DownloadLink.sha256.in_(gone))
            )
        )
        return gone - kept
