"""Direct replies held in the outbox: marked sent once their instance has sent them.

The router writes an update's replies to the outbox in the transaction that handled it,
claimed by this instance (:meth:`storage.outbox.OutboxRepository.hold`); the channel sends
them at once, as before, and then marks them sent here, many in one transaction. If the
instance dies in between, the leader's outbox worker delivers them when the claim runs out: a
receipt is never lost, and repeated only for replies sent in the last moment before a crash.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.core.clock import Clock
from storage.db import Database, DatabaseError
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

SETTLE_EVERY = 0.2
"""Seconds during which marks are gathered into one transaction."""


class HeldReplies:
    """Mark held replies sent, in batches, in the background."""

    def __init__(self, database: Database, clock: Clock, claimant: str | None) -> None:
        self._database, self._clock, self.claimant = database, clock, claimant
        self._sent: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def sent(self, ids: Sequence[int]) -> None:
        """Note that these replies were sent; they are marked within :data:`SETTLE_EVERY`."""
        if not ids or self.claimant is None:
            return
        self._sent.extend(ids)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._settle(), name="held-replies")

    async def close(self) -> None:
        """Mark what is left (at stop)."""
        if self._task is not None:
            await self._task

    async def _settle(self) -> None:
        await asyncio.sleep(SETTLE_EVERY)
        while self._sent and self.claimant is not None:
            ids, self._sent = self._sent, []
            try:
                async with UnitOfWork(self._database) as uow:
                    await uow.outbox.settle(ids, self._clock.now(), self.claimant)
                    await uow.commit()
            except (DatabaseError, OSError) as error:  # sent again when the claim runs out
                logger.warning(
                    "%d sent replies could not be marked sent (%s)", len(ids), type(error).__name__
                )
