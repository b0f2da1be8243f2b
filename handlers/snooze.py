"""The "Nhắc lại sau" button: hold a deadline's reminders until later today or a later day.

Every reminder carries the ``sn:MILESTONE:`` button; it offers the choices that are possible
now (``sn:MILESTONE:t`` later today, ``m`` tomorrow morning, ``n`` in N working days), each
computed by :func:`bot.core.domain.calendar.snooze_until`: never after the deadline's last
reminder step, never to a day off or quiet hours. The snooze is recorded once (a second press
of the same choice changes nothing); the sweep holds the member's reminders until it ends, then
sends the step due then. Escalations to leaders are never held.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.domain.calendar import ReminderPolicy, Snooze, snooze_until, steps_for
from bot.core.i18n import _, current_timezone, format_moment
from bot.core.messages import Choice, Reply
from handlers import replies
from handlers.context import Context
from handlers.conversation import Button, Conversation
from handlers.extensions.schedule import behind
from storage.notifications import DueMilestone

SNOOZE_BUTTON = Button("sn", 2)


def snooze_choice(milestone_id: int) -> Choice:
    """Return the "Nhắc lại sau" button of a reminder."""
    return Choice(_("Remind me later"), SNOOZE_BUTTON.encode(milestone_id))


async def _milestone(ctx: Context, milestone_id: int) -> DueMilestone | None:
    today = ctx.today()
    for milestone in await ctx.uow.notifications.milestones_between(
        today - timedelta(days=120), today + timedelta(days=120)
    ):
        if milestone.id == milestone_id:
            return milestone
    return None


async def on_snooze(ctx: Context, argument: str) -> list[Reply]:
    """Offer the snooze choices, or record the one chosen."""
    member = ctx.require_member()
    wanted, choice = SNOOZE_BUTTON.decode(argument)
    milestone = await _milestone(ctx, int(wanted)) if wanted.isdigit() else None
    if milestone is None or choice not in ("", *Snooze):
        return [replies.stale_choice()]
    pending = await ctx.uow.notifications.pending_by_agency(milestone)
    if member.agency_id not in pending:
        return [
            Reply(
                _(
                    "Your agency has reported everything this deadline asks; no reminder is "
                    "left to postpone."
                )
            )
        ]
    if ctx.reminders is not None:
        policy, calendar = ctx.reminders.policy, await ctx.reminders.look_at_calendar(ctx.uow)
    else:
        policy, calendar = ReminderPolicy(), await ctx.uow.calendar.working_calendar()
    lineage = await ctx.uow.notifications.lineage(member.agency_id)
    dues = [  # an extension granted to the agency moves its last reminder day too
        b.milestone.due_date
        for b in await behind(ctx.uow, ctx.today(), lambda due: True)
        if b.milestone.id == milestone.id and b.agency_id in lineage
    ]
    steps = steps_for(max(dues, default=milestone.due_date), policy, calendar)
    local = ctx.now().astimezone(current_timezone())
    if not choice:
        labels = {
            Snooze.LATER_TODAY: _("This afternoon (%(hour)s:00)") % {"hour": policy.snooze_hour},
            Snooze.TOMORROW: _("Tomorrow morning"),
            Snooze.WORKING_DAYS: _("In %(days)s working days")
            % {"days": policy.snooze_working_days},
        }
        offered = [
            Choice(label, SNOOZE_BUTTON.encode(milestone.id, option.value))
            for option, label in labels.items()
            if snooze_until(option, local, steps, policy, calendar) is not None
        ]
        if not offered:
            return [Reply(_("This is the deadline's last reminder; it cannot be postponed."))]
        return [
            Reply(
                _("When should the bot remind you again about the %(title)s %(year)s?")
                % {"title": milestone.title, "year": milestone.year},
                tuple((c,) for c in offered),
            )
        ]
    found = snooze_until(Snooze(choice), local, steps, policy, calendar)
    if found is None:
        return [Reply(_("That time is no longer possible. Press Remind me later again."))]
    until, brought_forward = found
    if await ctx.uow.snoozes.add(member.id, milestone.id, until, ctx.now()):
        ctx.audit("reminder.snooze", milestone=milestone.id, until=until.isoformat())
    text = _("The bot will remind you again at %(moment)s.") % {"moment": format_moment(until)}
    if brought_forward:
        text += " " + _("(That is the deadline's last reminder day: it cannot be later.)")
    return [Reply(text, edit=True)]


CONVERSATION = Conversation("snooze", buttons={SNOOZE_BUTTON.prefix: on_snooze})
