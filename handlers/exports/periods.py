"""The period of a year's figures and its periodic reports, as /tonghop and the files write them.

"Số liệu tính từ ngày 15/12/2025 đến ngày 14/12/2026 (thứ Hai)" for the deadline the agencies
work towards, then one line per quarterly or six-monthly report of the year: its deadline, its
period, and how many agencies reported towards it.
"""

from __future__ import annotations

from bot.core.domain.periods import milestone_period
from bot.core.domain.plan import MilestoneInfo
from bot.core.domain.progress import PlanSummary
from bot.core.i18n import _, format_day, ngettext
from handlers.periods import current_period, period_line, period_name, periodic_milestones


def figures_line(summary: PlanSummary) -> str:
    """Return the period of the figures of the deadline the agencies work towards."""
    return period_line(current_period(summary.milestones, summary.year, summary.today)[1])


def periodic_rows(summary: PlanSummary) -> list[tuple[MilestoneInfo, str, str]]:
    """Return each periodic report of the year: (deadline, its heading, what was reported)."""
    asked = len(summary.leading_agencies)
    rows = []
    for milestone in periodic_milestones(summary.milestones):
        agencies, reports = summary.period_reports.get(milestone.id, (0, 0))
        heading = _("%(title)s (%(kind)s), due %(date)s — %(period)s") % {
            "title": milestone.title,
            "kind": period_name(milestone),
            "date": format_day(milestone.due_date),
            "period": period_line(milestone_period(milestone)),
        }
        if summary.milestone is not None and summary.milestone.id == milestone.id:
            heading += " " + _("(current period)")
        counts = _("%(done)s of %(total)s agencies reported") % {
            "done": agencies,
            "total": asked,
        }
        counts += "; " + ngettext("%(count)s report", "%(count)s reports", reports) % {
            "count": reports
        }
        rows.append((milestone, heading, counts))
    return rows


def periodic_lines(summary: PlanSummary) -> list[str]:
    """Return the block of the year's periodic reports (empty if the plan declares none)."""
    rows = periodic_rows(summary)
    if not rows:
        return []
    return [_("Periodic reports:")] + [f"• {heading}: {counts}" for _m, heading, counts in rows]
