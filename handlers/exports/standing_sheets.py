"""The workbook's sheets of the four states: the PGI risk view and every task of every agency.

Each row's last cell is filled with its colour (red, amber, green), as /tonghop marks it.
"""

from __future__ import annotations

from bot.core.domain.progress import PlanSummary
from bot.core.domain.standing import YearStanding
from bot.core.i18n import _, format_day
from handlers.exports.labels import index_labels, state_labels
from handlers.exports.spreadsheet import MOMENT, NUMBER, WRAP, _Book, _Column, _Sheet
from handlers.exports.standing import (
    assessment_label,
    colour_label,
    published_text,
    risks_of,
)
from handlers.extensions.common import granted_line


def risk_sheet(book: _Book, summary: PlanSummary, standing: YearStanding) -> None:
    """Write the PGI risk view: the indices furthest from their targets first."""
    years = {index.baseline_year for index in summary.indices}
    baseline = (
        _("Score in %(year)s") % {"year": years.pop()} if len(years) == 1 else _("Baseline score")
    )
    sheet = _Sheet(
        book,
        _("PGI risk"),
        [
            _Column(_("Index"), WRAP),
            _Column(baseline, NUMBER),
            _Column(_("Target score"), NUMBER),
            _Column(_("Latest published score")),
            _Column(_("Still to gain"), NUMBER),
            _Column(_("Tasks"), NUMBER),
            _Column(_("Done (%)"), NUMBER),
            _Column(_("Overdue (%)"), NUMBER),
            _Column(_("Facing difficulties (%)"), NUMBER),
            _Column(_("Colour")),
            _Column(_("Extension"), WRAP),
        ],
    )
    headings = index_labels(summary)
    for risk in risks_of(summary, standing):
        sheet.write(
            [
                headings[risk.index.code],
                risk.index.baseline_score,
                risk.index.target_score,
                published_text(risk),
                risk.gap,
                risk.tasks,
                risk.share(risk.done),
                risk.share(risk.overdue),
                risk.share(risk.blocked),
                colour_label(risk.colour),
            ],
            fill=book.fills[risk.colour],
        )
    sheet.finish()


def assignments_sheet(book: _Book, summary: PlanSummary, standing: YearStanding) -> None:
    """Write every task of every agency with its state and colour, in the plan's order."""
    labels = state_labels()
    sheet = _Sheet(
        book,
        _("By deadline"),
        [
            _Column(_("Index"), WRAP),
            _Column(_("Code")),
            _Column(_("Task"), WRAP),
            _Column(_("Agency"), WRAP),
            _Column(_("Due date")),
            _Column(_("Status")),
            _Column(_("Last report"), MOMENT),
            _Column(_("State")),
            _Column(_("Colour")),
            _Column(_("Extension"), WRAP),
        ],
    )
    headings = index_labels(summary)
    last = max(
        (m.due_date for m in summary.milestones if m.recipients == "assigned"), default=None
    )
    for item in standing.assignments:
        task, report, assessment = item.task, item.report, item.assessment
        due = item.due or task.due or last
        sheet.write(
            [
                headings.get(task.index_code, task.index_code or ""),
                task.code,
                task.title,
                item.agency_name,
                format_day(due) if due else "",
                labels.get(report.status, report.status) if report else labels["unreported"],
                report.created_at if report else None,
                assessment_label(assessment),
                colour_label(assessment.colour),
                granted_line(item.extension) if item.extension else "",
            ],
            fill=book.fills[assessment.colour],
            at=-2,  # the colour's cell, before the extension
        )
    sheet.finish()
