"""The coordinator's commands: invitations, members, and notices to every agency."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from bot.core.domain.agencies import AgencyInfo, AgencyStatus
from bot.core.domain.members import (
    ROLE_WORDS,
    Change,
    MemberInfo,
    Refusal,
    Role,
    member_change_refusal,
    parse_role,
)
from bot.core.i18n import N_, _, format_moment
from bot.core.messages import Choice, Reply, reply_to_payload
from handlers import replies
from handlers.context import COORDINATORS, Command, Context
from handlers.conversation import Button, Conversation
from handlers.help import role_name
from handlers.refusals import agency_refusal
from storage.agencies import AgencyError
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

MEMBER_BUTTON = Button("mb", 2)
"""A /thanhvien button's payload: ``mb:MEMBER_ID:off`` removes a member, ``…:on`` reinstates."""
CHANGE_BUTTON = Button("mc", 3)
"""A change of role or agency: ``mc:MEMBER_ID:STEP:VALUE`` (see handlers/member_changes)."""
MEMBERS_SHOWN = 30
NOTICE_LIMIT = 3000
INVITABLE = (Role.OFFICER, Role.LEADER, Role.COORDINATOR)
"""The roles /moi can give; administrators are made on the server."""


@dataclass(frozen=True, slots=True)
class MemberButton:
    """A /thanhvien button: which member, and whether to reinstate (else remove) them."""

    member_id: int
    reinstate: bool

    def encode(self) -> str:
        """Return the button's payload (``mb:12:off``)."""
        return MEMBER_BUTTON.encode(self.member_id, "on" if self.reinstate else "off")

    @classmethod
    def decode(cls, argument: str) -> MemberButton | None:
        """Read what follows ``mb:`` in a payload; None when it is not a member button's."""
        member_id, action = MEMBER_BUTTON.decode(argument)
        if not member_id.isdigit() or action not in ("on", "off"):
            return None
        return cls(int(member_id), action == "on")


def _coordinator(ctx: Context) -> bool:
    return ctx.require_member().role in (Role.COORDINATOR, Role.ADMIN)


async def invite(ctx: Context) -> list[Reply]:
    """Answer /moi AGENCY [ROLE]: create an invitation code and its link."""
    words = ctx.incoming.argument.split()
    role = Role.OFFICER
    for size in (2, 1):  # "lãnh đạo" as well as "lanhdao"; a role alone names no agency
        if len(words) >= size and (named := parse_role(" ".join(words[-size:]))) is not None:
            role = Role(named)
            del words[-size:]
            break
    if not words:
        return [
            Reply(
                _(
                    "Please name the agency: /moi CODE-OR-NAME [%(roles)s], "
                    "for example /moi sxd or /moi Sở Xây dựng lanhdao"
                )
                % {"roles": "|".join(ROLE_WORDS[r.value] for r in INVITABLE)}
            )
        ]
    if role not in INVITABLE:
        return [
            Reply(
                _(
                    "Administrators are appointed on the server: pgibot member set-role. "
                    "With /moi you can invite %(roles)s."
                )
                % {
                    "roles": ", ".join(
                        f"{ROLE_WORDS[r.value]} ({role_name(r)})" for r in INVITABLE
                    )
                }
            )
        ]
    try:
        if role == Role.COORDINATOR:
            agency = await ctx.uow.agencies.find(" ".join(words), ctx.today())
            coordinating = await ctx.uow.agencies.coordinator(ctx.today())
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
            valid_for=timedelta(days=ctx.bot.invitation_days),
            created_by=f"member:{ctx.require_member().id}",
            now=ctx.now(),
        )
    except AgencyError as error:
        return [Reply(agency_refusal(error))]
    ctx.audit(
        "invitation.create",
        code=invitation.code,
        agency=invitation.agency_code,
        role=role.value,
    )
    lines = [
        _("Invitation code %(code)s for %(role)s of %(agency)s, one use, valid until %(until)s.")
        % {
            "code": invitation.code,
            "role": role_name(role),
            "agency": invitation.agency_name,
            "until": format_moment(invitation.expires_at),
        }
    ]
    for platform in ctx.bot.platforms:
        link = platform.invitation_link(invitation.code)
        if link:
            lines.append(
                _("%(platform)s link: %(link)s") % {"platform": platform.label, "link": link}
            )
    lines.append(_("Or send to the bot: /start %(code)s") % {"code": invitation.code})
    return [Reply("\n".join(lines))]


async def change_member(
    uow: UnitOfWork,
    *,
    actor: MemberInfo | None,
    target: MemberInfo,
    change: Change,
    new_role: Role | None = None,
    today: date,
) -> Refusal | None:
    """Make a change to a member if the rules allow it; else return why not.

    The one place where members are deactivated, reinstated or given another role, from a
    chat (``actor`` is the member who acts) or from the command line (``actor`` is None):
    the rule is :func:`bot.core.domain.members.member_change_refusal`.
    """
    refusal = member_change_refusal(
        change,
        actor_role=actor.role.value if actor else None,
        target_role=target.role.value,
        target_active=target.active,
        self_change=actor is not None and actor.id == target.id,
        new_role=new_role.value if new_role else None,
        active_admins=await uow.members.active_admins(),
        agency_ended=target.agency_ended(today),
    )
    if refusal is not None:
        return refusal
    if change is Change.SET_ROLE:
        assert new_role is not None
        await uow.members.set_role(target.id, new_role)
    else:
        await uow.members.set_active(target.id, change is Change.REINSTATE)
    return None


async def set_member(
    uow: UnitOfWork,
    *,
    actor: MemberInfo | None,
    target: MemberInfo,
    new_role: Role | None = None,
    new_agency: AgencyInfo | None = None,
) -> Refusal | None:
    """Give a member another role, move them to another agency, or both; or say why not.

    Both changes are checked before either is made (:func:`set_member_refusal`): nothing
    changes when one is refused.
    """
    refusal = await set_member_refusal(
        uow, actor=actor, target=target, new_role=new_role, new_agency=new_agency
    )
    if refusal is not None:
        return refusal
    if new_role is not None:
        await uow.members.set_role(target.id, new_role)
    if new_agency is not None:
        await uow.members.set_agency(target.id, new_agency.id)
    return None


async def set_member_refusal(
    uow: UnitOfWork,
    *,
    actor: MemberInfo | None,
    target: MemberInfo,
    new_role: Role | None = None,
    new_agency: AgencyInfo | None = None,
) -> Refusal | None:
    """Say why a change of role or agency may not be made, or None when it may; change nothing.

    The rule is :func:`bot.core.domain.members.member_change_refusal`, with the rule of
    invitations: coordinators belong to the coordinating agency.
    """
    role = new_role or target.role
    agency_id = new_agency.id if new_agency else target.agency_id
    coordinating = await uow.agencies.coordinator()
    elsewhere = role is Role.COORDINATOR and (coordinating is None or coordinating.id != agency_id)
    admins = await uow.members.active_admins()
    changes = [(Change.SET_ROLE, new_role is not None), (Change.MOVE, new_agency is not None)]
    for change, wanted in changes:
        if not wanted:
            continue
        refusal = member_change_refusal(
            change,
            actor_role=actor.role.value if actor else None,
            target_role=target.role.value,
            target_active=target.active,
            self_change=actor is not None and actor.id == target.id,
            new_role=new_role.value if new_role else None,
            active_admins=admins,
            same_agency=new_agency is not None and new_agency.id == target.agency_id,
            agency_active=new_agency is None or new_agency.status is AgencyStatus.ACTIVE,
            coordinator_elsewhere=elsewhere,
        )
        if refusal is not None:
            return refusal
    return None


def refusal_text(
    refusal: Refusal,
    target: MemberInfo,
    new_role: Role | None = None,
    new_agency: AgencyInfo | None = None,
) -> str:
    """Say, politely, why a change to a member was not made."""
    facts = {
        "name": target.full_name,
        "agency": target.agency_name,
        "role": role_name(target.role),
        "new_role": role_name(new_role) if new_role else "",
        "new_agency": new_agency.name if new_agency else "",
    }
    texts = {
        Refusal.SELF: _("You cannot remove yourself or change your own role."),
        Refusal.HIGHER_ROLE: _(
            "%(name)s (%(agency)s) is %(role)s, a role higher than yours, so you cannot "
            "change their membership."
        ),
        Refusal.ROLE_TOO_HIGH: _(
            "You cannot give the role %(new_role)s, which is higher than yours."
        ),
        Refusal.LAST_ADMIN: _(
            "%(name)s is the last active administrator and cannot be removed or given another "
            "role. Please make another member administrator first."
        ),
        Refusal.AGENCY_ENDED: _(
            "%(agency)s no longer exists, so %(name)s cannot be reinstated there. Please "
            "invite them to the agency that took over its tasks."
        ),
        Refusal.NOTHING_TO_DO: (
            _("Nothing changed: %(name)s already has the role %(new_role)s.")
            if new_role and new_role is target.role
            else _("Nothing changed: %(name)s (%(agency)s) is already as asked.")
        ),
        Refusal.COORDINATOR_ELSEWHERE: _(
            "Coordinators belong to the coordinating agency; %(name)s cannot be a coordinator "
            "at another agency. Nothing was changed."
        ),
        Refusal.AGENCY_RETIRED: _(
            "%(new_agency)s no longer reports, so no member can be moved there. Nothing was "
            "changed."
        ),
    }
    return texts[refusal] % facts


def _no_action_reason(refusal: Refusal) -> str:
    """Say in a few words why /thanhvien offers no choice for a member."""
    reasons = {
        Refusal.SELF: _("that is you"),
        Refusal.HIGHER_ROLE: _("a role higher than yours"),
        Refusal.LAST_ADMIN: _("the last administrator"),
        Refusal.AGENCY_ENDED: _("the unit no longer exists"),
    }
    return reasons.get(refusal, "-")


async def members(ctx: Context) -> list[Reply]:
    """Answer /thanhvien [AGENCY]: members with choices to remove or reinstate them.

    Every member listed either has a choice or says why there is none; member ids are never
    shown beside the numbered choices (a typed choice number must not be mistaken for one).
    """
    agency_id = None
    if ctx.incoming.argument:
        try:
            agency_id = (await ctx.uow.agencies.find(ctx.incoming.argument, ctx.today())).id
        except AgencyError as error:
            return [Reply(agency_refusal(error))]
    everyone = [
        m
        for m in await ctx.uow.members.list_all()
        if agency_id is None or m.agency_id == agency_id
    ]
    if not everyone:
        return [Reply(_("No member has registered yet."))]
    actor = ctx.require_member()
    admins = await ctx.uow.members.active_admins()
    lines = [_("Registered members (%(count)s):") % {"count": len(everyone)}]
    buttons = []
    for member in everyone[:MEMBERS_SHOWN]:
        state = _("active") if member.active else _("removed")
        line = f"• {member.full_name} — {member.agency_name} ({role_name(member.role)}, {state})"
        refusal = member_change_refusal(
            Change.DEACTIVATE if member.active else Change.REINSTATE,
            actor_role=actor.role.value,
            target_role=member.role.value,
            target_active=member.active,
            self_change=member.id == actor.id,
            active_admins=admins,
            agency_ended=member.agency_ended(ctx.today()),
        )
        if refusal is not None:
            line += " — " + _("no choice: %(reason)s") % {"reason": _no_action_reason(refusal)}
        else:
            label = (_("Remove %(name)s") if member.active else _("Reinstate %(name)s")) % {
                "name": member.full_name[:30]
            }
            pressed = MemberButton(member.id, reinstate=not member.active)
            change = _("Change %(name)s") % {"name": member.full_name[:30]}
            buttons.append(
                (
                    Choice(label, pressed.encode()),
                    Choice(change, CHANGE_BUTTON.encode(member.id, "menu")),
                )
            )
        lines.append(line)
    if len(everyone) > MEMBERS_SHOWN:
        lines.append(
            _("… and %(count)s more; name an agency: /thanhvien CODE")
            % {"count": len(everyone) - MEMBERS_SHOWN}
        )
    lines.append("")
    lines.append(
        _(
            "Choose below to remove or reinstate %(count)s of them, or to change their role "
            "or agency."
        )
        % {"count": len(buttons)}
        if buttons
        else _("There is no member you can remove or reinstate here.")
    )
    return [Reply("\n".join(lines), tuple(buttons))]


async def on_member_choice(ctx: Context, argument: str) -> list[Reply]:
    """Remove (deactivate) or reinstate a member; the rules are checked again at the press."""
    if not _coordinator(ctx):
        return replies.refused(ctx, "thanhvien", f"{MEMBER_BUTTON.prefix}:{argument}")
    pressed = MemberButton.decode(argument)
    if pressed is None:
        return [replies.stale_choice()]
    target = await ctx.uow.members.get(pressed.member_id)
    if target is None:
        return [replies.stale_choice()]
    active = pressed.reinstate
    action = "on" if active else "off"
    refusal = await change_member(
        ctx.uow,
        actor=ctx.require_member(),
        target=target,
        change=Change.REINSTATE if active else Change.DEACTIVATE,
        today=ctx.today(),
    )
    if refusal is not None:
        ctx.audit("member.refused", target=target.id, wanted=action, reason=refusal.value)
        return [Reply(refusal_text(refusal, target))]
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
            agency = await ctx.uow.agencies.find(code, ctx.today())
        except AgencyError as error:
            return [Reply(agency_refusal(error))]
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
    message = Reply(_("Notice from %(agency)s:") % {"agency": sender.agency_name} + "\n\n" + text)
    key = ctx.incoming.update_id or ctx.now().isoformat()
    queued = await ctx.uow.notifications.enqueue_each(
        await ctx.uow.members.notice_recipients(sender.id, agency_id),
        kind="notice",
        payload=reply_to_payload(message),
        key=f"notice:{ctx.incoming.channel}:{key}",
        now=ctx.now(),
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


CONVERSATION = Conversation(
    "coordination",
    commands=(
        Command(
            "moi",
            N_("invite a member: /moi AGENCY [canbo|lanhdao|dieuphoi]"),
            COORDINATORS,
            invite,
        ),
        Command(
            "thanhvien",
            N_("members: remove, reinstate, change role or agency"),
            COORDINATORS,
            members,
        ),
        Command(
            "thongbao",
            N_("send a notice: /thongbao TEXT or /thongbao #AGENCY TEXT"),
            COORDINATORS,
            notice,
        ),
    ),
    buttons={MEMBER_BUTTON.prefix: on_member_choice},
)
