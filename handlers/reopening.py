"""``/mohan``: the coordinator reopens an agency's reports of a year after the deadline.

``/mohan AGENCY TASK DD/MM/YYYY`` (``tatca`` for every task of the agency) lets the agency
report again, until that day, on a year whose deadline has passed: the latest such year among
those reports can still be filed for. The agency's members are told through the outbox; a
report made then is recorded with its date, so it counts as late. The reopening ends by
itself after its last day. One message, no buttons: it reads the same on every channel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.core.domain.agencies import AgencyInfo
from bot.core.i18n import N_, _, format_day
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import fold, shorten
from handlers.context import COORDINATORS, Actor, Command, Context
from handlers.conversation import Conversation
from handlers.refusals import agency_refusal
from handlers.report.states import REPORT_NOW
from storage.agencies import AgencyError
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

EVERY_TASK = ("tatca", "tat ca", "*")
LONGEST = 90
"""A reopening lasts at most this many days from today."""


def _usage() -> Reply:
    return Reply(
        _(
            "To reopen reporting after the deadline, send: /mohan AGENCY TASK DD/MM/YYYY, for "
            "example /mohan sxd 1.b.1 31/12/2024; write tatca instead of the task code to "
            "reopen every task of the agency. The agency may then report until that day; "
            "its report is recorded as late."
        )
    )


def _day(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        return None


async def reopen(ctx: Context) -> list[Reply]:
    """Answer /mohan AGENCY TASK|tatca DD/MM/YYYY."""
    parts = ctx.incoming.argument.split()
    if len(parts) < 3:
        return [_usage()]
    *agency_words, task_word, day_word = parts
    until = _day(day_word)
    today = ctx.today()
    if until is None:
        return [
            Reply(
                _("%(text)s is not a date. Please write it as DD/MM/YYYY, for example 31/12/2024.")
                % {"text": shorten(day_word, 20)}
            ),
            _usage(),
        ]
    problem = until_problem(until, today)
    if problem is not None:
        return [Reply(problem)]
    try:
        agency = await ctx.uow.agencies.find(" ".join(agency_words))
    except AgencyError as error:
        return [Reply(agency_refusal(error))]
    task_code = None if fold(task_word) in EVERY_TASK else task_word
    done = await reopen_reporting(ctx.uow, ctx.actor(), agency, task_code, until, today, ctx.now())
    ctx.queued = done.queued or ctx.queued
    return [Reply(done.text)]


# --- reopening, shared with the dashboard -----------------------------------------------------


def until_problem(until: date, today: date) -> str | None:
    """Say why a reopening cannot last until that day, None when it can."""
    if today <= until <= today + timedelta(days=LONGEST):
        return None
    return _("The last day of a reopening must be between today (%(today)s) and %(latest)s.") % {
        "today": format_day(today),
        "latest": format_day(today + timedelta(LONGEST)),
    }


@dataclass(frozen=True, slots=True)
class Reopened:
    """What became of a reopening: granted (and the agency told) or not, and what to say."""

    done: bool
    text: str
    queued: bool = False


async def reopen_reporting(
    uow: UnitOfWork,
    actor: Actor,
    agency: AgencyInfo,
    task_code: str | None,
    until: date,
    today: date,
    now: datetime,
) -> Reopened:
    """Reopen an agency's reporting on a task (None: every task) of the latest closed year.

    The chat's /mohan and the dashboard both reopen here: the reopening is recorded and
    audited, and the agency's members are told through the outbox.
    """
    problem = until_problem(until, today)
    if problem is not None:
        return Reopened(False, problem)
    closed = [
        c
        for c in await uow.submissions.open_cycles(today)
        if c.correction_deadline is not None and c.correction_deadline < today
    ]
    if not closed:
        return Reopened(
            False,
            _(
                "No reporting year open for reports has passed its deadline: the agencies "
                "may still report and correct their reports without a reopening."
            ),
        )
    cycle = closed[-1]
    tasks = await uow.plans.tasks_of_agency(agency.id, today)
    task = None
    if task_code is not None:
        task = next((t for t in tasks if t.code.casefold() == task_code.casefold()), None)
        if task is None:
            return Reopened(
                False,
                _("%(agency)s has no task with the code %(code)s.")
                % {"agency": agency.name, "code": shorten(task_code, 20)},
            )
    granted = await uow.reviews.reopen(
        cycle_id=cycle.id,
        agency_id=agency.id,
        task_id=task.id if task else None,
        until=until,
        granted_by=actor.member.id,
        now=now,
    )
    actor.audit(
        uow,
        "reopening.grant",
        now,
        reopening=granted.id,
        agency=agency.code,
        task=task.code if task else "*",
        year=cycle.year,
        until=until.isoformat(),
    )
    logger.info("reopening %s granted to agency %s", granted.id, agency.code)
    facts: dict[str, str | int] = {
        "agency": agency.name,
        "year": cycle.year,
        "until": format_day(until),
        "code": task.code if task else "",
    }
    what = _("task %(code)s of %(year)s") % facts if task else _("every task of %(year)s") % facts
    facts["what"] = what
    queued = await _tell(
        uow, actor, now, agency.id, granted.id, facts, task.id if task else None, cycle.id
    )
    text = (
        _(
            "Reopened: %(agency)s may report on %(what)s until %(until)s. Its members "
            "have been told; these reports are recorded as late."
        )
        % facts
    )
    return Reopened(True, text, queued)


async def _tell(
    uow: UnitOfWork,
    actor: Actor,
    now: datetime,
    agency_id: int,
    reopening_id: int,
    facts: dict[str, str | int],
    task_id: int | None,
    cycle_id: int,
) -> bool:
    """Tell the agency's members through the outbox."""
    sender = actor.member
    text = _(
        "%(sender)s (%(from)s) has reopened reporting for your agency on %(what)s, until "
        "%(until)s. You may report or correct your reports until then (send /baocao); they "
        "are recorded as late."
    ) % {**facts, "sender": sender.full_name, "from": sender.agency_name}
    choices: tuple[tuple[Choice, ...], ...] = ()
    if task_id is not None:
        label = _("Report now: %(code)s") % {"code": facts["code"]}
        choices = ((Choice(label, REPORT_NOW.encode(cycle_id, task_id)),),)
    message = Reply(text, choices)
    queued = await uow.notifications.enqueue_each(
        await uow.members.notice_recipients(sender.id, agency_id),
        kind="reopening",
        payload=reply_to_payload(message),
        key=f"reopening:{reopening_id}",
        now=now,
    )
    return queued > 0


CONVERSATION = Conversation(
    "reopening",
    commands=(
        Command(
            "mohan",
            N_("reopen an agency's reporting on a task (or every task) after the deadline"),
            COORDINATORS,
            reopen,
        ),
    ),
)
