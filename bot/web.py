"""The bot's aiohttp application: the Telegram webhook and a health check.

``POST /telegram`` accepts an update only with the right ``X-Telegram-Bot-Api-Secret-Token``
(compared in constant time; 403 otherwise, nothing recorded), refuses bodies over 1 MB (413)
and what is not JSON the bot can store and answer (400: see ``_parse``), and answers 200 only
after the update is committed to the inbox: while the database is away it answers 503, and
the platform delivers the update again later (flood control judges it only once).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.redaction import protect
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_PATH = "/telegram"
ZALO_PATH = "/zalo"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_DEPTH = 64
"""Deepest nesting accepted in a body; real updates nest about ten levels."""
CHANNEL_KEY = web.AppKey("telegram", TelegramChannel)
ZALO_KEY = web.AppKey("zalo", ZaloChannel)
ZALO_SECRET_KEY = web.AppKey("zalo_secret", str)
SECRET_KEY = web.AppKey("telegram_secret", str)


def create_app(
    telegram: TelegramChannel | None,
    secret: str | None,
    zalo: ZaloChannel | None = None,
    zalo_secret: str | None = None,
) -> web.Application:
    """Build the web application; a webhook route exists only with its channel and secret."""
    protect(secret, zalo_secret)
    app = web.Application(client_max_size=MAX_BODY)
    app.router.add_get("/healthz", health)
    if telegram is not None and secret:
        app[CHANNEL_KEY] = telegram
        app[SECRET_KEY] = secret
        app.router.add_post(TELEGRAM_PATH, telegram_webhook)
    if zalo is not None and zalo_secret:
        app[ZALO_KEY] = zalo
        app[ZALO_SECRET_KEY] = zalo_secret
        app.router.add_post(ZALO_PATH, zalo_webhook)
    return app


async def health(request: web.Request) -> web.Response:
    """Answer that the process is up."""
    return web.json_response({"status": "ok"})


async def telegram_webhook(request: web.Request) -> web.Response:
    """Record a Telegram update durably, then acknowledge it."""
    telegram = request.app[CHANNEL_KEY]
    given = request.headers.get(SECRET_HEADER, "")
    return await _record(request, given, request.app[SECRET_KEY], 403, telegram.record, "update")


async def zalo_webhook(request: web.Request) -> web.Response:
    """Record a Zalo event durably (flat or wrapped body), then acknowledge it."""
    zalo = request.app[ZALO_KEY]
    given = request.headers.get(ZALO_SECRET_HEADER, "")
    secret = request.app[ZALO_SECRET_KEY]
    return await _record(request, given, secret, 401, zalo.record_event, "event")


async def _record(
    request: web.Request,
    given: str,
    secret: str,
    refused: int,
    record: Callable[[dict[str, Any]], Awaitable[bool]],
    what: str,
) -> web.Response:
    """Check the secret, parse the body, record it; the platforms differ only in the details."""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        logger.warning(
            "webhook call to %s with a wrong secret from %s", request.path, request.remote
        )
        return web.json_response({"ok": False}, status=refused)
    try:
        payload: Any = _parse(await request.read())
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        return web.json_response({"ok": False, "error": "not JSON"}, status=400)
    if not isinstance(payload, dict):
        return web.json_response({"ok": False, "error": f"not an {what}"}, status=400)
    try:
        await record(payload)
    except ValueError:  # no update id, or not an event
        return web.json_response({"ok": False, "error": f"not an {what}"}, status=400)
    except (SQLAlchemyError, OSError) as error:  # not recorded: the platform delivers it again
        logger.warning(
            "could not record a webhook %s: %s; the platform will deliver it again",
            what,
            _db_reason(error),
        )
        return web.json_response({"ok": False, "error": "try again later"}, status=503)
    return web.json_response({"ok": True})


def _parse(body: bytes) -> Any:
    """Parse a webhook body; ValueError for what is not JSON the bot could store and answer.

    Python's parser also reads NaN and Infinity, which are not JSON (PostgreSQL refuses them),
    and escaped lone surrogates (half a UTF-16 pair), which no database text and no reply can
    carry; JSON nested a little less than the parser's limit parses here, then fails to be
    stored (a server error instead of a refusal), hence ``MAX_DEPTH``.
    """
    payload = json.loads(body, parse_constant=_not_json)
    stack = [(payload, 1)]
    while stack:  # without recursion, for the same reason
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError("nested too deep")
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((inner, depth + 1) for inner in item.values())
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            item.encode()  # UnicodeEncodeError (a ValueError) for a lone surrogate
    return payload


def _db_reason(error: BaseException) -> str:
    """The database's own words for an error, without the SQL and the payloads it carried."""
    return str(getattr(error, "orig", None) or error).strip() or type(error).__name__


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")
