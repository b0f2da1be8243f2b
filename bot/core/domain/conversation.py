"""Where a chat stands in a conversation, as the router saves it between two messages.

On a platform without buttons, choices reach the chat as numbered lines and a typed number
names one. The numbers name the last list the chat was shown: a reply's (kept in the state's
``choices``, with the moment in ``choices_at``) or a notification's, delivered through the
outbox (a :class:`ChoiceOffer`, recorded when it was sent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

IDLE = "idle"


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Where a chat stands in a conversation."""

    state: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ChoiceOffer:
    """The numbered choices a notification delivered to a chat without buttons listed."""

    choices: tuple[str, ...]
    """The choices' payloads, in the order of their numbers."""
    labels: tuple[str, ...]
    """Their labels, folded (see :func:`bot.core.text.fold`), for a typed label."""
    offered_at: datetime


def with_offer(state: ConversationState, offer: ChoiceOffer | None) -> ConversationState:
    """Return the state whose choices a typed number names: the offer's, if it is the latest.

    An offer counts when it was delivered after the chat's last list of choices, and the chat
    is in no conversation or at a step that lists choices: at a step that waits for a typed
    figure (a percentage), the number stays the answer.
    """
    if offer is None or not offer.choices:
        return state
    shown = state.data.get("choices_at")
    if isinstance(shown, str) and datetime.fromisoformat(shown) >= offer.offered_at:
        return state
    if state.state != IDLE and not state.data.get("choices"):
        return state
    data = {**state.data, "choices": list(offer.choices), "labels": list(offer.labels)}
    return ConversationState(state.state, data)
