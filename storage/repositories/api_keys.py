"""API keys: made by the administrator, stored as their SHA-256, revoked but never deleted."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.access import ApiKeyInfo
from storage.models import ApiKey

KEY_BYTES = 32
"""Random bytes in a key (256 bits): guessing one is out of reach, so no rate limit is needed."""
KEY_PREFIX = "pgi_"
"""What every key starts with, so that a key pasted in the wrong place is recognisable."""


def key_hash(key: str) -> str:
    """Return the SHA-256 under which a key is stored (a fast hash suits a random key)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyRepository:
    """The keys other systems read the API with."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, name: str, now: datetime) -> tuple[ApiKeyInfo, str]:
        """Make a key for a named system; return it with the key, shown this once only."""
        key = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
        row = ApiKey(name=name, key_hash=key_hash(key), created_at=now)
        self._session.add(row)
        await self._session.flush()
        return _info(row), key

    async def all(self) -> list[ApiKeyInfo]:
        """Return every key, the oldest first, revoked ones included."""
        return [_info(r) for r in await self._session.scalars(select(ApiKey).order_by(ApiKey.id))]

    async def active(self, key: str) -> ApiKeyInfo | None:
        """Return the key's record if it exists and is not revoked."""
        row = await self._session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash(key)))
        return _info(row) if row is not None and row.revoked_at is None else None

    async def revoke(self, key_id: int, now: datetime) -> ApiKeyInfo | None:
        """Revoke a key by its number; None when there is no such key (revoking twice is fine)."""
        await self._session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        row = await self._session.get(ApiKey, key_id, populate_existing=True)
        return _info(row) if row is not None else None


def _info(row: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(row.id, row.name, row.created_at, row.revoked_at)
