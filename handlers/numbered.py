"""Numbered choices: on platforms without buttons, a typed number (or label) names a choice.

The router keeps the numbered choices of the last reply that listed some in the chat's
conversation state (:func:`remember_choices`); a notification's, delivered later through the
outbox, are its chat's :class:`~bot.core.domain.conversation.ChoiceOffer`. A typed number names
one of the latest list (:func:`typed_choice`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core.domain.conversation import ConversationState, with_offer
from bot.core.messages import Incoming, Reply
from bot.core.text import fold
from storage.uow import UnitOfWork


async def typed_choice(uow: UnitOfWork, incoming: Incoming, state: ConversationState) -> Incoming:
    """Turn a typed number or label into the choice it names, from the latest list shown."""
    typed = (incoming.text or "").strip()
    offer = (
        await uow.conversations.offered(incoming.channel, incoming.chat_id)
        if incoming.payload is None and typed.isdigit()
        else None
    )  # a notification's numbered choices, delivered after the chat's own last list
    return _typed(incoming, with_offer(state, offer))


def remember_choices(
    before: ConversationState, after: ConversationState, answer: list[Reply], now: datetime
) -> ConversationState:
    """Keep the numbered choices shown last, so that a typed number can name one.

    A typed number names a choice of the last message that listed numbered choices. An
    update that changed nothing and listed none (a stale button, a side command) leaves
    the earlier choices standing. ``choices_at`` says when the list was shown (or taken
    away), so that a notification's list delivered later takes its place.
    """
    data = dict(after.data)
    numbered = [r.flat_choices for r in answer if r.numbered and r.flat_choices]
    if numbered:
        data["choices"] = [c.payload for c in numbered[-1]]
        data["labels"] = [fold(c.label) for c in numbered[-1]]
        data["choices_at"] = now.isoformat()
    elif after != before:
        data.pop("choices", None)
        data.pop("labels", None)
        data["choices_at"] = now.isoformat()
    return ConversationState(after.state, data)


def _typed(incoming: Incoming, state: ConversationState) -> Incoming:
    """Turn a typed number into the choice it names, on channels without buttons."""
    choices = state.data.get("choices") or []
    text = (incoming.text or "").strip()
    if incoming.payload is None and text.isdigit() and choices:
        number = int(text)
        if 1 <= number <= len(choices):
            return replace(incoming, payload=str(choices[number - 1]), text=None)
    labels = state.data.get("labels") or []
    if incoming.payload is None and text and not text.startswith("/") and labels:
        typed = fold(text)  # "hoan thanh" chooses "Hoàn thành"
        if typed in labels:
            return replace(incoming, payload=str(choices[labels.index(typed)]), text=None)
    return incoming
