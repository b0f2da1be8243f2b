"""``pgibot console`` and ``pgibot run``: chat in the terminal, run the bot on its channels.

``run`` checks the configuration, then has :class:`bot.runtime.Runtime` connect, wire, start
and run the bot until SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from bot.channels.console import ConsoleChannel
from bot.channels.registry import CHANNELS
from bot.cli.app import App, UsageError, command, local_moment, out
from bot.config import default_env_file
from bot.core.domain.members import MemberInfo
from bot.core.i18n import _
from bot.core.text import normalize
from handlers.registration import looks_like_code
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
        elif not looks_like_code(args.as_):
            raise UsageError(
                _(
                    "No member is called %(name)s, and it is not an invitation code. See the "
                    "members with `pgibot member list`, or create a code with `pgibot invite "
                    "create`."
                )
                % {"name": args.as_}
            )
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

    A member's id or full name (case, spacing and diacritics aside), or the invitation code
    they registered with (so running the same command again continues as them, instead of
    spending the code).
    """
    async with UnitOfWork(app.db) as uow:
        members = await uow.members.find(wanted)
        if not members and looks_like_code(wanted):
            members = await uow.members.registered_with(wanted)
        if not members:  # typed without diacritics: entering as someone changes nothing
            members = await uow.members.find_without_diacritics(wanted)
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
    async with UnitOfWork(app.db) as uow:
        invitation = await uow.invitations.by_code(code)
    if invitation is None or not looks_like_code(code):
        return None  # the bot will say what is wrong with the code
    while True:  # a member is known by name: registering without one is not offered
        sys.stdout.write(_("Your full name (as colleagues know you), then Enter: "))
        sys.stdout.flush()
        line = await asyncio.to_thread(sys.stdin.readline)
        answer = normalize(line)
        if not sys.stdin.isatty():
            sys.stdout.write(answer + "\n")
        if answer:
            return answer[:200]
        if not line:  # the end of the input: nobody to ask
            raise UsageError(_("A full name is needed to register; nothing was changed."))
        sys.stdout.write(_("Please type your full name.") + "\n")


async def cmd_run(app: App, args: argparse.Namespace) -> int:
    """Run the bot on the configured channels: Telegram, Zalo or both."""
    settings = app.settings
    if not any(platform.configured(settings) for platform in CHANNELS.values()):
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
        out(_("(create a code with: pgibot invite create --agency snnmt)"))
        return 0
    await app.ensure_migrated()
    webhook = settings.pgibot_webhook_url
    for platform in CHANNELS.values():
        if webhook and platform.configured(settings) and not platform.has_secret(settings):
            raise UsageError(
                _("PGIBOT_WEBHOOK_URL is set: set %(variable)s as well.")
                % {"variable": platform.secret_variable}
            )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    from bot.runtime import Runtime  # the whole service: loaded only to run it

    runtime = await Runtime.build(settings, app.clock, app.db, stop)
    if runtime is None:  # asked to stop while connecting
        out(_("The bot has stopped."))
        return 0
    try:
        if not await runtime.start(stop):
            out(_("The bot has stopped."))
            return 0
        mode = _("webhook") if webhook else _("long polling")
        for name, account in runtime.accounts.items():
            out(CHANNELS[name].announce(account, mode))
        await runtime.run(stop)
    finally:
        await runtime.close()
    out(_("The bot has stopped."))
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot console`` and ``pgibot run`` to the parser."""
    p = command(sub, "console", _("chat with the bot in this terminal"), cmd_console)
    p.add_argument(
        "--as",
        dest="as_",
        metavar=_("CODE-OR-MEMBER"),
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
