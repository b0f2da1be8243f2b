"""The platforms the bot runs on, by name: how to reach each one and attach its channel.

:class:`bot.runtime.Runtime` goes through :data:`CHANNELS` in order. A platform whose token is
set is ``connect``-ed first: its client is made and asked who the bot is (getMe), which is
where a refused token or a network fault surfaces, as a
:class:`~bot.channels.connect.StartError`. Once every platform answered, the runtime builds
the router (the bot's Telegram name goes into links) and calls each connection's ``attach``,
which makes the channel over the router and the sender the outbox worker delivers with.

A new platform is a module in this package, one entry here, and its settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import telegram, zalo
from bot.channels.base import InboxChannel
from bot.config import Settings
from bot.core.clock import Clock
from bot.core.delivery import Sender
from bot.core.throttle import FloodLimits
from handlers.context import PlatformInfo
from handlers.router import Router

Attach = Callable[
    [Router, async_sessionmaker[AsyncSession], Clock, FloodLimits], tuple[InboxChannel, Sender]
]


@dataclass(frozen=True, slots=True)
class Connection:
    """A platform reached at start-up, before the router exists."""

    name: str
    account: str | None
    """The bot's name on the platform (Telegram's username, Zalo's account name)."""
    webhook_secret: str | None
    attach: Attach
    """Make the channel over the router, and its sender for the outbox worker."""
    close: Callable[[], Awaitable[None]]
    """Release the client (when the start is abandoned before ``attach``)."""


@dataclass(frozen=True, slots=True)
class Platform:
    """How to reach one platform."""

    label: str
    """Its name in the administrator's messages."""
    token_variable: str
    """The setting that holds the bot's token."""
    webhook_path: str
    """The path of its webhook on the bot's web server."""
    configured: Callable[[Settings], bool]
    connect: Callable[[Settings], Awaitable[Connection]]
    describe: Callable[[str | None], PlatformInfo]
    """The platform for the conversations, given the bot's name on it (links need it)."""
    account: Callable[[Settings], str | None] = lambda settings: None
    """The bot's name on the platform as the settings give it, before getMe tells it."""


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value else None


def _webhook(settings: Settings, path: str) -> str | None:
    base = settings.pgibot_webhook_url
    return base.rstrip("/") + path if base else None


async def _connect_telegram(settings: Settings) -> Connection:
    assert settings.telegram_bot_token is not None
    config = telegram.TelegramConfig(
        token=settings.telegram_bot_token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_api_file_url,
        webhook_url=_webhook(settings, TELEGRAM.webhook_path),
        webhook_secret=_secret(settings.telegram_webhook_secret),
    )
    bot = await telegram.connect(config)

    def attach(
        router: Router,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        flood: FloodLimits,
    ) -> tuple[InboxChannel, Sender]:
        channel = telegram.TelegramChannel(config, router, sessions, clock, flood, bot=bot)
        return channel, channel.sender

    return Connection("telegram", bot.username, config.webhook_secret, attach, bot.release)


async def _connect_zalo(settings: Settings) -> Connection:
    assert settings.zalo_bot_token is not None
    hosts = (settings.zalo_download_hosts or "").split(",")
    config = zalo.ZaloConfig(
        token=settings.zalo_bot_token.get_secret_value(),
        base_url=settings.zalo_api_base_url,
        webhook_url=_webhook(settings, ZALO.webhook_path),
        webhook_secret=_secret(settings.zalo_webhook_secret),
        download_hosts=tuple(h.strip() for h in hosts if h.strip()) or zalo.DOWNLOAD_HOSTS,
    )
    client, account = await zalo.connect(config)

    def attach(
        router: Router,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        flood: FloodLimits,
    ) -> tuple[InboxChannel, Sender]:
        channel = zalo.ZaloChannel(
            config, router, sessions, clock, flood, client=client, account=account
        )
        return channel, channel.sender

    return Connection("zalo", account, config.webhook_secret, attach, client.close)


TELEGRAM = Platform(
    "Telegram",
    "TELEGRAM_BOT_TOKEN",
    "/telegram",
    lambda settings: settings.telegram_bot_token is not None,
    _connect_telegram,
    telegram.describe,
    lambda settings: settings.telegram_bot_username,
)
ZALO = Platform(
    "Zalo",
    "ZALO_BOT_TOKEN",
    "/zalo",
    lambda settings: settings.zalo_bot_token is not None,
    _connect_zalo,
    zalo.describe,
)
CHANNELS: dict[str, Platform] = {"telegram": TELEGRAM, "zalo": ZALO}
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
