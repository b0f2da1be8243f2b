"""Where a chat stands in a conversation, as the router saves it between two messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Where a chat stands in a conversation."""

    state: str
    data: dict[str, Any] = field(default_factory=dict)
