"""``pgibot invite create``: an invitation code, with its Telegram link."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from bot.cli.app import App, UsageError, command, out
from bot.cli.member import ROLE_METAVAR, role_argument
from bot.core.domain.members import Role
from bot.core.i18n import _, format_moment
from handlers.help import role_name
from storage.uow import UnitOfWork


async def cmd_invite_create(app: App, args: argparse.Namespace) -> int:
    """Create an invitation code and print it with its Telegram link."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        invitation = await uow.invitations.create(
            agency_code=args.agency,
            role=args.role,
            max_uses=args.uses,
            valid_for=timedelta(days=args.days or app.settings.pgibot_invitation_days),
            created_by="cli",
            now=app.clock.now(),
        )
        coordinating = await uow.agencies.coordinator(app.today())
        if invitation.role is Role.COORDINATOR and (
            coordinating is None or invitation.agency_code != coordinating.code
        ):  # the rule /moi applies: the coordinators belong to the coordinating agency
            raise UsageError(
                _("Only members of %(agency)s can be invited as coordinators.")
                % {"agency": coordinating.name if coordinating else "-"}
            )
        uow.audit.record(
            "invitation.create",
            now=app.clock.now(),
            channel="cli",
            code=invitation.code,
            agency=invitation.agency_code,
            role=invitation.role.value,
        )
        await uow.commit()
    out(_("Invitation code: %(code)s") % {"code": invitation.code})
    out(
        _("Agency: %(agency)s; role: %(role)s; uses: %(uses)s; valid until %(until)s")
        % {
            "agency": invitation.agency_name,
            "role": role_name(invitation.role),
            "uses": invitation.max_uses,
            "until": format_moment(invitation.expires_at),
        }
    )
    username = app.settings.telegram_bot_username
    if username:
        out(
            _("Telegram link: https://t.me/%(bot)s?start=%(code)s")
            % {"bot": username.lstrip("@"), "code": invitation.code}
        )
    else:
        out(
            _(
                "Telegram link: set TELEGRAM_BOT_USERNAME to print it "
                "(https://t.me/<bot>?start=%(code)s)"
            )
            % {"code": invitation.code}
        )
    out(_("Or send to the bot: /start %(code)s") % {"code": invitation.code})
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot invite create`` to the parser."""
    invite = command(sub, "invite", _("invitation codes"))
    invite_sub = invite.add_subparsers(dest="invite_command", required=True, metavar=_("ACTION"))
    p = command(
        invite_sub, "create", _("create an invitation code for an agency"), cmd_invite_create
    )
    p.add_argument("--agency", required=True, help=_("agency code or name"))
    p.add_argument("--role", default=Role.OFFICER, type=role_argument, metavar=ROLE_METAVAR)
    p.add_argument("--uses", type=int, default=1, help=_("how many people may use it"))
    p.add_argument(
        "--days",
        type=int,
        help=_("how many days it stays valid (default: PGIBOT_INVITATION_DAYS, 7)"),
    )
