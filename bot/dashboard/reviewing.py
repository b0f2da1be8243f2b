"""The review on the dashboard: accepting a report version or returning it with a reason.

The buttons "Tiếp nhận" and "Trả lại" on the report cards (an agency's page, the reports'
search) of the versions waiting for review, for those who review in chat: the coordinator and
the administrator, and an agency's leader for the own agency when ``PGIBOT_LEADER_REVIEW`` is
on: then a leader's "Tiếp nhận" forwards the version to the coordinator
(``handlers/leader_review.py``), and each sees the buttons only on the versions at its step.
Both go through :func:`handlers.review.accept_report` and
:func:`handlers.review.return_report`, as ``/duyet`` does: the agency's members are told
through the outbox, the decision is audited, and a version decided already is refused with a
note, changing nothing.
"""

from __future__ import annotations

from bot.core.i18n import _
from bot.dashboard.access import Viewer
from bot.dashboard.actions import ERROR, OK, WARNING, ActionCall, Flash, action
from bot.dashboard.config import Dashboard
from bot.dashboard.security import refusal
from handlers.leader_review import leader_first
from handlers.review import (
    REASON_LIMIT,
    Decision,
    Outcome,
    accept_report,
    clean_reason,
    may_review,
    reason_problem,
    return_report,
)
from storage.uow import UnitOfWork

__all__ = ["REASON_LIMIT", "leads", "reviews"]


def reviews(viewer: Viewer, dashboard: Dashboard) -> bool:
    """Tell whether the viewer reviews reports, as in chat."""
    return may_review(viewer.member, dashboard.leader_review)


def leads(viewer: Viewer, dashboard: Dashboard) -> bool:
    """Tell whether the viewer takes the leader's first step (buttons on what waits for it)."""
    return leader_first(viewer.member, dashboard.leader_review)


@action("accept_report", r"/reports/{submission_id:\d{1,12}}/accept", reviews)
async def accept(call: ActionCall) -> Flash:
    """Accept a report version waiting for review."""
    submission_id = call.number("submission_id")
    async with UnitOfWork(call.dashboard.database) as uow:
        decision = await accept_report(
            uow,
            call.actor(),
            submission_id,
            call.dashboard.clock.now(),
            leader_review=call.dashboard.leader_review,
        )
        await uow.commit()
    return await _flash(call, decision, submission_id)


@action("return_report", r"/reports/{submission_id:\d{1,12}}/return", reviews)
async def give_back(call: ActionCall) -> Flash:
    """Return a report version waiting for review, with the reason typed in the form."""
    submission_id = call.number("submission_id")
    text = call.text("reason", REASON_LIMIT)
    reason = clean_reason(text)
    if not reason:
        return Flash(
            ERROR,
            _(
                "Please write the reason for the return: what the agency should add or "
                "correct. The report was not returned."
            ),
        )
    problem = reason_problem(reason)
    if problem is not None:
        return Flash(ERROR, problem + " " + _("The report was not returned."))
    async with UnitOfWork(call.dashboard.database) as uow:
        decision = await return_report(
            uow,
            call.actor(),
            submission_id,
            call.dashboard.clock.now(),
            reason,
            leader_review=call.dashboard.leader_review,
        )
        await uow.commit()
    return await _flash(call, decision, submission_id)


async def _flash(call: ActionCall, decision: Decision, submission_id: int) -> Flash:
    if decision.outcome is Outcome.REFUSED:
        await call.refuse(submission_id)
    if decision.outcome is Outcome.MISSING:
        raise refusal(call.request, 404, _("There is no such report."))
    if decision.queued:
        call.dashboard.wake_outbox()
    return Flash(OK if decision.outcome is Outcome.DONE else WARNING, decision.note())
