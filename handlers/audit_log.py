"""``/nhatky``: the audit log for administrators, newest first, a page at a time.

``pgibot audit`` prints the same lines (:func:`entry_line`). ``/nhatky`` alone shows every
entry; ``/nhatky ACTION`` one action or family (``/nhatky member``). The page buttons carry
the page and the filter; the role is checked again at every press.
"""

from __future__ import annotations

from typing import Any

from bot.core.domain.audit import AuditFilter, AuditRecord
from bot.core.domain.members import Role
from bot.core.i18n import N_, _, format_timestamp
from bot.core.messages import Choice, Reply
from handlers import replies
from handlers.context import Command, Context
from handlers.conversation import Button, Conversation

PAGE_SIZE = 10
DETAIL_LENGTH = 160
ADMINS = frozenset({Role.ADMIN})
PAGE_BUTTON = Button("au", 2)
"""A page button: ``au:PAGE:ACTION`` (the action filter may be empty)."""
ACTION_LENGTH = 40
"""The longest action filter a button carries (actions are at most 50 characters)."""

ACTION_LABELS = {
    "registration.done": N_("registered"),
    "registration.refused": N_("registration refused"),
    "registration.guess_limit": N_("too many wrong invitation codes"),
    "guess_limit": N_("too many wrong codes"),
    "member.remove": N_("member removed"),
    "member.reinstate": N_("member reinstated"),
    "member.role": N_("role changed"),
    "member.agency": N_("moved to another agency"),
    "member.refused": N_("change to a member refused"),
    "invitation.create": N_("invitation created"),
    "submission.create": N_("report confirmed"),
    "reminder.manual": N_("reminders sent on demand"),
    "notice.send": N_("notice sent"),
    "explanation.ask": N_("explanation requested"),
    "explanation.answer": N_("explanation given"),
    "explanation.refused": N_("explanation refused (another agency's request)"),
    "permission.refused": N_("command or button refused (role)"),
    "choice.forged": N_("forged or stale button refused"),
    "link.code": N_("linking code created"),
    "link.done": N_("channel linked"),
    "link.refused": N_("linking code refused"),
    "link.channel": N_("preferred channel chosen"),
    "agency.add": N_("agency added"),
    "agency.rename": N_("agency renamed"),
    "agency.retire": N_("agency retired"),
    "evidence.prune": N_("unused evidence files deleted"),
    "backup.restore": N_("backup restored"),
    "demo.generate": N_("demonstration data generated"),
    "pgi.record": N_("PGI result recorded"),
    "pgi.correct": N_("PGI result corrected"),
}


def action_label(action: str) -> str:
    """Return an action's name in the language, or its code when it has none."""
    known = ACTION_LABELS.get(action)
    return _(known) if known else action


def actor(entry: AuditRecord) -> str:
    """Say who did it: the member, the command line, or the platform account."""
    if entry.member_name:
        return f"{entry.member_name} [{entry.channel}]" if entry.channel else entry.member_name
    if entry.channel == "cli":
        return _("administrator (command line)")
    if entry.user_id:
        return f"{entry.channel}:{entry.user_id}"
    return _("the bot")


def _detail(detail: dict[str, Any]) -> str:
    text = ", ".join(f"{key}={value}" for key, value in detail.items())
    return text if len(text) <= DETAIL_LENGTH else text[: DETAIL_LENGTH - 1] + "…"


def entry_line(entry: AuditRecord) -> str:
    """Write one entry on one line: time, action, who, details."""
    parts = [format_timestamp(entry.at), f"{action_label(entry.action)} ({entry.action})"]
    parts.append(actor(entry))
    if entry.detail:
        parts.append(_detail(entry.detail))
    return " · ".join(parts)


async def show_log(ctx: Context) -> list[Reply]:
    """Answer /nhatky [ACTION]: the newest entries of the audit log."""
    action = ctx.incoming.argument.strip().lower()[:ACTION_LENGTH]
    return [await _page(ctx, 0, action)]


async def on_page(ctx: Context, argument: str) -> list[Reply]:
    """Show another page; the role is checked again at the press."""
    if ctx.require_member().role is not Role.ADMIN:
        return replies.refused(ctx, "nhatky", f"{PAGE_BUTTON.prefix}:{argument}")
    page, action = PAGE_BUTTON.decode(argument)
    if not page.isdigit():
        return [replies.stale_choice()]
    reply = await _page(ctx, int(page), action[:ACTION_LENGTH])
    return [Reply(reply.text, reply.choices, edit=True)]


async def _page(ctx: Context, page: int, action: str) -> Reply:
    wanted = AuditFilter(action=action or None)
    total = await ctx.uow.audit.count(wanted)
    if total == 0:
        if action:
            return Reply(_("The audit log has no entry of %(action)s.") % {"action": action})
        return Reply(_("The audit log is empty."))
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(page, pages - 1)
    entries = await ctx.uow.audit.entries(wanted, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    head = _("Audit log, page %(page)s of %(pages)s (%(total)s entries, newest first):") % {
        "page": page + 1,
        "pages": pages,
        "total": total,
    }
    if action:
        head += "\n" + _("Only: %(action)s") % {"action": action}
    lines = [head, ""] + [f"• {entry_line(entry)}" for entry in entries]
    row = []
    if page > 0:
        row.append(Choice(_("‹ Newer"), PAGE_BUTTON.encode(page - 1, action)))
    if page + 1 < pages:
        row.append(Choice(_("Older ›"), PAGE_BUTTON.encode(page + 1, action)))
    return Reply("\n".join(lines), (tuple(row),) if row else ())


CONVERSATION = Conversation(
    "audit_log",
    commands=(
        Command(
            "nhatky",
            N_("the audit log, newest first: /nhatky [ACTION]"),
            ADMINS,
            show_log,
        ),
    ),
    buttons={PAGE_BUTTON.prefix: on_page},
)
