"""Registering with an invitation code: by deep link, by ``/start CODE`` or by typing it."""

from __future__ import annotations

import logging
import re

from bot.core.i18n import _
from bot.core.messages import Reply
from handlers.context import Context
from handlers.help import role_name
from storage.dto import InvitationInfo

logger = logging.getLogger(__name__)

CODE_SHAPE = re.compile(r"^[A-Za-z0-9]{6,16}$")
"""What an invitation code looks like; typed text of this shape is tried as a code."""


def looks_like_code(text: str) -> bool:
    """Tell whether typed text could be an invitation code."""
    return bool(CODE_SHAPE.match(text.strip()))


def welcome_stranger(coordinator: str) -> Reply:
    """Greet someone who pressed Start without a code."""
    return Reply(
        _(
            "Welcome to the reporting bot of the plan to raise the Provincial Green Index "
            "(PGI) of Lạng Sơn province.\n\n"
            "To use it, please register with the invitation code your agency received from "
            "the coordinating agency (%(coordinator)s): open the invitation link, or send "
            "/start followed by the code, for example: /start AB12CD34"
        )
        % {"coordinator": coordinator}
    )


async def register(ctx: Context, code: str) -> list[Reply]:
    """Register the sender with an invitation code, or explain why the code does not work."""
    incoming, now = ctx.incoming, ctx.now()
    invitation = await ctx.uow.invitations.by_code(code)
    problem = _code_problem(invitation, ctx)
    if invitation is None or problem is not None:
        ctx.audit(
            "registration.refused",
            reason=problem or "unknown",
            code=code[:16],
        )
        return [Reply(problem or _unknown_code(code))]
    if not await ctx.uow.invitations.use(invitation.id):
        return [Reply(_used_up())]
    name = (incoming.display_name or "").strip() or _("Officer of %(agency)s") % {
        "agency": invitation.agency_name
    }
    member_id = await ctx.uow.members.create(
        full_name=name[:200],
        agency_id=invitation.agency_id,
        role=invitation.role,
        invitation_id=invitation.id,
        now=now,
    )
    await ctx.uow.members.add_identity(
        member_id, incoming.channel.value, incoming.user_id, incoming.chat_id, now
    )
    ctx.member = await ctx.uow.members.get(member_id)
    ctx.audit("registration.done", invitation=invitation.code, role=invitation.role.value)
    logger.info("member %s registered for agency %s", member_id, invitation.agency_code)
    return [
        Reply(
            _(
                "Registration complete. Welcome, %(name)s!\n"
                "You are registered as %(role)s of %(agency)s.\n"
                "Send /nhiemvu to see your agency's tasks and /trogiup for help."
            )
            % {
                "name": name,
                "role": role_name(invitation.role),
                "agency": invitation.agency_name,
            }
        )
    ]


def _unknown_code(code: str) -> str:
    return _(
        "The invitation code %(code)s is not valid. Please check it (letters and digits, "
        "no spaces) or ask the coordinating agency for a new one."
    ) % {"code": code.strip()[:16]}


def _used_up() -> str:
    return _(
        "This invitation code has already been used the number of times it allows. "
        "Please ask the coordinating agency for a new code."
    )


def _code_problem(invitation: InvitationInfo | None, ctx: Context) -> str | None:
    if invitation is None:
        return None
    if invitation.revoked:
        return _(
            "This invitation code has been withdrawn. Please ask the coordinating agency for a "
            "new code."
        )
    if invitation.expires_at <= ctx.now():
        return _(
            "This invitation code has expired. Please ask the coordinating agency for a new code."
        )
    if invitation.used_count >= invitation.max_uses:
        return _used_up()
    return None
