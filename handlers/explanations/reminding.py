"""Reminding: the sweep reminds an agency of a request left unanswered past its deadline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.domain.absences import Absence, route
from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar, current_step
from bot.core.domain.explanations import (
    Explanation,
    reminder_steps,
)
from bot.core.domain.members import Role
from bot.core.i18n import _, current_timezone, format_day
from bot.core.messages import Choice, Reply, reply_to_payload
from handlers.absences import standing_in_note
from handlers.explanations.common import (
    ANSWER,
    KIND_REMINDER,
)
from handlers.exports.explanations import reason_label
from storage.notifications import Notice, Recipient
from storage.uow import UnitOfWork


async def remind_unanswered(
    uow: UnitOfWork, now: datetime, policy: ReminderPolicy, calendar: WorkingCalendar
) -> int:
    """Remind the agencies of unanswered requests past their deadline; return messages decided.

    Called by the reminder sweep, which has checked the working day and the quiet hours: one
    step a working day after the answer deadline, each member reminded once per step. An absent
    member's reminder goes where a deadline reminder would (:func:`route`): to the stand-in, or
    else to the agency's present officers, or else its present leaders, marked as standing in.
    """
    today = now.astimezone(current_timezone()).date()
    decided = 0
    for explanation in await uow.explanations.unanswered(due_before=today):
        steps = reminder_steps(explanation.due_date, policy.explanation_reminders, calendar)
        step = current_step(steps, today)
        if step is None:
            continue
        done = await uow.explanations.reminded_members(explanation.id, step.name)
        members = await uow.notifications.recipients(explanation.agency_id)
        by_id = {m.member_id: m for m in members}
        away = await uow.absences.on(today, explanation.agency_id)
        routes, _unreached = route(  # nobody present: the digest's absences say so
            [m.member_id for m in members],
            [m.member_id for m in members if m.role != Role.LEADER],
            [m.member_id for m in members if m.role == Role.LEADER],
            away,
        )
        notices = [
            Notice(
                by_id[routed.member_id],
                KIND_REMINDER,
                reply_to_payload(
                    reminder_message(
                        explanation,
                        by_id[routed.member_id],
                        standing_in=[away[m] for m in routed.standing_in_for],
                    )
                ),
            )
            for routed in routes
            if routed.member_id not in done
        ]
        decided += await uow.explanations.remind(explanation.id, step.name, notices, now)
    return decided


def reminder_message(
    explanation: Explanation, member: Recipient, standing_in: Sequence[Absence] = ()
) -> Reply:
    """Write the reminder of an unanswered request, with its "Giải trình" button.

    ``standing_in``: the absences of the members the recipient receives it for.
    """
    lines = [_("Dear comrade %(name)s,") % {"name": member.full_name}]
    if standing_in:
        lines.append(standing_in_note(standing_in))
    lines += [
        _(
            "%(agency)s has not yet answered the request of %(date)s to explain %(codes)s "
            "(%(reason)s), which was due %(due)s."
        )
        % {
            "agency": explanation.agency_name,
            "date": format_day(explanation.asked_at.astimezone(current_timezone()).date()),
            "codes": ", ".join(explanation.task_codes),
            "reason": reason_label(explanation.reason),
            "due": format_day(explanation.due_date),
        },
        "",
        _("We respectfully ask you to send the explanation as soon as possible. Sincerely."),
    ]
    return Reply("\n".join(lines), ((Choice(_("Explain"), ANSWER.encode(explanation.id)),),))
