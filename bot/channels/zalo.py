"""The Zalo channel: the Zalo Bot Platform (Telegram-like, text only, 1:1 chats) over aiohttp.

Usage::

    channel = ZaloChannel(ZaloConfig(token), router, database, clock)
    await channel.start()            # getMe, and set or drop the webhook
    await channel.run(stop_event)    # polling (or only the worker, in webhook mode)

Zalo has no buttons: choices are sent as numbered lines and answered by number (or by typing
the label, with or without diacritics). Messages longer than 2000 characters are split at line
boundaries. ``getUpdates`` has no offset and returns one update, which Zalo forgets once it
is returned: each update is committed to the inbox before the next poll. Webhook events carry
no update id; they are keyed by event name and message id, so a redelivery is recorded once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp import web

from bot.channels.base import InboxChannel, Prepared
from bot.channels.connect import Fault, StartError, network_fault
from bot.channels.polling import wait_or_stop
from bot.channels.redaction import protect
from bot.channels.webhook import receive
from bot.channels.zalo_parse import event_key, to_incoming
from bot.config.web import WebSettings
from bot.config.zalo import ZaloSettings
from bot.core.clock import Clock
from bot.core.delivery import (
    DeliveryError,
    Piece,
    RateLimited,
    Rejected,
    Send,
    Transient,
    Unreachable,
)
from bot.core.i18n import _, format_moment
from bot.core.messages import (
    FileRef,
    FileUnavailable,
    Incoming,
    OutgoingFile,
    Reply,
    numbered_text,
)
from bot.core.text import split_message
from bot.core.throttle import FloodLimits
from handlers import replies
from handlers.context import PlatformInfo
from handlers.downloads import DownloadLinks
from handlers.router import Router
from storage.db import Database, DatabaseError
from storage.inbox import InboxEntry
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000
WEBHOOK_PATH = "/zalo"
"""The webhook's path on the bot's web server."""
SECRET_HEADER = "X-Bot-Api-Secret-Token"
POLL_TIMEOUT = 10
"""Seconds a poll may wait; also the longest a stop waits for the poll in flight."""
DOWNLOAD_LIMIT = 20 * 1024 * 1024
"""The largest evidence file (see handlers.evidence); a download stops one chunk past it."""
RETRY_AFTER = 5.0
"""Seconds to wait after a 429: Zalo publishes no ``retry_after``."""
DOWNLOAD_HOSTS = ("zdn.vn", "zadn.vn", "zalo.me", "zaloapp.com", "zapps.me", "zaloplatforms.com")
"""Where Zalo serves the photos users send (its CDN); a host matches itself and its subdomains."""
MAX_REDIRECTS = 3
RECORD_ATTEMPTS = 5
"""Attempts to record an event the database refuses before it is set aside."""
RECORD_RETRY_CAP = 5.0
"""Longest pause between two attempts to record an event while the database is away."""


@dataclass(frozen=True, slots=True)
class ZaloConfig:
    """What the channel needs to know about the bot and the API server."""

    token: str
    base_url: str = "https://bot-api.zaloplatforms.com/bot"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    poll_timeout: int = POLL_TIMEOUT
    request_timeout: float | None = None
    """How long a whole request may take; None: the poll timeout and 15 s more."""
    download_hosts: tuple[str, ...] = DOWNLOAD_HOSTS
    """The only hosts (and their subdomains) the bot downloads users' photos from."""
    retry_after: float = RETRY_AFTER
    """Seconds to wait after a 429, which carries no ``retry_after`` on Zalo."""


class ZaloApiError(Exception):
    """The Bot Platform answered with an error."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description


class ZaloClient:
    """A small JSON client for the Bot Platform; the token never reaches a log."""

    def __init__(self, config: ZaloConfig) -> None:
        self._url = f"{config.base_url}{config.token}/"
        self._download_hosts = tuple(h.lower().strip(".") for h in config.download_hosts)
        self._session: aiohttp.ClientSession | None = None
        self._timeout = (
            config.request_timeout
            if config.request_timeout is not None
            else config.poll_timeout + 15
        )

    async def open(self) -> None:
        """Create the HTTP session."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                trust_env=True,  # HTTPS_PROXY / NO_PROXY: a server behind an outbound proxy
            )

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, **params: Any) -> Any:
        """Call a method; return its result or raise ZaloApiError."""
        await self.open()
        assert self._session is not None
        try:
            async with self._session.post(self._url + method, json=params) as response:
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ZaloApiError(0, type(error).__name__) from error
        if not isinstance(body, dict):
            raise ZaloApiError(status, "not a JSON answer")
        if not body.get("ok"):
            code = int(body.get("error_code") or status)
            raise ZaloApiError(code, str(body.get("description", "")))
        return body.get("result")

    async def stream(self, url: str) -> AsyncGenerator[bytes, None]:
        """Download a file (a photo a user sent) chunk by chunk.

        Raises FileUnavailable when the address is gone, malformed or unreachable, or is not
        on one of Zalo's hosts (``download_hosts``): an event names the address, and the bot
        must not fetch whatever a forged one points at (an internal service, say). Redirects
        are followed only to those hosts.
        """
        await self.open()
        assert self._session is not None
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                self._check_host(url)
                async with self._session.get(url, allow_redirects=False) as response:
                    if response.status in (301, 302, 303, 307, 308):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    response.raise_for_status()
                    async for chunk in response.content.iter_chunked(64 * 1024):
                        yield chunk
                    return
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
            raise FileUnavailable(f"{type(error).__name__}: {error}") from error
        raise FileUnavailable("too many redirects")

    async def download(self, url: str, limit: int = DOWNLOAD_LIMIT) -> bytes:
        """Download a file as :meth:`stream` does, at most ``limit`` bytes and one more."""
        content = bytearray()
        async with contextlib.aclosing(self.stream(url)) as chunks:
            async for chunk in chunks:
                content += chunk
                if len(content) > limit:  # the caller refuses it as too large
                    break
        return bytes(content)

    def _check_host(self, url: str) -> None:
        """Refuse an address that is not on one of Zalo's hosts (FileUnavailable)."""
        parsed = urlsplit(url)
        host = (parsed.hostname or "").lower().rstrip(".")
        allowed = parsed.scheme in ("http", "https") and any(
            host == known or host.endswith("." + known) for known in self._download_hosts
        )
        if not allowed:
            logger.warning("refusing to download a Zalo photo from %s", host or "no host")
            raise FileUnavailable(f"not a Zalo host: {host or 'none'}")


class ZaloChannel(InboxChannel):
    """Receive Zalo events durably, process them through the router, send the replies."""

    name = "zalo"

    def __init__(
        self,
        config: ZaloConfig,
        router: Router,
        database: Database,
        clock: Clock,
        flood: FloodLimits | None = None,
        *,
        client: ZaloClient | None = None,
        account: str | None = None,
        links: DownloadLinks | None = None,
    ) -> None:
        super().__init__(router, database, clock, flood)
        self.config = config
        protect(config.token, config.webhook_secret)
        self.client = client or ZaloClient(config)
        self.sender = ZaloSender(self.client, config.retry_after, links)
        self.account = account
        """The bot's account name (getMe's), once connected."""

    async def start(self) -> None:
        """Connect: learn the bot's name, set or drop the webhook.

        Raises StartError when Zalo refuses the token or cannot be reached.
        """
        protect(self.config.token, self.config.webhook_secret)
        with _start_faults():
            await self._start()

    async def _start(self) -> None:
        if self.account is None:  # unless connect() asked already
            self.account = _account(await self.client.call("getMe"))
        if self.config.webhook_url:
            await self.client.call(
                "setWebhook", url=self.config.webhook_url, secret_token=self.config.webhook_secret
            )
        else:
            try:
                await self.client.call("deleteWebhook")
            except ZaloApiError as error:
                logger.debug("deleteWebhook: %s", error)
        logger.debug("Zalo bot %s ready", self.account)  # the CLI says it

    async def stop(self) -> None:
        """Release the HTTP session."""
        await self.client.close()

    @property
    def uses_webhook(self) -> bool:
        """Tell whether the platform pushes updates to the webhook instead of being polled."""
        return bool(self.config.webhook_url)

    def routes(self) -> list[web.RouteDef]:
        """Serve ``POST /zalo`` when a webhook secret is set (401 for a wrong secret)."""
        if not self.config.webhook_secret:
            return []
        return [web.post(WEBHOOK_PATH, self._webhook)]

    async def _webhook(self, request: web.Request) -> web.Response:
        """Record a Zalo event durably (flat or wrapped body), then acknowledge it."""
        given = request.headers.get(SECRET_HEADER, "")
        secret = self.config.webhook_secret or ""
        return await receive(request, given, secret, 401, self.record_event, "event")

    async def record_event(self, body: dict[str, Any]) -> bool:
        """Record a webhook event (flat, or wrapped in ``{ok, result}``); False if seen before."""
        wrapped = body.get("result")
        event: dict[str, Any] = wrapped if isinstance(wrapped, dict) else body
        key = event_key(event)
        if key is None:
            raise ValueError("not a Zalo event")
        return await self.record_all([(key, event)]) > 0

    async def poll(self, stop: asyncio.Event) -> None:
        """Ask the platform for updates and record them until asked to stop."""
        backoff = 1.0
        while not stop.is_set():
            # Not cancelled at stop: Zalo forgets an update once it has returned it, so a poll
            # cut short could lose one. A poll lasts at most poll_timeout seconds.
            try:
                event = await self.client.call("getUpdates", timeout=str(self.config.poll_timeout))
                backoff = 1.0
            except ZaloApiError as error:
                if error.code == 408:  # an idle poll: normal
                    continue
                logger.warning("getUpdates failed: %s; retrying in %.0f s", error, backoff)
                await wait_or_stop(stop, backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if isinstance(event, dict) and (key := event_key(event)) is not None:
                await self._keep(stop, key, event)

    async def _keep(self, stop: asyncio.Event, key: str, event: dict[str, Any]) -> None:
        """Record an event Zalo has already forgotten, retrying while the database fails.

        While the database is away, the event is kept in hand (and polling waits). An event
        the database keeps refusing although it is there (a value it cannot store) is set
        aside after :data:`RECORD_ATTEMPTS` attempts, so that it does not stop intake.
        """
        delay = 1.0
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.record_all([(key, event)])
                return
            except (DatabaseError, OSError) as error:
                reason = _db_reason(error)
                if attempt >= RECORD_ATTEMPTS and await self._set_aside(key, event, reason):
                    return
                if stop.is_set():
                    logger.error("Zalo event %s lost: %s", key, reason)
                    return
                logger.warning(
                    "could not record Zalo event %s: %s; retrying in %.0f s", key, reason, delay
                )
                await wait_or_stop(stop, delay)
                delay = min(delay * 2, RECORD_RETRY_CAP)

    async def _set_aside(self, key: str, event: dict[str, Any], reason: str) -> bool:
        """Set aside an event the database refuses; False if the database itself is away."""
        try:
            async with UnitOfWork(self._database) as uow:
                await uow.inbox.set_aside(self.name, key, reason, self._clock.now())
                await uow.commit()
        except (DatabaseError, OSError):
            return False
        logger.error(
            "Zalo event %s could not be stored after %d attempts (%s); set aside",
            key,
            RECORD_ATTEMPTS,
            reason,
        )
        sender = self.sender_of(event)
        if sender is not None:  # ask the user to send it again, rather than lose it in silence
            chat_id = sender.chat_id
            self.spawn(
                self.send_later(chat_id, lambda: self.deliver(chat_id, [replies.error()])),
                "set-aside",
            )
        return True

    def prepare(self, entry: InboxEntry) -> Prepared | None:
        """Read a Zalo event."""
        incoming = to_incoming(entry.payload, entry.update_key)
        if incoming is None:
            return None
        chat_id = incoming.chat_id
        return Prepared(incoming, lambda replies: self.deliver(chat_id, replies))

    @property
    def files(self) -> ZaloChannel:
        """Download the photos users send through this channel."""
        return self

    def sender_of(self, payload: dict[str, Any]) -> Incoming | None:
        """Read the sender of a raw event, as processing will (for flood control)."""
        try:
            return to_incoming(payload, "")
        except Exception:  # an event the worker will set aside
            return None

    async def fetch(self, file: FileRef) -> bytes:
        """Download a photo a user sent (its id is its URL)."""
        return await self.client.download(file.file_id)

    async def stream(self, file: FileRef) -> AsyncIterator[bytes]:
        """Download a photo a user sent chunk by chunk (the caller caps its size and time)."""
        async for chunk in self.client.stream(file.file_id):
            yield chunk


def config_from(settings: ZaloSettings, web: WebSettings) -> ZaloConfig:
    """Make the channel's configuration from the Zalo settings and the web server's."""
    if settings.zalo_bot_token is None:
        raise ValueError("ZALO_BOT_TOKEN is not set")
    hosts = [h.strip() for h in (settings.zalo_download_hosts or "").split(",") if h.strip()]
    secret = settings.zalo_webhook_secret
    return ZaloConfig(
        token=settings.zalo_bot_token.get_secret_value(),
        base_url=settings.zalo_api_base_url,
        webhook_url=web.webhook_url(WEBHOOK_PATH),
        webhook_secret=secret.get_secret_value() if secret else None,
        download_hosts=tuple(hosts) or DOWNLOAD_HOSTS,
    )


async def connect(config: ZaloConfig) -> tuple[ZaloClient, str | None]:
    """Make the client and ask Zalo who the bot is (getMe): the client and the account name.

    Raises StartError when Zalo refuses the token or cannot be reached (the client is then
    closed).
    """
    protect(config.token, config.webhook_secret)
    client = ZaloClient(config)
    try:
        with _start_faults():
            account = _account(await client.call("getMe"))
    except StartError:
        await client.close()
        raise
    return client, account


def _account(me: object) -> str | None:
    """The bot's name in getMe's answer."""
    return str(me.get("account_name") or me.get("id")) if isinstance(me, dict) else None


@contextlib.contextmanager
def _start_faults() -> Iterator[None]:
    """Turn a refused token and network failures at start-up into a StartError."""
    try:
        yield
    except ZaloApiError as error:
        if error.code in (401, 404):
            raise StartError("zalo", Fault.BAD_TOKEN, str(error)) from error
        raise StartError("zalo", network_fault(error), str(error)) from error


class ZaloSender:
    """Send replies and notifications through the Bot Platform, one attempt per request.

    Zalo's errors become the shared :class:`~bot.core.delivery.DeliveryError` kinds here and
    nowhere else (see :func:`delivery_error`). Zalo cannot receive files from a bot: with
    ``links`` (webhook mode), each file of a reply is sent as a message with a short-lived
    link to it, served by the bot's web server; without, the text names the file and says
    why it does not come.
    """

    label = "Zalo"
    numbered = True  # no buttons: choices are numbered lines

    def __init__(
        self,
        client: ZaloClient,
        retry_after: float = RETRY_AFTER,
        links: DownloadLinks | None = None,
    ) -> None:
        self._client = client
        self._retry_after = retry_after
        self._links = links

    def pieces(
        self, chat_id: str, reply: Reply, edit_message_id: int | None = None
    ) -> list[Piece]:
        """Return the requests of a reply: its text with numbered choices, split under the limit.

        Then one message per file with its download link, if links can be made. Zalo cannot
        edit a message: a reply meant to replace one is sent as a new message.
        """
        links = self._links
        pieces = [
            Piece(partial(self._send, chat_id, part))
            for part in render(reply, linked=links is not None)
        ]
        if links is not None:
            pieces += [
                Piece(self._link_message(links, chat_id, file), file.file_name)
                for file in reply.files
            ]
        return pieces

    def _link_message(self, links: DownloadLinks, chat_id: str, file: OutgoingFile) -> Send:
        """Return the request that sends a file's link (made once, however often it is tried)."""
        made: list[str] = []

        async def send() -> None:
            if not made:
                made.append(await _link_text(links, file))
            await self._send(chat_id, made[0])

        return send

    async def _send(self, chat_id: str, text: str) -> None:
        try:
            await self._client.call("sendMessage", chat_id=chat_id, text=text)
        except ZaloApiError as error:
            raise delivery_error(error, self._retry_after) from error


def delivery_error(error: ZaloApiError, retry_after: float = RETRY_AFTER) -> DeliveryError:
    """Say what kind of failure a Zalo error is: what to do about it is the policy's."""
    if error.code == 429:
        return RateLimited(retry_after)  # Zalo publishes no retry_after
    if error.code == 403 or "not found" in error.description.lower():
        return Unreachable(str(error))  # blocked, or a chat the bot may not write to
    if error.code == 0 or error.code >= 500:
        return Transient(str(error))  # a server error, a reset connection, a timeout
    return Rejected(str(error))


def describe(account: str | None) -> PlatformInfo:
    """Describe Zalo for the conversations: it has no links that open a chat with the bot."""
    return PlatformInfo("zalo", "Zalo")


def render(reply: Reply, *, linked: bool = False) -> list[str]:
    """Turn a reply into the texts Zalo can show: numbered choices, split under the limit.

    Unless its files are ``linked`` (sent as links after it), each is named with the reason
    it does not come.
    """
    text = numbered_text(reply)
    for file in () if linked else reply.files:
        text += "\n" + _unsent(file)
    return split_message(text, MESSAGE_LIMIT)


def _unsent(file: OutgoingFile) -> str:
    return _(
        "[%(name)s: Zalo cannot receive files from the bot; please use Telegram or ask the "
        "coordinator]"
    ) % {"name": file.file_name}


async def _link_text(links: DownloadLinks, file: OutgoingFile) -> str:
    """Store a file and word its link; if it cannot be stored, say the file does not come."""
    try:
        url, until = await links.create(file)
    except Exception:
        logger.exception("could not make a download link for %s", file.file_name)
        return _unsent(file)
    facts = {"name": file.file_name, "url": url, "until": format_moment(until)}
    if links.once:
        return _("%(name)s: download it once, until %(until)s, from this link:\n%(url)s") % facts
    return _("%(name)s: download it until %(until)s from this link:\n%(url)s") % facts


def _db_reason(error: BaseException) -> str:
    """The database's own words for an error, without the SQL and the payloads it carried."""
    return str(getattr(error, "orig", None) or error).strip() or type(error).__name__
