"""The bot's aiohttp application: the Telegram webhook and a health check.

``POST /telegram`` accepts an update only with the right ``X-Telegram-Bot-Api-Secret-Token``
(compared in constant time; 403 otherwise, nothing recorded), refuses bodies over 1 MB and
non-JSON, and answers 200 only after the update is committed to the inbox.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web

from bot.channels.telegram import TelegramChannel

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_PATH = "/telegram"
CHANNEL_KEY = web.AppKey("telegram", TelegramChannel)
SECRET_KEY = web.AppKey("telegram_secret", str)


def create_app(telegram: TelegramChannel | None, secret: str | None) -> web.Application:
    """Build the web application; the webhook route exists only with a channel and a secret."""
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get("/healthz", health)
    if telegram is not None and secret:
        app[CHANNEL_KEY] = telegram
        app[SECRET_KEY] = secret
        app.router.add_post(TELEGRAM_PATH, telegram_webhook)
    return app


async def health(request: web.Request) -> web.Response:
    """Answer that the process is up."""
    return web.json_response({"status": "ok"})


async def telegram_webhook(request: web.Request) -> web.Response:
    """Record a Telegram update durably, then acknowledge it."""
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), request.app[SECRET_KEY].encode()):
        logger.warning("webhook call with a wrong secret from %s", request.remote)
        return web.json_response({"ok": False}, status=403)
    try:
        payload: Any = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return web.json_response({"ok": False, "error": "not JSON"}, status=400)
    if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
        return web.json_response({"ok": False, "error": "not an update"}, status=400)
    await request.app[CHANNEL_KEY].record(payload)
    return web.json_response({"ok": True})
