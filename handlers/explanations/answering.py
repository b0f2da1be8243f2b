"""Answering: a member of the agency asked opens a request and answers in one message."""

from __future__ import annotations

import logging

from bot.core.domain.conversation import ConversationState
from bot.core.domain.explanations import (
    Explanation,
)
from bot.core.i18n import _, current_timezone, format_day, format_moment
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import shorten
from handlers import replies
from handlers.context import Context
from handlers.explanations.common import (
    ANSWER,
    KIND_ANSWER,
    MAX_ANSWER,
    MENU_BUTTONS,
    MIN_ANSWER,
    NAME_LENGTH,
    STATE,
)
from handlers.exports.explanations import reason_label

logger = logging.getLogger(__name__)


async def _own(ctx: Context, explanation: Explanation) -> bool:
    """Tell whether the member acts for the agency asked (or for its successor)."""
    lineage = await ctx.uow.notifications.lineage(ctx.require_member().agency_id)
    return explanation.agency_id in lineage


async def on_answer(ctx: Context, argument: str) -> list[Reply]:
    """Open the answer to a request: only a member of the agency asked may give it."""
    (request_text,) = ANSWER.decode(argument)
    explanation = (
        await ctx.uow.explanations.get(int(request_text)) if request_text.isdigit() else None
    )
    if explanation is None:
        return [replies.stale_choice()]
    if not await _own(ctx, explanation):
        ctx.audit("explanation.refused", request=explanation.id)
        logger.warning("explanation %s refused to %s", explanation.id, ctx.incoming.user_id)
        return [
            Reply(
                _(
                    "This explanation request was sent to %(agency)s; only its members can "
                    "answer it."
                )
                % {"agency": explanation.agency_name}
            )
        ]
    if explanation.answered:
        return [_already_answered(explanation)]
    ctx.state = ConversationState(STATE, {"request": explanation.id})
    return [_question(explanation)]


def _already_answered(explanation: Explanation) -> Reply:
    return Reply(
        _("This request was already answered by %(name)s at %(time)s. Nothing was changed.")
        % {
            "name": explanation.answered_by or "",
            "time": format_moment(explanation.answered_at or explanation.asked_at),
        }
    )


def _question(explanation: Explanation) -> Reply:
    return Reply(
        _(
            "Explanation for %(agency)s about %(codes)s (%(reason)s), requested on %(date)s.\n"
            "Please write the explanation in one message (at least %(min)s characters), "
            "or send /huy to stop."
        )
        % {
            "agency": explanation.agency_name,
            "codes": ", ".join(explanation.task_codes),
            "reason": reason_label(explanation.reason),
            "date": format_day(explanation.asked_at.astimezone(current_timezone()).date()),
            "min": MIN_ANSWER,
        }
    )


async def current_question(ctx: Context) -> Reply:
    """Ask again for the answer after a side command."""
    explanation = await ctx.uow.explanations.get(int(ctx.state.data.get("request", 0)))
    if explanation is None:
        ctx.reset()
        return replies.stale_choice()
    return _question(explanation)


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Store the typed answer, tell the coordinators, and leave the conversation."""
    explanation = await ctx.uow.explanations.get(int(ctx.state.data.get("request", 0)))
    if explanation is None or not await _own(ctx, explanation):
        ctx.reset()
        return [replies.stale_choice()]
    text = text.strip()
    if len(text) < MIN_ANSWER:
        return [
            Reply(
                _(
                    "The explanation is too short (at least %(min)s characters). Please write "
                    "it again, or send /huy to stop."
                )
                % {"min": MIN_ANSWER}
            )
        ]
    if len(text) > MAX_ANSWER:
        return [replies.too_long(MAX_ANSWER)]
    member = ctx.require_member()
    ctx.reset()
    if not await ctx.uow.explanations.answer(explanation.id, member.id, text, ctx.now()):
        answered = await ctx.uow.explanations.get(explanation.id)
        return [_already_answered(answered or explanation)]
    ctx.audit("explanation.answer", request=explanation.id, agency=explanation.agency_id)
    notice = Reply(
        _(
            "%(agency)s has sent its explanation about %(codes)s (requested on %(date)s), "
            "written by %(name)s:"
        )
        % {
            "agency": explanation.agency_name,
            "codes": ", ".join(explanation.task_codes),
            "date": format_day(explanation.asked_at.astimezone(current_timezone()).date()),
            "name": member.full_name,
        }
        + "\n\n"
        + text
    )
    for recipient in await ctx.uow.notifications.coordinators(ctx.today()):
        queued = await ctx.uow.notifications.enqueue(
            channel=recipient.channel,
            chat_id=recipient.chat_id,
            member_id=recipient.member_id,
            kind=KIND_ANSWER,
            payload=reply_to_payload(notice),
            dedupe_key=f"{KIND_ANSWER}:{explanation.id}:{recipient.member_id}",
            now=ctx.now(),
        )
        ctx.queued = ctx.queued or queued is not None
    return [
        Reply(
            _("Your explanation has been recorded and sent to the coordinating agency. Thank you.")
        )
    ]


async def waiting(ctx: Context) -> list[Reply]:
    """Answer /giaitrinh from an agency's member: the requests waiting for its answer."""
    member = ctx.require_member()
    found: list[Explanation] = []
    for agency_id in await ctx.uow.notifications.lineage(member.agency_id):
        found += await ctx.uow.explanations.of_agency(agency_id, unanswered=True)
    if not found:
        return [
            Reply(
                _("%(agency)s has no explanation request waiting for an answer.")
                % {"agency": member.agency_name}
            )
        ]
    lines = [
        _("Explanation requests waiting for an answer from %(agency)s:")
        % {"agency": member.agency_name}
    ]
    for explanation in found:
        lines.append(
            f"• {', '.join(explanation.task_codes)} ({reason_label(explanation.reason)}) — "
            + _("due %(due)s") % {"due": format_day(explanation.due_date)}
        )
    lines += ["", _("Choose the request to answer:")]
    choices = tuple(
        (
            Choice(
                _("Explain: %(codes)s") % {"codes": shorten(", ".join(e.task_codes), NAME_LENGTH)},
                ANSWER.encode(e.id),
            ),
        )
        for e in found[:MENU_BUTTONS]
    )
    return [Reply("\n".join(lines), choices)]
