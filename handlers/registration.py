"""Registering with an invitation code: by deep link, by ``/start CODE`` or by typing it."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from bot.core.domain.members import InvitationInfo
from bot.core.i18n import N_, _, format_day
from bot.core.messages import Reply, reply_to_payload
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation
from handlers.help import role_name

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


@dataclass(frozen=True, slots=True)
class GuessLimit:
    """How many unknown codes everyone together may try in a sliding window.

    Counted in the database, across every account, channel and process: past the limit,
    every code is refused until the window has slid past the burst, and the coordinators are
    told once.
    """

    failures: int = 30
    window: timedelta = timedelta(minutes=15)


GUESS_LIMIT = GuessLimit()


async def register(ctx: Context, code: str, limit: GuessLimit = GUESS_LIMIT) -> list[Reply]:
    """Register the sender with an invitation code, or explain why the code does not work."""
    incoming, now = ctx.incoming, ctx.now()
    failures = await ctx.uow.invitations.failures_since(now - limit.window)
    if failures >= limit.failures:
        ctx.audit("registration.refused", reason="guess_limit", code=code[:16])
        return [Reply(_guessing_paused(limit))]
    invitation = await ctx.uow.invitations.by_code(code)
    problem = _code_problem(invitation, ctx) or await _agency_ended(invitation, ctx)
    if invitation is None or problem is not None:
        ctx.audit(
            "registration.refused",
            reason="unknown" if invitation is None else "invalid",
            code=code[:16],
        )
        if invitation is None:
            await _count_failure(ctx, failures + 1, limit)
        return [Reply(problem or _unknown_code(code))]
    if not await ctx.uow.invitations.use(invitation.id):
        return [Reply(_used_up())]
    typed_name = (incoming.display_name or "").strip()
    name = typed_name or _("Officer of %(agency)s") % {"agency": invitation.agency_name}
    member_id = await ctx.uow.members.create(
        full_name=name[:200],
        agency_id=invitation.agency_id,
        role=invitation.role,
        invitation_id=invitation.id,
        now=now,
    )
    await ctx.uow.members.add_identity(
        member_id, incoming.channel, incoming.user_id, incoming.chat_id, now
    )
    ctx.member = await ctx.uow.members.get(member_id)
    ctx.audit("registration.done", invitation=invitation.code, role=invitation.role.value)
    logger.info("member %s registered for agency %s", member_id, invitation.agency_code)
    facts = {"role": role_name(invitation.role), "agency": invitation.agency_name}
    greeting = (
        _("Registration complete. Welcome, %(name)s!") % {"name": typed_name}
        if typed_name
        else _("Registration complete. Welcome!")
    )
    return [
        Reply(
            greeting
            + "\n"
            + _("You are registered as %(role)s of %(agency)s.") % facts
            + "\n"
            + _("Send /nhiemvu to see your agency's tasks and /trogiup for help.")
        )
    ]


def already_registered(ctx: Context, code: str | None) -> Reply:
    """Tell a registered member who sends /start (with a code or not) who they are here."""
    member = ctx.require_member()
    lines = [
        _("You are already registered: %(name)s, %(role)s of %(agency)s.")
        % {
            "name": member.full_name,
            "role": role_name(member.role),
            "agency": member.agency_name,
        }
    ]
    if code:
        lines.append(
            _(
                "The invitation code you sent was not counted as a use; there is no need to "
                "send it."
            )
        )
    lines.append(_("Send /nhiemvu to see your agency's tasks and /trogiup for help."))
    return Reply("\n".join(lines))


async def _count_failure(ctx: Context, failures: int, limit: GuessLimit) -> None:
    """Record an unknown code; tell the coordinators when the burst reaches the limit."""
    now = ctx.now()
    await ctx.uow.invitations.forget_failures_before(now - limit.window)
    ctx.uow.invitations.record_failure(ctx.incoming.channel, ctx.incoming.user_id, now)
    if failures != limit.failures:
        return
    logger.warning("invitation codes are being guessed: %d failures in %s", failures, limit.window)
    ctx.audit("registration.guess_limit", failures=failures)
    alert = Reply(
        _(
            "Security notice: %(count)s invalid invitation codes were tried within %(minutes)s "
            "minutes, which suggests someone is guessing codes. The bot refuses every "
            "invitation code for a while. Please check with the agencies, and withdraw and "
            "reissue codes that have not been used yet if needed."
        )
        % {"count": failures, "minutes": int(limit.window.total_seconds() // 60)}
    )
    burst = int(now.timestamp() // limit.window.total_seconds())
    for recipient in await ctx.uow.notifications.coordinators(ctx.today()):
        queued = await ctx.uow.notifications.enqueue(
            channel=recipient.channel,
            chat_id=recipient.chat_id,
            member_id=recipient.member_id,
            kind="alert",
            payload=reply_to_payload(alert),
            dedupe_key=f"invitation-guessing:{burst}:{recipient.member_id}",
            now=now,
        )
        ctx.queued = ctx.queued or queued is not None


def _guessing_paused(limit: GuessLimit) -> str:
    return _(
        "Sorry, the bot is not accepting invitation codes at the moment because too many "
        "invalid codes were tried. Please try again in %(minutes)s minutes, or contact the "
        "coordinating agency."
    ) % {"minutes": int(limit.window.total_seconds() // 60)}


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


async def _agency_ended(invitation: InvitationInfo | None, ctx: Context) -> str | None:
    """Refuse a code made for an agency that has since ended, naming who took over."""
    ended = invitation.agency_ended_on if invitation else None
    if invitation is None or ended is None or ended > ctx.today():
        return None
    takers = await ctx.uow.agencies.taking_over(invitation.agency_code)
    values = {
        "agency": invitation.agency_name,
        "date": format_day(ended),
        "successor": ", ".join(takers),
    }
    if takers:
        return (
            _(
                "This invitation code was made for %(agency)s, which no longer exists since "
                "%(date)s; its tasks are carried out by %(successor)s. Please ask the "
                "coordinating agency for an invitation code of %(successor)s."
            )
            % values
        )
    return (
        _(
            "This invitation code was made for %(agency)s, which no longer exists since %(date)s. "
            "Please ask the coordinating agency for a new code."
        )
        % values
    )


async def _start(ctx: Context) -> list[Reply]:
    """Answer a registered member's /start (a stranger's /start CODE registers, in the router)."""
    return [already_registered(ctx, ctx.incoming.argument)]


CONVERSATION = Conversation(
    "registration",
    commands=(Command("start", N_("register or start again"), EVERYONE, _start),),
)
