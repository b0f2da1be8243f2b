"""The coordinator's review of a report: every submitted version waits until someone acts on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class ReviewState(StrEnum):
    """Where one version of a report stands in review."""

    WAITING = "waiting"
    """Submitted, not yet accepted or returned ("chờ xem xét")."""
    ACCEPTED = "accepted"
    """Accepted by the coordinator. With ``PGIBOT_LEADER_REVIEW`` on, a leader's acceptance
    only forwards a waiting version to the coordinator (recorded beside the state)."""
    RETURNED = "returned"
    """Sent back for correction with a reason; the correction is a new version."""


@dataclass(frozen=True, slots=True)
class Review:
    """What the coordinator (or the agency's leader) decided about one version."""

    state: ReviewState
    reviewer: str | None = None
    """The reviewer's name, None while the version waits."""
    at: datetime | None = None
    reason: str | None = None
    """What to add or correct, for a returned version."""
    leader: str | None = None
    """The agency leader who accepted the version and forwarded it to the coordinator."""
    leader_at: datetime | None = None
    awaits_leader: bool = False
    """Waiting for the agency's leader first (``PGIBOT_LEADER_REVIEW`` on, an active leader)."""


@dataclass(frozen=True, slots=True)
class QueuedReport:
    """A report version waiting for review, as the review queue shows it."""

    submission_id: int
    cycle_id: int
    year: int
    task_id: int
    task_code: str
    task_title: str
    agency_id: int
    agency_name: str
    member_name: str
    status: str
    progress: int
    results: str
    version: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Reopening:
    """Leave for one agency to report on a year's task (every task: ``task_id`` None)."""

    id: int
    cycle_id: int
    year: int
    agency_id: int
    task_id: int | None
    task_code: str | None
    until: date
    granted_at: datetime

    def covers(self, task_id: int, today: date) -> bool:
        """Tell whether the reopening lets the agency report on this task today."""
        return today <= self.until and self.task_id in (None, task_id)


def review_counts(states: Iterable[ReviewState]) -> dict[ReviewState, int]:
    """Count report versions by review state (every state present, zero or more)."""
    counts = dict.fromkeys(ReviewState, 0)
    for state in states:
        counts[state] += 1
    return counts


def may_correct(
    *,
    today: date,
    deadline: date | None,
    latest: ReviewState | None,
    reopenings: Iterable[Reopening] = (),
    task_id: int,
) -> bool:
    """Tell whether an agency may report again on a task it has reported on.

    Before the year's correction deadline, always; after it, only when its latest version was
    returned (the return is the permission) or a reopening covers the task today. The report
    made then is late all the same: its date says so.
    """
    if deadline is None or today <= deadline:
        return True
    if latest is ReviewState.RETURNED:
        return True
    return any(r.covers(task_id, today) for r in reopenings)
