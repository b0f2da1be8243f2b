"""The inbox: platform updates recorded durably before the platform is told they arrived."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate

MAX_ATTEMPTS = 3
"""An update that fails this many times is set aside (processed, with its error kept)."""

DEDUP_WINDOW = timedelta(days=3)
"""How long an update key stands for one update.

A platform delivers an update again for a day at most (Telegram keeps unconfirmed updates 24
hours). Telegram numbers the first update after a week without updates at random, so an old
id may come back: a key recorded longer ago than this is a new update, never a redelivery.
Shorter than a week, longer than a day; nothing relies on old rows being kept.
"""


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An update waiting to be processed."""

    id: int
    channel: str
    update_key: str
    payload: dict[str, Any]
    attempts: int


CHAT_LOCK_CLASS = 0x5047
"""The first key of the chats' advisory locks (the second is a hash of channel and chat)."""

_LOCK_CHATS = text(
    "SELECT count(pg_advisory_xact_lock(:lock_class, hashtext(chat)))"
    " FROM unnest(CAST(:chats AS text[])) AS chat"
)

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
        self,
        channel: str,
        updates: Sequence[tuple[str, dict[str, Any]]],
        now: datetime,
        chats: Mapping[str, str] | None = None,
    ) -> list[InboxEntry]:
        """Record updates in one statement; return those not recorded before, in order.

        ``chats`` gives the chat of each update by its key (kept with it, for
        :meth:`chat_turn`).
        """
        if not updates:
            return []
        chats = chats or {}
        rows = [
            {
                "channel": channel,
                "update_key": key,
                "chat_id": chats.get(key),
                "payload": payload,
                "received_at": now,
                "attempts": 0,
            }
            for key, payload in updates
        ]
        recorded = await self._insert_new(rows)
        if len(recorded) < len(rows):  # seen before: a redelivery, or an old key used again
            known = {key for _, key in recorded}
            seen = [row for row in rows if row["update_key"] not in known]
            if await self._retire_old_keys(channel, [str(row["update_key"]) for row in seen], now):
                recorded += await self._insert_new(seen)
        payloads = dict(updates)
        return [
            InboxEntry(entry_id, channel, key, payloads[key], 0)
            for entry_id, key in sorted(recorded)
        ]

    async def _insert_new(self, rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
        """Insert rows whose key is not in the inbox; return (id, key) of those inserted."""
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            insert(_INBOX)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
            .returning(_INBOX.c.id, _INBOX.c.update_key)
        )
        return [
            (int(entry_id), str(key)) for entry_id, key in await self._session.execute(statement)
        ]

    async def _retire_old_keys(self, channel: str, keys: Sequence[str], now: datetime) -> int:
        """Free the keys recorded before :data:`DEDUP_WINDOW`: the old rows get a key of their own.

        Runs only for updates whose key is in the inbox already (a redelivery, rare); returns
        how many keys were freed for a new update.
        """
        old = (
            await self._session.execute(
                select(_INBOX.c.id, _INBOX.c.update_key).where(
                    _INBOX.c.channel == channel,
                    _INBOX.c.update_key.in_(keys),
                    _INBOX.c.received_at < now - DEDUP_WINDOW,
                )
            )
        ).all()
        for entry_id, key in old:
            await self._session.execute(
                update(_INBOX)
                .where(_INBOX.c.id == entry_id)
                .values(update_key=f"{str(key)[:200]}~{entry_id}")
            )
        return len(old)

    async def pending(
        self, channel: str, limit: int = 100, after: int = 0, upto: int | None = None
    ) -> list[InboxEntry]:
        """Return unprocessed updates of a channel after the entry ``after``, oldest first.

        ``upto``: only entries up to that id (those recorded before a moment).
        """
        statement = select(InboxUpdate).where(
            InboxUpdate.channel == channel,
            InboxUpdate.processed_at.is_(None),
            InboxUpdate.id > after,
        )
        if upto is not None:
            statement = statement.where(InboxUpdate.id <= upto)
        rows = await self._session.scalars(statement.order_by(InboxUpdate.id).limit(limit))
        return [
            InboxEntry(row.id, row.channel, row.update_key, dict(row.payload), row.attempts)
            for row in rows
        ]

    async def chat_turn(
        self, channel: str, entries: Sequence[tuple[str, int]], skip: Collection[int] = ()
    ) -> list[InboxEntry]:
        """Take the chats' turn and return their earlier updates still waiting, oldest first.

        ``entries`` are the (chat, inbox id) pairs a transaction is about to handle. On
        PostgreSQL (several instances may serve one database) the transaction first takes a
        transaction-level advisory lock per chat, in one order, so that one chat's updates
        are handled by one transaction at a time whichever instance received them; then it
        returns the chat's updates recorded before the last of ``entries`` that no one has
        handled yet (another instance holds them in hand, or died holding them): they must be
        handled first (but ``skip``: entries in hand with nothing to handle). An update that
        failed waits for the next start, as before. On SQLite
        one process handles the inbox in order: nothing to take, nothing returned.
        """
        if not entries or self._session.get_bind().dialect.name != "postgresql":
            return []
        chats = sorted({chat for chat, _ in entries})
        await self._session.execute(
            _LOCK_CHATS,
            {"lock_class": CHAT_LOCK_CLASS, "chats": [f"{channel}:{chat}" for chat in chats]},
        )
        last: dict[str, int] = {}
        for chat, entry_id in entries:
            last[chat] = max(last.get(chat, 0), entry_id)
        given = {entry_id for _, entry_id in entries} | set(skip)
        rows = await self._session.execute(
            select(
                _INBOX.c.id,
                _INBOX.c.chat_id,
                _INBOX.c.update_key,
                _INBOX.c.payload,
                _INBOX.c.attempts,
            )
            .where(
                _INBOX.c.channel == channel,
                _INBOX.c.chat_id.in_(chats),
                _INBOX.c.processed_at.is_(None),
                _INBOX.c.attempts == 0,
                _INBOX.c.id < max(last.values()),
            )
            .order_by(_INBOX.c.id)
        )
        return [
            InboxEntry(int(entry_id), channel, str(key), dict(payload), int(attempts))
            for entry_id, chat, key, payload, attempts in rows
            if entry_id not in given and entry_id < last[str(chat)]
        ]

    async def last_id(self) -> int:
        """Return the id of the latest entry recorded (0 if none)."""
        return int(await self._session.scalar(select(func.max(_INBOX.c.id))) or 0)

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

    async def set_aside(self, channel: str, update_key: str, error: str, now: datetime) -> None:
        """Record that an update could not be stored (its content is not kept), as done.

        For an update the platform will not deliver again (Zalo forgets an event once handed
        out) and that the database keeps refusing: the inbox shows it was received and why it
        was not processed.
        """
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self._session.execute(
            insert(_INBOX)
            .values(
                channel=channel,
                update_key=update_key,
                payload={"set_aside": True},
                received_at=now,
                processed_at=now,
                attempts=MAX_ATTEMPTS,
                last_error=error[:2000],
            )
            .on_conflict_do_nothing(index_elements=["channel", "update_key"])
        )

    async def purge_processed(self, before: datetime, limit: int) -> int:
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
        result = await self._session.execute(delete(_INBOX).where(_INBOX.c.id.in_(doomed)))
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
