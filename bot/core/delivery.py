"""How a channel reports the outcome of sending a notification, whatever the platform."""

from __future__ import annotations

from typing import Protocol

from bot.core.messages import Reply


class DeliveryError(Exception):
    """Sending failed; the subclass says what to do about it."""


class RateLimited(DeliveryError):
    """The platform asked to wait before sending again (HTTP 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after} s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The user blocked the bot or the chat is gone: do not try again."""


class Transient(DeliveryError):
    """A server error or a timeout: try again later."""


class Rejected(DeliveryError):
    """The platform refused this message for good (a bad request)."""


class Sender(Protocol):
    """A channel's way to send one notification to one chat."""

    async def send_notification(self, chat_id: str, reply: Reply) -> None:
        """Send, or raise a DeliveryError."""
        ...
