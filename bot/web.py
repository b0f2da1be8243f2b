"""The bot's aiohttp application: the Telegram and Zalo webhooks and a health check.

Served by :class:`WebhookServer`, which bounds what a client can hold: a request's header
must arrive within ``header_timeout`` seconds of connecting (or of the previous answer on
the connection), its body within ``body_timeout`` seconds (408 otherwise), and at most
``max_connections`` connections are open at once; beyond that a new connection is closed at
once (the platforms deliver again later). In production a reverse proxy (nginx) terminates
TLS in front of it and applies the same kind of limits (see docs/architecture.md).

``POST /telegram`` accepts an update only with the right ``X-Telegram-Bot-Api-Secret-Token``
(compared in constant time; 403 otherwise, nothing recorded), refuses bodies over 1 MB (413)
and what is not JSON the bot can store and answer (400: see ``_parse``), and answers 200 only
after the update is committed to the inbox: while the database is away it answers 503, and
the platform delivers the update again later (flood control judges it only once).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.redaction import protect
from bot.channels.registry import TELEGRAM, ZALO
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a whole request header (from connecting, or between requests)."""
BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request body once its header arrived."""
MAX_CONNECTIONS = 256
"""Connections open at once; well under the usual limit of 1,024 open files per process."""
LINGERING_TIME = 2.0
"""Seconds to read what is left of a refused request's body before closing (aiohttp: 10)."""
REFUSAL_LOG_INTERVAL = 60.0
"""Seconds between two warnings that connections are being refused."""
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TELEGRAM_PATH = TELEGRAM.webhook_path
ZALO_PATH = ZALO.webhook_path
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_DEPTH = 64
"""Deepest nesting accepted in a body; real updates nest about ten levels."""
CHANNEL_KEY = web.AppKey("telegram", TelegramChannel)
ZALO_KEY = web.AppKey("zalo", ZaloChannel)
ZALO_SECRET_KEY = web.AppKey("zalo_secret", str)
SECRET_KEY = web.AppKey("telegram_secret", str)
BODY_TIMEOUT_KEY = web.AppKey("body_timeout", float)


def create_app(
    telegram: TelegramChannel | None,
    secret: str | None,
    zalo: ZaloChannel | None = None,
    zalo_secret: str | None = None,
    *,
    body_timeout: float = BODY_TIMEOUT,
) -> web.Application:
    """Build the web application; a webhook route exists only with its channel and secret."""
    protect(secret, zalo_secret)
    app = web.Application(client_max_size=MAX_BODY)
    app[BODY_TIMEOUT_KEY] = body_timeout
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
        async with asyncio.timeout(request.app[BODY_TIMEOUT_KEY]):
            body = await request.read()
    except TimeoutError:  # a client that trickles its body holds a connection for nothing
        logger.warning("webhook call to %s: the body came too slowly", request.path)
        response = web.json_response({"ok": False, "error": "too slow"}, status=408)
        response.force_close()  # and not wait for the rest of the body
        return response
    try:
        payload: Any = _parse(body)
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


class WebhookServer:
    """Serve the web application on a host and port, with the limits of a public endpoint.

    Usage::

        server = WebhookServer(create_app(telegram, secret), "127.0.0.1", 8080)
        await server.start()
        ...
        await server.cleanup()
    """

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        header_timeout: float = HEADER_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.host, self.port = host, port
        self.max_connections = max_connections
        # aiohttp arms its keep-alive timer when a connection opens and after each answer,
        # and closes the connection if no whole request header has come by then.
        self._runner = web.AppRunner(
            app, keepalive_timeout=header_timeout, lingering_time=LINGERING_TIME
        )
        self._listener: asyncio.Server | None = None
        self._refused = 0
        self._warned_at: float | None = None

    async def start(self) -> None:
        """Listen; ``port`` then holds the port (useful with port 0)."""
        await self._runner.setup()
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(self._connection, self.host, self.port)
        self.port = int(self._listener.sockets[0].getsockname()[1])

    async def cleanup(self) -> None:
        """Stop listening, finish the requests in hand and close every connection."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        await self._runner.cleanup()

    def _connection(self) -> asyncio.BaseProtocol:
        """Make a new connection's protocol: aiohttp's, or a refusal when too many are open."""
        handlers = self._runner.server
        assert handlers is not None
        if len(handlers.connections) < self.max_connections:
            return handlers()
        self._refused += 1
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= REFUSAL_LOG_INTERVAL:
            self._warned_at = now
            logger.warning(
                "%d connection(s) to the webhook refused: %d are open already",
                self._refused,
                self.max_connections,
            )
            self._refused = 0
        return _Refusal()


class _Refusal(asyncio.Protocol):
    """Close a connection as soon as it is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        else:
            transport.close()
