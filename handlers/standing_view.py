"""What ``/tonghop`` leads with: the overdue tasks by agency, then the reports of difficulties."""

from __future__ import annotations

from bot.core.domain.progress import PlanSummary
from bot.core.domain.standing import Colour, YearStanding
from bot.core.i18n import _, ngettext
from bot.core.text import shorten
from handlers.exports.labels import agency_with_role
from handlers.exports.standing import MARKS

LIST_LIMIT = 15
TEXT_EXCERPT = 160


def lead_lines(summary: PlanSummary, standing: YearStanding) -> list[str]:
    """Return the overdue (by agency, in Vietnamese order) and the blocked, with their marks."""
    lines: list[str] = []
    overdue: dict[int, tuple[str, list[str]]] = {}
    for assignment in standing.overdue:
        overdue.setdefault(assignment.agency_id, (assignment.agency_name, []))[1].append(
            assignment.task.code
        )
    if overdue:
        order = {a.id: i for i, a in enumerate(summary.agencies)}
        agencies = sorted(overdue.items(), key=lambda item: order.get(item[0], len(order)))
        lines += [
            "",
            MARKS[Colour.RED]
            + " "
            + ngettext(
                "Overdue: %(tasks)s task of %(agencies)s agencies",
                "Overdue: %(tasks)s tasks of %(agencies)s agencies",
                len(standing.overdue),
            )
            % {"tasks": len(standing.overdue), "agencies": len(overdue)},
        ]
        for _id, (name, codes) in agencies[:LIST_LIMIT]:
            shown = ", ".join(codes[:12]) + ("…" if len(codes) > 12 else "")
            lines.append(f"• {name}: {shown}")
        if len(agencies) > LIST_LIMIT:
            lines.append(
                _("… and %(count)s more (send /chuabaocao)")
                % {"count": len(agencies) - LIST_LIMIT}
            )
    blocked = summary.blocked
    if blocked:
        lines += [
            "",
            MARKS[Colour.AMBER]
            + " "
            + _("Facing difficulties and obstacles (%(count)s):") % {"count": len(blocked)},
        ]
        for task, report in blocked[:LIST_LIMIT]:
            lines.append(
                f"• {task.code} — {agency_with_role(report)}: "
                f"{shorten(report.difficulties or '', TEXT_EXCERPT)}"
            )
        if len(blocked) > LIST_LIMIT:
            lines.append(
                _("… and %(count)s more (see the draft report)")
                % {"count": len(blocked) - LIST_LIMIT}
            )
    return lines
