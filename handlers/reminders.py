"""Reminders: who is behind on which deadline, what to tell them, and the coordinator's digest.

The sweep is called by the scheduler (and at start) with the current time. It decides, for
every milestone near today and every agency that has not reported what the milestone asks,
which reminder step is due today, and writes one decision and one outbox message per
recipient in a single transaction. Deciding twice does nothing, so the sweep may run as often
as it likes; a bot that was down at the reminder hour sends the step that is due when it
comes back, and never a stale one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.core.domain.absences import Absence, route
from bot.core.domain.calendar import ReminderPolicy, Step, WorkingCalendar, current_step, steps_for
from bot.core.domain.explanations import Explanation
from bot.core.domain.extensions import Extension
from bot.core.domain.members import Role
from bot.core.domain.periods import milestone_period
from bot.core.domain.standing import is_late
from bot.core.i18n import N_, _, current_timezone, format_day, ngettext
from bot.core.messages import Choice, Reply, reply_to_payload
from handlers.absences import nobody_present, standing_in_note, welcome_back
from handlers.agency_notices import tell_followers
from handlers.context import COORDINATORS, Command, Context
from handlers.conversation import Conversation
from handlers.explanations import remind_unanswered
from handlers.exports.explanations import digest_lines
from handlers.extensions.common import extension_choice, granted_line
from handlers.extensions.reminding import remind_undecided, waiting_lines
from handlers.extensions.schedule import behind, step_name
from handlers.pending import Pending
from handlers.periods import period_line
from handlers.refusals import agency_refusal
from handlers.replies import time_left
from handlers.report.states import REPORT_NOW
from handlers.snooze import snooze_choice
from storage.agencies import AgencyError
from storage.notifications import DueMilestone, Notice, PendingTask, Recipient
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

TASK_BUTTONS = 6
"""At most this many "Báo cáo ngay" buttons in one reminder; /baocao lists the rest."""


@dataclass(slots=True)
class SweepResult:
    """What a sweep decided."""

    decided: int = 0
    late: list[tuple[DueMilestone, str, int, int]] = field(default_factory=list)
    """(milestone, agency name, tasks pending, working days late) for the digest."""


class Reminders:
    """Decide reminders, escalations and digests; the outbox worker delivers them."""

    def __init__(
        self,
        policy: ReminderPolicy | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.policy = policy or ReminderPolicy()
        self._given = calendar or WorkingCalendar()
        self.calendar = self._given
        """The working calendar, with the province's declared days as of the last look."""

    async def look_at_calendar(self, uow: UnitOfWork) -> WorkingCalendar:
        """Read the days the province declares (they change while the bot runs)."""
        self.calendar = self._given.adding(await uow.calendar.declared())
        return self.calendar

    def _lookback(self) -> timedelta:
        # enough calendar days to cover the late working days, holidays included
        return timedelta(days=self.policy.late_working_days * 2 + 14)

    async def sweep(self, uow: UnitOfWork, now: datetime) -> SweepResult:
        """Decide the reminders due now; commit them with their outbox messages."""
        await uow.agencies.settle(now)  # people follow an agency whose end has come
        await tell_followers(uow, now)
        await self.look_at_calendar(uow)
        local = now.astimezone(current_timezone())
        today = local.date()
        result = SweepResult()
        if not self.policy.sending_allowed(local.time()) or not self.calendar.is_working_day(
            today
        ):
            await uow.commit()  # people follow their agency (and are told) whatever the day
            return result
        horizon = today + timedelta(days=max(self.policy.days_before) + 7)
        known = Pending(uow)  # the deadlines and who is behind, read once for the whole sweep
        since = today - self._lookback()
        result.decided += await welcome_back(uow, today, now, since, horizon, known)
        names = await uow.notifications.agency_names()

        def step_today(due: date) -> Step | None:
            return current_step(steps_for(due, self.policy, self.calendar), today)

        wanted = lambda due: since <= due <= horizon and step_today(due) is not None  # noqa: E731
        for found in await behind(uow, today, wanted, known):
            await uow.give_way()  # officers reporting meanwhile are answered first
            step = step_today(found.milestone.due_date)
            assert step is not None
            step = Step(step_name(found.extension, step.name), step.day, step.late_day)
            agency_id, tasks = found.agency_id, found.tasks
            if step.late_day >= self.policy.digest_from_late_day:
                result.late.append((found.milestone, names[agency_id], len(tasks), step.late_day))
            decided = await self._remind(
                uow,
                found.milestone,
                agency_id,
                names[agency_id],
                tasks,
                step,
                today,
                now,
                found.extension,
            )
            if decided:  # one agency at a time: the intake never waits for a whole sweep
                await uow.commit()
            result.decided += decided
        result.decided += await remind_undecided(uow, now, self.policy, self.calendar)
        result.decided += await remind_unanswered(uow, now, self.policy, self.calendar)
        await uow.commit()
        if result.decided:
            logger.info("reminder sweep decided %s messages", result.decided)
        return result

    async def _remind(
        self,
        uow: UnitOfWork,
        milestone: DueMilestone,
        agency_id: int,
        agency_name: str,
        tasks: list[PendingTask],
        step: Step,
        today: date,
        now: datetime,
        extension: Extension | None = None,
    ) -> int:
        members = await uow.notifications.recipients(agency_id)
        done = await uow.notifications.decided_members(milestone.id, agency_id, step.name)
        escalate = step.late_day >= self.policy.leader_from_late_day > 0
        officers = [m for m in members if m.role != Role.LEADER]
        leaders = [m for m in members if m.role == Role.LEADER]
        targets = officers + leaders if escalate or not officers else officers
        away = await uow.absences.on(today, agency_id)
        routes, _unreached = route(  # nobody present: the digest says so
            [m.member_id for m in targets],
            [m.member_id for m in officers],
            [m.member_id for m in leaders],
            away,
        )
        by_id = {m.member_id: m for m in members}
        snoozes = await uow.snoozes.latest(milestone.id)
        notices: dict[str, list[Notice]] = {step.name: []}
        for routed in routes:
            member = by_id[routed.member_id]
            as_leader = member.role == Role.LEADER and escalate
            until = snoozes.get(member.member_id)
            if until is not None and until > now and not as_leader:
                continue  # "remind me later": held until the snooze ends
            decision = step.name
            if member.member_id in done:
                if (
                    until is None
                    or as_leader
                    or until.astimezone(current_timezone()).date() != today
                ):
                    continue
                decision = f"snooze-{until:%Y%m%d%H%M}"  # the reminder asked for "later"
            reply = reminder_message(
                milestone,
                agency_name,
                tasks,
                today,
                member,
                escalation=as_leader,
                standing_in=[away[m] for m in routed.standing_in_for],
                extension=extension,
            )
            kind = "escalation" if as_leader else "reminder"
            notices.setdefault(decision, []).append(Notice(member, kind, reply_to_payload(reply)))
        decided = 0
        for decision, batch in notices.items():
            decided += await uow.notifications.decide_all(
                milestone_id=milestone.id,
                agency_id=agency_id,
                step=decision,
                messages=batch,
                now=now,
            )
        return decided

    async def nudge(
        self, uow: UnitOfWork, now: datetime, agency_id: int | None = None
    ) -> tuple[int, int]:
        """Remind now, on the coordinator's demand: everyone behind, or one agency.

        Returns (agencies reminded, messages decided); the caller commits. Asking twice in the
        same minute sends once.
        """
        today = now.astimezone(current_timezone()).date()
        names = await uow.notifications.agency_names()
        step = Step(f"manual-{now.astimezone(current_timezone()):%Y%m%d%H%M}", today)
        agencies: set[int] = set()
        decided = 0
        start = today - timedelta(days=366)
        end = today + timedelta(days=max(self.policy.days_before))
        for found in await behind(uow, today, lambda due: start <= due <= end):
            milestone, pending_agency = found.milestone, found.agency_id
            if milestone.recipients == "coordinator":
                continue
            if agency_id is not None and pending_agency != agency_id:
                continue
            if agency_id is None and not is_late(milestone.due_date, today):
                continue  # "everyone late": only deadlines already past
            agencies.add(pending_agency)
            named = step
            if found.extension is not None:  # its own name, however many the agency has
                named = Step(f"xm{found.extension.id}-{now:%y%m%d%H%M}"[:20], today)
            decided += await self._remind(
                uow,
                milestone,
                pending_agency,
                names[pending_agency],
                found.tasks,
                named,
                today,
                now,
                found.extension,
            )
        return len(agencies), decided

    async def digest(self, uow: UnitOfWork, now: datetime) -> int:
        """Send the coordinator's daily digest once a working day; return messages queued."""
        await self.look_at_calendar(uow)
        local = now.astimezone(current_timezone())
        today = local.date()
        if not self.policy.sending_allowed(local.time()) or not self.calendar.is_working_day(
            today
        ):
            return 0
        since = now - timedelta(days=1)
        counts = await uow.notifications.delivery_counts(since)
        known = Pending(uow)  # the deadlines and who is behind, read once for the whole digest
        late = await self._late_agencies(uow, today, known)
        blocked = await uow.notifications.unreachable_members()
        failed = await uow.notifications.undeliverable(since)
        away = await nobody_present(
            uow, today, today - self._lookback(), today + timedelta(7), known
        )
        asked = await uow.extensions.waiting()
        requests = await explanations_to_digest(uow, today)
        owed = any(not e.answered for e in requests)
        if not (counts or late or blocked or failed or away or asked or owed):
            return 0
        text = digest_message(
            today, counts, late, blocked, failed, self.policy, away, explanations=requests
        )
        if asked:
            text += "\n\n" + "\n".join(waiting_lines(asked))
        queued = 0
        for member in await uow.notifications.coordinators(today):
            queued += bool(
                await uow.notifications.enqueue(
                    channel=member.channel,
                    chat_id=member.chat_id,
                    member_id=member.member_id,
                    kind="digest",
                    payload=reply_to_payload(Reply(text)),
                    dedupe_key=f"digest:{today.isoformat()}:{member.member_id}",
                    now=now,
                )
            )
        await uow.commit()
        return queued

    async def _late_agencies(
        self, uow: UnitOfWork, today: date, known: Pending | None = None
    ) -> list[tuple[DueMilestone, str, int, int]]:
        names = await uow.notifications.agency_names()
        start = today - self._lookback()
        late = []
        for found in await behind(uow, today, lambda due: start <= due <= today, known):
            late_days = [
                d
                for d in self.calendar.working_days_after(found.milestone.due_date, 60)
                if d <= today
            ]
            if len(late_days) < self.policy.digest_from_late_day:
                continue
            late.append(
                (found.milestone, names[found.agency_id], len(found.tasks), len(late_days))
            )
        return late


# --- messages -------------------------------------------------------------------------------


def reminder_message(
    milestone: DueMilestone,
    agency: str,
    tasks: list[PendingTask],
    today: date,
    member: Recipient,
    *,
    escalation: bool,
    standing_in: Sequence[Absence] = (),
    extension: Extension | None = None,
) -> Reply:
    """Write a reminder (or an escalation to the agency's leader) in Vietnamese.

    ``standing_in``: the absences of the members the recipient receives it for; ``extension``:
    the granted extension whose day ``milestone`` carries.
    """
    days = (milestone.due_date - today).days
    when = time_left(milestone.due_date, today)
    lines = [_("Dear comrade %(name)s,") % {"name": member.full_name}]
    if standing_in:
        lines.append(standing_in_note(standing_in))
    if escalation:
        lines.append(
            _(
                "%(agency)s has not yet submitted the %(title)s for %(year)s, which was due "
                "%(date)s (%(when)s)."
            )
            % {
                "agency": agency,
                "title": milestone.title,
                "year": milestone.year,
                "date": format_day(milestone.due_date),
                "when": when,
            }
        )
    else:
        lines.append(
            _("%(agency)s has not yet submitted the %(title)s for %(year)s.")
            % {"agency": agency, "title": milestone.title, "year": milestone.year}
        )
        lines.append(
            _("Deadline: %(date)s (%(when)s).")
            % {"date": format_day(milestone.due_date), "when": when}
        )
    lines.append(period_line(milestone_period(milestone.info())))

    if extension is not None:
        lines.append(granted_line(extension))
    lines.append("")
    lines.append(
        ngettext(
            "Task not yet reported (%(count)s):", "Tasks not yet reported (%(count)s):", len(tasks)
        )
        % {"count": len(tasks)}
    )
    lines += [f"• {task.code} {task.title}" for task in tasks[:15]]
    if len(tasks) > 15:
        lines.append(_("… and %(count)s more (send /baocao)") % {"count": len(tasks) - 15})
    lines.append("")
    if escalation:
        lines.append(
            _(
                "We respectfully ask you to direct your agency's focal officer to complete the "
                "report. Sincerely."
            )
        )
    else:
        lines.append(
            _("We respectfully ask you to complete the report on time. Sincerely.")
            if days >= 0
            else _(
                "We respectfully ask you to complete the report as soon as possible. Sincerely."
            )
        )
    buttons = [
        Choice(
            _("Report now: %(code)s") % {"code": t.code},
            REPORT_NOW.encode(milestone.cycle_id, t.id),
        )
        for t in tasks[:TASK_BUTTONS]
    ]
    rows = tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    rows += ((snooze_choice(milestone.id), extension_choice(milestone.id)),)
    return Reply("\n".join(lines), rows if not escalation else ())


def digest_message(
    today: date,
    counts: dict[str, int],
    late: list[tuple[DueMilestone, str, int, int]],
    blocked: list[tuple[str, str]],
    failed: list[tuple[str, str, str]],
    policy: ReminderPolicy,
    away: Sequence[tuple[str, list[Absence]]] = (),
    *,
    explanations: Sequence[Explanation] = (),
) -> str:
    """Write the coordinator's daily digest.

    ``away``: the agencies behind on a deadline whose every member is away today, with the
    absences (nobody receives their reminders). ``explanations``: the requests to count (see
    :func:`explanations_to_digest`); the agencies that owe an answer are listed.
    """
    sent = counts.get("sent", 0)
    waiting = counts.get("pending", 0) + counts.get("sending", 0)
    failed_count = counts.get("failed", 0) + counts.get("blocked", 0)
    lines = [
        _("Reminder digest, %(date)s") % {"date": format_day(today)},
        "",
        _(
            "In the last 24 hours: %(sent)s reminders delivered, %(waiting)s waiting, "
            "%(failed)s undeliverable."
        )
        % {"sent": sent, "waiting": waiting, "failed": failed_count},
    ]
    if late:
        lines += [
            "",
            _("Agencies %(days)s or more working days late:")
            % {"days": policy.digest_from_late_day},
        ]
        for milestone, agency, pending, days in late:
            lines.append(
                _(
                    "• %(agency)s — %(title)s %(year)s: %(pending)s tasks not reported, "
                    "%(days)s working days late"
                )
                % {
                    "agency": agency,
                    "title": milestone.title,
                    "year": milestone.year,
                    "pending": pending,
                    "days": days,
                }
            )
    if away:
        lines += ["", _("Agencies behind on a deadline with nobody present to remind today:")]
        lines += [
            _("• %(agency)s — away: %(names)s")
            % {
                "agency": agency,
                "names": "; ".join(
                    _("%(name)s until %(day)s")
                    % {"name": a.member_name, "day": f"{a.ends_on:%d/%m/%Y}"}
                    for a in absences
                ),
            }
            for agency, absences in away
        ]
    lines += digest_lines(explanations, today)
    if blocked:
        lines += ["", _("Members who blocked the bot (they receive no reminders):")]
        lines += [f"• {name} — {agency}" for name, agency in blocked]
    if failed:
        lines += ["", _("Messages that could not be delivered:")]
        lines += [f"• {name} — {agency}" for name, agency, _status in failed]
    return "\n".join(lines)


async def explanations_to_digest(uow: UnitOfWork, today: date) -> list[Explanation]:
    """Return the requests the digest counts: this year's, and any still unanswered."""
    requests = {e.id: e for e in await uow.explanations.of_year(today.year)}
    for explanation in await uow.explanations.unanswered(due_before=date.max):
        requests.setdefault(explanation.id, explanation)
    return sorted(requests.values(), key=lambda e: e.id)


async def nudge(ctx: Context) -> list[Reply]:
    """Answer /nhacnho [CODE]: remind now every agency that is late, or the agency named."""
    reminders = ctx.reminders if ctx.reminders is not None else Reminders()
    agency_id = None
    if ctx.incoming.argument:
        try:
            agency_id = (await ctx.uow.agencies.find(ctx.incoming.argument, ctx.today())).id
        except AgencyError as error:
            return [Reply(agency_refusal(error))]
    agencies, messages = await reminders.nudge(ctx.uow, ctx.now(), agency_id)
    ctx.audit(
        "reminder.manual",
        agencies=agencies,
        messages=messages,
    )
    ctx.queued = ctx.queued or messages > 0
    if not agencies:
        return [Reply(_("No agency is behind on a deadline, so no reminder was sent."))]
    return [
        Reply(
            _("Reminders queued: %(agencies)s agencies, %(messages)s messages.")
            % {"agencies": agencies, "messages": messages}
        )
    ]


CONVERSATION = Conversation(
    "reminders",
    commands=(
        Command(
            "nhacnho",
            N_("remind now: every agency that is late, or one agency (/nhacnho CODE)"),
            COORDINATORS,
            nudge,
        ),
    ),
)
