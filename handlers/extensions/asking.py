"""Asking: an agency's member asks for an extension: the tasks, the day, the reason."""

from __future__ import annotations

import logging
from datetime import date

from bot.core.domain.conversation import ConversationState
from bot.core.domain.standing import day_problem
from bot.core.i18n import _, format_day
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import shorten
from handlers import replies
from handlers.context import Context
from handlers.extensions.common import (
    KIND_REQUEST,
    MAX_REASON,
    MIN_REASON,
    REQUEST,
    STATE,
    TASK_BUTTONS,
    day_refusal,
    not_a_date,
    parse_day,
    rules,
)
from handlers.extensions.reminding import request_message
from handlers.extensions.schedule import Behind, behind

logger = logging.getLogger(__name__)


async def deadlines(ctx: Context) -> list[Behind]:
    """Return the deadlines the member's agency is behind on, on its own days, still open."""
    lineage = await ctx.uow.notifications.lineage(ctx.require_member().agency_id)
    return [
        b for b in await behind(ctx.uow, ctx.today(), lambda due: True) if b.agency_id in lineage
    ]


async def start(ctx: Context) -> list[Reply]:
    """Answer /giahan from an agency's member: choose the deadline, or its tasks."""
    found = await deadlines(ctx)
    if not found:
        return [
            Reply(
                _(
                    "Your agency has no report left to make on an open deadline, so there is "
                    "no deadline to extend."
                )
            )
        ]
    milestones = list(dict.fromkeys(b.milestone.id for b in found))
    if len(milestones) == 1:
        return await _tasks(ctx, milestones[0], found)
    choices = tuple(
        (
            Choice(
                _("%(title)s, due %(due)s")
                % {
                    "title": shorten(b.milestone.title, 30),
                    "due": f"{b.milestone.due_date:%d/%m}",
                },
                REQUEST.encode(b.milestone.id),
            ),
        )
        for b in found[:TASK_BUTTONS]
    )
    return [Reply(_("Which deadline do you ask to extend?"), choices)]


async def _tasks(ctx: Context, milestone_id: int, found: list[Behind]) -> list[Reply]:
    mine = [b for b in found if b.milestone.id == milestone_id]
    if not mine:
        return [
            Reply(
                _(
                    "Your agency has reported everything this deadline asks; there is nothing "
                    "to extend."
                )
            )
        ]
    first = mine[0].milestone
    tasks = [t for b in mine for t in b.tasks]
    lines = [
        _("Extension of the %(title)s, %(year)s (deadline %(due)s).")
        % {"title": first.title, "year": first.year, "due": format_day(first.due_date)},
        _(
            "Choose the task to extend, or the whole report; or type the task codes separated "
            "by commas."
        ),
    ]
    buttons = [Choice(_("The whole report"), REQUEST.encode(milestone_id, "*"))]
    buttons += [Choice(t.code, REQUEST.encode(milestone_id, t.id)) for t in tasks[:TASK_BUTTONS]]
    ctx.state = ConversationState(STATE, {"step": "tasks", "milestone": milestone_id})
    return [
        Reply(
            "\n".join(lines), tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
        )
    ]


async def on_request(ctx: Context, argument: str) -> list[Reply]:
    """Press of "Xin gia hạn" (choose the tasks) or of a task (ask for the day)."""
    milestone_text, what = REQUEST.decode(argument)
    if not milestone_text.isdigit():
        return [replies.stale_choice()]
    found = await deadlines(ctx)
    if not what:
        return await _tasks(ctx, int(milestone_text), found)
    mine = [b for b in found if b.milestone.id == int(milestone_text)]
    tasks = [t for b in mine for t in b.tasks]
    if what == "*":
        codes: list[str] = []
    else:
        task = next((t for t in tasks if str(t.id) == what), None)
        if task is None:
            return [replies.stale_choice()]
        codes = [task.code]
    return _ask_day(ctx, int(milestone_text), codes, mine)


def _current_due(mine: list[Behind], codes: list[str]) -> date:
    """Return the latest day the chosen tasks are due now (the plan's or an extension's)."""
    chosen = [b for b in mine if not codes or any(t.code in codes for t in b.tasks)]
    return max(b.milestone.due_date for b in chosen or mine)


def _ask_day(ctx: Context, milestone_id: int, codes: list[str], mine: list[Behind]) -> list[Reply]:
    if not mine:
        ctx.reset()
        return [replies.stale_choice()]
    due = _current_due(mine, codes)
    ctx.state = ConversationState(
        STATE,
        {"step": "date", "milestone": milestone_id, "codes": codes, "due": due.isoformat()},
    )
    return [_day_question(due)]


def _day_question(due: date) -> Reply:
    return Reply(
        _(
            "The current deadline is %(due)s. Please write the day you ask for as DD/MM/YYYY "
            "(a working day after it), or send /huy to stop."
        )
        % {"due": format_day(due)}
    )


def _reason_question() -> Reply:
    return Reply(
        _(
            "Please write the reason for the extension in one message (at least %(min)s "
            "characters)."
        )
        % {"min": MIN_REASON}
    )


async def question(ctx: Context) -> Reply:
    """Ask the member's current question again."""
    data = ctx.state.data
    if data.get("step") == "date":
        return _day_question(date.fromisoformat(str(data["due"])))
    if data.get("step") == "reason":
        return _reason_question()
    return Reply(_("Choose the task to extend, or type the task codes separated by commas."))


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Take the typed task codes, the day, or the reason."""
    data = ctx.state.data
    milestone_id = int(data.get("milestone", 0))
    mine = [b for b in await deadlines(ctx) if b.milestone.id == milestone_id]
    if not mine:
        ctx.reset()
        return [replies.stale_choice()]
    if data.get("step") == "tasks":
        known = {t.code.casefold(): t.code for b in mine for t in b.tasks}
        wanted = [w.strip() for w in text.replace(";", ",").split(",") if w.strip()]
        unknown = [w for w in wanted if w.casefold() not in known]
        if not wanted or unknown:
            return [
                Reply(
                    _(
                        "%(codes)s is not among the tasks your agency still has to report for "
                        "this deadline. Please choose again."
                    )
                    % {"codes": shorten(", ".join(unknown or [text]), 60)}
                )
            ]
        return _ask_day(ctx, milestone_id, [known[w.casefold()] for w in wanted], mine)
    if data.get("step") == "date":
        due = date.fromisoformat(str(data["due"]))
        day = parse_day(text)
        if day is None:
            return [not_a_date(text)]
        _policy, calendar = await rules(ctx)
        problem = day_problem(
            day, due=due, year=mine[0].milestone.year, today=ctx.today(), calendar=calendar
        )
        if problem is not None:
            return [Reply(day_refusal(problem, day, due))]
        ctx.state = ConversationState(STATE, {**data, "step": "reason", "until": day.isoformat()})
        return [_reason_question()]
    return await _send(ctx, text.strip(), mine)


async def _send(ctx: Context, reason: str, mine: list[Behind]) -> list[Reply]:
    if len(reason) < MIN_REASON:
        return [
            Reply(
                _("The reason is too short (at least %(min)s characters). Please write it again.")
                % {"min": MIN_REASON}
            )
        ]
    if len(reason) > MAX_REASON:
        return [replies.too_long(MAX_REASON)]
    data = ctx.state.data
    member = ctx.require_member()
    ctx.reset()
    milestone_id = int(data["milestone"])
    waiting = await ctx.uow.extensions.waiting_one(milestone_id, mine[0].agency_id)
    if waiting is not None:
        return [
            Reply(
                _(
                    "Your agency already has a request for this deadline waiting for the "
                    "coordinating agency's answer; nothing was sent."
                )
            )
        ]
    extension = await ctx.uow.extensions.record(
        milestone_id=milestone_id,
        agency_id=mine[0].agency_id,
        task_codes=[str(c) for c in data.get("codes", [])],
        reason=reason,
        member_id=member.id,
        now=ctx.now(),
        asked_until=date.fromisoformat(str(data["until"])),
    )
    message = reply_to_payload(request_message(extension))
    for recipient in await ctx.uow.notifications.coordinators(ctx.today()):
        queued = await ctx.uow.notifications.enqueue(
            channel=recipient.channel,
            chat_id=recipient.chat_id,
            member_id=recipient.member_id,
            kind=KIND_REQUEST,
            payload=message,
            dedupe_key=f"{KIND_REQUEST}:{extension.id}:{recipient.member_id}",
            now=ctx.now(),
        )
        ctx.queued = ctx.queued or queued is not None
    ctx.audit("extension.request", request=extension.id, agency=extension.agency_id)
    logger.info("extension %s asked by agency %s", extension.id, extension.agency_id)
    return [
        Reply(
            _(
                "Your request to extend the deadline to %(until)s has been sent to the "
                "coordinating agency. You will be told its answer."
            )
            % {"until": format_day(date.fromisoformat(str(data["until"])))}
        )
    ]
