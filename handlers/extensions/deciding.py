"""Deciding: the coordinator grants, grants to another day, refuses, or grants unasked."""

from __future__ import annotations

import logging

from bot.core.domain.conversation import ConversationState
from bot.core.i18n import _, format_day
from bot.core.messages import Reply
from bot.core.text import fold, shorten
from handlers import replies
from handlers.context import Context
from handlers.extensions.common import (
    DECIDE,
    LIST_LIMIT,
    MAX_REASON,
    MIN_REASON,
    STATE,
    day_refusal,
    is_coordinator,
    not_a_date,
    parse_day,
    rules,
)
from handlers.extensions.reminding import request_message
from handlers.extensions.schedule import behind
from handlers.extensions.service import Decision, Outcome, decide_extension, grant_extension
from handlers.refusals import agency_refusal
from storage.agencies import AgencyError

logger = logging.getLogger(__name__)

EVERY_TASK = ("tatca", "tat ca", "*")


def refused(ctx: Context, payload: str) -> list[Reply]:
    """Refuse the coordinator's part to another role, and audit it."""
    ctx.audit("permission.refused", command="giahan", payload=payload[:64])
    logger.info("refused extension decision %s to %s", payload[:40], ctx.incoming.user_id)
    return [
        Reply(
            _(
                "Sorry, deciding deadline extensions is not available to your role. Send "
                "/trogiup to see the commands you can use."
            )
        )
    ]


async def on_decide(ctx: Context, argument: str) -> list[Reply]:
    """Press of "Đồng ý", "Đồng ý đến ngày khác" or "Không đồng ý" on a request."""
    if not is_coordinator(ctx):
        return refused(ctx, f"{DECIDE.prefix}:{argument}")
    request_text, action = DECIDE.decode(argument)
    extension = await ctx.uow.extensions.get(int(request_text)) if request_text.isdigit() else None
    if extension is None or action not in ("ok", "other", "no"):
        return [replies.stale_choice()]
    if action == "ok":
        return await _decide(ctx, extension.id, grant=True)
    if not extension.waiting:
        return [outcome_reply(Decision(Outcome.ALREADY, extension))]
    step = "other" if action == "other" else "refuse"
    ctx.state = ConversationState(STATE, {"step": step, "request": extension.id})
    return [await question(ctx)]


async def question(ctx: Context) -> Reply:
    """Ask the coordinator's current question (another day, or the reason of a refusal)."""
    if ctx.state.data.get("step") == "other":
        return Reply(
            _(
                "Please write the day you grant as DD/MM/YYYY (a working day after the "
                "deadline), or send /huy to stop."
            )
        )
    return Reply(
        _("Please write the reason for not agreeing (at least %(min)s characters).")
        % {"min": MIN_REASON}
    )


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Take the other day, or the reason of a refusal."""
    request_id = int(ctx.state.data.get("request", 0))
    if ctx.state.data.get("step") == "other":
        day = parse_day(text)
        if day is None:
            return [not_a_date(text)]
        return await _decide(ctx, request_id, grant=True, until=day)
    reason = text.strip()
    if len(reason) < MIN_REASON:
        return [
            Reply(
                _("The reason is too short (at least %(min)s characters). Please write it again.")
                % {"min": MIN_REASON}
            )
        ]
    if len(reason) > MAX_REASON:
        return [replies.too_long(MAX_REASON)]
    return await _decide(ctx, request_id, grant=False, reason=reason)


async def _decide(ctx: Context, request_id: int, **how: object) -> list[Reply]:
    _policy, calendar = await rules(ctx)
    decision = await decide_extension(
        ctx.uow,
        extension_id=request_id,
        decider=ctx.require_member(),
        now=ctx.now(),
        today=ctx.today(),
        calendar=calendar,
        channel=ctx.incoming.channel,
        user_id=ctx.incoming.user_id,
        **how,  # type: ignore[arg-type]
    )
    if decision.outcome is Outcome.BAD_DAY and ctx.state.state == STATE:
        assert decision.extension is not None and decision.problem is not None
        day = how.get("until") or decision.extension.asked_until
        return [Reply(day_refusal(decision.problem, day, decision.extension.original_due))]  # type: ignore[arg-type]
    ctx.reset()
    ctx.queued = ctx.queued or decision.told > 0
    return [outcome_reply(decision)]


def outcome_reply(decision: Decision) -> Reply:
    """Say what became of a decision, to the coordinator who made it (chat or web)."""
    extension = decision.extension
    if decision.outcome is Outcome.NOT_FOUND or extension is None:
        return replies.stale_choice()
    if decision.outcome is Outcome.ALREADY:
        return Reply(
            _("This request was already answered by %(name)s. Nothing was changed.")
            % {"name": extension.decided_by or ""}
        )
    if decision.outcome is Outcome.BAD_DAY:
        assert decision.problem is not None
        day = extension.asked_until or extension.original_due
        return Reply(
            day_refusal(decision.problem, day, extension.original_due)
            + "\n"
            + _('Press "Agree to another date" to grant a later day.')
        )
    if extension.granted:
        assert extension.granted_until is not None
        return Reply(
            _("Granted: %(agency)s has until %(until)s. Its members have been told.")
            % {"agency": extension.agency_name, "until": format_day(extension.granted_until)}
        )
    return Reply(
        _("Not agreed: %(agency)s has been told, with the reason.")
        % {"agency": extension.agency_name}
    )


async def coordinator_command(ctx: Context) -> list[Reply]:
    """Answer /giahan from the coordinator: the waiting requests, or a grant unasked."""
    if ctx.incoming.argument.strip():
        return await _grant_typed(ctx, ctx.incoming.argument.strip())
    waiting = await ctx.uow.extensions.waiting()
    if not waiting:
        return [
            Reply(_("No deadline extension request is waiting for an answer.") + "\n" + _usage())
        ]
    head = Reply(
        _("Deadline extension requests waiting for an answer: %(count)s.")
        % {"count": len(waiting)}
    )
    return [head, *(request_message(e) for e in waiting[:LIST_LIMIT])]


def _usage() -> str:
    return _(
        "To grant an extension unasked, send: /giahan AGENCY TASK DD/MM/YYYY REASON, for "
        "example /giahan sxd 1.b.1 15/01/2027 waiting for the survey results; write tatca "
        "instead of the task code for the whole report."
    )


async def _grant_typed(ctx: Context, argument: str) -> list[Reply]:
    """Grant as ``/giahan AGENCY TASK|tatca DD/MM/YYYY REASON``."""
    words = argument.split()
    at = next((i for i, w in enumerate(words) if parse_day(w) is not None), None)
    if at is None or at < 2 or at == len(words) - 1:
        return [Reply(_usage())]
    agency_text, task_word = " ".join(words[: at - 1]), words[at - 1]
    until = parse_day(words[at])
    assert until is not None
    reason = " ".join(words[at + 1 :])
    if len(reason) < MIN_REASON:
        return [
            Reply(
                _("The reason is too short (at least %(min)s characters). Please write it again.")
                % {"min": MIN_REASON}
            )
        ]
    try:
        agency = await ctx.uow.agencies.find(agency_text, ctx.today())
    except AgencyError as error:
        return [Reply(agency_refusal(error))]
    found = [
        b for b in await behind(ctx.uow, ctx.today(), lambda due: True) if b.agency_id == agency.id
    ]
    whole = fold(task_word) in EVERY_TASK
    chosen = [
        b
        for b in found
        if whole or any(t.code.casefold() == task_word.casefold() for t in b.tasks)
    ]
    if not chosen:
        return [
            Reply(
                _(
                    "%(agency)s has no report left to make on an open deadline for %(code)s, so "
                    "there is nothing to extend."
                )
                % {"agency": agency.name, "code": shorten(task_word, 20)}
            )
        ]
    target = chosen[0]
    codes = (
        []
        if whole
        else [t.code for t in target.tasks if t.code.casefold() == task_word.casefold()]
    )
    _policy, calendar = await rules(ctx)
    decision = await grant_extension(
        ctx.uow,
        decider=ctx.require_member(),
        milestone_id=target.milestone.id,
        agency_id=agency.id,
        task_codes=codes,
        until=until,
        due=target.milestone.due_date,
        year=target.milestone.year,
        reason=reason,
        now=ctx.now(),
        today=ctx.today(),
        calendar=calendar,
        channel=ctx.incoming.channel,
        user_id=ctx.incoming.user_id,
    )
    if decision.outcome is Outcome.BAD_DAY:
        assert decision.problem is not None
        return [Reply(day_refusal(decision.problem, until, target.milestone.due_date))]
    ctx.queued = ctx.queued or decision.told > 0
    return [outcome_reply(decision)]
