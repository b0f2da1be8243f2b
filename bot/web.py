"""The bot's aiohttp application: each platform's webhook, and a health check.

:func:`create_app` adds the routes every adapter serves (``routes()`` of
:class:`~bot.channels.adapter.ChannelAdapter`: a webhook, only when its secret is set; the
checks a webhook body passes are :func:`bot.channels.webhook.receive`'s) and ``GET /healthz``.
A page of the bot's own goes here too.

Served by :class:`WebhookServer`, which bounds what a client can hold: a request's header
must arrive within ``header_timeout`` seconds of connecting (or of the previous answer on
the connection), its body within ``body_timeout`` seconds (408 otherwise), and at most
``max_connections`` connections are open at once; beyond that a new connection is closed at
once (the platforms deliver again later). In production a reverse proxy (nginx) terminates
TLS in front of it and applies the same kind of limits (see docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from aiohttp import web

from bot.api import ApiServices, add_routes
from bot.channels.adapter import ChannelAdapter
from bot.channels.webhook import BODY_TIMEOUT, BODY_TIMEOUT_KEY, MAX_BODY
from bot.dashboard import Dashboard, dashboard_app

logger = logging.getLogger(__name__)

ABOUT_KEY: web.AppKey[Callable[[], dict[str, object]] | None] = web.AppKey("about")
HEADER_TIMEOUT = 10.0
"""Seconds a client has to send a whole request header (from connecting, or between requests)."""
MAX_CONNECTIONS = 256
"""Connections open at once; well under the usual limit of 1,024 open files per process."""
LINGERING_TIME = 2.0
"""Seconds to read what is left of a refused request's body before closing (aiohttp: 10)."""
REFUSAL_LOG_INTERVAL = 60.0
"""Seconds between two warnings that connections are being refused."""


def create_app(
    channels: Iterable[ChannelAdapter],
    *,
    body_timeout: float = BODY_TIMEOUT,
    about: Callable[[], dict[str, object]] | None = None,
    dashboard: Dashboard | None = None,
    api: ApiServices | None = None,
) -> web.Application:
    """Build the web application: the routes each channel serves, and the health check.

    ``about`` adds to the health check's answer what the runtime says of this instance
    (its id, and whether it leads). ``dashboard`` serves the web dashboard under ``/web/``;
    ``api`` serves the read-only API and the download links (:mod:`bot.api`).
    """
    app = web.Application(client_max_size=MAX_BODY)
    app[BODY_TIMEOUT_KEY] = body_timeout
    app[ABOUT_KEY] = about
    app.router.add_get("/healthz", health)
    for channel in channels:
        app.router.add_routes(channel.routes())
    if dashboard is not None:
        app.add_subapp("/web/", dashboard_app(dashboard))
    add_routes(app, api)
    return app


async def health(request: web.Request) -> web.Response:
    """Answer that the process is up (and, from the runtime, its instance and leadership)."""
    about = request.app[ABOUT_KEY]
    return web.json_response({"status": "ok", **(about() if about is not None else {})})


class WebhookServer:
    """Serve the web application on a host and port, with the limits of a public endpoint.

    Usage::

        server = WebhookServer(create_app(channels), "127.0.0.1", 8080)
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
