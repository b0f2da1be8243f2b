"""Text helpers shared by every layer: normalisation and splitting."""

from __future__ import annotations

import unicodedata

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
