"""Platform-neutral messages: what a channel hands to the router and gets back.

A channel adapter turns a platform update into an :class:`Incoming`, calls the router and
renders the :class:`Reply` objects it returns: choices become inline buttons on Telegram and
numbered lines on Zalo and the console (unless a reply says its choices are not to be
numbered).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

MAX_PAYLOAD_BYTES = 64
"""Telegram's callback_data limit; every choice payload must fit in it."""


@dataclass(frozen=True, slots=True)
class Address:
    """Where a message goes: one chat on one channel."""

    channel: str
    """The channel's name ("telegram", "zalo", "console", "memory"): each adapter names itself."""
    chat_id: str


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file the user sent, as the platform describes it (not yet downloaded)."""

    file_id: str
    file_name: str | None
    mime_type: str | None
    size: int | None


class FileUnavailable(Exception):
    """The platform would not hand over a file a user sent (gone, refused, unreachable)."""


class FileSource(Protocol):
    """A channel's way to download a file a user sent."""

    async def fetch(self, file: FileRef) -> bytes:
        """Return the file's content; raise :class:`FileUnavailable` if it cannot be had."""
        ...


@dataclass(frozen=True, slots=True)
class Incoming:
    """One thing a user did: typed text, sent a command, pressed a choice or sent a file."""

    channel: str
    """The channel's name ("telegram", "zalo", "console", "memory"): each adapter names itself."""
    chat_id: str
    user_id: str
    update_id: str | None = None
    text: str | None = None
    payload: str | None = None
    display_name: str | None = None
    file: FileRef | None = None
    is_private: bool = True

    @property
    def address(self) -> Address:
        """Return the address of the chat this came from."""
        return Address(self.channel, self.chat_id)

    @property
    def command(self) -> str | None:
        """Return the command without its slash and bot suffix, or None for plain text."""
        if not self.text or not self.text.startswith("/"):
            return None
        head = self.text.split(maxsplit=1)[0][1:]
        return head.split("@", 1)[0].lower() or None

    @property
    def argument(self) -> str:
        """Return what follows the command, stripped; empty when there is nothing."""
        if not self.text:
            return ""
        parts = self.text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 and self.command else ""


@dataclass(frozen=True, slots=True)
class Choice:
    """One answer the user can pick; the payload is a short opaque id."""

    label: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(
                f"choice payload longer than {MAX_PAYLOAD_BYTES} bytes: {self.payload}"
            )


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file the bot sends (a spreadsheet, a report, a chart)."""

    file_name: str
    content: bytes
    mime_type: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A message to show the user, with optional choices laid out in rows."""

    text: str
    choices: tuple[tuple[Choice, ...], ...] = field(default=())
    edit: bool = False
    """Replace the message whose button was pressed, where the channel can."""
    files: tuple[OutgoingFile, ...] = ()
    """Files sent after the text."""
    numbered: bool = True
    """Whether channels without buttons list the choices as numbered lines to answer by
    number. False where a typed number means something else (a percentage): the choices are
    then buttons only, and the text must say what to type."""

    @property
    def flat_choices(self) -> list[Choice]:
        """Return the choices in reading order."""
        return [choice for row in self.choices for choice in row]


def numbered_text(reply: Reply) -> str:
    """Render a reply for a text-only channel: choices become numbered lines (if numbered)."""
    choices = reply.flat_choices
    if not choices or not reply.numbered:
        return reply.text
    lines = [reply.text, ""]
    lines.extend(f"{number}. {choice.label}" for number, choice in enumerate(choices, start=1))
    return "\n".join(lines)


def reply_to_payload(reply: Reply) -> dict[str, Any]:
    """Store a reply in the outbox as plain JSON."""
    return {
        "text": reply.text,
        "choices": [
            [{"label": c.label, "payload": c.payload} for c in row] for row in reply.choices
        ],
        **({} if reply.numbered else {"numbered": False}),
    }


def reply_from_payload(payload: dict[str, Any]) -> Reply:
    """Read a reply back from the outbox."""
    rows = tuple(
        tuple(Choice(c["label"], c["payload"]) for c in row) for row in payload.get("choices", [])
    )
    return Reply(str(payload["text"]), rows, numbered=bool(payload.get("numbered", True)))
