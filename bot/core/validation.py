"""Validation rules: what typed text must be, and plain reasons for settings and plan errors."""

from __future__ import annotations

import re

from bot.core.i18n import N_, _
from bot.core.text import fold

_REASONS = {
    "missing": N_("this field is required"),
    "extra_forbidden": N_("this field is not part of the plan format"),
    "string_too_short": N_("must not be empty"),
    "too_short": N_("must not be empty"),
    "string_too_long": N_("is too long"),
    "string_pattern_mismatch": N_("codes use only letters, digits, '.', '_' and '-'"),
    "literal_error": N_("is not one of the allowed values"),
    "int_parsing": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "greater_than_equal": N_("is too small"),
    "less_than_equal": N_("is too large"),
    "date_from_datetime_parsing": N_("must be a date written yyyy-mm-dd"),
    "date_parsing": N_("must be a date written yyyy-mm-dd"),
    "string_type": N_("must be text (put it in quotes)"),
    "bool_type": N_("must be true or false"),
}


def reason(error_type: str, message: str) -> str:
    """Return the translated reason for a pydantic error type, or its own message."""
    known = _REASONS.get(error_type)
    return _(known) if known else message.removeprefix("Value error, ")


# --- typed text ---------------------------------------------------------------------------

_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Every character outside XML 1.0's ``Char`` production: C0 controls but tab, newline and
carriage return; lone surrogates; U+FFFE and U+FFFF."""

MIN_WORDS = 2
"""An answer with content has at least this many words written with letters..."""
MIN_LETTERS = 4
"""...and at least this many letters in all."""

NOTHING_ANSWERS = frozenset(
    {"khong", "khong co", "khong co gi", "chua", "chua co", "chua co gi", "ko", "ko co"}
)
"""Ways to say "none" (folded: lower case, no diacritics, no punctuation)."""


def xml_forbidden(char: str) -> bool:
    """Tell whether XML 1.0 forbids a character (so no .docx or .xlsx can hold it)."""
    return _XML_FORBIDDEN.match(char) is not None


def xml_compatible(text: str) -> str:
    """Return text without the characters XML 1.0 forbids.

    Every text a user sends passes through this before it is stored: one such character
    in a report would make every document of the year impossible to write.
    """
    return _XML_FORBIDDEN.sub("", text)


def means_nothing(text: str) -> bool:
    """Tell whether an answer only says "none": "Không có", "không", "chưa có"..."""
    words = "".join(ch if ch.isalnum() else " " for ch in fold(text)).split()
    return " ".join(words) in NOTHING_ANSWERS


def has_content(text: str, *, nothing_allowed: bool = False) -> bool:
    """Tell whether a typed answer says something, rather than only digits, emoji or dots.

    The rule: at least :data:`MIN_WORDS` words that contain a letter and :data:`MIN_LETTERS`
    letters in all ("Đã xong" passes; "2", "😀😀😀", "...", "ok" do not). Where
    ``nothing_allowed`` (difficulties, proposals), a plain "none" ("Không có", "không",
    "chưa có") is an answer too; elsewhere (results) it is not.
    """
    if means_nothing(text):
        return nothing_allowed
    words = [word for word in text.split() if any(ch.isalpha() for ch in word)]
    letters = sum(1 for ch in text if ch.isalpha())
    return len(words) >= MIN_WORDS and letters >= MIN_LETTERS
