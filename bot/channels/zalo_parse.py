"""A Zalo event read field by field into an ``Incoming``, and the key that identifies it.

Zalo's field names drift (``display_name``, ``name``, ``first_name``), and a forged event may
put anything anywhere: every field is checked for its type, and an event the bot cannot read
is ignored (None) rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import FileRef, Incoming


def event_key(event: dict[str, Any]) -> str | None:
    """Return the key that identifies an event: its name and its message id."""
    message = event.get("message")
    if not isinstance(message, dict) or not event.get("event_name"):
        return None
    message_id = message.get("message_id")
    return f"{event['event_name']}:{message_id}" if message_id else None


def to_incoming(event: dict[str, Any], key: str) -> Incoming | None:
    """Turn a Zalo event into an Incoming; None for events the bot ignores."""
    message = event.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat") or {}
    sender = message.get("from") or {}
    if not isinstance(chat, dict) or not isinstance(sender, dict):
        return None
    chat_id = _id(chat.get("id")) or _id(sender.get("id"))
    user_id = _id(sender.get("id")) or chat_id
    if not chat_id or sender.get("is_bot"):
        return None
    name = sender.get("display_name") or sender.get("name") or sender.get("first_name")
    file = None
    text = message.get("text")
    if event.get("event_name") == "message.image.received":
        url = message.get("photo_url") or message.get("photo")
        if isinstance(url, str) and url:
            file = FileRef(url, None, "image/jpeg", None)
        text = None
    return Incoming(
        channel="zalo",
        chat_id=chat_id,
        user_id=user_id,
        update_id=key,
        text=text if isinstance(text, str) else None,
        display_name=str(name) if name else None,
        file=file,
        is_private=str(chat.get("chat_type", "PRIVATE")).upper() != "GROUP",
    )


def _id(value: object) -> str:
    """An id as text; "" for anything but a string or an integer (a forged event's garbage)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)
