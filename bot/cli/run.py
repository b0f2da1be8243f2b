"""``pgibot console`` and ``pgibot run``: chat in the terminal, run the bot on its channels."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot.channels.base import wait_or_stop
from bot.channels.connect import Fault, StartError
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel, TelegramConfig, TelegramSender
from bot.channels.zalo import DOWNLOAD_HOSTS, ZaloChannel, ZaloConfig, ZaloSender
from bot.cli.app import App, UsageError, command, local_moment, out
from bot.config import default_env_file
from bot.core.delivery import Sender
from bot.core.i18n import _
from bot.core.text import normalize
from bot.core.throttle import FloodLimits
from bot.outbox import DeliveryLimits, OutboxWorker
from bot.scheduler import PurgeJob, ReminderJob, build_scheduler
from bot.web import TELEGRAM_PATH, ZALO_PATH, WebhookServer, create_app
from handlers.registration import looks_like_code
from storage.dto import MemberInfo
from storage.retention import RetentionPolicy
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)


async def cmd_console(app: App, args: argparse.Namespace) -> int:
    """Chat with the bot in the terminal."""
    await app.ensure_migrated()
    user_id, first, name = None, None, args.name
    if args.as_:
        member = await _console_member(app, args.as_)
        if member is not None:
            user_id = f"member-{member.id}"
        else:
            first = f"/start {args.as_}"
            if not name:
                name = await _ask_name(app, args.as_)
    console = ConsoleChannel(
        app.router().handle,
        user_id=user_id,
        display_name=name,
        files_dir=app.settings.pgibot_data_dir / "exports",
    )
    await console.run(first)
    return 0


async def _console_member(app: App, wanted: str) -> MemberInfo | None:
    """Return the member ``pgibot console --as`` names, with a console account, if any.

    A member's id or full name (case, spacing aside), or the invitation code they registered
    with (so running the same command again continues as them, instead of spending the code).
    """
    async with UnitOfWork(app.sessions) as uow:
        members = await uow.members.find(wanted)
        if not members and looks_like_code(wanted):
            members = await uow.members.registered_with(wanted)
        if len(members) > 1:
            raise UsageError(
                _("Several members have that name; use the member id (see `pgibot member list`).")
            )
        if not members:
            return None
        member = members[0]
        user_id = f"member-{member.id}"
        if await uow.members.by_identity("console", user_id) is None:
            await uow.members.add_identity(member.id, "console", user_id, user_id, app.clock.now())
            await uow.commit()
        return member


async def _ask_name(app: App, code: str) -> str | None:
    """Ask for the newcomer's full name when they register with a valid code in the console."""
    async with UnitOfWork(app.sessions) as uow:
        invitation = await uow.invitations.by_code(code)
    if invitation is None or not looks_like_code(code):
        return None  # the bot will say what is wrong with the code
    sys.stdout.write(_("Your full name (as colleagues know you), then Enter: "))
    sys.stdout.flush()
    answer = normalize(await asyncio.to_thread(sys.stdin.readline))
    if not sys.stdin.isatty():
        sys.stdout.write(answer + "\n")
    return answer[:200] or None


async def cmd_run(app: App, args: argparse.Namespace) -> int:
    """Run the bot on the configured channels: Telegram, Zalo or both."""
    settings = app.settings
    if settings.telegram_bot_token is None and settings.zalo_bot_token is None:
        # Not a failure: a new installation has no token yet, and nothing was asked to run.
        out(_("No channel is configured, so the bot cannot start."))
        out(
            _(
                "Set TELEGRAM_BOT_TOKEN (the token from @BotFather) and/or ZALO_BOT_TOKEN (the "
                "token of the Zalo bot) in the environment or in the configuration file "
                "%(file)s (see .env.example), and run `make run` again."
            )
            % {"file": args.env_file or default_env_file()}
        )
        out(
            _(
                "Without a token you can try the bot in the terminal: "
                "pgibot console --as INVITATION-CODE"
            )
        )
        out(_("(create a code with: pgibot invite create --agency stnmt)"))
        return 0
    await app.ensure_migrated()
    webhook = settings.pgibot_webhook_url.rstrip("/") if settings.pgibot_webhook_url else None
    secrets = {
        "TELEGRAM_WEBHOOK_SECRET": (settings.telegram_bot_token, settings.telegram_webhook_secret),
        "ZALO_WEBHOOK_SECRET": (settings.zalo_bot_token, settings.zalo_webhook_secret),
    }
    for variable, (token, secret_value) in secrets.items():
        if webhook and token is not None and secret_value is None:
            raise UsageError(
                _("PGIBOT_WEBHOOK_URL is set: set %(variable)s as well.") % {"variable": variable}
            )
    router = app.router()
    flood = FloodLimits(burst=settings.pgibot_flood_burst, rate=settings.pgibot_flood_rate)
    telegram: TelegramChannel | None = None
    zalo: ZaloChannel | None = None
    senders: dict[str, Sender] = {}
    telegram_secret = zalo_secret = None
    if settings.telegram_bot_token is not None:
        telegram_secret = (
            settings.telegram_webhook_secret.get_secret_value()
            if settings.telegram_webhook_secret
            else None
        )
        telegram = TelegramChannel(
            TelegramConfig(
                token=settings.telegram_bot_token.get_secret_value(),
                base_url=settings.telegram_api_base_url,
                base_file_url=settings.telegram_api_file_url,
                webhook_url=webhook + TELEGRAM_PATH if webhook else None,
                webhook_secret=telegram_secret,
            ),
            router,
            app.sessions,
            app.clock,
            flood,
        )
        senders["telegram"] = TelegramSender(telegram.bot)
    if settings.zalo_bot_token is not None:
        zalo_secret = (
            settings.zalo_webhook_secret.get_secret_value()
            if settings.zalo_webhook_secret
            else None
        )
        zalo = ZaloChannel(
            ZaloConfig(
                token=settings.zalo_bot_token.get_secret_value(),
                base_url=settings.zalo_api_base_url,
                webhook_url=webhook + ZALO_PATH if webhook else None,
                webhook_secret=zalo_secret,
                download_hosts=tuple(
                    h.strip() for h in (settings.zalo_download_hosts or "").split(",") if h.strip()
                )
                or DOWNLOAD_HOSTS,
            ),
            router,
            app.sessions,
            app.clock,
            flood,
        )
        senders["zalo"] = ZaloSender(zalo.client)
    channels: list[TelegramChannel | ZaloChannel] = [c for c in (telegram, zalo) if c]
    worker = OutboxWorker(
        app.sessions,
        senders,
        app.clock,
        DeliveryLimits(
            rate=settings.pgibot_send_rate, chat_interval=settings.pgibot_chat_interval
        ),
        channel_limits={
            "zalo": DeliveryLimits(
                rate=settings.pgibot_zalo_send_rate,
                chat_interval=settings.pgibot_zalo_chat_interval,
            )
        },
    )
    router.on_outbox = worker.wake
    job = ReminderJob(app.sessions, router.reminders, app.clock, worker.wake)
    purge = PurgeJob(
        app.sessions,
        app.clock,
        RetentionPolicy.from_days(
            settings.pgibot_inbox_retention_days, settings.pgibot_audit_retention_days
        ),
    )
    scheduler = build_scheduler(job, settings.timezone, purge)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    runner: WebhookServer | None = None
    try:
        if not await _start_channels(channels, stop):
            out(_("The bot has stopped."))
            return 0
        if telegram is not None:
            router.bot_info = replace(router.bot_info, telegram_username=telegram.username)
        if webhook:
            runner = WebhookServer(
                create_app(telegram, telegram_secret, zalo, zalo_secret),
                settings.pgibot_webhook_listen,
                settings.pgibot_webhook_port,
            )
            await runner.start()
        mode = _("webhook") if webhook else _("long polling")
        if telegram is not None:
            out(
                _("The bot @%(name)s is running (%(mode)s). Press Ctrl-C to stop.")
                % {"name": telegram.username, "mode": mode}
            )
        if zalo is not None:
            out(
                _("The Zalo bot %(name)s is running (%(mode)s).")
                % {"name": zalo.account, "mode": mode}
            )
        scheduler.start()
        await asyncio.gather(*(c.run(stop) for c in channels), worker.run(stop))
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        await job.drain()
        await purge.drain()
        if runner is not None:
            await runner.cleanup()
        for channel in channels:
            await channel.stop()
    out(_("The bot has stopped."))
    return 0


PLATFORMS = {"telegram": "Telegram", "zalo": "Zalo"}


TOKEN_VARIABLES = {"telegram": "TELEGRAM_BOT_TOKEN", "zalo": "ZALO_BOT_TOKEN"}


FIRST_RETRY, LAST_RETRY = 2.0, 60.0
"""Seconds before the first retry to connect at start-up; the wait doubles up to the last."""


class TokenRefused(UsageError):
    """The platform refused the bot's token: retrying cannot help."""


async def _start_channels(
    channels: Sequence[TelegramChannel | ZaloChannel], stop: asyncio.Event
) -> bool:
    """Connect every channel, retrying network faults with backoff until asked to stop.

    Each failure is one Vietnamese line saying what is wrong; a refused token ends the run.
    Returns False when asked to stop before every channel connected.
    """
    for channel in channels:
        delay = FIRST_RETRY
        while not stop.is_set():
            try:
                await channel.start()
                break
            except StartError as error:
                await channel.stop()  # its HTTP sessions, until the next attempt
                if error.permanent:
                    raise TokenRefused(_start_problem(error)) from None
                logger.warning(
                    "%s %s",
                    _start_problem(error),
                    _("Retrying in %(seconds)s seconds.") % {"seconds": f"{delay:.0f}"},
                )
                await wait_or_stop(stop, delay)
                delay = min(delay * 2, LAST_RETRY)
    return not stop.is_set()


def _start_problem(error: StartError) -> str:
    """Say in one line why a channel could not connect."""
    platform = PLATFORMS.get(error.channel, error.channel)
    if error.fault is Fault.BAD_TOKEN:
        return _(
            "%(platform)s refused the bot's token: check %(variable)s (it may be mistyped or "
            "revoked). The bot did not start."
        ) % {"platform": platform, "variable": TOKEN_VARIABLES.get(error.channel, "?")}
    reasons = {
        Fault.NO_ROUTE: _("there is no network route to its server"),
        Fault.REFUSED: _("its server refused the connection"),
        Fault.DNS: _("its server's name cannot be resolved (DNS)"),
        Fault.PROXY: _("the proxy server (HTTPS_PROXY) cannot be reached or refused to connect"),
        Fault.TIMEOUT: _("its server did not answer in time"),
        Fault.TLS: _("the secure connection (TLS) to its server failed"),
    }
    reason = reasons.get(error.fault) or _("the connection failed (%(detail)s)") % {
        "detail": error.detail
    }
    return _("Cannot connect to %(platform)s: %(reason)s.") % {
        "platform": platform,
        "reason": reason,
    }


def add_parsers(sub: Any) -> None:
    """Add ``pgibot console`` and ``pgibot run`` to the parser."""
    p = command(sub, "console", _("chat with the bot in this terminal"), cmd_console)
    p.add_argument(
        "--as",
        dest="as_",
        metavar="CODE-OR-MEMBER",
        help=_("an invitation code, or a member's id or full name"),
    )
    p.add_argument("--name", help=_("your name, when registering with a code"))

    p = command(sub, "run", _("run the bot on the configured channels"), cmd_run)
    p.add_argument(
        "--as-of",
        type=local_moment,
        metavar=_("DD/MM/YYYY HH:MM"),
        help=_(
            "rehearsal: run as if it were this local time at start (the clock then runs on); "
            "never on the production database"
        ),
    )
