"""The coordinator's commands: invitations, members, and notices to every agency."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from bot.core.i18n import _
from bot.core.messages import Choice, Reply
from handlers import replies
from handlers.context import Context
from handlers.help import role_name
from handlers.reminders import to_payload
from storage.agencies import AgencyError, coordinator_agency, current_agency, find_agency
from storage.dto import Role
from storage.models import Member, MemberIdentity

logger = logging.getLogger(__name__)

INVITATION_DAYS = 14
MEMBERS_SHOWN = 30
NOTICE_LIMIT = 3000
ROLE_WORDS = {
    "officer": Role.OFFICER,
    "canbo": Role.OFFICER,
    "leader": Role.LEADER,
    "lanhdao": Role.LEADER,
    "coordinator": Role.COORDINATOR,
    "dieuphoi": Role.COORDINATOR,
}


def _coordinator(ctx: Context) -> bool:
    return ctx.require_member().role in (Role.COORDINATOR, Role.ADMIN)


async def invite(ctx: Context) -> list[Reply]:
    """Answer /moi AGENCY [ROLE]: create an invitation code and its link."""
    words = ctx.incoming.argument.split()
    role = Role.OFFICER
    if words and words[-1].lower() in ROLE_WORDS:
        role = ROLE_WORDS[words.pop().lower()]
    if not words:
        return [
            Reply(
                _(
                    "Please name the agency: /moi CODE-OR-NAME [canbo|lanhdao|dieuphoi], "
                    "for example /moi sxd or /moi Sở Xây dựng lanhdao"
                )
            )
        ]
    try:
        if role == Role.COORDINATOR:
            agency = await current_agency(
                ctx.uow.session, await find_agency(ctx.uow.session, " ".join(words))
            )
            coordinating = await coordinator_agency(ctx.uow.session)
            if coordinating is None or agency.id != coordinating.id:
                return [
                    Reply(
                        _("Only members of %(agency)s can be invited as coordinators.")
                        % {"agency": coordinating.name if coordinating else "-"}
                    )
                ]
        invitation = await ctx.uow.invitations.create(
            agency_code=" ".join(words),
            role=role,
            max_uses=1,
            valid_for=timedelta(days=INVITATION_DAYS),
            created_by=f"member:{ctx.require_member().id}",
            now=ctx.now(),
        )
    except AgencyError as error:
        return [Reply(str(error))]
    ctx.audit(
        "invitation.create",
        code=invitation.code,
        agency=invitation.agency_code,
        role=role.value,
    )
    lines = [
        _("Invitation code %(code)s for %(role)s of %(agency)s, valid for %(days)s days, one use.")
        % {
            "code": invitation.code,
            "role": role_name(role),
            "agency": invitation.agency_name,
            "days": INVITATION_DAYS,
        }
    ]
    if ctx.bot.telegram_username:
        lines.append(
            _("Telegram link: https://t.me/%(bot)s?start=%(code)s")
            % {"bot": ctx.bot.telegram_username.lstrip("@"), "code": invitation.code}
        )
    lines.append(_("Or send to the bot: /start %(code)s") % {"code": invitation.code})
    return [Reply("\n".join(lines))]


async def members(ctx: Context) -> list[Reply]:
    """Answer /thanhvien [AGENCY]: members with buttons to remove or reinstate them."""
    agency_id = None
    if ctx.incoming.argument:
        try:
            agency = await find_agency(ctx.uow.session, ctx.incoming.argument)
        except AgencyError as error:
            return [Reply(str(error))]
        agency_id = (await current_agency(ctx.uow.session, agency)).id
    everyone = [
        m
        for m in await ctx.uow.members.list_all()
        if agency_id is None or m.agency_id == agency_id
    ]
    if not everyone:
        return [Reply(_("No member has registered yet."))]
    lines = [_("Registered members (%(count)s):") % {"count": len(everyone)}]
    buttons = []
    for member in everyone[:MEMBERS_SHOWN]:
        state = _("active") if member.active else _("removed")
        lines.append(
            f"• {member.id}. {member.full_name} — {member.agency_name} "
            f"({role_name(member.role)}, {state})"
        )
        if member.id != ctx.require_member().id:
            label = (_("Remove %(name)s") if member.active else _("Reinstate %(name)s")) % {
                "name": member.full_name[:30]
            }
            buttons.append((Choice(label, f"mb:{member.id}:{'off' if member.active else 'on'}"),))
    if len(everyone) > MEMBERS_SHOWN:
        lines.append(
            _("… and %(count)s more; name an agency: /thanhvien CODE")
            % {"count": len(everyone) - MEMBERS_SHOWN}
        )
    return [Reply("\n".join(lines), tuple(buttons))]


async def on_member_choice(ctx: Context, argument: str) -> list[Reply]:
    """Remove (deactivate) or reinstate a member; coordinators only, checked at the press."""
    if not _coordinator(ctx):
        return replies.refused(ctx, "thanhvien", f"mb:{argument}")
    member_id, _sep, action = argument.partition(":")
    if not member_id.isdigit() or action not in ("on", "off"):
        return [replies.stale_choice()]
    target = await ctx.uow.members.get(int(member_id))
    if target is None or target.id == ctx.require_member().id:
        return [replies.stale_choice()]
    active = action == "on"
    await ctx.uow.session.execute(
        update(Member).where(Member.id == target.id).values(active=active)
    )
    ctx.audit(
        "member.reinstate" if active else "member.remove",
        target=target.id,
    )
    text = (
        _("%(name)s (%(agency)s) can use the bot again.")
        if active
        else _("%(name)s (%(agency)s) has been removed and can no longer use the bot.")
    ) % {"name": target.full_name, "agency": target.agency_name}
    return [Reply(text)]


async def notice(ctx: Context) -> list[Reply]:
    """Answer /thongbao [#AGENCY] TEXT: a notice to everyone, or one agency, via the outbox."""
    text = ctx.incoming.argument
    agency_id = None
    agency_name = None
    if text.startswith("#"):
        code, _sep, text = text[1:].partition(" ")
        try:
            agency = await current_agency(
                ctx.uow.session, await find_agency(ctx.uow.session, code)
            )
        except AgencyError as error:
            return [Reply(str(error))]
        agency_id, agency_name = agency.id, agency.name
    text = text.strip()
    if not text:
        return [
            Reply(
                _(
                    "Please write the notice after the command: /thongbao TEXT to everyone, "
                    "or /thongbao #CODE TEXT to one agency."
                )
            )
        ]
    if len(text) > NOTICE_LIMIT:
        return [replies.too_long(NOTICE_LIMIT)]
    sender = ctx.require_member()
    query = (
        select(Member.id, MemberIdentity.channel, MemberIdentity.chat_id)
        .join(MemberIdentity, MemberIdentity.member_id == Member.id)
        .where(
            Member.active.is_(True),
            MemberIdentity.reachable.is_(True),
            MemberIdentity.channel != "console",
            Member.id != sender.id,
        )
        .order_by(Member.id)
    )
    if agency_id is not None:
        query = query.where(Member.agency_id == agency_id)
    message = Reply(_("Notice from %(agency)s:") % {"agency": sender.agency_name} + "\n\n" + text)
    queued = 0
    seen: set[int] = set()
    key = ctx.incoming.update_id or ctx.now().isoformat()
    for member_id, channel, chat_id in (await ctx.uow.session.execute(query)).all():
        if member_id in seen:
            continue
        seen.add(member_id)
        queued += bool(
            await ctx.uow.notifications.enqueue(
                channel=channel,
                chat_id=chat_id,
                member_id=member_id,
                kind="notice",
                payload=to_payload(message),
                dedupe_key=f"notice:{ctx.incoming.channel.value}:{key}:{member_id}",
                now=ctx.now(),
            )
        )
    ctx.queued = ctx.queued or queued > 0
    ctx.audit(
        "notice.send",
        agency=agency_id,
        recipients=queued,
    )
    return [
        Reply(
            _("The notice will be sent to %(count)s members of %(agency)s.")
            % {"count": queued, "agency": agency_name}
            if agency_name
            else _("The notice will be sent to %(count)s members.") % {"count": queued}
        )
    ]
