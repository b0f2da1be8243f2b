"""Answering a deadline extension request from the agency's page, as ``/giahan`` does in chat.

The coordinator and the administrator see, on an agency's page, its extension requests of the
year; one waiting for an answer carries the chat's three answers: *Đồng ý* (until the day
asked), *Đồng ý đến ngày khác* (a day chosen) and *Không đồng ý* (with a reason). Each goes
through :func:`handlers.extensions.service.decide_extension`, the chat's own: checked, recorded
once, audited, and told to the agency's members through the outbox. A request answered already
(by someone else, or a second press), a day that cannot end an extension, or a refusal without
a reason is refused politely, changing nothing.
"""

from __future__ import annotations

from datetime import date

from bot.core.domain.extensions import Extension
from bot.core.domain.progress import PlanSummary
from bot.core.i18n import _, format_moment
from bot.dashboard.actions import ERROR, OK, WARNING, ActionCall, Flash, action
from bot.dashboard.explaining import asks
from handlers.extensions.common import granted_line
from handlers.extensions.deciding import outcome_reply
from handlers.extensions.reminding import request_line
from handlers.extensions.service import Outcome, decide_extension
from storage.uow import UnitOfWork

__all__ = ["answer", "answer_line", "requests"]

REASON_LIMIT = 1000
"""The longest reason for a refusal the form takes."""


def requests(summary: PlanSummary, agency_id: int) -> list[tuple[Extension, str, str]]:
    """Return the agency's extensions of the year, newest first: the request, the answer."""
    own = [e for e in summary.extensions if e.agency_id == agency_id]
    own.sort(key=lambda e: e.requested_at, reverse=True)
    return [(e, request_line(e) if e.asked_until else "", answer_line(e)) for e in own]


def answer_line(extension: Extension) -> str:
    """Say how a request was answered ("" while it waits)."""
    if extension.granted:
        return granted_line(extension)
    if extension.waiting:
        return ""
    return _("Not agreed by %(name)s at %(time)s. Reason: %(reason)s") % {
        "name": extension.decided_by or "",
        "time": format_moment(extension.decided_at or extension.requested_at),
        "reason": extension.decision_reason or "",
    }


@action("answer_extension", r"/extensions/{extension_id:\d{1,12}}/answer", asks)
async def answer(call: ActionCall) -> Flash:
    """Grant a waiting request (until the day asked or another day), or refuse it."""
    extension_id = call.number("extension_id")
    decision = call.text("decision", 10)
    until: date | None = None
    reason: str | None = None
    if decision == "other":
        until = call.day("until")
        if until is None:
            return Flash(
                ERROR,
                _("Please choose the new deadline (dd/mm/yyyy). Nothing was changed."),
            )
    elif decision == "refuse":
        reason = call.text("reason", REASON_LIMIT).strip()
        if not reason or len(reason) > REASON_LIMIT:
            return Flash(
                ERROR,
                _(
                    "Please write the reason for not agreeing (at most %(limit)s characters). "
                    "Nothing was changed."
                )
                % {"limit": REASON_LIMIT},
            )
    elif decision != "grant":
        return Flash(ERROR, _("Please choose one of the answers. Nothing was changed."))
    dashboard = call.dashboard
    now = dashboard.clock.now()
    async with UnitOfWork(dashboard.database) as uow:
        done = await decide_extension(
            uow,
            extension_id=extension_id,
            decider=call.viewer.member,
            grant=decision != "refuse",
            now=now,
            today=now.astimezone(dashboard.zone).date(),
            calendar=dashboard.calendar.adding(await uow.calendar.declared()),
            until=until,
            reason=reason,
            channel="web",
        )
        await uow.commit()
    if done.outcome is Outcome.NOT_ALLOWED:
        await call.refuse(extension_id)
    if done.told:
        dashboard.wake_outbox()
    text = outcome_reply(done).text
    if done.outcome is Outcome.DONE:
        return Flash(OK, text)
    return Flash(WARNING if done.outcome is Outcome.ALREADY else ERROR, text)
