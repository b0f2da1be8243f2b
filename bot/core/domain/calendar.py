"""Working days and reminder steps: when a deadline's reminders fall, and which one is due today.

Pure rules over dates. Government offices work Monday to Friday except Vietnamese public
holidays (Tết included, from the ``holidays`` library) and any extra day off the settings name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
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

    def sending_allowed(self, local: time) -> bool:
        """Tell whether reminders may be sent at this local time of day."""
        return self.send_hour <= local.hour < self.quiet_hour


@dataclass(frozen=True, slots=True)
class Step:
    """One reminder of a milestone: its name, the day it is sent, how late it is."""

    name: str
    day: date
    late_day: int = 0


class WorkingCalendar:
    """Vietnamese working days: no weekends, no public holidays (Tết included)."""

    def __init__(self, extra_holidays: frozenset[date] = frozenset()) -> None:
        self._extra = extra_holidays

    def is_working_day(self, day: date) -> bool:
        """Tell whether government offices work on a day."""
        return day.weekday() < 5 and day not in _holidays(day.year) and day not in self._extra

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
