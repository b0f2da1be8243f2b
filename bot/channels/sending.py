"""Direct replies: a chat's answers sent through its platform's sender, under the shared policy.

The requests and the errors are the platform's :class:`~bot.core.delivery.Sender`'s, the
decisions :func:`bot.core.delivery.decide`'s (the outbox uses both as well); here a retry
waits in memory and tries again, because the person who wrote is waiting for the answer. A
request that fails for good is logged and the next one is sent; a chat that blocked the bot
is marked unreachable and sent nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.delivery import (
    REPLY_POLICY,
    Decision,
    DeliveryError,
    Piece,
    RateLimited,
    RetryPolicy,
    Sender,
    Step,
    deliver,
)
from bot.core.messages import Reply

logger = logging.getLogger(__name__)


async def send_replies(
    sender: Sender,
    chat_id: str,
    replies: Sequence[Reply],
    *,
    blocked: Callable[[str], Awaitable[None]],
    edit_message_id: int | None = None,
    policy: RetryPolicy = REPLY_POLICY,
) -> None:
    """Send replies to a chat; the first may replace the message whose button was pressed.

    ``blocked`` is called once if the chat turns out to be unreachable; nothing more is sent.
    """
    for position, reply in enumerate(replies):
        edit = edit_message_id if position == 0 else None
        for piece in sender.pieces(chat_id, reply, edit):
            outcome = _ReplyOutcome(sender.label, chat_id, piece, policy)
            if not await deliver(piece.send, policy, outcome) and outcome.gone:
                await blocked(chat_id)
                return


class _ReplyOutcome:
    """A direct reply's side of the policy: wait in memory, log, give up after the attempts."""

    def __init__(self, label: str, chat_id: str, piece: Piece, policy: RetryPolicy) -> None:
        self._label, self._chat_id, self._piece, self._policy = label, chat_id, piece, policy
        self._waits = 0
        self.gone = False
        """Whether the chat turned out to be unreachable."""

    async def retry(self, error: DeliveryError, decision: Decision) -> bool:
        """Wait as decided and try again; after too many rate limits, give up."""
        label, chat_id, file_name = self._label, self._chat_id, self._piece.file_name
        if isinstance(error, RateLimited):
            self._waits += 1
            if self._waits >= self._policy.attempts:  # a person is waiting: not forever
                await self.failed(error, Decision(Step.EXHAUSTED))
                return False
            logger.warning(
                "%s rate-limits chat %s; retrying in %.0f s", label, chat_id, decision.delay
            )
        elif file_name is None:
            logger.warning(
                "could not send to %s chat %s: %s; retrying in %.0f s",
                label,
                chat_id,
                error,
                decision.delay,
            )
        else:
            logger.warning(
                "could not send %s to %s chat %s: %s; retrying in %.0f s",
                file_name,
                label,
                chat_id,
                error,
                decision.delay,
            )
        await asyncio.sleep(decision.delay)
        return True

    async def unreachable(self, error: DeliveryError) -> None:
        """Let the channel mark the chat (see :func:`send_replies`)."""
        self.gone = True

    async def failed(self, error: DeliveryError, decision: Decision) -> None:
        """Log that this request is given up; the reply's other requests still go."""
        label, chat_id, file_name = self._label, self._chat_id, self._piece.file_name
        if decision.step is Step.REJECTED:
            if file_name is None:
                logger.error("%s refused a message to chat %s: %s", label, chat_id, error)
            else:
                logger.error("%s refused %s for chat %s: %s", label, file_name, chat_id, error)
        elif file_name is None:
            logger.error("could not send to %s chat %s: %s", label, chat_id, error)
        else:
            logger.error("could not send %s to %s chat %s: %s", file_name, label, chat_id, error)
