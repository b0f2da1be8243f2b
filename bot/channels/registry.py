"""The platforms the bot runs on, by name: how to reach each one and attach its channel.

:class:`bot.runtime.Runtime` goes through :data:`CHANNELS` in order, and the web server serves
the routes of the channels it made (:func:`bot.web.create_app`). A platform whose token is set
is ``connect``-ed first: its adapter's configuration is made from the platform's own settings
(``bot.config.<platform>``) and the web settings, its client is made and asked who the bot is
(getMe), which is where a refused token or a network fault surfaces, as a
:class:`~bot.channels.connect.StartError`. Once every platform answered, the runtime builds
the router (with :func:`describe`: each platform's name, label and links) and calls each
connection's ``attach``, which makes the channel over the router; the channel's sender is the
one the outbox worker delivers that platform's notifications with.

A new platform is a module in this package, one entry here, and its settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.channels import telegram, zalo
from bot.channels.base import InboxChannel
from bot.config import Settings
from bot.core.clock import Clock
from bot.core.delivery import Pace
from bot.core.i18n import _
from bot.core.throttle import FloodLimits
from handlers.context import PlatformInfo
from handlers.downloads import DownloadLinks
from handlers.router import Router
from storage.db import Database

Attach = Callable[[Router, Database, Clock, FloodLimits], InboxChannel]


TELEGRAM_PER_SECOND = 30
"""Telegram's ceiling for a bot's messages in any second (its Bot FAQ: "about 30")."""


@dataclass(frozen=True, slots=True)
class Connection:
    """A platform reached at start-up, before the router exists."""

    name: str
    account: str | None
    """The bot's name on the platform (Telegram's username, Zalo's account name)."""
    pace: Pace
    """How fast the outbox may send notifications there."""
    attach: Attach
    """Make the channel over the router (its ``sender`` delivers the outbox's messages too)."""
    close: Callable[[], Awaitable[None]]
    """Release the client (when the start is abandoned before ``attach``)."""


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform: its settings' names, how to reach it, how conversations speak of it."""

    label: str
    """Its name in the administrator's messages."""
    token_variable: str
    """The setting that holds the bot's token."""
    secret_variable: str
    """The setting that holds its webhook secret (required in webhook mode)."""
    configured: Callable[[Settings], bool]
    """Whether its token is set: the bot runs on it."""
    has_secret: Callable[[Settings], bool]
    connect: Callable[[Settings], Awaitable[Connection]]
    describe: Callable[[str | None], PlatformInfo]
    """The platform for the conversations, given the bot's name on it (links need it)."""
    announce: Callable[[str | None, str], str]
    """The line ``pgibot run`` prints once the bot runs there (its name, the mode)."""
    account: Callable[[Settings], str | None] = lambda settings: None
    """The bot's name on the platform as the settings give it, before getMe tells it."""


async def _connect_telegram(settings: Settings) -> Connection:
    config = telegram.config_from(settings, settings)
    bot = await telegram.connect(config)

    def attach(
        router: Router,
        database: Database,
        clock: Clock,
        flood: FloodLimits,
    ) -> InboxChannel:
        return telegram.TelegramChannel(config, router, database, clock, flood, bot=bot)

    pace = Pace(settings.pgibot_send_rate, settings.pgibot_chat_interval, TELEGRAM_PER_SECOND)
    return Connection("telegram", bot.username, pace, attach, bot.release)


def download_links(settings: Settings, database: Database, clock: Clock) -> DownloadLinks | None:
    """Make the links to the files a platform cannot send; None without a public address.

    They point at the bot's web server (``/files/`` under ``PGIBOT_WEB_URL``, else under
    ``PGIBOT_WEBHOOK_URL``), which runs when either is set.
    """
    public = settings.pgibot_web_url or settings.pgibot_webhook_url
    if not public:
        return None
    base = public.rstrip("/") + "/files/"
    return DownloadLinks(
        database,
        clock,
        settings.pgibot_data_dir,
        base,
        valid_for=timedelta(minutes=settings.pgibot_download_link_minutes),
        once=settings.pgibot_download_link_once,
    )


async def _connect_zalo(settings: Settings) -> Connection:
    config = zalo.config_from(settings, settings)
    client, account = await zalo.connect(config)

    def attach(
        router: Router,
        database: Database,
        clock: Clock,
        flood: FloodLimits,
    ) -> InboxChannel:
        return zalo.ZaloChannel(
            config,
            router,
            database,
            clock,
            flood,
            client=client,
            account=account,
            links=download_links(settings, database, clock),
        )

    pace = Pace(settings.pgibot_zalo_send_rate, settings.pgibot_zalo_chat_interval)
    return Connection("zalo", account, pace, attach, client.close)


def _announce_telegram(account: str | None, mode: str) -> str:
    return _("The bot @%(name)s is running (%(mode)s). Press Ctrl-C to stop.") % {
        "name": account,
        "mode": mode,
    }


def _announce_zalo(account: str | None, mode: str) -> str:
    return _("The Zalo bot %(name)s is running (%(mode)s).") % {"name": account, "mode": mode}


CHANNELS: dict[str, Platform] = {
    "telegram": Platform(
        "Telegram",
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_WEBHOOK_SECRET",
        lambda settings: settings.telegram_bot_token is not None,
        lambda settings: settings.telegram_webhook_secret is not None,
        _connect_telegram,
        telegram.describe,
        _announce_telegram,
        lambda settings: settings.telegram_bot_username,
    ),
    "zalo": Platform(
        "Zalo",
        "ZALO_BOT_TOKEN",
        "ZALO_WEBHOOK_SECRET",
        lambda settings: settings.zalo_bot_token is not None,
        lambda settings: settings.zalo_webhook_secret is not None,
        _connect_zalo,
        zalo.describe,
        _announce_zalo,
    ),
}
"""The platforms by the name their channel, sender and outbox rows use, in start-up order."""


def describe(
    settings: Settings | None = None, accounts: Mapping[str, str | None] | None = None
) -> tuple[PlatformInfo, ...]:
    """Describe every platform for the conversations (``/kenh``, links to the bot).

    ``accounts``: the bot's name on each platform it connected to (getMe's); for the others,
    the name the settings give, if any.
    """
    named = accounts or {}
    return tuple(
        platform.describe(
            named.get(name) or (platform.account(settings) if settings is not None else None)
        )
        for name, platform in CHANNELS.items()
    )
