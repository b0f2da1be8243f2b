"""How replies and notifications are delivered, whatever the platform: one vocabulary, one policy.

A platform's :class:`Sender` cuts a :class:`~bot.core.messages.Reply` into the requests that
send it (:meth:`Sender.pieces`: its text parts, its files) and turns the platform's errors into
the four kinds of :class:`DeliveryError`, in one place per platform. :func:`deliver` makes one
request under a :class:`RetryPolicy`: on an error it decides what to do (:func:`decide`) and
hands the decision to an :class:`Outcome`, the only part that differs between the two paths:

- a direct reply (:mod:`bot.channels.sending`) waits in memory and tries again at once, since
  a person is waiting for the answer;
- a notification (:mod:`bot.outbox`) goes back to the outbox table with its due time, so that
  a restart meanwhile loses nothing.

The rules are the same for both:

- :class:`RateLimited` (HTTP 429): wait as long as the platform asks (``retry_after``); the
  wait is not counted as a failed attempt.
- :class:`Transient` (a server error, a reset connection, a timeout): try again after a capped
  exponential backoff, until the policy's attempts are spent.
- :class:`Unreachable` (the user blocked the bot, the chat is gone): mark the chat unreachable
  and send it nothing more.
- :class:`Rejected` (a bad request): give up at once; the same request would fail again.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import Enum
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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How persistently to retry transient failures: attempts and a capped backoff."""

    attempts: int = 5
    """Attempts in all, the first one included."""
    first_delay: float = 2.0
    """Seconds before the second attempt; doubled before each next one, up to ``max_delay``."""
    max_delay: float = 30.0
    jitter: float = 0.0
    """Each delay is multiplied by a random factor within 1 ± jitter (spreads a crowd out)."""

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
        delay = min(self.first_delay * 2.0 ** (attempt - 1), self.max_delay)
        if self.jitter:
            delay *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return delay


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast a platform takes the bot's notifications."""

    rate: float
    """Messages a second, in all."""
    chat_interval: float
    """Seconds between two messages to one chat."""
    ceiling: int | None = None
    """Requests the platform takes in any one second before it answers 429 (None: ``rate``)."""


REPLY_POLICY = RetryPolicy()
"""A direct reply: five attempts, 2, 4, 8 and 16 s apart (someone is waiting for it)."""


class Step(Enum):
    """What to do after a failed attempt."""

    RETRY = "retry"
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"
    EXHAUSTED = "exhausted"
    """A transient failure at the last attempt the policy allows."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's answer to a failed attempt."""

    step: Step
    delay: float = 0.0
    """Seconds to wait before the next attempt (for :attr:`Step.RETRY`)."""
    counted: bool = True
    """Whether the failure counts as an attempt; a rate limit does not."""


def decide(error: DeliveryError, attempt: int, policy: RetryPolicy) -> Decision:
    """Decide what follows failed attempt number ``attempt`` (1 for the first)."""
    if isinstance(error, RateLimited):
        return Decision(Step.RETRY, error.retry_after, counted=False)
    if isinstance(error, Unreachable):
        return Decision(Step.UNREACHABLE)
    if isinstance(error, Transient):
        if attempt >= policy.attempts:
            return Decision(Step.EXHAUSTED)
        return Decision(Step.RETRY, policy.backoff(attempt))
    return Decision(Step.REJECTED)


class Outcome(Protocol):
    """Carries out the policy's decisions for one path (direct replies, or the outbox)."""

    async def retry(self, error: DeliveryError, decision: Decision) -> bool:
        """Act on :attr:`Step.RETRY`: True to try again now, False if retried elsewhere later."""
        ...

    async def unreachable(self, error: DeliveryError) -> None:
        """Act on :attr:`Step.UNREACHABLE`: remember that the chat cannot be reached."""
        ...

    async def failed(self, error: DeliveryError, decision: Decision) -> None:
        """Act on :attr:`Step.REJECTED` or :attr:`Step.EXHAUSTED`: nothing more is tried."""
        ...


Send = Callable[[], Awaitable[None]]
"""One attempt at one request; raises a DeliveryError."""


async def deliver(send: Send, policy: RetryPolicy, outcome: Outcome, attempt: int = 1) -> bool:
    """Make a request under the policy until it is sent or settled; True once sent.

    ``attempt`` is the number of this attempt (the outbox counts them across its tries).
    """
    while True:
        try:
            await send()
        except DeliveryError as error:
            decision = decide(error, attempt, policy)
            if decision.step is Step.UNREACHABLE:
                await outcome.unreachable(error)
                return False
            if decision.step is not Step.RETRY:
                await outcome.failed(error, decision)
                return False
            if not await outcome.retry(error, decision):
                return False
            attempt += decision.counted
        else:
            return True


@dataclass(frozen=True, slots=True)
class Piece:
    """One request of a reply: a part of its text, or one of its files."""

    send: Send
    file_name: str | None = None
    """The file this request sends (for the log); None for text."""


class Sender(Protocol):
    """A platform's way to send a reply: the requests, and its errors as DeliveryError."""

    label: str
    """The platform's name in the log ("Telegram")."""
    numbered: bool
    """Whether choices reach the chat as numbered lines, answered by a typed number."""

    def pieces(
        self, chat_id: str, reply: Reply, edit_message_id: int | None = None
    ) -> list[Piece]:
        """Return the requests that send ``reply`` to a chat, in order.

        ``edit_message_id``: the message whose button was pressed, which a reply marked
        ``edit`` replaces where the platform can.
        """
        ...


async def send_all(pieces: Sequence[Piece]) -> None:
    """Make every request of a reply once, in order (one attempt at a notification)."""
    for piece in pieces:
        await piece.send()
