"""What the extension conversation's parts share: its buttons, limits and wording."""

from __future__ import annotations

from datetime import date, datetime

from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar
from bot.core.domain.extensions import Extension
from bot.core.domain.members import Role
from bot.core.domain.standing import DayProblem
from bot.core.i18n import _, format_day, format_moment
from bot.core.messages import Choice, Reply
from bot.core.text import shorten
from handlers.context import Context
from handlers.conversation import Button

REQUEST = Button("xg", 2)
"""Ask for an extension of a deadline: ``xg:MILESTONE:WHAT`` (empty: choose; ``*``: the whole
report; a task's id)."""
DECIDE = Button("xd", 2)
"""Answer a request: ``xd:REQUEST:ACTION`` (``ok`` grant, ``other`` another day, ``no``)."""
STATE = "extension"
MIN_REASON = 10
MAX_REASON = 1000
TASK_BUTTONS = 6
LIST_LIMIT = 5
KIND_REQUEST, KIND_DECISION, KIND_REMINDER = (
    "extension-request",
    "extension-decision",
    "extension-reminder",
)


def extension_choice(milestone_id: int) -> Choice:
    """Return the "Xin gia hạn" button of a reminder."""
    return Choice(_("Ask for an extension"), REQUEST.encode(milestone_id))


def decision_choices(extension_id: int) -> tuple[tuple[Choice, ...], ...]:
    """Return the coordinator's three answers to a request."""
    return (
        (
            Choice(_("Agree"), DECIDE.encode(extension_id, "ok")),
            Choice(_("Agree to another date"), DECIDE.encode(extension_id, "other")),
        ),
        (Choice(_("Disagree"), DECIDE.encode(extension_id, "no")),),
    )


def is_coordinator(ctx: Context) -> bool:
    """Tell whether the member decides extensions (a coordinator or an administrator)."""
    return ctx.require_member().role in (Role.COORDINATOR, Role.ADMIN)


def parse_day(text: str) -> date | None:
    """Read a day written DD/MM/YYYY, None if it is not one."""
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


async def rules(ctx: Context) -> tuple[ReminderPolicy, WorkingCalendar]:
    """Return the running bot's reminder rules and working calendar (with declared days)."""
    if ctx.reminders is not None:
        return ctx.reminders.policy, await ctx.reminders.look_at_calendar(ctx.uow)
    calendar = WorkingCalendar().adding(await ctx.uow.calendar.declared())
    return ReminderPolicy(), calendar


def not_a_date(text: str) -> Reply:
    """Answer a day that is not written DD/MM/YYYY."""
    return Reply(
        _("%(text)s is not a date. Please write it as DD/MM/YYYY, for example 31/12/2024.")
        % {"text": shorten(text, 20)}
    )


def day_refusal(problem: DayProblem, day: date, due: date) -> str:
    """Explain politely why a day cannot end an extension."""
    if problem is DayProblem.NOT_AFTER:
        return _(
            "%(day)s is not after the current deadline (%(due)s) or has already passed. "
            "Please write a later day as DD/MM/YYYY."
        ) % {"day": format_day(day), "due": format_day(due)}
    if problem is DayProblem.DAY_OFF:
        return _("%(day)s is not a working day. Please choose a working day.") % {
            "day": format_day(day)
        }
    return _(
        "%(day)s is after the period in which reports for %(year)s may still be filed. "
        "Please choose an earlier day."
    ) % {"day": format_day(day), "year": due.year}


def what_line(extension: Extension) -> str:
    """Name what an extension moves: the whole report, or some tasks."""
    if extension.whole:
        return _("the whole %(title)s") % {"title": extension.title}
    return _("tasks %(codes)s") % {"codes": ", ".join(extension.task_codes)}


def granted_line(extension: Extension) -> str:
    """Say that an extension was granted: the new day, by whom, when, why."""
    assert extension.granted_until is not None
    line = _("Deadline extended from %(from)s to %(until)s, granted by %(name)s at %(time)s.") % {
        "from": format_day(extension.original_due),
        "until": format_day(extension.granted_until),
        "name": extension.decided_by or "",
        "time": format_moment(extension.decided_at or extension.requested_at),
    }
    reason = extension.decision_reason or extension.reason
    if reason:
        line += " " + _("Reason: %(reason)s") % {"reason": reason}
    return line
