"""The API's door: a Bearer key on every call, and one log line per call without the key.

A missing, malformed, unknown or revoked key gets the same 401 (a body that says only
``unauthorized``, and ``WWW-Authenticate: Bearer``), so a caller learns nothing about keys.
The OpenAPI document is public: it describes the API, it holds no data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.api.services import API_PREFIX, SERVICES
from storage.db import DatabaseError
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

PUBLIC = frozenset({API_PREFIX + "/openapi.json"})
"""Paths that need no key."""


def unauthorized() -> web.Response:
    """The one answer to every call without a valid key."""
    return web.json_response(
        {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": "Bearer"}
    )


def unavailable() -> web.Response:
    """The answer while the database is away: try again later."""
    return web.json_response({"error": "unavailable"}, status=503, headers={"Retry-After": "5"})


def bearer(request: web.Request) -> str | None:
    """Return the key of an ``Authorization: Bearer KEY`` header, or None."""
    scheme, _space, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key and len(key) <= 200 else None


@web.middleware
async def authenticate(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Let a call through with a valid key, log it (never the key), refuse it otherwise."""
    started = time.perf_counter()
    path = request.path
    key = bearer(request)
    name = None
    try:
        if key is not None:
            async with UnitOfWork(request.app[SERVICES].database).reading() as reads:
                found = await reads.api_keys.active(key)
            name = found.name if found is not None else None
    except (DatabaseError, OSError) as error:
        logger.warning("API call not answered, the database is unavailable: %s", error)
        return unavailable()
    if name is None and path not in PUBLIC:
        logger.warning("API call refused (no valid key): %s %s", request.method, path)
        return unauthorized()
    status = 500
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    except (DatabaseError, OSError) as error:
        logger.warning("API call not answered, the database is unavailable: %s", error)
        status = 503
        return unavailable()
    finally:
        logger.info(
            "API call by %s: %s %s, answered %d in %d ms",
            name or "-",
            request.method,
            request.path_qs,
            status,
            round((time.perf_counter() - started) * 1000),
        )
