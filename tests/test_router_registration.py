"""Conversations declare their commands, buttons and steps; the router only dispatches them.

The button codecs must read what the handlers wrote by hand before: those payloads live on in
chats (buttons pressed days later) and in outbox rows (reminders not yet sent).
"""

from __future__ import annotations

import pytest

from bot.core.messages import MAX_PAYLOAD_BYTES
from handlers.conversation import Button


@pytest.mark.parametrize(
    ("payload", "button", "parts"),
    [
        ("bc:ab12:tk:345", Button("bc", 3), ("ab12", "tk", "345")),
        ("bc:0000:ok:", Button("bc", 3), ("0000", "ok", "")),
        ("rp:7:123", Button("rp", 2), ("7", "123")),
        ("task:12", Button("task"), ("12",)),
        ("th:2024:f:xlsx", Button("th", 3), ("2024", "f", "xlsx")),
        ("th:2024:ov:", Button("th", 3), ("2024", "ov", "")),
        ("th:2024", Button("th", 3), ("2024", "", "")),  # cut short: the handler finds it stale
        ("th:2024:ix:a:b", Button("th", 3), ("2024", "ix", "a:b")),  # the last part: the rest
    ],
)
def test_a_button_decodes_what_the_handlers_encoded(
    payload: str, button: Button, parts: tuple[str, ...]
) -> None:
    prefix, _sep, argument = payload.partition(":")
    assert prefix == button.prefix
    assert button.decode(argument) == parts
    if payload != "th:2024":
        assert button.encode(*parts) == payload


def test_a_button_pads_missing_parts_and_refuses_too_many_or_too_long() -> None:
    assert Button("th", 3).encode(2024, "ov") == "th:2024:ov:"
    with pytest.raises(ValueError, match="parts"):
        Button("task").encode(1, 2)
    with pytest.raises(ValueError, match=str(MAX_PAYLOAD_BYTES)):
        Button("x").encode("é" * 40)  # 80 bytes in UTF-8
