"""The outbox's delivery side: claims with a lease, renewals, outcomes.

Messages are written by :class:`storage.notifications.NotificationRepository` in the
transaction that decided them; the outbox worker (:mod:`bot.outbox`) claims due ones here. A
claim names its instance (``claimed_by``) and lasts until ``lease_until``; the worker renews
it while it holds the messages. Another instance takes a claimed message over only once the
lease has run out, so a message is never sent by two instances while the first may still be
sending it. The outcome of an attempt is recorded only by the claim's holder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.notifications import PENDING, SENDING, SENT

LEASE = timedelta(seconds=90)
"""How long a claim lasts unless renewed."""

REPLY = "reply"
"""The kind of a direct reply held in the outbox while its instance sends it."""


def _hold_statement(insert: Any) -> Any:
    return (
        insert(OutboxMessage.__table__)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.__table__.c.id)
    )


_HOLD = {
    "postgresql": _hold_statement(postgresql.insert),
    "sqlite": _hold_statement(sqlite.insert),
}


@dataclass(frozen=True, slots=True)
class HeldReply:
    """A direct reply to write in the outbox, claimed by the instance that will send it."""

    channel: str
    chat_id: str
    key: str
    """Unique: the update it answers and its place among the answers."""
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A message waiting to be delivered."""

    id: int
    channel: str
    chat_id: str
    member_id: int | None
    kind: str
    payload: dict[str, Any]
    attempts: int


class OutboxRepository:
    """Claim, renew and settle outbox messages."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def due(
        self, now: datetime, limit: int, claimant: str = "", lease: timedelta = LEASE
    ) -> list[OutboxItem]:
        """Claim messages due for delivery, oldest first, for ``claimant`` until ``now + lease``.

        A message another instance is sending is taken over only once its lease has run out
        (that instance died, or lost its database); rows locked by a concurrent claim are
        skipped, so two instances never claim the same message.
        """
        rows = list(
            await self._session.scalars(
                select(OutboxMessage)
                .where(
                    OutboxMessage.next_attempt_at <= now,
                    (OutboxMessage.status == PENDING)
                    | (
                        (OutboxMessage.status == SENDING)
                        & (
                            OutboxMessage.lease_until.is_(None)
                            | (OutboxMessage.lease_until <= now)
                        )
                    ),
                )
                .order_by(OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        for row in rows:
            row.status, row.claimed_by, row.lease_until = SENDING, claimant, now + lease
            row.attempts += 1
        return [
            OutboxItem(
                r.id, r.channel, r.chat_id, r.member_id, r.kind, dict(r.payload), r.attempts
            )
            for r in rows
        ]

    async def hold(
        self, replies: Sequence[HeldReply], now: datetime, claimant: str, lease: timedelta = LEASE
    ) -> list[int]:
        """Write direct replies claimed by ``claimant``, in one statement; return their ids.

        Written in the transaction that decided them, so a reply is never lost: the instance
        sends it after the commit and marks it sent (:meth:`settle`); if it dies first, the
        leader's outbox worker delivers it once the lease has run out.
        """
        if not replies:
            return []
        dialect = self._session.get_bind().dialect.name
        rows = [
            {
                "channel": reply.channel,
                "chat_id": reply.chat_id,
                "kind": REPLY,
                "payload": reply.payload,
                "dedupe_key": reply.key[:200],
                "status": SENDING,
                "attempts": 1,
                "next_attempt_at": now,
                "created_at": now,
                "claimed_by": claimant,
                "lease_until": now + lease,
            }
            for reply in replies
        ]
        statement = _HOLD[dialect]  # one compiled statement, executed for all the rows
        return sorted(int(row_id) for row_id in await self._session.scalars(statement, rows))

    async def settle(self, ids: Sequence[int], now: datetime, claimant: str) -> None:
        """Mark held replies sent (those still claimed by ``claimant``), in one statement."""
        if ids:
            await self._session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.claimed_by == claimant)
                .values(status=SENT, sent_at=now, claimed_by=None, lease_until=None)
            )

    async def renew(self, claimant: str, until: datetime) -> int:
        """Extend the lease of every message ``claimant`` is sending; return how many.

        Held replies are not renewed: a reply its instance could not send and mark must pass
        to the outbox worker when its claim runs out, even while that instance lives.
        """
        result = await self._session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == SENDING,
                OutboxMessage.claimed_by == claimant,
                OutboxMessage.kind != REPLY,
            )
            .values(lease_until=until)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def release_orphans(self, claimant: str = "") -> None:
        """On SQLite (one process), free the claims a stopped process left: none is alive.

        The claims of ``claimant`` (this process: the replies it is sending) are kept.
        """
        if self._session.get_bind().dialect.name == "sqlite":
            await self._session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == SENDING,
                    OutboxMessage.claimed_by.is_(None) | (OutboxMessage.claimed_by != claimant),
                )
                .values(lease_until=None)
            )

    async def next_due_at(self) -> datetime | None:
        """Return when the next waiting message is due (a claimed one: when its lease ends)."""
        due = case(
            (OutboxMessage.status == SENDING, OutboxMessage.lease_until),
            else_=OutboxMessage.next_attempt_at,
        )
        return await self._session.scalar(
            select(func.min(func.coalesce(due, OutboxMessage.next_attempt_at))).where(
                OutboxMessage.status.in_((PENDING, SENDING))
            )
        )

    async def mark(
        self,
        item_id: int,
        status: str,
        now: datetime,
        error: str | None = None,
        claimant: str | None = None,
    ) -> None:
        """Record the outcome of a delivery attempt (by its claimant, if named, only)."""
        values: dict[str, Any] = {"status": status, "last_error": error}
        if status == SENT:
            values["sent_at"] = now
        await self._release(item_id, claimant, values)

    async def retry_at(
        self,
        item_id: int,
        when: datetime,
        error: str,
        *,
        uncount: bool = False,
        claimant: str | None = None,
    ) -> None:
        """Put a message back in the queue for a later attempt (a 429 does not count one)."""
        values: dict[str, Any] = {"status": PENDING, "next_attempt_at": when, "last_error": error}
        if uncount:
            values["attempts"] = OutboxMessage.attempts - 1
        await self._release(item_id, claimant, values)

    async def _release(self, item_id: int, claimant: str | None, values: dict[str, Any]) -> None:
        """Update a message and end its claim; a claim taken over meanwhile is left alone."""
        statement = update(OutboxMessage).where(OutboxMessage.id == item_id)
        if claimant is not None:
            statement = statement.where(OutboxMessage.claimed_by == claimant)
        await self._session.execute(statement.values(claimed_by=None, lease_until=None, **values))
