"""Reopening an agency's reporting after the deadline, from its page, as ``/mohan`` does.

The coordinator and the administrator choose a task of the agency (or every task) and the last
day; :func:`handlers.reopening.reopen_reporting`, the chat's own, records it, audits it and
tells the agency's members through the outbox. A day outside today and the longest reopening,
or a year whose deadline has not passed, is refused politely, changing nothing.
"""

from __future__ import annotations

from bot.core.i18n import _
from bot.dashboard.actions import ERROR, OK, ActionCall, Flash, action
from bot.dashboard.explaining import asks
from bot.dashboard.security import refusal
from handlers.reopening import LONGEST, reopen_reporting
from storage.uow import UnitOfWork

__all__ = ["LONGEST", "reopen"]

EVERY = "*"
"""The form's value for every task of the agency."""


@action("reopen_reporting", r"/agencies/{agency_id:\d{1,9}}/reopen", asks)
async def reopen(call: ActionCall) -> Flash:
    """Reopen the agency's reporting on a task, or every task, until a day."""
    agency_id = call.number("agency_id")
    task_text = call.text("task", 20).strip()
    until = call.day("until")
    if until is None:
        return Flash(
            ERROR,
            _("Please choose the last day of the reopening (dd/mm/yyyy). Nothing was reopened."),
        )
    dashboard = call.dashboard
    now = dashboard.clock.now()
    today = now.astimezone(dashboard.zone).date()
    async with UnitOfWork(dashboard.database) as uow:
        agency = next((a for a in await uow.agencies.reporting() if a.id == agency_id), None)
        if agency is None:
            raise refusal(call.request, 404, _("There is no such agency or task in this year."))
        task_code = None if task_text in ("", EVERY) else task_text
        done = await reopen_reporting(uow, call.actor(), agency, task_code, until, today, now)
        await uow.commit()
    if done.queued:
        dashboard.wake_outbox()
    return Flash(OK if done.done else ERROR, done.text)
