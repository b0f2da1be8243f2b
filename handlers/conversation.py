"""What a conversation declares, so that the router only dispatches.

A conversation names its commands (with the roles that may use them), the prefixes of its
buttons, which conversation states are its own, and what to do with typed text and files at
those states. ``handlers/conversations.py`` lists every conversation; the router registers
their commands and button prefixes, refuses a command or prefix declared twice, and asks the
current question again after a side command in the middle of a conversation.

Button payloads (``prefix:part:part``) live on in chats and in outbox rows, so a
:class:`Button` encodes exactly the strings handlers wrote by hand before, and decodes them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.core.domain.conversation import ConversationState
from bot.core.messages import MAX_PAYLOAD_BYTES, FileRef, Reply
from handlers.context import ChoiceHandler, Command, Context

TextStep = Callable[[Context, str], Awaitable[list[Reply]]]
FileStep = Callable[[Context, FileRef], Awaitable[list[Reply]]]
Question = Callable[[Context], Awaitable[Reply]]
StateTest = Callable[[ConversationState], bool]


def no_state(state: ConversationState) -> bool:
    """Own no state: the default of a conversation that answers in one message."""
    return False


@dataclass(frozen=True, slots=True)
class Conversation:
    """One conversation: its commands, buttons and, for a multi-step one, its steps.

    Attributes:
        name: What the conversation is called in code and logs.
        commands: Its slash commands, in the order of ``/trogiup``.
        buttons: The handler of each button prefix it answers (the payload's first part).
        owns: Whether a conversation state is one of its steps.
        on_text: The step that takes typed text while the chat is at one of its states.
        on_file: The step that takes a file while the chat is at one of its states.
        current_question: The question of the state the chat is at, asked again as a new
            message after a side command (another command, another message's button).
        step_buttons: The prefixes whose buttons answer its steps; its other buttons (such as
            a reminder's "Báo cáo ngay") are side buttons like any other conversation's.
        awaits_file: Whether a state waits for a file (the router downloads it before the
            transaction).
    """

    name: str
    commands: tuple[Command, ...] = ()
    buttons: Mapping[str, ChoiceHandler] = field(default_factory=dict)
    owns: StateTest = no_state
    on_text: TextStep | None = None
    on_file: FileStep | None = None
    current_question: Question | None = None
    step_buttons: frozenset[str] = frozenset()
    awaits_file: StateTest = no_state


@dataclass(frozen=True, slots=True)
class Button:
    """The payload codec of one kind of button: ``prefix:part:…``, at most 64 bytes.

    ``parts`` is how many parts follow the prefix: :meth:`encode` fills the missing ones with
    empty strings (``th:2024:ov:``) and :meth:`decode` gives the last part the rest of the
    payload, as the handlers always read it.
    """

    prefix: str
    parts: int = 1

    def encode(self, *parts: str | int) -> str:
        """Return the payload of a button with these parts."""
        if len(parts) > self.parts:
            raise ValueError(f"{self.prefix} buttons have {self.parts} parts, not {len(parts)}")
        padded = [str(part) for part in parts] + [""] * (self.parts - len(parts))
        payload = ":".join([self.prefix, *padded])
        if len(payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload longer than {MAX_PAYLOAD_BYTES} bytes: {payload}")
        return payload

    def decode(self, argument: str) -> tuple[str, ...]:
        """Split what follows the prefix into the button's parts (missing ones are empty)."""
        found = argument.split(":", self.parts - 1)
        return (*found, *([""] * (self.parts - len(found))))
