"""Secrets never reach a log: the tokens and webhook secrets are cut from every record.

Libraries log what they were given: python-telegram-bot logs the Bot API URL, which holds the
token, and at DEBUG every update it fetched (the users' messages, invitation codes among them).
:func:`protect` is called by each channel at start-up with its secrets; from then on every log
record, of any logger and level, has them replaced by ``***`` in its message and traceback,
whatever handler writes it. The DEBUG output of python-telegram-bot (the updates' content) and
aiosqlite (every SQL parameter) is not emitted at all; SQLAlchemy's echo hides the parameters.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

REDACTED = "***"
MIN_SECRET_LENGTH = 6
"""Shorter values are not treated as secrets (cutting them would garble ordinary text)."""
CONTENT_LOGGERS = ("telegram", "aiosqlite")
"""Libraries whose DEBUG records carry what users wrote (updates, SQL parameters); held at INFO."""

_secrets: tuple[str, ...] = ()
_lock = threading.Lock()
_installed = False


def protect(*secrets: str | None) -> None:
    """Redact these values from every log record from now on (and install the redaction)."""
    global _secrets, _installed
    with _lock:
        known = set(_secrets)
        known.update(s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH)
        _secrets = tuple(sorted(known, key=len, reverse=True))  # a longer one may hold another
        if not _installed:
            _installed = True
            _install()
    for name in CONTENT_LOGGERS:
        content = logging.getLogger(name)
        if content.getEffectiveLevel() < logging.INFO:
            content.setLevel(logging.INFO)


def redact(text: str) -> str:
    """Return the text with every known secret replaced."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def _install() -> None:
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if _secrets:
            _clean(record)
        return record

    logging.setLogRecordFactory(redacting_record)


def _clean(record: logging.LogRecord) -> None:
    """Cut the secrets from a record's message, traceback and stack."""
    try:
        message = record.getMessage()
    except Exception:  # a wrong format string: logging reports it itself
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        cleaned = redact(text)
        if cleaned != text:
            record.exc_text = cleaned  # the formatters print this instead of formatting anew
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
