"""``/trogiup``: what the member can do, by role."""

from __future__ import annotations

from bot.core.domain.members import ROLE_WORDS, Role
from bot.core.i18n import N_, _
from bot.core.messages import Reply
from handlers.context import Command, Context

_ROLE_NAMES = {
    Role.OFFICER: N_("focal officer"),
    Role.LEADER: N_("agency leader"),
    Role.COORDINATOR: N_("coordinator"),
    Role.ADMIN: N_("administrator"),
}


def role_name(role: Role) -> str:
    """Return the Vietnamese name of a role."""
    return _(_ROLE_NAMES[role])


def help_reply(ctx: Context, commands: list[Command]) -> list[Reply]:
    """List the commands the member's role may use."""
    member = ctx.require_member()
    lines = [
        _("Reporting bot of the PGI plan: help for %(name)s, %(role)s of %(agency)s.")
        % {"name": member.full_name, "role": role_name(member.role), "agency": member.agency_name},
        "",
        _("Commands you can use:"),
    ]
    lines += [
        f"/{command.name} — {_(command.description)}"
        for command in commands
        if member.role in command.roles
    ]
    lines += ["", _("Roles (with the word that names them in commands) and their commands:")]
    for role in Role:
        names = " ".join(f"/{c.name}" for c in commands if role in c.roles)
        lines.append(f"• {ROLE_WORDS[role.value]} — {role_name(role)}: {names}")
    lines += [
        "",
        _(
            "Where the bot offers choices, press a button or type the number of the choice. "
            "Send /huy at any step to stop without saving; another command (such as /lichsu) "
            "in the middle of a report leaves the report where it was."
        ),
    ]
    return [Reply("\n".join(lines))]
