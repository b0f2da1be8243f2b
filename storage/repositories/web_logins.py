"""The dashboard's one-time login links and the sessions they open.

A link's token and a session's cookie are random (256 bits) and given out once; only their
SHA-256 is stored, so a copy of the database opens nothing. A link is used at most once
(an atomic update), and both expire.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WebLogin, WebSession

TOKEN_BYTES = 32


def token_hash(token: str) -> str:
    """Return what is stored of a token: its SHA-256, in hexadecimal."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class WebLoginRepository:
    """Login links (made in chat or on the command line) and dashboard sessions."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def create_link(self, member_id: int, now: datetime, valid_for: timedelta) -> str:
        """Make a login link's token for a member; return it (it is not stored)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._session.add(
            WebLogin(
                token_hash=token_hash(token),
                member_id=member_id,
                expires_at=now + valid_for,
                created_at=now,
            )
        )
        return token

    async def link_member(self, token: str, now: datetime) -> int | None:
        """Return the member a link is for, if it is unused and still valid (nothing changes)."""
        row = await self._session.scalar(
            select(WebLogin).where(WebLogin.token_hash == token_hash(token))
        )
        if row is None or row.used_at is not None or row.expires_at <= now:
            return None
        return row.member_id

    async def use_link(self, token: str, now: datetime) -> int | None:
        """Use a link up, atomically; return its member, or None if unknown, used or expired."""
        member_id = await self.link_member(token, now)
        if member_id is None:
            return None
        result = await self._session.execute(
            update(WebLogin)
            .where(WebLogin.token_hash == token_hash(token), WebLogin.used_at.is_(None))
            .values(used_at=now)
        )
        return member_id if result.rowcount else None  # type: ignore[attr-defined]

    def open_session(self, member_id: int, now: datetime, valid_for: timedelta) -> str:
        """Open a session for a member; return its cookie's value (it is not stored)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        self._session.add(
            WebSession(
                token_hash=token_hash(token),
                member_id=member_id,
                expires_at=now + valid_for,
                created_at=now,
            )
        )
        return token

    async def session_member(self, token: str, now: datetime) -> int | None:
        """Return the member of an open, unexpired session."""
        row = (
            await self._session.execute(
                select(WebSession.member_id, WebSession.expires_at, WebSession.ended_at).where(
                    WebSession.token_hash == token_hash(token)
                )
            )
        ).first()
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        return int(row.member_id)

    async def end_session(self, token: str, now: datetime) -> bool:
        """End a session (logout); False when it was not open."""
        result = await self._session.execute(
            update(WebSession)
            .where(WebSession.token_hash == token_hash(token), WebSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
