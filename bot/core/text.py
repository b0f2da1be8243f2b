"""Text helpers shared by every layer: normalisation, shortening, sorting and splitting."""

from __future__ import annotations

import unicodedata
from functools import cache, lru_cache
from typing import Any

from pyuca import Collator

ELLIPSIS = "…"

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f"}


def normalize(text: str) -> str:
    """Return text in NFC with invisible characters removed and whitespace collapsed."""
    return " ".join(strip_controls(text).split())


def strip_controls(text: str) -> str:
    """Return text in NFC without invisible and control characters (NUL, lone surrogates).

    PostgreSQL stores no NUL in text or JSON, and a lone surrogate cannot be encoded for the
    platforms: such characters would make a report impossible to save or to answer.
    """
    return "".join(
        ch
        for ch in unicodedata.normalize("NFC", text)
        if ch not in _INVISIBLE
        and (ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cs"))
    )


def fold(text: str) -> str:
    """Return a lower-case form without diacritics: "Hoàn thành" ~ "hoan thanh"."""
    decomposed = unicodedata.normalize("NFD", normalize(text).lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return stripped.replace("đ", "d")


def shorten(text: str, limit: int) -> str:
    """Cut a text to at most ``limit`` characters at a word boundary, ending with "…" when cut.

    Whitespace is collapsed first. A single word longer than the limit is cut inside the word
    (still with the ellipsis); punctuation left dangling before the cut is dropped.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    room = text[: limit - 1]
    if text[limit - 1] != " ":  # the cut falls inside a word: go back to its start
        space = room.rfind(" ")
        room = room[:space] if space > 0 else room
    return room.rstrip(" ,;:.-–—(") + ELLIPSIS


# Vietnamese collation (CLDR's "vi" tailoring of the Unicode Collation Algorithm): the letters
# ă â đ ê ô ơ ư are letters of their own, after a, a, d, e, o, o, u; the tones come after the
# letters, in the order huyền, hỏi, ngã, sắc, nặng.
_AFTER_EVERY_LETTER = 0x10000  # above every primary weight of the DUCET table
_VIETNAMESE_LETTERS: tuple[tuple[str, str, int], ...] = (
    ("a", "a\u0306", 1),  # ă
    ("a", "a\u0302", 2),  # â
    ("d", "\u0111", 1),  # đ
    ("e", "e\u0302", 1),  # ê
    ("o", "o\u0302", 1),  # ô
    ("o", "o\u031b", 2),  # ơ
    ("u", "u\u031b", 1),  # ư
)
_TONES = ("\u0300", "\u0309", "\u0303", "\u0301", "\u0323")  # huyền, hỏi, ngã, sắc, nặng


@cache
def _collator() -> Any:
    """Return the Unicode collator with the Vietnamese tailoring (built once, ~0.1 s)."""
    collator: Any = Collator()
    table = collator.table
    for base, letter, rank in _VIETNAMESE_LETTERS:
        for case_base, case_letter in ((base, letter), (base.upper(), _upper(letter))):
            [_key, elements, _rest] = table.find_prefix([ord(case_base)])
            tertiary = elements[0][2]
            extra = [_AFTER_EVERY_LETTER + rank, 0x20, tertiary]
            table.add([ord(ch) for ch in case_letter], [*elements, extra])
    for rank, tone in enumerate(_TONES):
        table.add([ord(tone)], [[0, 0x200 + rank, 0x2]])
    return collator


def _upper(letter: str) -> str:
    return letter[0].upper() + letter[1:] if letter != "\u0111" else "\u0110"


@lru_cache(maxsize=32_768)
def sort_key(text: str) -> bytes:
    """Return the key that sorts texts in Vietnamese alphabetical order.

    "Đài Khí tượng Thủy văn tỉnh" sorts after "Cục Thuế" and before "Sở Xây dựng"; "Ăn" after
    "Anh"; case and tones only break ties. The collation weights are packed three bytes each
    (they stay below 2**24), so that keys compare as the weights do and the keys of every
    member's name stay small in the cache (a name is sorted in every summary).
    """
    weights = _collator().sort_key(normalize(text))
    return b"".join(weight.to_bytes(3, "big") for weight in weights)


def split_message(text: str, limit: int) -> list[str]:
    """Split text into parts of at most ``limit`` characters, at line boundaries when possible."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts
