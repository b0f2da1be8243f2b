"""The protocol every platform's adapter follows: what the runtime and the web server use.

An adapter is one module of this package (``telegram.py``, ``zalo.py``), made from its own
settings by its entry in :mod:`bot.channels.registry`. It

- takes the platform's updates in (a poll, or a webhook route it serves) and records them in
  the durable inbox (:class:`~bot.channels.base.InboxChannel` does the rest of the intake);
- reads a recorded update into the neutral :class:`~bot.core.messages.Incoming`
  (:meth:`ChannelAdapter.prepare`);
- renders and sends the router's :class:`~bot.core.messages.Reply` objects through its
  :class:`~bot.core.delivery.Sender`, the same one the outbox worker delivers notifications
  with, under the one retry policy of :mod:`bot.core.delivery`.

Like Rasa's ``InputChannel.blueprint``, :meth:`ChannelAdapter.routes` returns the web routes
the adapter serves; :func:`bot.web.create_app` adds those of every adapter, so no route of a
platform is written in ``bot/web.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiohttp import web

from bot.channels.base import Prepared
from bot.core.delivery import Sender
from bot.core.messages import Reply
from storage.inbox import InboxEntry
from storage.leadership import Leadership


class ChannelAdapter(Protocol):
    """One platform's channel, as the runtime and the web server see it."""

    name: str
    """The channel's name, on inbox, account and outbox rows ("telegram")."""
    sender: Sender
    """How replies and notifications reach the platform (the outbox worker uses it too)."""

    async def start(self) -> None:
        """Connect: set or drop the webhook; raise StartError if it cannot be done."""
        ...

    async def run(self, stop: asyncio.Event, leadership: Leadership | None = None) -> None:
        """Take updates in (poll, or wait for the webhook) and process them until ``stop``.

        With a leadership, poll only while this instance leads (see :mod:`bot.channels.polling`).
        """
        ...

    async def stop(self) -> None:
        """Release the platform's connections, also after a failed start."""
        ...

    def prepare(self, entry: InboxEntry) -> Prepared | None:
        """Read a recorded update: what the user did, and how to answer; None to ignore it."""
        ...

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], edit_message_id: int | None = None
    ) -> None:
        """Render and send replies to a chat."""
        ...

    def routes(self) -> list[web.RouteDef]:
        """Return the web routes the adapter serves (its webhook, when it has a secret)."""
        ...
