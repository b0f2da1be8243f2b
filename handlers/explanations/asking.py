"""Asking: the coordinator chooses a late or blocked agency, previews the request, sends it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar
from bot.core.domain.explanations import (
    Explanation,
    ExplanationReason,
    answer_due,
)
from bot.core.domain.progress import AgencyState, PlanSummary, TaskState
from bot.core.i18n import _, current_timezone, format_day
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import shorten
from handlers import replies
from handlers.context import Actor, Context
from handlers.explanations.common import (
    ANSWER,
    ASK,
    KIND_REQUEST,
    LIST_LIMIT,
    MENU,
    MENU_BUTTONS,
    NAME_LENGTH,
    is_coordinator,
    refused,
    task_lines,
    year_of,
)
from handlers.exports.explanations import counts_line, full_lines, reason_label
from handlers.refusals import agency_refusal
from storage.agencies import AgencyError
from storage.notifications import Recipient
from storage.uow import UnitOfWork


def eligible(
    summary: PlanSummary, agency: AgencyState, task: TaskState | None
) -> tuple[ExplanationReason, list[str]] | None:
    """Return why an agency may be asked (and about which tasks), None if it may not.

    An agency is asked about its late tasks once the current deadline has passed and it has
    lead tasks not reported; about one task when that task is late, or when its latest report
    on it says the work is blocked.
    """
    if task is None:
        if summary.late and agency.pending_tasks:
            return ExplanationReason.LATE, list(agency.pending_tasks)
        return None
    report = next((r for r in task.all_reports if r.agency_id == agency.id), None)
    if report is not None and report.status == "blocked":
        return ExplanationReason.BLOCKED, [task.code]
    if summary.late and task.code in agency.pending_tasks:
        return ExplanationReason.LATE, [task.code]
    return None


def ask_choice(year: int, agency: AgencyState, task: TaskState | None = None) -> Choice:
    """Return the button that asks an agency to explain (its late tasks, or one task)."""
    name = shorten(agency.name, NAME_LENGTH)
    if task is None:
        label = _("Ask to explain: %(agency)s (%(count)s late)") % {
            "agency": name,
            "count": len(agency.pending_tasks),
        }
        return Choice(label, ASK.encode(year, agency.id, ""))
    label = _("Ask to explain: %(code)s — %(agency)s") % {"code": task.code, "agency": name}
    return Choice(label, ASK.encode(year, agency.id, task.id))


def menu_choice(year: int) -> Choice:
    """Return the button that lists the agencies the coordinator may ask to explain."""
    return Choice(_("Ask for explanations"), MENU.encode(year))


def agency_choices(summary: PlanSummary, agency: AgencyState) -> tuple[tuple[Choice, ...], ...]:
    """Return the ask buttons of an agency's view: its late tasks, and each blocked task."""
    rows: list[tuple[Choice, ...]] = []
    if eligible(summary, agency, None) is not None:
        rows.append((ask_choice(summary.year, agency),))
    for task in summary.all_tasks:
        found = eligible(summary, agency, task)
        if found is not None and found[0] is ExplanationReason.BLOCKED:
            rows.append((ask_choice(summary.year, agency, task),))
    return tuple(rows[: MENU_BUTTONS // 2])


def _candidates(summary: PlanSummary) -> list[Choice]:
    """Return the blocked tasks (fewer, and named one by one) first, then the late agencies."""
    by_id = {a.id: a for a in summary.agencies}
    choices = [
        ask_choice(summary.year, by_id[report.agency_id], task)
        for task, report in summary.blocked
        if report.agency_id in by_id and not report.supporting
    ]
    choices += [
        ask_choice(summary.year, agency)
        for agency in summary.agencies
        if eligible(summary, agency, None) is not None
    ]
    return choices


async def on_menu(ctx: Context, argument: str) -> list[Reply]:
    """List the late and blocked agencies, each a button that asks it to explain."""
    if not is_coordinator(ctx):
        return refused(ctx, f"{MENU.prefix}:{argument}")
    year = await year_of(ctx, MENU.decode(argument)[0])
    summary = await ctx.uow.summaries.summary(year, ctx.today()) if year else None
    if summary is None:
        return [replies.stale_choice()]
    return [_menu(summary)]


def _menu(summary: PlanSummary) -> Reply:
    candidates = _candidates(summary)
    lines = [_("Explanation requests, %(year)s") % {"year": summary.year}]
    counts = counts_line(summary.explanations, summary.today)
    if counts:
        lines.append(counts)
    if not candidates:
        lines += [
            "",
            _(
                "No agency is late on the current deadline or has reported difficulties, so "
                "there is no one to ask for an explanation."
            ),
        ]
        return Reply("\n".join(lines))
    lines += ["", _("Choose the agency (or the blocked task) to ask for an explanation:")]
    if len(candidates) > MENU_BUTTONS:
        lines.append(
            _("The first %(shown)s of %(count)s are shown; send /giaitrinh AGENCY for another.")
            % {"shown": MENU_BUTTONS, "count": len(candidates)}
        )
    return Reply("\n".join(lines), tuple((c,) for c in candidates[:MENU_BUTTONS]))


async def on_ask(ctx: Context, argument: str) -> list[Reply]:
    """Preview a request (a press of an ask button), send it ("ok"), or drop it ("x")."""
    payload = f"{ASK.prefix}:{argument}"
    if not is_coordinator(ctx):
        return refused(ctx, payload)
    year_text, agency_text, task_text, action = ASK.decode(argument)
    year = await year_of(ctx, year_text)
    if year is None or not agency_text.isdigit() or not (task_text.isdigit() or not task_text):
        return [replies.stale_choice()]
    if action == "x":
        return [Reply(_("Cancelled: no explanation request was sent."), edit=True)]
    summary = await ctx.uow.summaries.summary(year, ctx.today())
    if summary is None:
        return [replies.stale_choice()]
    agency = next((a for a in summary.agencies if a.id == int(agency_text)), None)
    task = next((t for t in summary.all_tasks if str(t.id) == task_text), None)
    if agency is None or (task_text and task is None):
        return [replies.stale_choice()]
    return await _ask(ctx, summary, agency, task, send=action == "ok")


async def _ask(
    ctx: Context,
    summary: PlanSummary,
    agency: AgencyState,
    task: TaskState | None,
    *,
    send: bool,
) -> list[Reply]:
    policy = ctx.reminders.policy if ctx.reminders is not None else ReminderPolicy()
    given = ctx.reminders.calendar if ctx.reminders is not None else WorkingCalendar()
    asking = await prepare_request(ctx.uow, summary, agency, task, ctx.today(), policy, given)
    if asking.reason is None:
        return [Reply(asking.refusal(), edit=ctx.incoming.payload is not None)]
    if asking.waiting is not None:
        return [Reply(asking.refusal())]
    if not send:
        titles = {t.code: t.title for t in summary.all_tasks}
        preview = _preview(
            summary.year, agency, task, asking.reason, list(asking.codes), titles, asking.due
        )
        return [replace(preview, edit=ctx.incoming.payload is not None)]
    recipients = await send_request(ctx.uow, ctx.actor(), summary, asking, ctx.now())
    ctx.queued = ctx.queued or bool(recipients)
    return [Reply(asking.sent_text(recipients), edit=ctx.incoming.payload is not None)]


# --- asking, shared with the dashboard --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asking:
    """An explanation request checked before it is sent: what it asks, or why it cannot be."""

    agency: AgencyState
    task: TaskState | None
    reason: ExplanationReason | None = None
    """None when the agency (or the task) may not be asked: not late, not blocked."""
    codes: tuple[str, ...] = ()
    due: date = date.min
    cycle_id: int = 0
    waiting: Explanation | None = None
    """The same request, asked already and not answered yet."""

    @property
    def ready(self) -> bool:
        """Tell whether the request may be sent."""
        return self.reason is not None and self.waiting is None

    def refusal(self) -> str:
        """Say politely why the request cannot be sent."""
        if self.waiting is None:
            return _not_eligible(self.agency, self.task)
        return _(
            "%(agency)s was already asked for this explanation on %(date)s (due "
            "%(due)s) and has not answered yet. The unanswered request is reminded "
            "automatically."
        ) % {
            "agency": self.agency.name,
            "date": format_day(self.waiting.asked_at.astimezone(current_timezone()).date()),
            "due": format_day(self.waiting.due_date),
        }

    def sent_text(self, recipients: int) -> str:
        """Say that the request was sent, and to how many members."""
        if not recipients:
            return _(
                "The explanation request was recorded, but %(agency)s has no registered member "
                "to receive it. Please invite its officers (/moi)."
            ) % {"agency": self.agency.name}
        return _(
            "The explanation request was sent to %(count)s members of %(agency)s. Answer due: "
            "%(due)s."
        ) % {"count": recipients, "agency": self.agency.name, "due": format_day(self.due)}


async def prepare_request(
    uow: UnitOfWork,
    summary: PlanSummary,
    agency: AgencyState,
    task: TaskState | None,
    today: date,
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> Asking:
    """Check whether an agency may be asked to explain (its late tasks, or one task)."""
    found = eligible(summary, agency, task)
    if found is None:
        return Asking(agency, task)
    reason, codes = found
    cycle_id = await uow.explanations.cycle_of_year(summary.year)
    assert cycle_id is not None  # the summary exists, so does its cycle
    waiting = await uow.explanations.open_request(cycle_id, agency.id, task.id if task else None)
    calendar = calendar.adding(await uow.calendar.declared())  # the province's days, today
    due = answer_due(today, policy.explanation_days, calendar)
    return Asking(agency, task, reason, tuple(codes), due, cycle_id, waiting)


async def send_request(
    uow: UnitOfWork, actor: Actor, summary: PlanSummary, asking: Asking, now: datetime
) -> int:
    """Record a ready request, tell the agency's members through the outbox, audit it.

    Return how many members were told. The chat's /giaitrinh and the dashboard both send here.
    """
    assert asking.ready and asking.reason is not None
    agency, task = asking.agency, asking.task
    member = actor.member
    explanation = await uow.explanations.ask(
        cycle_id=asking.cycle_id,
        agency_id=agency.id,
        task_id=task.id if task else None,
        task_codes=list(asking.codes),
        reason=asking.reason,
        asked_by=member.id,
        now=now,
        due_date=asking.due,
    )
    titles = {t.code: t.title for t in summary.all_tasks}
    recipients = await uow.notifications.recipients(agency.id)
    for recipient in recipients:
        message = request_message(explanation, recipient, member.agency_name, titles)
        await uow.notifications.enqueue(
            channel=recipient.channel,
            chat_id=recipient.chat_id,
            member_id=recipient.member_id,
            kind=KIND_REQUEST,
            payload=reply_to_payload(message),
            dedupe_key=f"{KIND_REQUEST}:{explanation.id}:{recipient.member_id}",
            now=now,
        )
    actor.audit(
        uow,
        "explanation.ask",
        now,
        request=explanation.id,
        agency=agency.id,
        tasks=",".join(asking.codes)[:200],
        reason=asking.reason.value,
        recipients=len(recipients),
    )
    return len(recipients)


def _not_eligible(agency: AgencyState, task: TaskState | None) -> str:
    if task is None:
        return _(
            "%(agency)s is not late on the current deadline, so it cannot be asked to explain "
            "its late tasks."
        ) % {"agency": agency.name}
    return _(
        "Task %(code)s of %(agency)s is neither late nor reported as facing difficulties, so "
        "no explanation can be asked about it."
    ) % {"code": task.code, "agency": agency.name}


def _preview(
    year: int,
    agency: AgencyState,
    task: TaskState | None,
    reason: ExplanationReason,
    codes: list[str],
    titles: dict[str, str],
    due: date,
) -> Reply:
    lines = [
        _("Ask %(agency)s to explain (%(reason)s), %(year)s:")
        % {"agency": agency.name, "reason": reason_label(reason), "year": year},
        *task_lines(codes, titles),
        _("Answer due: %(due)s.") % {"due": format_day(due)},
        "",
        _("Its officers and leader will receive the request. Send it?"),
    ]
    task_id = task.id if task else ""
    return Reply(
        "\n".join(lines),
        (
            (
                Choice(_("Confirm"), ASK.encode(year, agency.id, task_id, "ok")),
                Choice(_("Cancel"), ASK.encode(year, agency.id, task_id, "x")),
            ),
        ),
    )


def request_message(
    explanation: Explanation, member: Recipient, coordinator: str, titles: dict[str, str]
) -> Reply:
    """Write the request an agency's member receives, with its "Giải trình" button."""
    if explanation.reason is ExplanationReason.BLOCKED:
        asked = _(
            "%(coordinator)s respectfully asks %(agency)s to explain the difficulties and "
            "obstacles reported on the following task in %(year)s:"
        )
    else:
        asked = _(
            "%(coordinator)s respectfully asks %(agency)s to explain why it has not reported on "
            "the following tasks by the deadline in %(year)s:"
        )
    lines = [
        _("Dear comrade %(name)s,") % {"name": member.full_name},
        asked
        % {
            "coordinator": coordinator,
            "agency": explanation.agency_name,
            "year": explanation.year,
        },
        *task_lines(explanation.task_codes, titles),
        "",
        _("Please send the explanation by %(due)s.") % {"due": format_day(explanation.due_date)},
        _(
            'Press "Explain" below (or send /giaitrinh) and write the explanation in one '
            "message. Sincerely."
        ),
    ]
    return Reply("\n".join(lines), ((Choice(_("Explain"), ANSWER.encode(explanation.id)),),))


async def coordinator_command(ctx: Context) -> list[Reply]:
    """Answer /giaitrinh from the coordinator: the counts, the latest requests, whom to ask."""
    argument = ctx.incoming.argument.strip()
    year = await year_of(ctx)
    summary = await ctx.uow.summaries.summary(year, ctx.today()) if year else None
    if summary is None:
        return [Reply(_("No plan has been imported yet."))]
    if argument:
        return await _ask_typed(ctx, summary, argument)
    reply = _menu(summary)
    recent = summary.explanations[-LIST_LIMIT:]
    if not recent:
        return [reply]
    lines = ["", _("Latest requests:")]
    for explanation in reversed(recent):
        lines.append("• " + full_lines(explanation, summary.today)[0])
    return [Reply(reply.text + "\n" + "\n".join(lines), reply.choices)]


async def _ask_typed(ctx: Context, summary: PlanSummary, argument: str) -> list[Reply]:
    """Ask as ``/giaitrinh AGENCY [TASK]``: the last word is a task code if it names one."""
    words = argument.split()
    task = next((t for t in summary.all_tasks if t.code.lower() == words[-1].lower()), None)
    agency_text = " ".join(words[:-1]) if task is not None and len(words) > 1 else argument
    if task is not None and len(words) == 1:
        return [Reply(_("Please name the agency before the task: /giaitrinh AGENCY TASK."))]
    try:
        found = await ctx.uow.agencies.find(agency_text, ctx.today())
    except AgencyError as error:
        return [Reply(agency_refusal(error))]
    agency = next((a for a in summary.agencies if a.id == found.id), None)
    if agency is None:
        return [
            Reply(
                _("%(agency)s has no task in the plan in %(year)s.")
                % {"agency": found.name, "year": summary.year}
            )
        ]
    return await _ask(ctx, summary, agency, task, send=False)
