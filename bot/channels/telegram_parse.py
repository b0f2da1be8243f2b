"""Reading a Telegram update (its JSON, as the inbox stores it) into an :class:`Incoming`.

Each field is checked for the type the Bot API gives it: an update that is not what Telegram
sends (a forged or broken one) is ignored, or loses the field at fault, and never reaches the
router with a number where text belongs.
"""

from __future__ import annotations

from typing import Any

from bot.core.messages import FileRef, Incoming


def to_incoming(update: dict[str, Any], key: str | None = None) -> Incoming | None:
    """Turn a Telegram update (its JSON) into an Incoming; None for updates the bot ignores.

    ``key`` names the update for good (its inbox entry): Telegram's update ids start again
    at random after a quiet week, so the update id alone does not (see ``DEDUP_WINDOW``).

    Read field by field, each checked for the type the Bot API gives it: an update that is
    not what Telegram sends (a forged or broken one) is ignored, or loses the field at fault,
    and never reaches the router with a number where text belongs.
    """
    update_id = key if key is not None else str(update.get("update_id"))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        user = _object(query.get("from"))
        chat = _object(message.get("chat")) if isinstance(message, dict) else {}
        if not integer_ids(chat.get("id"), user.get("id")):
            return None
        return Incoming(
            channel="telegram",
            chat_id=str(chat["id"]),
            user_id=str(user["id"]),
            update_id=update_id,
            payload=_string(query.get("data")) or "",
            display_name=_full_name(user),
            is_private=chat.get("type") == "private",
        )
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    user, chat = _object(message.get("from")), _object(message.get("chat"))
    if not integer_ids(chat.get("id"), user.get("id")):
        return None
    file = None
    document = message.get("document")
    photos = message.get("photo")
    if isinstance(document, dict) and _string(document.get("file_id")):
        file = FileRef(
            str(document["file_id"]),
            _string(document.get("file_name")),
            _string(document.get("mime_type")),
            _size(document.get("file_size")),
        )
    elif isinstance(photos, list) and photos and isinstance(photos[-1], dict):
        photo = photos[-1]
        if _string(photo.get("file_id")):
            file = FileRef(
                str(photo["file_id"]), None, "image/jpeg", _size(photo.get("file_size"))
            )
    return Incoming(
        channel="telegram",
        chat_id=str(chat["id"]),
        user_id=str(user["id"]),
        update_id=update_id,
        text=_string(message.get("text")),
        display_name=_full_name(user),
        file=file,
        is_private=chat.get("type") == "private",
    )


def _object(value: object) -> dict[str, Any]:
    """A field the Bot API sends as an object; anything else counts as an empty one."""
    return value if isinstance(value, dict) else {}


def _full_name(user: dict[str, Any]) -> str | None:
    """The name a user gave Telegram: first name, then last name (as PTB's ``full_name``)."""
    first, last = _string(user.get("first_name")), _string(user.get("last_name"))
    if first is None:
        return None
    return f"{first} {last}" if last else first


def _string(value: object) -> str | None:
    """A field the Bot API sends as a string; any other type (a forged update) counts as absent.

    The router expects text: a number where text belongs must not reach it.
    """
    return value if isinstance(value, str) else None


def integer_ids(*values: object) -> bool:
    """Tell whether chat and user ids are integers, as the Bot API sends them.

    Anything else comes from a forged update, and its text would make a chat of its own.
    """
    return all(isinstance(value, int) and not isinstance(value, bool) for value in values)


def _size(value: object) -> int | None:
    """A file size the Bot API sends as an integer; anything else counts as unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None
