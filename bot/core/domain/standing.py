"""What is late: the four states of a task for an agency in a year, and their colours.

Every task an agency leads in a year is in one of four states, computed from the task's
deadline, the agency's latest report on it and that report's review (:func:`assess`):

- *done on time*: the latest version says the work is done, it was not returned, and it was
  filed on or before the deadline (local date);
- *done late*: the same, filed after the deadline (a report filed during a reopening, or a
  correction after a return, is late);
- *not yet due*: not done (no report, a report that is not "done", or a returned one) and the
  deadline is today or later;
- *overdue*: not done and the deadline has passed.

A report that says the work is blocked raises the *blocked* flag on top of the state. The
colours (:func:`colour`): red for overdue, amber for done late or blocked, green otherwise; an
index, an agency or a task takes the worst colour of its assignments (:func:`worst`).

What is open and late is decided here once, for the views, the files and the reminders: a
year is open during itself and the first :data:`LATE_REPORT_MONTHS` months of the next
(:func:`year_open`), or for one agency while a reopening granted to it runs; a deadline is
late from the day after it (:func:`is_late`). A deadline extension granted to an agency moves
its deadline for the tasks it covers (:func:`bot.core.domain.extensions.extended_due`), and
the day an extension may end is checked here (:func:`day_problem`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, tzinfo
from enum import StrEnum

from bot.core.domain.calendar import WorkingCalendar
from bot.core.domain.extensions import Extension, extended_due
from bot.core.domain.progress import LatestReport, PlanSummary, TaskState, reference_day
from bot.core.domain.review import ReviewState

LATE_REPORT_MONTHS = 3
"""A year stays open this many months into the next, for late reports."""


class Standing(StrEnum):
    """The state of one task for one agency in a year."""

    DONE_ON_TIME = "done_on_time"
    """Hoàn thành đúng hạn."""
    DONE_LATE = "done_late"
    """Hoàn thành quá hạn."""
    NOT_DUE = "not_due"
    """Đang thực hiện — chưa đến hạn."""
    OVERDUE = "overdue"
    """Quá hạn."""


STANDINGS = tuple(Standing)
"""The states in the order the views list them."""


class Colour(StrEnum):
    """The colour a state, a task, an index or an agency is shown in."""

    GREEN = "green"
    AMBER = "amber"
    RED = "red"


_RANK = {Colour.GREEN: 0, Colour.AMBER: 1, Colour.RED: 2}


@dataclass(frozen=True, slots=True)
class Assessment:
    """A task's state for one agency, its difficulty flag, and whether it is still chased."""

    standing: Standing
    blocked: bool
    chased: bool
    """Not done, and the agency may still report on it (its year open, or reopened for it)."""

    @property
    def done(self) -> bool:
        """Tell whether the work is reported done (on time or late)."""
        return self.standing in (Standing.DONE_ON_TIME, Standing.DONE_LATE)

    @property
    def colour(self) -> Colour:
        """Return the assessment's colour."""
        return colour(self.standing, blocked=self.blocked)


def year_open(year: int, today: date) -> bool:
    """Tell whether reports for a year may still be filed, and the year is still chased."""
    if today.year == year:
        return True
    return today.year == year + 1 and today.month <= LATE_REPORT_MONTHS


def is_late(due: date, today: date) -> bool:
    """Tell whether a deadline has passed: late from the day after it."""
    return today > due


def reopened(reopened_until: date | None, today: date) -> bool:
    """Tell whether a reopening granted until a day still runs today."""
    return reopened_until is not None and today <= reopened_until


class DayProblem(StrEnum):
    """Why a day cannot be the end of an extension."""

    NOT_AFTER = "not_after"
    """Not after the current deadline (or before today)."""
    DAY_OFF = "day_off"
    """Not a working day."""
    YEAR_CLOSED = "year_closed"
    """After the year's open period for late reports."""


def day_problem(
    day: date, *, due: date, year: int, today: date, calendar: WorkingCalendar
) -> DayProblem | None:
    """Return why a day cannot end an extension of a deadline, None when it can.

    It must come after the deadline (and after today), be a working day, and fall while the
    year is still open for reports.
    """
    if day <= due or day <= today:
        return DayProblem.NOT_AFTER
    if not calendar.is_working_day(day):
        return DayProblem.DAY_OFF
    if not year_open(year, day):
        return DayProblem.YEAR_CLOSED
    return None


def assess(
    *,
    due: date,
    today: date,
    report: LatestReport | None,
    zone: tzinfo,
    reopened_until: date | None = None,
) -> Assessment:
    """Return the state of a task for an agency in its year.

    Args:
        due: the task's deadline in the year (its milestone's date).
        today: the day it is judged on (local).
        report: the agency's latest version on the task, with its review, or None.
        zone: the plan's time zone: a report's day is its local date.
        reopened_until: the last day of a reopening granted to the agency, if any.
    """
    returned = report is not None and report.review == ReviewState.RETURNED
    if report is not None and report.status == "done" and not returned:
        filed = report.created_at.astimezone(zone).date()
        standing = Standing.DONE_LATE if is_late(due, filed) else Standing.DONE_ON_TIME
    else:
        standing = Standing.OVERDUE if is_late(due, today) else Standing.NOT_DUE
    blocked = report is not None and report.status == "blocked"
    open_ = year_open(due.year, today) or reopened(reopened_until, today)
    chased = standing in (Standing.NOT_DUE, Standing.OVERDUE) and open_
    return Assessment(standing, blocked, chased)


def colour(standing: Standing, *, blocked: bool = False) -> Colour:
    """Return a state's colour: red overdue, amber done late or blocked, else green."""
    if standing == Standing.OVERDUE:
        return Colour.RED
    if standing == Standing.DONE_LATE or blocked:
        return Colour.AMBER
    return Colour.GREEN


def worst(colours: Iterable[Colour]) -> Colour:
    """Return the worst of some colours (green when there are none)."""
    return max(colours, key=_RANK.__getitem__, default=Colour.GREEN)


def combine(assessments: Iterable[Assessment]) -> Assessment | None:
    """Return a task's state from its lead agencies' (None when it has no lead agency).

    Overdue if any lead agency is overdue; else not yet due if any is; else done late if any
    was late; else done on time. Blocked if any is, chased if any is.
    """
    found = list(assessments)
    if not found:
        return None
    order = (Standing.OVERDUE, Standing.NOT_DUE, Standing.DONE_LATE, Standing.DONE_ON_TIME)
    standing = next(s for s in order if any(a.standing == s for a in found))
    return Assessment(standing, any(a.blocked for a in found), any(a.chased for a in found))


@dataclass(frozen=True, slots=True)
class AgencyTask:
    """One task an agency leads in the year, with its report and its state."""

    agency_id: int
    agency_name: str
    task: TaskState
    report: LatestReport | None
    assessment: Assessment
    due: date | None = None
    """The agency's deadline for the task (the plan's, or the extended one)."""
    extension: Extension | None = None
    """The granted extension that moved the deadline, if any."""


@dataclass(frozen=True, slots=True)
class YearStanding:
    """The four states of every lead assignment of a year, and what they add up to."""

    assignments: list[AgencyTask]
    tasks: dict[str, Assessment]
    """Each task's combined state, by code (a task without a lead agency is absent)."""

    def of_agency(self, agency_id: int) -> list[AgencyTask]:
        """Return an agency's assignments, in the plan's order."""
        return [a for a in self.assignments if a.agency_id == agency_id]

    def agency_colour(self, agency_id: int) -> Colour:
        """Return the worst colour of an agency's assignments."""
        return worst(a.assessment.colour for a in self.of_agency(agency_id))

    def task_colour(self, code: str) -> Colour:
        """Return a task's colour (green for a task without a lead agency)."""
        found = self.tasks.get(code)
        return found.colour if found else Colour.GREEN

    def colour_of(self, tasks: Iterable[TaskState]) -> Colour:
        """Return the worst colour of some tasks (an index's)."""
        return worst(self.task_colour(t.code) for t in tasks)

    def count(self, tasks: Iterable[TaskState], standing: Standing) -> int:
        """Return how many of some tasks are in a state."""
        return sum(1 for t in tasks if (a := self.tasks.get(t.code)) and a.standing == standing)

    def blocked_count(self, tasks: Iterable[TaskState]) -> int:
        """Return how many of some tasks carry the blocked flag."""
        return sum(1 for t in tasks if (a := self.tasks.get(t.code)) and a.blocked)

    @property
    def overdue(self) -> list[AgencyTask]:
        """Return the overdue assignments, in the plan's order."""
        return [a for a in self.assignments if a.assessment.standing == Standing.OVERDUE]

    @property
    def blocked(self) -> list[AgencyTask]:
        """Return the assignments whose latest report says the work is blocked."""
        return [a for a in self.assignments if a.assessment.blocked]


def year_standing(
    summary: PlanSummary,
    zone: tzinfo,
    reopenings: Mapping[tuple[int, str], date] | None = None,
) -> YearStanding:
    """Return the state of every lead assignment of a year, judged on the summary's day.

    A task's deadline is its own (``TaskState.due``), else the year's last deadline for the
    assigned agencies, moved for an agency by an extension granted to it (the summary's
    ``extensions``). ``reopenings`` gives, per (agency, task code), the last day of a
    reopening granted to the agency; by default the summary's own.
    """
    last = reference_day(summary.milestones, summary.year)
    tasks = {t.code: t for t in summary.all_tasks}
    if reopenings is None:
        reopenings = reopened_until(summary)
    assignments = []
    for agency in summary.agencies:
        for code in agency.lead_tasks:
            task = tasks.get(code)
            if task is None:
                continue
            report = next((r for r in task.reports if r.agency_id == agency.id), None)
            due, extension = extended_due(summary.extensions, agency.id, code, task.due or last)
            assessment = assess(
                due=due,
                today=summary.today,
                report=report,
                zone=zone,
                reopened_until=reopenings.get((agency.id, code)),
            )
            assignments.append(
                AgencyTask(agency.id, agency.name, task, report, assessment, due, extension)
            )
    position = {code: i for i, code in enumerate(tasks)}
    assignments.sort(key=lambda a: position[a.task.code])  # agencies stay in name order
    by_task: dict[str, list[Assessment]] = {}
    for assignment in assignments:
        by_task.setdefault(assignment.task.code, []).append(assignment.assessment)
    combined = {code: combine(found) for code, found in by_task.items()}
    return YearStanding(assignments, {c: a for c, a in combined.items() if a is not None})


def reopened_until(summary: PlanSummary) -> dict[tuple[int, str], date]:
    """Return, per (agency, task code), the last day of the latest reopening granted to it."""
    found: dict[tuple[int, str], date] = {}
    for agency in summary.agencies:
        for reopening in summary.reopenings:
            if reopening.agency_id != agency.id:
                continue
            for code in agency.lead_tasks:
                if reopening.task_code in (None, code):
                    key = (agency.id, code)
                    found[key] = max(found.get(key, reopening.until), reopening.until)
    return found
