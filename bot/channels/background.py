"""Work a channel does in the background: replies in order per chat, button answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

MAX_DELIVERIES_IN_FLIGHT = 64
"""Replies being sent while the worker goes on; beyond that the worker waits (back-pressure)."""


class Background:
    """Tasks started beside a channel's worker, awaited at stop."""

    name: str = ""

    def __init__(self) -> None:
        self._sending: dict[str, asyncio.Task[None]] = {}
        """The latest delivery per chat; each waits for the one before it in its chat."""
        self._background: set[asyncio.Task[None]] = set()
        self._send_slots = asyncio.Semaphore(MAX_DELIVERIES_IN_FLIGHT)

    async def send_later(self, chat_id: str, send: Callable[[], Awaitable[None]]) -> None:
        """Send in the background, after what is being sent to the same chat.

        The worker goes on with the next update meanwhile: replies to one chat keep their
        order, chats do not wait for each other. Waits only when too many are in flight.
        """
        await self._send_slots.acquire()
        before = self._sending.get(chat_id)

        async def deliver() -> None:
            try:
                if before is not None:
                    await asyncio.wait([before])
                await send()
            except Exception:
                logger.exception("%s: could not deliver to chat %s", self.name, chat_id)
            finally:
                self._send_slots.release()
                if self._sending.get(chat_id) is task:
                    del self._sending[chat_id]

        task = asyncio.create_task(deliver(), name=f"{self.name}-send-{chat_id}")
        self._sending[chat_id] = task
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def spawn(self, work: Awaitable[None], name: str) -> None:
        """Run something in the background (answering a button press); finished at stop."""

        async def run() -> None:
            try:
                await work
            except Exception:
                logger.exception("%s: %s failed", self.name, name)

        task = asyncio.create_task(run(), name=f"{self.name}-{name}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def finish_sending(self) -> None:
        """Wait until everything started in the background is done."""
        while self._background:
            await asyncio.wait(list(self._background))
