"""Deadline extensions ("gia hạn"): an agency's deadline for some tasks, moved to a later day.

An officer asks for one (the tasks, or the whole report a deadline asks for; the day; the
reason); the coordinator grants it (until that day or another), or refuses it with a reason;
the coordinator may also grant one unasked. A granted extension moves that agency's deadline
for those tasks, and only that agency's: its reminders, lateness and escalation follow the new
day (:func:`extended_due`). The day an extension may end is checked with the other rules of
what is open and late (:func:`bot.core.domain.standing.day_problem`). Pure rules over values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ExtensionState(StrEnum):
    """Where a request stands."""

    WAITING = "waiting"
    """Asked, not answered yet."""
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Extension:
    """One extension: the request (if asked) and the coordinator's decision."""

    id: int
    year: int
    milestone_id: int
    agency_id: int
    agency_name: str
    task_codes: tuple[str, ...]
    """The tasks it moves; empty: every task the deadline asks of the agency."""
    original_due: date
    """The deadline it moves (the milestone's day)."""
    asked_until: date | None
    """The day asked for; None when the coordinator granted it unasked."""
    reason: str
    requested_by: str | None
    requested_at: datetime
    state: ExtensionState
    granted_until: date | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    title: str = ""
    """The title of the report the deadline asks for."""

    @property
    def whole(self) -> bool:
        """Tell whether it moves the whole report (every task of the deadline)."""
        return not self.task_codes

    @property
    def granted(self) -> bool:
        """Tell whether it was granted."""
        return self.state == ExtensionState.GRANTED and self.granted_until is not None

    @property
    def waiting(self) -> bool:
        """Tell whether it waits for the coordinator's answer."""
        return self.state == ExtensionState.WAITING

    def covers(self, agency_id: int, task_code: str) -> bool:
        """Tell whether it (granted) moves an agency's deadline for a task."""
        return (
            self.granted
            and self.agency_id == agency_id
            and (self.whole or task_code in self.task_codes)
        )


def extended_due(
    extensions: Iterable[Extension], agency_id: int, task_code: str, due: date
) -> tuple[date, Extension | None]:
    """Return an agency's deadline for a task, moved by the latest extension of that deadline.

    Only an extension of that very deadline (``original_due == due``) moves it, and never
    earlier; the extension that moved it is returned with it (None: the plan's deadline).
    """
    found = [e for e in extensions if e.covers(agency_id, task_code) and e.original_due == due]
    if not found:
        return due, None
    latest = max(found, key=lambda e: (e.decided_at or e.requested_at, e.id))
    assert latest.granted_until is not None
    return (latest.granted_until, latest) if latest.granted_until > due else (due, None)


def moved_tasks(
    extensions: Iterable[Extension], agency_id: int, milestone_id: int
) -> dict[str, Extension]:
    """Return, per task code, the latest granted extension of an agency's tasks at a deadline.

    The key ``""`` holds an extension of the whole report.
    """
    found: dict[str, Extension] = {}
    for extension in sorted(extensions, key=lambda e: (e.decided_at or e.requested_at, e.id)):
        if extension.granted and (extension.agency_id, extension.milestone_id) == (
            agency_id,
            milestone_id,
        ):
            for code in extension.task_codes or ("",):
                found[code] = extension
    return found


def waiting(extensions: Sequence[Extension]) -> list[Extension]:
    """Return the requests still waiting for an answer, oldest first."""
    return [e for e in extensions if e.waiting]
