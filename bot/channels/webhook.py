"""A platform's webhook: the checks every pushed update passes before it is recorded.

An adapter serves its webhook route (``routes()``, see :mod:`bot.channels.adapter`) with
:func:`receive`: the secret header compared in constant time (the platform's refusal code
otherwise, nothing recorded), the body read within the server's body timeout (408), at most
:data:`MAX_BODY` bytes (413, by the application's ``client_max_size``), JSON the bot can store
and answer (400: see :func:`_parse`), and 200 only after the update is committed to the inbox:
while the database is away the answer is 503, and the platform delivers the update again
(flood control judges it only once).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from storage.db import DatabaseError

logger = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
"""The largest webhook body (the web application's ``client_max_size``)."""
BODY_TIMEOUT = 30.0
"""Seconds a client has to send a request body once its header arrived."""
MAX_DEPTH = 64
"""Deepest nesting accepted in a body; real updates nest about ten levels."""
BODY_TIMEOUT_KEY = web.AppKey("body_timeout", float)


async def receive(
    request: web.Request,
    given: str,
    secret: str,
    refused: int,
    record: Callable[[dict[str, Any]], Awaitable[bool]],
    what: str,
) -> web.Response:
    """Check the secret, parse the body, record it; the platforms differ only in the details."""
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        logger.warning(
            "webhook call to %s with a wrong secret from %s", request.path, request.remote
        )
        return web.json_response({"ok": False}, status=refused)
    try:
        async with asyncio.timeout(request.app.get(BODY_TIMEOUT_KEY, BODY_TIMEOUT)):
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
    except (DatabaseError, OSError) as error:  # not recorded: the platform delivers it again
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
