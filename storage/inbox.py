"""The inbox: platform updates recorded durably before the platform is told they arrived."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate

MAX_ATTEMPTS = 3
"""An update that fails this many times is set aside (processed, with its error kept)."""


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An update waiting to be processed."""

    id: int
    channel: str
    update_key: str
    payload: dict[str, Any]
    attempts: int


class InboxRepository:
    """Record updates once, hand out the unprocessed ones in order, mark them done."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self, channel: str, update_key: str, payload: dict[str, Any], now: datetime
    ) -> InboxEntry | None:
        """Record an update; None when it was recorded before (a redelivery)."""
        values = {
            "channel": channel,
            "update_key": update_key,
            "payload": payload,
            "received_at": now,
            "attempts": 0,
        }
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(InboxUpdate)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
            .returning(InboxUpdate.id)
        )
        entry_id = (await self._session.execute(statement)).scalar_one_or_none()
        if entry_id is None:
            return None
        return InboxEntry(entry_id, channel, update_key, payload, 0)

    async def pending(self, channel: str, limit: int = 100, after: int = 0) -> list[InboxEntry]:
        """Return unprocessed updates of a channel after the entry ``after``, oldest first."""
        rows = await self._session.scalars(
            select(InboxUpdate)
            .where(
                InboxUpdate.channel == channel,
                InboxUpdate.processed_at.is_(None),
                InboxUpdate.id > after,
            )
            .order_by(InboxUpdate.id)
            .limit(limit)
        )
        return [
            InboxEntry(row.id, row.channel, row.update_key, dict(row.payload), row.attempts)
            for row in rows
        ]

    async def mark_processed(self, entry_id: int, now: datetime) -> None:
        """Mark an update as processed."""
        await self._session.execute(
            update(InboxUpdate).where(InboxUpdate.id == entry_id).values(processed_at=now)
        )

    async def mark_processed_all(self, entry_ids: Sequence[int], now: datetime) -> None:
        """Mark several updates as processed, in one statement."""
        if entry_ids:
            await self._session.execute(
                update(InboxUpdate).where(InboxUpdate.id.in_(entry_ids)).values(processed_at=now)
            )

    async def mark_failed(self, entry_id: int, error: str, now: datetime) -> None:
        """Count a failed attempt; after the last one the update is set aside."""
        row = await self._session.get(InboxUpdate, entry_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.processed_at = now
