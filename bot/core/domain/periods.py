"""The period a report's figures cover: "Số liệu tính từ ngày … đến ngày …".

The province counts figures in periods that start on one day of the year (the setting
``PGIBOT_PERIOD_START``, 15/12 by default, as the national reporting rules do): the yearly
figures of a year run from 15/12 of the year before to 14/12; a quarter's from the 15th of the
month before it to the 14th of its last month (15/12 to 14/03, 15/03 to 14/06, ...); a half
year's from 15/12 to 14/06 and from 15/06 to 14/12.

A milestone's period is its cycle's year, or the quarter or half year of a periodic report
(the latest one that has ended by its deadline). The plan file may fix a milestone's last day
(``cutoff: "dd/mm"``); the period then ends that day and is as long as its kind says. An
officer may state another last day for a report, within the period (:func:`check_cutoff`).
"""

from __future__ import annotations

from calendar import monthrange
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from bot.core.domain.plan import MilestoneInfo

PeriodKind = Literal["year", "half_year", "quarter"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("year", "half_year", "quarter")
MONTHS: dict[str, int] = {"year": 12, "half_year": 6, "quarter": 3}
DEFAULT_START = (12, 15)
"""(month, day) the yearly figures start on: 15/12 of the year before."""

_start: ContextVar[tuple[int, int]] = ContextVar("period_start", default=DEFAULT_START)


def set_period_start(month: int, day: int) -> None:
    """Set the day of the year the yearly figures start on (``PGIBOT_PERIOD_START``)."""
    date(2023, month, day)  # must exist every year
    _start.set((month, day))


def period_start_day() -> tuple[int, int]:
    """Return (month, day) the yearly figures start on."""
    return _start.get()


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """The first and the last day a report's figures count (both included)."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def add_months(day: date, months: int) -> date:
    """Return the same day ``months`` later (earlier if negative), kept within the month."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month + 1, min(day.day, monthrange(year, month + 1)[1]))


def _starts(kind: str, year: int, start: tuple[int, int]) -> list[date]:
    """Return the first days of the periods of a kind around a year, in order."""
    length = MONTHS.get(kind, 12)
    first = date(year - 2, start[0], start[1])
    return [add_months(first, length * step) for step in range(0, 48 // length + 1)]


def period_ending(kind: str, last_day: date) -> ReportPeriod:
    """Return the period of a kind that ends on a given day (a stated cut-off)."""
    return ReportPeriod(add_months(last_day + timedelta(days=1), -MONTHS.get(kind, 12)), last_day)


def milestone_period(
    milestone: MilestoneInfo, start: tuple[int, int] | None = None
) -> ReportPeriod:
    """Return the period whose figures a milestone's reports give.

    Yearly milestones: the cycle's year (15/12 of the year before to 14/12 by default).
    Quarterly or half-yearly reports: the latest such period ended by the deadline.
    A ``cutoff`` of the plan file fixes the last day in the cycle's year.
    """
    start = start or period_start_day()
    kind = milestone.period
    if milestone.cutoff:
        day, month = (int(part) for part in milestone.cutoff.split("/"))
        return period_ending(kind, date(milestone.year, month, day))
    starts = _starts(kind, milestone.year, start)
    limit = date(milestone.year, 12, 31) if kind == "year" else milestone.due_date
    ends = [s - timedelta(days=1) for s in starts]
    end = max(e for e in ends if e <= limit)
    return period_ending(kind, end)


def year_period(year: int, start: tuple[int, int] | None = None) -> ReportPeriod:
    """Return the yearly period of a cycle (without a milestone of its own)."""
    start = start or period_start_day()
    ends = [s - timedelta(days=1) for s in _starts("year", year, start)]
    return period_ending("year", max(e for e in ends if e <= date(year, 12, 31)))


def check_cutoff(period: ReportPeriod, day: date) -> bool:
    """Tell whether an officer may state a day as the last one of a report's figures."""
    return day in period


def periodic(milestone: MilestoneInfo) -> bool:
    """Tell whether a milestone is a periodic (quarterly or half-yearly) report."""
    return milestone.period != "year"
