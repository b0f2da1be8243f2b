"""``pgibot web``: serve the web dashboard alone, or print a member's login link.

``pgibot web`` serves the dashboard (no chat platform, no token needed) on
``PGIBOT_WEBHOOK_LISTEN``:``PGIBOT_WEBHOOK_PORT`` until SIGTERM or Ctrl-C; ``pgibot web link
--member ID-OR-NAME`` prints a one-time login link (valid 10 minutes) alone on its line.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta
from typing import Any

from bot.channels.registry import download_links
from bot.cli.app import App, UsageError, command, out
from bot.cli.member import _one_member
from bot.core.i18n import _
from handlers.dashboard import LINK_MINUTES, login_link
from storage.uow import UnitOfWork


async def cmd_web(app: App, args: argparse.Namespace) -> int:
    """Serve the web dashboard (and the read-only API) alone until stopped."""
    # Imported here: the web server's libraries are not loaded for the other commands.
    from bot.api import ApiServices
    from bot.runtime import build_dashboard
    from bot.web import WebhookServer, create_app

    await app.ensure_migrated()
    settings = app.settings
    server = WebhookServer(
        create_app(
            (),
            dashboard=build_dashboard(settings, app.db, app.clock),
            api=ApiServices(app.db, app.clock, download_links(settings, app.db, app.clock)),
        ),
        settings.pgibot_webhook_listen,
        settings.pgibot_webhook_port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    await server.start()
    try:
        out(
            _("The web dashboard is served at http://%(host)s:%(port)s/web/ (Ctrl-C to stop).")
            % {"host": server.host, "port": server.port}
        )
        out(_("A login link: pgibot web link --member ID-OR-NAME"))
        await stop.wait()
    finally:
        await server.cleanup()
    out(_("The web dashboard has stopped."))
    return 0


async def cmd_web_link(app: App, args: argparse.Namespace) -> int:
    """Print a one-time login link for a member, alone on its line."""
    await app.ensure_migrated()
    now = app.clock.now()
    async with UnitOfWork(app.db) as uow:
        member = await _one_member(uow, args.member)
        if not member.active:
            raise UsageError(
                _("%(name)s is deactivated and cannot log in.") % {"name": member.full_name}
            )
        token = uow.web_logins.create_link(member.id, now, timedelta(minutes=LINK_MINUTES))
        uow.audit.record("web.link", now=now, member_id=member.id, channel="cli")
        await uow.commit()
    out(login_link(app.settings.dashboard_url(), token))
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot web`` and ``pgibot web link`` to the parser."""
    p = command(sub, "web", _("serve the web dashboard alone (no chat platform needed)"), cmd_web)
    web_sub = p.add_subparsers(dest="web_command", required=False, metavar=_("ACTION"))
    link = command(
        web_sub,
        "link",
        _("print a one-time login link to the dashboard (valid 10 minutes)"),
        cmd_web_link,
    )
    link.add_argument(
        "--member", required=True, metavar=_("ID-OR-NAME"), help=_("the member's id or full name")
    )
