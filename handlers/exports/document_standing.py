"""The draft report's summary of the four states and the PGI risk view, and the cells' colours."""

from __future__ import annotations

from typing import Any

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from bot.core.domain.progress import PlanSummary
from bot.core.domain.standing import STANDINGS, Colour, YearStanding
from bot.core.i18n import _, format_score, ngettext
from handlers.exports.docx_layout import CENTER, LEFT, cell_line, keep_row_whole, para, widths
from handlers.exports.labels import in_sentence
from handlers.exports.standing import (
    BLOCKED_LABEL,
    FILLS,
    colour_label,
    published_text,
    risks_of,
    standing_label,
)

TABLE_SIZE = 11
RISK_WIDTHS_MM = (45, 15, 15, 22, 15, 13, 13, 13, 14)  # 165 mm: the text's width


def shade(cell: Any, colour: Colour) -> None:
    """Fill a table cell with a colour's fill."""
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), FILLS[colour].lstrip("#"))
    cell._tc.get_or_add_tcPr().append(shading)


def standing_summary(document: Any, summary: PlanSummary, standing: YearStanding) -> None:
    """Write how the tasks stand against their deadlines, then the PGI risk table."""
    tasks = summary.all_tasks
    counts = [f"{in_sentence(standing_label(s))}: {standing.count(tasks, s)}" for s in STANDINGS]
    counts.append(f"{in_sentence(_(BLOCKED_LABEL))}: {standing.blocked_count(tasks)}")
    overdue_agencies = len({a.agency_id for a in standing.overdue})
    para(
        document,
        ngettext(
            "Against their deadlines, of the %(count)s task: %(states)s.",
            "Against their deadlines, of the %(count)s tasks: %(states)s.",
            len(tasks),
        )
        % {"count": len(tasks), "states": "; ".join(counts)}
        + " "
        + ngettext(
            "%(count)s agency has overdue tasks.",
            "%(count)s agencies have overdue tasks.",
            overdue_agencies,
        )
        % {"count": overdue_agencies},
    )
    para(
        document,
        _(
            "The component indices, furthest from their targets first (colours: red, a task "
            "overdue; amber, a task done late or facing difficulties; green, the others):"
        ),
    )
    _risk_table(document, summary, standing)


def _risk_table(document: Any, summary: PlanSummary, standing: YearStanding) -> None:
    years = {index.baseline_year for index in summary.indices}
    headers = [
        _("Index"),
        _("Score in %(year)s") % {"year": years.pop()} if len(years) == 1 else _("Baseline score"),
        _("Target score"),
        _("Latest published score"),
        _("Still to gain"),
        _("Done (%)"),
        _("Overdue (%)"),
        _("Facing difficulties (%)"),
        _("Colour"),
    ]
    risks = risks_of(summary, standing)
    table = document.add_table(rows=1 + len(risks), cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths(table, RISK_WIDTHS_MM)
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        cell_line(cell, header, first=True, bold=True, size=TABLE_SIZE)
    for row, risk in zip(table.rows[1:], risks, strict=True):
        values = [
            (_("%(code)s. %(name)s") % {"code": risk.index.code, "name": risk.index.name}, LEFT),
            (format_score(risk.index.baseline_score), CENTER),
            (format_score(risk.index.target_score), CENTER),
            (published_text(risk), CENTER),
            (format_score(risk.gap), CENTER),
            (str(risk.share(risk.done)), CENTER),
            (str(risk.share(risk.overdue)), CENTER),
            (str(risk.share(risk.blocked)), CENTER),
            (colour_label(risk.colour), CENTER),
        ]
        for cell, (text, align) in zip(row.cells, values, strict=True):
            cell_line(cell, text, first=True, size=TABLE_SIZE, align=align)
        shade(row.cells[-1], risk.colour)
        keep_row_whole(row)
    para(document, "")
