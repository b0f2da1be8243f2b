"""Explanation requests ("yêu cầu giải trình"): asked of a late or blocked agency, answered once.

The coordinator asks an agency to explain why it is late on its tasks, or why a task is blocked;
the agency's members answer in one free-text message. A request has an answer deadline, a
number of working days after the day it was asked; one left unanswered past it is counted and
reminded like a deadline (:func:`reminder_steps`). Pure rules over dates and values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.core.domain.calendar import ReminderPolicy, Step, WorkingCalendar, steps_for


class ExplanationReason(StrEnum):
    """Why an agency is asked to explain."""

    LATE = "late"
    """Its report on the task (or on its tasks) is past the deadline."""
    BLOCKED = "blocked"
    """Its latest report on the task says the work is blocked."""


@dataclass(frozen=True, slots=True)
class Explanation:
    """One explanation request and, once given, its answer."""

    id: int
    year: int
    agency_id: int
    agency_name: str
    task_codes: tuple[str, ...]
    """The tasks it asks about (one task, or the agency's late tasks when asked)."""
    task_id: int | None
    """The one task it asks about, None for a request about the agency's late tasks."""
    reason: ExplanationReason
    asked_at: datetime
    asked_by: str | None
    due_date: date
    """The last day to answer before the request counts as unanswered and is reminded."""
    answer: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None

    @property
    def answered(self) -> bool:
        """Tell whether the agency has answered."""
        return self.answer is not None

    def overdue(self, today: date) -> bool:
        """Tell whether it is still unanswered after its answer deadline."""
        return not self.answered and today > self.due_date

    def concerns(self, task_code: str, agency_id: int | None = None) -> bool:
        """Tell whether it asks about a task (of one agency, if given)."""
        return task_code in self.task_codes and agency_id in (None, self.agency_id)


@dataclass(frozen=True, slots=True)
class ExplanationCounts:
    """How many requests were asked, answered, and left unanswered past their deadline."""

    asked: int = 0
    answered: int = 0
    overdue: int = 0

    @property
    def waiting(self) -> int:
        """Return how many are unanswered (overdue or not)."""
        return self.asked - self.answered


def count(explanations: Iterable[Explanation], today: date) -> ExplanationCounts:
    """Count requests: asked, answered, unanswered past their answer deadline."""
    asked = answered = overdue = 0
    for explanation in explanations:
        asked += 1
        answered += explanation.answered
        overdue += explanation.overdue(today)
    return ExplanationCounts(asked, answered, overdue)


def answer_due(asked_on: date, working_days: int, calendar: WorkingCalendar) -> date:
    """Return the answer deadline: the n-th working day after the day it was asked."""
    if working_days <= 0:
        return calendar.previous_working_day(asked_on)
    return calendar.working_days_after(asked_on, working_days)[-1]


def reminder_steps(due: date, reminders: int, calendar: WorkingCalendar) -> list[Step]:
    """Return an unanswered request's reminders: each working day after its deadline, n of them.

    Like a deadline's late steps (``late-1``, ``late-2``, …); the last is sent on its own day
    only, so a bot that was down never sends a stale one.
    """
    if reminders <= 0:
        return []
    policy = ReminderPolicy(days_before=(), late_working_days=reminders)
    return [step for step in steps_for(due, policy, calendar) if step.late_day > 0]


def for_task(
    explanations: Sequence[Explanation], task_code: str, agency_id: int | None = None
) -> list[Explanation]:
    """Return the requests about a task (of one agency, if given), oldest first."""
    return [e for e in explanations if e.concerns(task_code, agency_id)]
