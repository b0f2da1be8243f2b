"""The inbox: platform updates recorded durably before the platform is told they arrived."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, select, update
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


_INBOX = cast(Table, InboxUpdate.__table__)
_MARK_PROCESSED = (
    update(_INBOX)
    .where(_INBOX.c.id.in_(bindparam("ids", expanding=True)), _INBOX.c.processed_at.is_(None))
    .values(processed_at=bindparam("now"))
)


class InboxRepository:
    """Record updates once, hand out the unprocessed ones in order, mark them done."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_all(
        self, channel: str, updates: Sequence[tuple[str, dict[str, Any]]], now: datetime
    ) -> list[InboxEntry]:
        """Record updates in one statement; return those not recorded before, in order."""
        if not updates:
            return []
        rows = [
            {
                "channel": channel,
                "update_key": key,
                "payload": payload,
                "received_at": now,
                "attempts": 0,
            }
            for key, payload in updates
        ]
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(_INBOX)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
            .returning(_INBOX.c.id, _INBOX.c.update_key)
        )
        recorded: list[tuple[int, str]] = [
            (int(entry_id), str(key)) for entry_id, key in await self._session.execute(statement)
        ]
        payloads = dict(updates)
        return [
            InboxEntry(entry_id, channel, key, payloads[key], 0)
            for entry_id, key in sorted(recorded)
        ]

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

    async def claim(self, entry_ids: Sequence[int], now: datetime) -> int:
        """Mark updates processed, in one statement; return how many were not already.

        Done at the start of the transaction that processes them: an update that an earlier
        transaction processed (whose commit went through although it was reported failed)
        is recognised and not processed again.
        """
        if not entry_ids:
            return 0
        result = await self._session.execute(_MARK_PROCESSED, {"ids": list(entry_ids), "now": now})
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def mark_failed(self, entry_id: int, error: str, now: datetime) -> None:
        """Count a failed attempt; after the last one the update is set aside."""
        row = await self._session.get(InboxUpdate, entry_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:2000]
        if row.attempts >= MAX_ATTEMPTS:
            row.processed_at = now


async def purge_processed(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete at most ``limit`` updates processed before a moment; return how many.

    Only processed updates go (those set aside after their last attempt included): an
    update still waiting to be processed is kept whatever its age. The payloads hold what
    users wrote and sent (personal data), so they are not kept longer than needed.
    """
    doomed = (
        select(_INBOX.c.id)
        .where(_INBOX.c.processed_at.is_not(None), _INBOX.c.processed_at < before)
        .order_by(_INBOX.c.id)
        .limit(limit)
    )
    result = await session.execute(delete(_INBOX).where(_INBOX.c.id.in_(doomed)))
    return int(result.rowcount)  # type: ignore[attr-defined]
