"""The Telegram channel: python-telegram-bot's ``Bot`` over the Bot API, nothing else imports it.

Usage::

    channel = TelegramChannel(config, router, database, clock)
    await channel.start()             # getMe, the Vietnamese command menu, webhook or not
    await channel.run(stop_event)     # long polling (or only the worker, in webhook mode)

Every update is committed to the inbox before Telegram is told it arrived: in polling mode the
next ``getUpdates`` offset is sent only after the batch is committed, in webhook mode the HTTP
200 is returned only after the commit (see :mod:`bot.channels.webhook`). A single worker then
processes the inbox in order, each update exactly once (the router marks it processed in the
transaction of its effects); unprocessed updates left by a crash are processed at the next
start. Replies go through :class:`TelegramSender`, which the outbox worker uses as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.base import InboxChannel, Prepared
from bot.channels.connect import Fault, StartError, network_fault
from bot.channels.polling import wait_or_stop
from bot.channels.redaction import protect
from bot.channels.telegram_http import LeanBot
from bot.channels.telegram_parse import integer_ids, to_incoming
from bot.channels.webhook import receive
from bot.config.telegram import TelegramSettings
from bot.config.web import WebSettings
from bot.core.clock import Clock
from bot.core.delivery import Piece, RateLimited, Rejected, Send, Transient, Unreachable
from bot.core.i18n import _, set_language
from bot.core.messages import (
    Choice,
    FileRef,
    FileUnavailable,
    Incoming,
    OutgoingFile,
    Reply,
)
from bot.core.text import split_message
from bot.core.throttle import FloodLimits
from handlers.context import PlatformInfo
from handlers.router import Router
from storage.db import Database, DatabaseError
from storage.inbox import InboxEntry

os.environ.setdefault("PTB_TIMEDELTA", "true")  # opt in to PTB's timedelta durations now

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 4096
WEBHOOK_PATH = "/telegram"
"""The webhook's path on the bot's web server."""
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_TIMEOUT = 25
ALLOWED_UPDATES = ("message", "callback_query")
DOWNLOAD_CHUNK = 64 * 1024
RECORD_RETRY_CAP = 5.0
"""Longest pause between two attempts to record updates while the database is away."""


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    """What the channel needs to know about the bot and the Bot API server."""

    token: str
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    poll_timeout: int = POLL_TIMEOUT
    read_timeout: float = 30.0
    """How long to wait for the Bot API's answer to a request."""
    poll_grace: float = 10.0
    """How long a long poll may take beyond its own wait before it counts as lost."""


class TelegramChannel(InboxChannel):
    """Receive Telegram updates durably, process them through the router, send the replies."""

    name = "telegram"

    def __init__(
        self,
        config: TelegramConfig,
        router: Router,
        database: Database,
        clock: Clock,
        flood: FloodLimits | None = None,
        bot: LeanBot | None = None,
    ) -> None:
        super().__init__(router, database, clock, flood)
        self.config = config
        protect(config.token, config.webhook_secret)
        self.bot = bot or new_bot(config)
        self.sender = TelegramSender(self.bot)
        self.username: str | None = None

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect: learn the bot's name, publish the command menu, set or drop the webhook.

        Raises StartError when Telegram refuses the token or cannot be reached.
        """
        protect(self.config.token, self.config.webhook_secret)
        with _start_faults():
            await self._start()

    async def _start(self) -> None:
        await self.bot.initialize()  # getMe, unless connect() asked already
        self.username = self.bot.username
        set_language("vi")
        commands = [
            BotCommand(name, _(command.description))
            for name, command in self._router.commands.items()
            if name != "start"
        ]
        await self.bot.set_my_commands(commands)
        if self.config.webhook_url:
            await self.bot.set_webhook(
                url=self.config.webhook_url,
                secret_token=self.config.webhook_secret,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        else:
            await self.bot.delete_webhook()
        mode = "webhook" if self.uses_webhook else "polling"
        logger.debug("Telegram bot @%s ready (%s)", self.username, mode)  # the CLI says it

    async def stop(self) -> None:
        """Release the HTTP connections, also after a start that failed half-way."""
        await self.bot.release()

    @property
    def uses_webhook(self) -> bool:
        """Tell whether the platform pushes updates to the webhook instead of being polled."""
        return bool(self.config.webhook_url)

    # --- intake ---------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Serve ``POST /telegram`` when a webhook secret is set (403 for a wrong secret)."""
        if not self.config.webhook_secret:
            return []
        return [web.post(WEBHOOK_PATH, self._webhook)]

    async def _webhook(self, request: web.Request) -> web.Response:
        """Record a Telegram update durably, then acknowledge it."""
        given = request.headers.get(SECRET_HEADER, "")
        secret = self.config.webhook_secret or ""
        return await receive(request, given, secret, 403, self.record, "update")

    async def record(self, payload: dict[str, Any]) -> bool:
        """Commit one raw update to the inbox and wake the worker; False for a redelivery."""
        update_id = payload.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise ValueError("an update needs an integer update_id")
        return await self.record_all([(str(update_id), payload)]) > 0

    async def poll(self, stop: asyncio.Event) -> None:
        """Ask the platform for updates and record them until asked to stop."""
        offset: int | None = None
        backoff = 1.0
        while not stop.is_set():
            fetch = asyncio.create_task(
                self.bot.get_update_payloads(
                    offset, self.config.poll_timeout, ALLOWED_UPDATES, self.config.poll_grace
                )
            )
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():  # asked to stop mid-poll: unconfirmed updates come back later
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, TelegramError):
                    await fetch
                return
            try:
                updates = fetch.result()
                backoff = 1.0
            except RetryAfter as error:
                await wait_or_stop(stop, _seconds(error.retry_after))
                continue
            except (NetworkError, TelegramError) as error:
                logger.warning("getUpdates failed: %s; retrying in %.0f s", error, backoff)
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            numbered = [
                u for u in updates if isinstance(u, dict) and integer_ids(u.get("update_id"))
            ]
            if len(numbered) < len(updates):  # not from Telegram: nothing to record or confirm
                logger.warning("getUpdates gave %d item(s) without an update_id", len(updates))
                if not numbered:  # the offset cannot move: do not ask again at once
                    await wait_or_stop(stop, backoff)
                    backoff = min(backoff * 2, 30.0)
            if not numbered:
                continue
            try:  # a flood stops here; each update is judged once, however often it comes
                await self.record_all((str(u["update_id"]), u) for u in numbered)
            except (DatabaseError, OSError) as error:  # unconfirmed: Telegram sends them again
                logger.warning(
                    "could not record %d update(s): %s; asking again in %.0f s",
                    len(updates),
                    _db_reason(error),
                    backoff,
                )
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, RECORD_RETRY_CAP)
                continue
            # Only now may Telegram forget them: the next call confirms with this offset.
            offset = max(int(u["update_id"]) for u in numbered) + 1

    # --- processing -----------------------------------------------------------------------

    def prepare(self, entry: InboxEntry) -> Prepared | None:
        """Read a Telegram update; a pressed button's spinner is stopped at once."""
        payload = entry.payload
        query = payload.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("id"), str):
            self.spawn(self._answer_query(query["id"]), "answer-query")
        incoming = to_incoming(payload, f"{entry.update_key}.{entry.id}")
        if incoming is None:
            return None
        pressed = None
        if isinstance(query, dict) and isinstance(query.get("message"), dict):
            message_id = query["message"].get("message_id")
            pressed = message_id if integer_ids(message_id) else None
        chat_id = incoming.chat_id
        return Prepared(incoming, lambda replies: self.deliver(chat_id, replies, pressed))

    @property
    def files(self) -> TelegramChannel:
        """Download the files users send through this channel."""
        return self

    def sender_of(self, payload: dict[str, Any]) -> Incoming | None:
        """Read the sender of a raw update (for flood control)."""
        return to_incoming(payload)

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self.bot.answer_query(query_id)
        except TelegramError as error:  # an old query cannot be answered; carry on
            logger.debug("answerCallbackQuery failed: %s", error)

    async def fetch(self, file: FileRef) -> bytes:
        """Download a file a user sent; FileUnavailable if Telegram will not hand it over."""
        try:
            telegram_file = await self.bot.get_file(file.file_id)
            return bytes(await telegram_file.download_as_bytearray())
        except TelegramError as error:  # gone, over getFile's 20 MB, or the network failed
            raise FileUnavailable(str(error)) from error

    async def stream(self, file: FileRef) -> AsyncIterator[bytes]:
        """Download a file a user sent chunk by chunk (the caller caps its size and time).

        FileUnavailable if Telegram will not hand it over.
        """
        try:
            telegram_file = await self.bot.get_file(file.file_id)
        except TelegramError as error:  # gone, over getFile's 20 MB, or the network failed
            raise FileUnavailable(str(error)) from error
        if not telegram_file.file_path:
            raise FileUnavailable("getFile gave no file path")
        timeout = aiohttp.ClientTimeout(sock_connect=10, sock_read=self.config.read_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(telegram_file.file_path) as response,
            ):
                if response.status != 200:
                    raise FileUnavailable(f"HTTP {response.status}")
                async for chunk in response.content.iter_chunked(DOWNLOAD_CHUNK):
                    yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            raise FileUnavailable(f"{type(error).__name__}: {error}") from error


def config_from(settings: TelegramSettings, web: WebSettings) -> TelegramConfig:
    """Make the channel's configuration from the Telegram settings and the web server's."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret
    return TelegramConfig(
        token=settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_file_url,
        webhook_url=web.webhook_url(WEBHOOK_PATH),
        webhook_secret=secret.get_secret_value() if secret else None,
    )


def new_bot(config: TelegramConfig) -> LeanBot:
    """Make the bot's client for the Bot API server of ``config`` (not connected yet)."""
    return LeanBot(
        config.token,
        base_url=config.base_url,
        base_file_url=config.base_file_url,
        read_timeout=config.read_timeout,
        poll_grace=config.poll_grace,
    )


async def connect(config: TelegramConfig) -> LeanBot:
    """Make the bot's client and ask Telegram who the bot is (getMe).

    Raises StartError when Telegram refuses the token or cannot be reached (the client is
    then closed).
    """
    protect(config.token, config.webhook_secret)
    bot = new_bot(config)
    try:
        with _start_faults():
            await bot.initialize()
    except StartError:
        await bot.release()
        raise
    return bot


@contextlib.contextmanager
def _start_faults() -> Iterator[None]:
    """Turn a refused token and network failures at start-up into a StartError."""
    try:
        yield
    except InvalidToken as error:  # getMe answered 401 or 404
        raise StartError("telegram", Fault.BAD_TOKEN, str(error)) from error
    except NetworkError as error:  # TimedOut included
        raise StartError("telegram", network_fault(error), str(error)) from error


class TelegramSender:
    """Send replies and notifications through the Bot API, one attempt per request.

    Telegram's errors become the shared :class:`~bot.core.delivery.DeliveryError` kinds here
    and nowhere else (see :func:`_delivery_errors`).
    """

    label = "Telegram"
    numbered = False  # choices are buttons

    def __init__(self, bot: LeanBot) -> None:
        self._bot = bot

    def pieces(
        self, chat_id: str, reply: Reply, edit_message_id: int | None = None
    ) -> list[Piece]:
        """Return the requests of a reply: its text split under the limit, then its files.

        The buttons go with the last part; a reply marked ``edit`` replaces the message whose
        button was pressed with its first part.
        """
        parts = split_message(reply.text, MESSAGE_LIMIT)
        markup = keyboard(reply.choices)
        pieces = [
            Piece(
                self._text(
                    chat_id,
                    part,
                    markup if index == len(parts) - 1 else None,
                    edit_message_id if reply.edit and index == 0 else None,
                )
            )
            for index, part in enumerate(parts)
        ]
        pieces.extend(
            Piece(partial(self._document, chat_id, file), file.file_name) for file in reply.files
        )
        return pieces

    def _text(
        self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None, edit_id: int | None
    ) -> Send:
        async def send() -> None:
            nonlocal edit_id  # forgotten once the edit failed: a retry sends a new message
            with _delivery_errors():
                if edit_id is not None:
                    try:
                        await self._bot.edit_text(chat_id, edit_id, text, markup)
                        return
                    except BadRequest as error:
                        if "not modified" in str(error).lower():
                            return  # it shows this text already (a retried edit that took)
                        logger.debug("edit failed (%s); sending a new message", error)
                        edit_id = None
                await self._bot.send_text(chat_id, text, markup)

        return send

    async def _document(self, chat_id: str, file: OutgoingFile) -> None:
        with _delivery_errors():
            await self._bot.send_document(
                chat_id, InputFile(file.content, filename=file.file_name)
            )


@contextlib.contextmanager
def _delivery_errors() -> Iterator[None]:
    """Turn Telegram's errors into the shared kinds: what to do about them is the policy's."""
    try:
        yield
    except RetryAfter as error:
        raise RateLimited(_seconds(error.retry_after)) from error
    except Forbidden as error:  # blocked by the user, kicked from the group
        raise Unreachable(str(error)) from error
    except BadRequest as error:  # before NetworkError: PTB makes it a subclass
        if "chat not found" in str(error).lower():
            raise Unreachable(str(error)) from error
        raise Rejected(str(error)) from error
    except TelegramError as error:  # NetworkError, TimedOut, a server error
        raise Transient(str(error)) from error


def describe(username: str | None) -> PlatformInfo:
    """Describe Telegram for the conversations: links to the bot need its username."""
    if not username:
        return PlatformInfo("telegram", "Telegram")
    link = f"https://t.me/{username.lstrip('@')}"
    return PlatformInfo("telegram", "Telegram", link, link + "?start={code}")


def keyboard(rows: Sequence[Sequence[Choice]]) -> InlineKeyboardMarkup | None:
    """Turn choices into an inline keyboard."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(c.label, callback_data=c.payload) for c in row] for row in rows]
    )


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _db_reason(error: BaseException) -> str:
    """The database's own words for an error, without the SQL and the payloads it carried."""
    return str(getattr(error, "orig", None) or error).strip() or type(error).__name__
