"""The period a report's figures cover, as every view and file writes it.

"Số liệu tính từ ngày 15/12/2025 đến ngày 14/12/2026 (thứ Hai)": the rule is
:mod:`bot.core.domain.periods`; this module finds a year's current period, writes it, and
reads a date an officer types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from bot.core.domain.periods import ReportPeriod, milestone_period, periodic, year_period
from bot.core.domain.plan import MilestoneInfo
from bot.core.domain.progress import current_milestone
from bot.core.i18n import N_, _, format_day

PERIOD_NAMES = {
    "year": N_("yearly"),
    "half_year": N_("six-monthly"),
    "quarter": N_("quarterly"),
}
_TYPED_DATE = re.compile(r"^\s*(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})\s*$")


def day_with_weekday(day: date) -> str:
    """Write a day as ``14/12/2026 (thứ Hai)``."""
    weekday, _sep, digits = format_day(day).partition(", ")
    return f"{digits} ({weekday})"


def period_line(period: ReportPeriod) -> str:
    """Write a period: "Số liệu tính từ ngày 15/12/2025 đến ngày 14/12/2026 (thứ Hai)"."""
    return _("Figures from %(start)s to %(end)s") % {
        "start": f"{period.start:%d/%m/%Y}",
        "end": day_with_weekday(period.end),
    }


def current_period(
    milestones: Sequence[MilestoneInfo], year: int, today: date
) -> tuple[MilestoneInfo | None, ReportPeriod]:
    """Return the deadline reported towards in a year on a day, and its period.

    In a year with no deadline for the agencies, the year's period.
    """
    milestone = current_milestone(list(milestones), today)
    if milestone is None or milestone.year != year:
        return None, year_period(year)
    return milestone, milestone_period(milestone)


def periodic_milestones(milestones: Sequence[MilestoneInfo]) -> list[MilestoneInfo]:
    """Return a year's periodic reports (quarterly, six-monthly) in date order."""
    return [m for m in milestones if periodic(m) and m.recipients == "assigned"]


def period_name(milestone: MilestoneInfo) -> str:
    """Return "quarterly", "six-monthly" or "yearly" in Vietnamese."""
    return _(PERIOD_NAMES.get(milestone.period, PERIOD_NAMES["year"]))


def read_typed_date(text: str) -> date | None:
    """Read a date typed ``dd/mm/yyyy`` (or with ``-`` or ``.``); None if it is no date."""
    match = _TYPED_DATE.match(text)
    if not match:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
