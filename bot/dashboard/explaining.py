"""Asking an agency for an explanation from its page, as ``/giaitrinh`` does in chat.

The coordinator and the administrator see, on a late or blocked agency's page, a button for
its late tasks and one for each task it reported as blocked; the request goes through
:func:`handlers.explanations.asking.send_request`, the chat's own: the agency's officers and
leader are told through the outbox, with the button to answer, and it is audited. A request
asked already and not answered is refused politely, changing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.domain.explanations import Explanation, ExplanationReason
from bot.core.domain.progress import AgencyState, PlanSummary, TaskState
from bot.core.i18n import _
from bot.dashboard.access import Viewer
from bot.dashboard.actions import OK, WARNING, ActionCall, Flash, action
from bot.dashboard.config import Dashboard
from bot.dashboard.security import refusal
from handlers.explanations.asking import ask_choice, eligible, prepare_request, send_request
from handlers.exports.explanations import full_lines
from storage.uow import UnitOfWork

__all__ = ["AskButton", "asks", "buttons", "requests"]


def asks(viewer: Viewer, dashboard: Dashboard) -> bool:
    """Tell whether the viewer asks agencies for explanations (as in chat)."""
    return viewer.sees_everything


@dataclass(frozen=True, slots=True)
class AskButton:
    """A button of an agency's page that asks it to explain (its late tasks, or one task)."""

    label: str
    task_id: int | None


def buttons(summary: PlanSummary, agency: AgencyState) -> list[AskButton]:
    """Return the requests the agency may be sent now, as in chat, less those still open."""
    wanted: list[TaskState | None] = [None, *summary.all_tasks]
    found = []
    for task in wanted:
        why = eligible(summary, agency, task)
        if why is None or (task is not None and why[0] is not ExplanationReason.BLOCKED):
            continue
        task_id = task.id if task else None
        if any(
            e.agency_id == agency.id and e.task_id == task_id and not e.answered
            for e in summary.explanations
        ):
            continue
        found.append(AskButton(ask_choice(summary.year, agency, task).label, task_id))
    return found


def requests(summary: PlanSummary, agency_id: int) -> list[list[str]]:
    """Return the agency's explanation requests of the year, newest first, with answers."""
    own: list[Explanation] = [e for e in summary.explanations if e.agency_id == agency_id]
    return [full_lines(e, summary.today) for e in reversed(own)]


@action("ask_explanation", r"/agencies/{agency_id:\d{1,9}}/explanations", asks)
async def ask(call: ActionCall) -> Flash:
    """Ask an agency to explain its late tasks (no task) or one blocked task."""
    agency_id = call.number("agency_id")
    year_text, task_text = call.text("year", 4), call.text("task", 12)
    dashboard = call.dashboard
    today = dashboard.clock.now().astimezone(dashboard.zone).date()
    async with UnitOfWork(dashboard.database) as uow:
        summary = (
            await uow.summaries.summary(int(year_text), today) if year_text.isdigit() else None
        )
        agency = (
            next((a for a in summary.agencies if a.id == agency_id), None) if summary else None
        )
        task = (
            next((t for t in summary.all_tasks if str(t.id) == task_text), None)
            if summary
            else None
        )
        if summary is None or agency is None or (task_text and task is None):
            raise refusal(call.request, 404, _("There is no such agency or task in this year."))
        asking = await prepare_request(
            uow, summary, agency, task, today, dashboard.policy, dashboard.calendar
        )
        if not asking.ready:
            return Flash(WARNING, asking.refusal())
        recipients = await send_request(uow, call.actor(), summary, asking, dashboard.clock.now())
        await uow.commit()
    if recipients:
        dashboard.wake_outbox()
    return Flash(OK, asking.sent_text(recipients))
