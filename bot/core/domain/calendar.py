"""Working days and reminder steps: when a deadline's reminders fall, and which one is due today.

Pure rules over dates. Government offices work Monday to Friday except Vietnamese public
holidays (Tết included) and the days off the Government moves around them, and work on the
make-up Saturdays it decides, all from the ``holidays`` library. The province may declare more
(:class:`DeclaredDay`: a day off, or a working day), and what it declares wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache

import holidays


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """When to remind and whom to escalate to; every number can be set in the settings."""

    days_before: tuple[int, ...] = (7, 3, 1, 0)
    late_working_days: int = 10
    leader_from_late_day: int = 1
    digest_from_late_day: int = 3
    send_hour: int = 8
    quiet_hour: int = 21
    """No reminder is sent from this hour until ``send_hour`` the next morning."""
    snooze_hour: int = 15
    """"Nhắc lại sau — chiều nay": the hour of the same day a snoozed reminder comes back."""
    snooze_working_days: int = 2
    """"Nhắc lại sau N ngày làm việc": how many."""
    explanation_days: int = 3
    """Working days an agency has to answer an explanation request."""
    explanation_reminders: int = 3
    """Reminders of an unanswered explanation request, one a working day after its deadline."""
    extension_days: int = 2
    """Working days the coordinator has to answer a deadline extension request."""
    extension_reminders: int = 3
    """Reminders to the coordinator of an unanswered extension request, a working day apart."""

    def sending_allowed(self, local: time) -> bool:
        """Tell whether reminders may be sent at this local time of day."""
        return self.send_hour <= local.hour < self.quiet_hour


@dataclass(frozen=True, slots=True)
class Step:
    """One reminder of a milestone: its name, the day it is sent, how late it is."""

    name: str
    day: date
    late_day: int = 0


@dataclass(frozen=True, slots=True)
class DeclaredDay:
    """A day the province declares: a day off, or a working day (a make-up Saturday)."""

    day: date
    working: bool
    reason: str
    source: str = "admin"
    """Who declared it: ``plan`` (the plan file's ``calendar`` section) or ``admin``."""


class WorkingCalendar:
    """Vietnamese working days, with the days the province declares on top."""

    def __init__(
        self,
        days_off: frozenset[date] = frozenset(),
        working_days: frozenset[date] = frozenset(),
    ) -> None:
        self._off = days_off
        self._working = working_days

    @classmethod
    def declared(cls, days: Iterable[DeclaredDay]) -> WorkingCalendar:
        """Return the calendar with the province's declared days."""
        return cls().adding(days)

    def adding(self, days: Iterable[DeclaredDay]) -> WorkingCalendar:
        """Return this calendar with more declared days; for a day declared twice, the later."""
        off, working = set(self._off), set(self._working)
        for declared in days:
            (working if declared.working else off).add(declared.day)
            (off if declared.working else working).discard(declared.day)
        return WorkingCalendar(frozenset(off), frozenset(working))

    def is_working_day(self, day: date) -> bool:
        """Tell whether government offices work on a day.

        A declared day decides; otherwise a public holiday (or a day off moved next to one) is
        off, Monday to Friday is worked, and so is a make-up Saturday or Sunday.
        """
        if day in self._working:
            return True
        if day in self._off or day in _holidays(day.year):
            return False
        return day.weekday() < 5 or day in _weekend_workdays(day.year)

    def previous_working_day(self, day: date) -> date:
        """Return the day itself if it is a working day, else the last working day before."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_days_after(self, day: date, count: int) -> list[date]:
        """Return the first ``count`` working days after a day."""
        days: list[date] = []
        while len(days) < count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days.append(day)
        return days


@cache
def _holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year).keys())


@cache
def _weekend_workdays(year: int) -> frozenset[date]:
    known = holidays.country_holidays("VN", years=year).weekend_workdays
    return frozenset(day for day in known if day.year == year)


def steps_for(due: date, policy: ReminderPolicy, calendar: WorkingCalendar) -> list[Step]:
    """Return a milestone's reminder steps in order, each on a working day.

    A step before the deadline that falls on a day off moves to the working day before it;
    when two steps land on the same day, the later one (closer to the deadline) is kept.
    """
    before: dict[date, Step] = {}
    for days in sorted(policy.days_before, reverse=True):
        name = "due" if days == 0 else f"before-{days}"
        day = calendar.previous_working_day(due - timedelta(days=days))
        before[day] = Step(name, day)
    late = [
        Step(f"late-{n}", day, n)
        for n, day in enumerate(calendar.working_days_after(due, policy.late_working_days), 1)
    ]
    return sorted(before.values(), key=lambda step: step.day) + late


def current_step(steps: list[Step], today: date) -> Step | None:
    """Return the step to send today: the latest one due, until the next one is due.

    The last step is only sent on its own day, so a long outage never sends stale reminders.
    """
    for index, step in enumerate(steps):
        following = steps[index + 1].day if index + 1 < len(steps) else step.day + timedelta(1)
        if step.day <= today < following:
            return step
    return None


class Snooze(StrEnum):
    """When a member asks a reminder to come back ("Nhắc lại sau")."""

    LATER_TODAY = "t"
    TOMORROW = "m"
    WORKING_DAYS = "n"


def snooze_until(
    choice: Snooze,
    now: datetime,
    steps: list[Step],
    policy: ReminderPolicy,
    calendar: WorkingCalendar,
) -> tuple[datetime, bool] | None:
    """Return when a snoozed reminder comes back, and whether it was brought forward.

    ``now`` is local time. Later today is at ``snooze_hour`` (offered only before it, on a
    working day, outside quiet hours); tomorrow is the next working day at ``send_hour``; in N
    working days, at ``send_hour``. Never after the day of the deadline's last reminder step
    (brought forward to that day, ``True``), never to a day off or quiet hours; None when no
    later reminder is left to postpone to.
    """
    today = now.date()
    if choice is Snooze.LATER_TODAY:
        at = datetime.combine(today, time(policy.snooze_hour), now.tzinfo)
        if not (
            calendar.is_working_day(today)
            and now < at
            and policy.sending_allowed(time(policy.snooze_hour))
        ):
            return None
    else:
        count = 1 if choice is Snooze.TOMORROW else policy.snooze_working_days
        day = calendar.working_days_after(today, count)[-1]
        at = datetime.combine(day, time(policy.send_hour), now.tzinfo)
    if not steps:
        return None
    if at.date() <= steps[-1].day:
        return at, False
    last = datetime.combine(steps[-1].day, time(policy.send_hour), now.tzinfo)
    return (last, True) if last > now else None
