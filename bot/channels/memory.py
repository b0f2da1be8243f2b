"""An in-memory channel that records what the bot answers; for tests and experiments."""

from __future__ import annotations

import itertools
import uuid

from bot.core.messages import FileRef, FileSource, Incoming, Reply


class MemoryChannel:
    """Play one user talking to the router, and keep every reply."""

    _update_ids = itertools.count(1)
    _run = uuid.uuid4().hex[:12]
    """Makes the update ids of this process its own, as a database outlives the process."""

    def __init__(
        self,
        handle: object,
        *,
        user_id: str = "1",
        chat_id: str | None = None,
        display_name: str | None = None,
    ) -> None:
        self._handle = handle
        self.user_id = user_id
        self.chat_id = chat_id or user_id
        self.display_name = display_name
        self.transcript: list[Reply] = []
        self.files: FileSource | None = None

    def _incoming(self, **fields: object) -> Incoming:
        return Incoming(
            channel="memory",
            chat_id=self.chat_id,
            user_id=self.user_id,
            update_id=f"{self._run}:{next(self._update_ids)}",
            display_name=self.display_name,
            **fields,  # type: ignore[arg-type]
        )

    async def send(self, text: str) -> list[Reply]:
        """Send text (or a command) and return the replies."""
        return await self._deliver(self._incoming(text=text))

    async def press(self, payload: str) -> list[Reply]:
        """Press a choice and return the replies."""
        return await self._deliver(self._incoming(payload=payload))

    async def upload(self, file: FileRef) -> list[Reply]:
        """Send a file and return the replies."""
        return await self._deliver(self._incoming(file=file))

    async def _deliver(self, incoming: Incoming) -> list[Reply]:
        replies: list[Reply] = await self._handle(incoming, files=self.files)  # type: ignore[operator]
        self.transcript.extend(replies)
        return replies
