"""``/thanhvien``: give a member another role or move them to another agency, confirmed first.

The ``mc:MEMBER:STEP:VALUE`` buttons: ``menu`` (what to change), ``r:ROLE`` (a role chosen),
``p:PAGE`` (a page of the agencies; a typed code or name chooses one too), ``a:CODE`` (an
agency chosen), ``okr:ROLE`` / ``oka:CODE`` (confirmed), ``x`` (cancelled). The caller's role
and the rules are checked again at every press; the change is made by
:func:`handlers.coordination.set_member` and the member is told through the outbox. The
state chart is ``handlers/member_changes.mmd``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.domain.agencies import AgencyInfo
from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import ROLE_RANK, MemberInfo, Role
from bot.core.i18n import _
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import sort_key
from handlers import replies
from handlers.context import Context
from handlers.conversation import Conversation
from handlers.coordination import CHANGE_BUTTON, refusal_text, set_member, set_member_refusal
from handlers.help import role_name
from handlers.refusals import agency_refusal
from storage.agencies import AgencyError

AGENCY_STATE = "member_agency"
"""The chat waits for an agency's code or name (the agency list is shown)."""
PAGE_SIZE = 8
_STEPS = {
    "menu": "",
    "x": "",
    "r": "role",
    "okr": "role",
    "p": "digit",
    "a": "code",
    "oka": "code",
}


@dataclass(frozen=True, slots=True)
class ChangeButton:
    """A button of a change to a member: which member, which step, and its value."""

    member_id: int
    step: str
    value: str = ""

    def encode(self) -> str:
        """Return the button's payload (``mc:12:r:leader``)."""
        return CHANGE_BUTTON.encode(self.member_id, self.step, self.value)

    @classmethod
    def decode(cls, argument: str) -> ChangeButton | None:
        """Read what follows ``mc:``; None when it is no change button's."""
        member_id, step, value = CHANGE_BUTTON.decode(argument)
        kind = _STEPS.get(step)
        valid = {
            "": value == "",
            "role": value in ROLE_RANK,
            "digit": value.isdigit() and len(value) < 6,
            "code": bool(value),
        }
        if not member_id.isdigit() or kind is None or not valid[kind]:
            return None
        return cls(int(member_id), step, value)


def _button(label: str, target: MemberInfo, step: str, value: str = "") -> Choice:
    return Choice(label, ChangeButton(target.id, step, value).encode())


def _cancel(target: MemberInfo) -> Choice:
    return _button(_("Cancel"), target, "x")


async def _roles(ctx: Context, target: MemberInfo) -> list[Role]:
    """Return the roles the caller may give the member (by the rules, as things stand)."""
    return [
        role
        for role in Role
        if await set_member_refusal(
            ctx.uow, actor=ctx.require_member(), target=target, new_role=role
        )
        is None
    ]


async def _menu(ctx: Context, target: MemberInfo) -> Reply:
    rows = [
        (_button(_("Make %(role)s") % {"role": role_name(role)}, target, "r", role.value),)
        for role in await _roles(ctx, target)
    ]
    rows.append((_button(_("Move to another agency"), target, "p", "0"),))
    rows.append((_cancel(target),))
    text = _("%(name)s is %(role)s at %(agency)s. What should change?") % {
        "name": target.full_name,
        "role": role_name(target.role),
        "agency": target.agency_name,
    }
    return Reply(text, tuple(rows), edit=True)


async def _agency_page(ctx: Context, target: MemberInfo, page: int) -> Reply:
    """List the reporting agencies, in Vietnamese alphabetical order, a page at a time."""
    agencies = sorted(
        (a for a in await ctx.uow.agencies.reporting() if a.id != target.agency_id),
        key=lambda a: sort_key(a.name),
    )
    pages = max(1, (len(agencies) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(page, pages - 1)
    shown = agencies[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[tuple[Choice, ...]] = [(_button(a.name[:60], target, "a", a.code),) for a in shown]
    turn = []
    if page > 0:
        turn.append(_button(_("‹ Previous"), target, "p", str(page - 1)))
    if page + 1 < pages:
        turn.append(_button(_("Next ›"), target, "p", str(page + 1)))
    if turn:
        rows.append(tuple(turn))
    rows.append((_cancel(target),))
    ctx.state = ConversationState(AGENCY_STATE, {"member": target.id, "page": page})
    text = _(
        "Move %(name)s from %(agency)s to which agency? Page %(page)s of %(pages)s; "
        "or type the agency's code or name."
    ) % {"name": target.full_name, "agency": target.agency_name, "page": page + 1, "pages": pages}
    return Reply(text, tuple(rows), edit=True)


def _leave(ctx: Context) -> None:
    if ctx.state.state == AGENCY_STATE:
        ctx.reset()


async def _confirmation(
    ctx: Context, target: MemberInfo, role: Role | None, agency: AgencyInfo | None
) -> Reply:
    """Show what will change and ask for confirmation; or say why it cannot."""
    _leave(ctx)
    refusal = await set_member_refusal(
        ctx.uow, actor=ctx.require_member(), target=target, new_role=role, new_agency=agency
    )
    if refusal is not None:
        ctx.audit("member.refused", target=target.id, wanted="set", reason=refusal.value)
        return Reply(refusal_text(refusal, target, role, agency))
    if role is not None:
        text = _("Change the role of %(name)s (%(agency)s) from %(old)s to %(new)s?") % {
            "name": target.full_name,
            "agency": target.agency_name,
            "old": role_name(target.role),
            "new": role_name(role),
        }
        confirm = _button(_("Confirm"), target, "okr", role.value)
    else:
        assert agency is not None
        text = _("Move %(name)s (%(role)s) from %(old)s to %(new)s?") % {
            "name": target.full_name,
            "role": role_name(target.role),
            "old": target.agency_name,
            "new": agency.name,
        }
        confirm = _button(_("Confirm"), target, "oka", agency.code)
    return Reply(text, ((confirm, _cancel(target)),), edit=True)


async def _apply(
    ctx: Context, target: MemberInfo, role: Role | None, agency: AgencyInfo | None
) -> Reply:
    """Make the change by the rules, audit it and tell the member."""
    actor = ctx.require_member()
    refusal = await set_member(
        ctx.uow, actor=actor, target=target, new_role=role, new_agency=agency
    )
    if refusal is not None:
        ctx.audit("member.refused", target=target.id, wanted="set", reason=refusal.value)
        return Reply(refusal_text(refusal, target, role, agency))
    if role is not None:
        ctx.audit("member.role", target=target.id, old=target.role.value, new=role.value)
    if agency is not None:
        ctx.audit("member.agency", target=target.id, old=target.agency_code, new=agency.code)
    facts = {
        "name": target.full_name,
        "role": role_name(role or target.role),
        "agency": agency.name if agency else target.agency_name,
    }
    await _tell(ctx, target, facts)
    return Reply(_("%(name)s is now %(role)s at %(agency)s.") % facts, edit=True)


async def _tell(ctx: Context, target: MemberInfo, facts: dict[str, str]) -> None:
    """Put one message to the member in the outbox: their role or agency changed."""
    sender = ctx.require_member()
    message = Reply(
        _("%(sender)s (%(from)s) has changed your membership: you are now %(role)s at %(agency)s.")
        % {**facts, "sender": sender.full_name, "from": sender.agency_name}
    )
    key = ctx.incoming.update_id or ctx.now().isoformat()
    for member_id, channel, chat_id in await ctx.uow.members.notice_recipients(
        sender.id, None, only=target.id
    ):
        ctx.queued = (
            bool(
                await ctx.uow.notifications.enqueue(
                    channel=channel,
                    chat_id=chat_id,
                    member_id=member_id,
                    kind="member",
                    payload=reply_to_payload(message),
                    dedupe_key=f"member:{ctx.incoming.channel}:{key}:{member_id}:{facts['role']}:{facts['agency']}",
                    now=ctx.now(),
                )
            )
            or ctx.queued
        )


async def on_change(ctx: Context, argument: str) -> list[Reply]:
    """Answer a press of a change button; the role and the rules are checked again."""
    if ctx.require_member().role not in (Role.COORDINATOR, Role.ADMIN):
        _leave(ctx)
        return replies.refused(ctx, "thanhvien", f"{CHANGE_BUTTON.prefix}:{argument}")
    pressed = ChangeButton.decode(argument)
    target = await ctx.uow.members.get(pressed.member_id) if pressed else None
    if pressed is None or target is None:
        return [replies.stale_choice()]
    step, value = pressed.step, pressed.value
    if step == "x":
        _leave(ctx)
        return [Reply(_("Nothing was changed."), edit=True)]
    if step == "menu":
        _leave(ctx)
        return [await _menu(ctx, target)]
    if step == "p":
        return [await _agency_page(ctx, target, int(value))]
    if step in ("r", "okr"):
        role = Role(value)
        if step == "r":
            return [await _confirmation(ctx, target, role, None)]
        return [await _apply(ctx, target, role, None)]
    try:
        agency = await ctx.uow.agencies.by_code(value)
    except AgencyError:
        return [replies.stale_choice()]
    if step == "a":
        return [await _confirmation(ctx, target, None, agency)]
    return [await _apply(ctx, target, None, agency)]


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Take a typed agency code or name while the agency list is shown."""
    target = await ctx.uow.members.get(int(ctx.state.data.get("member", 0)))
    if target is None or ctx.require_member().role not in (Role.COORDINATOR, Role.ADMIN):
        ctx.reset()
        return [replies.stale_choice()]
    try:
        agency = await ctx.uow.agencies.find(text)
    except AgencyError as error:
        return [Reply(agency_refusal(error)), await current_question(ctx)]
    return [await _confirmation(ctx, target, None, agency)]


async def current_question(ctx: Context) -> Reply:
    """Show the agency list again (after a side command, or a name that found nothing)."""
    target = await ctx.uow.members.get(int(ctx.state.data.get("member", 0)))
    if target is None:
        ctx.reset()
        return replies.stale_choice()
    page = await _agency_page(ctx, target, int(ctx.state.data.get("page", 0)))
    return Reply(page.text, page.choices)


CONVERSATION = Conversation(
    "member_changes",
    buttons={CHANGE_BUTTON.prefix: on_change},
    owns=lambda state: state.state == AGENCY_STATE,
    on_text=on_text,
    current_question=current_question,
    step_buttons=frozenset({CHANGE_BUTTON.prefix}),
)
