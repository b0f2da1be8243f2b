"""Reminding: the coordinator is reminded of an extension request left unanswered.

A request waits ``PGIBOT_EXTENSION_DAYS`` working days; then the reminder sweep reminds the
coordinators once a working day, ``PGIBOT_EXTENSION_REMINDERS`` times, each step once per
member (the outbox's unique key ``extension-reminder:REQUEST:STEP:MEMBER``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar, current_step
from bot.core.domain.explanations import answer_due, reminder_steps
from bot.core.domain.extensions import Extension
from bot.core.i18n import _, current_timezone, format_day
from bot.core.messages import Reply, reply_to_payload
from handlers.extensions.common import KIND_REMINDER, decision_choices, what_line
from storage.uow import UnitOfWork


def waiting_lines(extensions: Sequence[Extension]) -> list[str]:
    """List the requests waiting for the coordinator's answer (for /tonghop and the digest)."""
    lines = [_("Deadline extension requests waiting for an answer (send /giahan):")]
    lines += [f"• {request_line(e)}" for e in extensions]
    return lines


def request_line(extension: Extension) -> str:
    """Describe a request in one line: who, what, from which day to which, why."""
    return _(
        "%(agency)s asks to extend %(what)s (%(year)s) from %(due)s to %(until)s, asked by "
        "%(name)s on %(date)s. Reason: %(reason)s"
    ) % {
        "agency": extension.agency_name,
        "what": what_line(extension),
        "year": extension.year,
        "due": format_day(extension.original_due),
        "until": format_day(extension.asked_until or extension.original_due),
        "name": extension.requested_by or "",
        "date": format_day(extension.requested_at.astimezone(current_timezone()).date()),
        "reason": extension.reason,
    }


def request_message(extension: Extension) -> Reply:
    """Write the request the coordinators receive, with their three answers."""
    return Reply(request_line(extension), decision_choices(extension.id))


async def remind_undecided(
    uow: UnitOfWork, now: datetime, policy: ReminderPolicy, calendar: WorkingCalendar
) -> int:
    """Remind the coordinators of requests left unanswered; return the messages queued.

    Called by the reminder sweep, which has checked the working day and the quiet hours.
    """
    today = now.astimezone(current_timezone()).date()
    queued = 0
    for extension in await uow.extensions.waiting():
        asked_on = extension.requested_at.astimezone(current_timezone()).date()
        due = answer_due(asked_on, policy.extension_days, calendar)
        step = current_step(reminder_steps(due, policy.extension_reminders, calendar), today)
        if step is None:
            continue
        text = _("Reminder: this deadline extension request has not been answered yet.")
        reply = request_message(extension)
        message = reply_to_payload(Reply(text + "\n" + reply.text, reply.choices))
        for member in await uow.notifications.coordinators(today):
            queued += bool(
                await uow.notifications.enqueue(
                    channel=member.channel,
                    chat_id=member.chat_id,
                    member_id=member.member_id,
                    kind=KIND_REMINDER,
                    payload=message,
                    dedupe_key=f"{KIND_REMINDER}:{extension.id}:{step.name}:{member.member_id}",
                    now=now,
                )
            )
    return queued
