"""The flash message an action leaves for the next page: a short-lived cookie, signed.

The signature is an HMAC keyed by the session's CSRF token, so that neither another site nor
another session can put words on a page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from aiohttp import web

from bot.dashboard.config import CSRF_KEY

OK = "ok"
WARNING = "warning"
ERROR = "error"
FLASH_COOKIE = "pgibot_flash"
TEXT_LIMIT = 600


@dataclass(frozen=True, slots=True)
class Flash:
    """The message the page after an action shows once: ``ok``, ``warning`` or ``error``."""

    kind: str
    text: str


def _signature(request: web.Request, body: str) -> str:
    key = request.get(CSRF_KEY, "")
    return hmac.new(key.encode(), b"flash:" + body.encode(), hashlib.sha256).hexdigest()[:32]


def seal(request: web.Request, flash: Flash) -> str:
    """Return the cookie value that carries a flash message to the next page."""
    body = (
        base64.urlsafe_b64encode(
            json.dumps([flash.kind, flash.text[:TEXT_LIMIT]], ensure_ascii=False).encode()
        )
        .decode()
        .rstrip("=")
    )
    return f"{body}.{_signature(request, body)}"


def read_flash(request: web.Request) -> Flash | None:
    """Return the flash message an action left for this page, if it is genuine."""
    sealed = request.cookies.get(FLASH_COOKIE, "")
    body, _dot, signature = sealed.partition(".")
    if not body or len(sealed) > 4000 or not request.get(CSRF_KEY):
        return None
    if not hmac.compare_digest(signature, _signature(request, body)):
        return None
    try:
        kind, text = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, TypeError):
        return None
    if kind not in (OK, WARNING, ERROR) or not isinstance(text, str):
        return None
    return Flash(kind, text)
