"""What the deadlines still wait for, read once per sweep or digest and shared by its parts.

A sweep welcomes members back (naming what their agency still owes) and then reminds every
agency behind; a digest lists the late agencies and those with nobody present. Each part asks
the same questions of the same deadlines: :class:`Pending` reads each answer once per run.
Nothing a run does changes them (reminders and messages are not reports).
"""

from __future__ import annotations

from datetime import date

from storage.notifications import DueMilestone, PendingTask
from storage.uow import UnitOfWork


class Pending:
    """The deadlines between two days and each one's agencies behind, read once per run."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._milestones: dict[tuple[date, date], list[DueMilestone]] = {}
        self._pending: dict[int, dict[int, list[PendingTask]]] = {}

    async def milestones_between(self, start: date, end: date) -> list[DueMilestone]:
        """Return the active milestones due between two dates (see the repository's)."""
        found = self._milestones.get((start, end))
        if found is None:
            found = await self._uow.notifications.milestones_between(start, end)
            self._milestones[(start, end)] = found
        return found

    async def by_agency(self, milestone: DueMilestone) -> dict[int, list[PendingTask]]:
        """Return, per agency concerned, the tasks of a milestone it has not reported on."""
        found = self._pending.get(milestone.id)
        if found is None:
            found = await self._uow.notifications.pending_by_agency(milestone)
            self._pending[milestone.id] = found
        return found
