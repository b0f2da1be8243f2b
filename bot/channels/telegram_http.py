"""python-telegram-bot's HTTP requests made with aiohttp instead of httpx, and ``LeanBot``.

python-telegram-bot lets the transport be replaced (``telegram.request.BaseRequest``). aiohttp,
already the bot's web server and Zalo client, parses HTTP in C: a ``sendMessage`` through PTB
takes 0.41 ms with this transport and 0.93–1.24 ms with httpx (``python -m
benchmarks.telegram_transport``, fake Bot API in the same process, 27/11/2026), and the bot
makes two or three requests per update it answers.
Timeouts become PTB's ``TimedOut`` and connection failures its ``NetworkError``, as with the
default transport, so the rest of the adapter sees no difference.
The standard proxy variables are honoured (``HTTPS_PROXY``/``https_proxy``, ``HTTP_PROXY``,
``NO_PROXY``): a provincial server often reaches the Internet only through a proxy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiohttp
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` over one aiohttp session with a bounded connection pool."""

    def __init__(
        self,
        *,
        connection_pool_size: int = 16,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout, which PTB adds to a long poll's own timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (PTB calls this from ``Bot.initialize``)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size)
            self._session = aiohttp.ClientSession(connector=connector, trust_env=True)

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the status code and the body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else None
        write = _default(
            write_timeout, self._media_write_timeout if files else self._write_timeout
        )
        connect = _default(connect_timeout, self._connect_timeout)
        read = _default(read_timeout, self._read_timeout)
        pool = _default(pool_timeout, self._pool_timeout)
        timeout = aiohttp.ClientTimeout(
            total=_sum(write, read) if files else None,  # an upload: sending, then the answer
            connect=_sum(pool, connect),  # waiting for a free connection, then connecting
            sock_connect=connect,
            sock_read=read,
        )
        headers = {"User-Agent": self.USER_AGENT}
        data: Any = None
        if files and request_data is not None:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():
                form.add_field(name, value)
            for name, (file_name, content, mime_type) in files.items():
                form.add_field(name, content, filename=file_name, content_type=mime_type)
            data = form
        elif request_data is not None and request_data.parameters:
            # A JSON body, which the Bot API takes as well as a form: encoded in C, where a
            # form percent-encodes every byte of a Vietnamese text in Python.
            data = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error


def _default(given: Any, fallback: float | None) -> float | None:
    """The timeout PTB passed, or ours when it passed its "default" marker."""
    if isinstance(given, type(BaseRequest.DEFAULT_NONE)):
        return fallback
    return float(given) if given is not None else None


def _sum(first: float | None, second: float | None) -> float | None:
    if first is None or second is None:
        return None
    return first + second


class LeanBot(Bot):
    """PTB's ``Bot``, with two ways around object building on the bot's busiest paths.

    ``getUpdates`` hands over the updates as the JSON they came in (the inbox stores JSON, and
    the worker parses each update once, as for a webhook), and text messages are sent without
    turning Telegram's echo of the message into a ``Message`` nobody reads. Both go through
    PTB's own request path (``Bot._post``): parameters, transport and errors (``RetryAfter``,
    ``Forbidden``, ``BadRequest``, ``NetworkError``) are PTB's, as with the public methods.
    Parsing the updates and the sent messages was a quarter of the bot's CPU at full load.

    It makes its own two transports: one for the long poll, one for everything else.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str,
        base_file_url: str,
        read_timeout: float,
        poll_grace: float,
    ) -> None:
        self._transports = (
            AiohttpRequest(connection_pool_size=16, read_timeout=read_timeout, write_timeout=60),
            AiohttpRequest(connection_pool_size=1, read_timeout=poll_grace),
        )
        super().__init__(
            token,
            base_url=base_url,
            base_file_url=base_file_url,
            request=self._transports[0],
            get_updates_request=self._transports[1],
        )

    async def release(self) -> None:
        """Release the HTTP connections, also after an ``initialize`` that failed half-way.

        Not ``close``: that is the Bot API's method that logs the bot out of its server.
        """
        await self.shutdown()
        for transport in self._transports:  # PTB skips them when initialize() did not finish
            await transport.shutdown()

    async def get_update_payloads(
        self, offset: int | None, wait: int, allowed_updates: Sequence[str], read_timeout: float
    ) -> list[Any]:
        """Long-poll for updates (``wait`` seconds at most); return them unparsed."""
        result = await self._post(
            "getUpdates",
            {"offset": offset, "timeout": wait, "allowed_updates": list(allowed_updates)},
            read_timeout=read_timeout + wait,
        )
        if not isinstance(result, list):
            raise TelegramError(f"getUpdates answered {type(result).__name__}, not a list")
        return result

    async def send_text(
        self, chat_id: str, text: str, reply_markup: InlineKeyboardMarkup | None
    ) -> None:
        """Send a text message (``sendMessage``), not reading back what Telegram made of it."""
        await self._post(
            "sendMessage", {"chat_id": chat_id, "text": text, "reply_markup": reply_markup}
        )

    async def answer_query(self, query_id: str) -> None:
        """Stop a pressed button's spinner (``answerCallbackQuery``), with no text."""
        await self._post("answerCallbackQuery", {"callback_query_id": query_id})

    async def edit_text(
        self, chat_id: str, message_id: int, text: str, reply_markup: InlineKeyboardMarkup | None
    ) -> None:
        """Replace a message's text and buttons (``editMessageText``), unread likewise."""
        await self._post(
            "editMessageText",
            {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "reply_markup": reply_markup,
            },
        )
