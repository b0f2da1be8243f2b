"""Where the plan stands in a year: each task's state, each agency's part, the whole summary.

A task's state in a year is decided by its lead agencies ("chủ trì"), from the latest version of
each one's report (:func:`task_state`). The reports of the other agencies (the supporting ones,
"phối hợp", or any agency the bot took a report from) are the task's contributions: shown under
the task and counted apart, they never change its state nor stand for a lead agency's report; a
blocked contribution is listed with the difficulties all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.core.domain.explanations import Explanation
from bot.core.domain.plan import MilestoneInfo
from bot.core.domain.results import PgiResult
from bot.core.domain.review import Reopening, ReviewState

if TYPE_CHECKING:
    from bot.core.domain.extensions import Extension

STATES = ("done", "in_progress", "not_started", "blocked", "unreported")


@dataclass(frozen=True, slots=True)
class LatestReport:
    """The latest version of one agency's report on one task."""

    agency_id: int
    agency_name: str
    status: str
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    created_at: datetime
    supporting: bool = False
    """True for a contribution: the agency does not lead the task."""
    review: ReviewState = ReviewState.WAITING
    """Where this version stands in the coordinator's review."""
    forwarded: bool = False
    """Accepted by the agency's leader and forwarded to the coordinator (still waiting)."""


@dataclass(frozen=True, slots=True)
class TaskState:
    """Where a task stands in the year, from its lead agencies' latest reports."""

    id: int
    code: str
    title: str
    index_code: str | None
    lead_agencies: list[str]
    state: str
    progress: int
    reports: list[LatestReport]
    """The lead agencies' latest reports."""
    supporting_agencies: list[str] = field(default_factory=list)
    contributions: list[LatestReport] = field(default_factory=list)
    """The latest reports of agencies that do not lead the task (supporting ones first)."""
    due: date | None = None
    """The task's deadline in the year (its milestone's date; None: the year's last one)."""

    @property
    def reported(self) -> int:
        """Return how many lead agencies have reported."""
        return len(self.reports)

    @property
    def all_reports(self) -> list[LatestReport]:
        """Return the lead agencies' reports, then the contributions."""
        return self.reports + self.contributions


@dataclass(frozen=True, slots=True)
class IndexState:
    """A component index with its tasks and how many are in each state."""

    code: str
    name: str
    baseline_year: int
    baseline_score: float
    target_score: float
    tasks: list[TaskState]

    def count(self, state: str) -> int:
        """Return how many tasks are in a state."""
        return sum(1 for task in self.tasks if task.state == state)


@dataclass(frozen=True, slots=True)
class AgencyState:
    """An agency's part in the year: tasks it leads, what it reported, who reports for it."""

    id: int
    code: str
    name: str
    kind: str
    lead_tasks: list[str]
    reported_tasks: list[str]
    members: list[str]
    last_report_at: datetime | None
    support_tasks: list[str] = field(default_factory=list)
    contributed_tasks: list[str] = field(default_factory=list)
    """The tasks it does not lead on which it has reported."""
    unasked_tasks: list[str] = field(default_factory=list)
    """The lead tasks no milestone asks a report on (section III with no deadline)."""

    @property
    def pending_tasks(self) -> list[str]:
        """Return the codes of the lead tasks a report is asked on and not made yet."""
        done = {*self.reported_tasks, *self.unasked_tasks}
        return [code for code in self.lead_tasks if code not in done]

    @property
    def asked_tasks(self) -> list[str]:
        """Return the lead tasks a report is asked on (the ones its fractions count)."""
        unasked = set(self.unasked_tasks)
        return [code for code in self.lead_tasks if code not in unasked]

    @property
    def asked_reported(self) -> list[str]:
        """Return the lead tasks a report is asked on and already made."""
        done = set(self.reported_tasks)
        return [code for code in self.asked_tasks if code in done]

    @property
    def asked(self) -> bool:
        """Tell whether the plan asks the agency for a report on any task it leads."""
        return any(code not in self.unasked_tasks for code in self.lead_tasks)


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """The whole plan in one year."""

    plan_title: str
    province: str
    issuer: str
    signer: str | None
    coordinator: str | None
    year: int
    today: date
    milestone: MilestoneInfo | None
    """The deadline the agencies are working towards now (or the last one of the year)."""
    indices: list[IndexState]
    organisational: list[TaskState]
    agencies: list[AgencyState]
    submission_count: int
    milestones: list[MilestoneInfo] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)
    """The year's explanation requests, oldest first (see :mod:`bot.core.domain.explanations`)."""
    results: list[PgiResult] = field(default_factory=list)
    """The PGI's published results recorded for this year and the years before."""
    period_reports: dict[int, tuple[int, int]] = field(default_factory=dict)
    """Per periodic deadline (quarterly, six-monthly) by id: the agencies that reported
    towards it and how many reports (every version) they made."""

    reopenings: list[Reopening] = field(default_factory=list)
    """The reopenings granted for the year, each under the agency it counts for."""
    extensions: list[Extension] = field(default_factory=list)
    """The year's deadline extensions, asked or granted, each under the agency it counts for."""

    @property
    def all_tasks(self) -> list[TaskState]:
        """Return every task, organisational ones last."""
        return [t for index in self.indices for t in index.tasks] + self.organisational

    @property
    def leading_agencies(self) -> list[AgencyState]:
        """Return the agencies asked for a report on at least one task they lead."""
        return [a for a in self.agencies if a.asked]

    @property
    def reported_agencies(self) -> list[AgencyState]:
        """Return the agencies that reported on every task they are asked about."""
        return [a for a in self.agencies if a.asked and not a.pending_tasks]

    @property
    def not_reported(self) -> list[AgencyState]:
        """Return the agencies with lead tasks still unreported."""
        return [a for a in self.agencies if a.pending_tasks]

    @property
    def late(self) -> bool:
        """Tell whether the current deadline has passed."""
        return self.milestone is not None and self.milestone.due_date < self.today

    @property
    def blocked(self) -> list[tuple[TaskState, LatestReport]]:
        """Return every (task, report) whose latest report says the work is blocked.

        Contributions count here: a supporting agency's difficulties are the task's too.
        """
        return [(t, r) for t in self.all_tasks for r in t.all_reports if r.status == "blocked"]


@dataclass(frozen=True, slots=True)
class SubmissionRow:
    """One submission, every version, for the spreadsheet and the report's sources."""

    number: str
    created_at: datetime
    task_code: str
    task_title: str
    index_code: str | None
    agency_name: str
    member_name: str
    status: str
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    version: int
    attachments: int
    lead: bool = True
    """Whether the agency leads the task (False for a supporting agency's contribution)."""
    review: ReviewState = ReviewState.WAITING
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    """What to add or correct, for a returned version."""
    period_start: date | None = None
    period_end: date | None = None
    """The days its figures count from and to (None: stored before periods were kept)."""
    leader: str | None = None
    """The agency leader who accepted it and forwarded it to the coordinator."""
    leader_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AgencyHistory:
    """An agency's reports of one year, as that year's views read them (newest first)."""

    year: int
    agency_name: str
    """The agency's name in that year."""
    rows: list[SubmissionRow]
    total: int
    """How many reports (versions included) the year has for the agency; ``rows`` may be fewer."""


def task_state(lead_reports: Sequence[LatestReport], lead_count: int) -> tuple[str, int]:
    """Return a task's state and progress from its lead agencies' latest reports.

    The state is blocked if any lead agency reports the work blocked, done when every lead
    agency reports it done, not started when every report says so, in progress when some work
    is reported, and unreported when no lead agency has reported yet. The progress is the mean of
    the lead agencies' percentages, an agency that has not reported counting for 0. A
    contribution (``supporting``) never counts, even if passed here.

    Args:
        lead_reports: the latest report of each lead agency that has reported.
        lead_count: how many lead agencies the task has (active ones).
    """
    reports = [r for r in lead_reports if not r.supporting]
    statuses = {r.status for r in reports}
    if not reports:
        state = "unreported"
    elif "blocked" in statuses:
        state = "blocked"
    elif statuses == {"done"} and len(reports) == lead_count:
        state = "done"
    elif statuses == {"not_started"}:
        state = "not_started"
    else:
        state = "in_progress"
    progress = round(sum(r.progress for r in reports) / lead_count) if lead_count else 0
    return state, progress


def current_milestone(milestones: list[MilestoneInfo], today: date) -> MilestoneInfo | None:
    """Return the deadline the agencies are working towards on a day.

    The first deadline for the assigned agencies not yet past; after the last one, the last.
    """
    assigned = [m for m in milestones if m.recipients == "assigned"]
    upcoming = [m for m in assigned if m.due_date >= today]
    if upcoming:
        return upcoming[0]
    return assigned[-1] if assigned else None


def reference_day(milestones: Sequence[MilestoneInfo], year: int) -> date:
    """Return the day whose structure a year is read in: its last deadline for the agencies.

    Who leads and supports what, and which agency a report counts for, are those in force on
    the year's last deadline for the assigned agencies (the results report, 10/12); without
    one, on 31/12.
    """
    assigned = [m.due_date for m in milestones if m.recipients == "assigned"]
    return max(assigned, default=date(year, 12, 31))
