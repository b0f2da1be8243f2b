"""A draft consolidated report (.docx) laid out as Decree 30/2020/NĐ-CP asks of official documents.

The coordinating agency edits and signs it: the number, the day and the month are left blank.

Layout (Decree 30, appendix I): A4 portrait, Times New Roman, margins 20 mm top and bottom,
30 mm left, 15 mm right, body in 14 pt. The heading is a borderless two-column table: the
issuing body on the left (the superior body in 12 pt capitals, the coordinator in 12 pt bold
capitals, a long name broken in two balanced lines on purpose), the national motto on the right
(12 pt bold capitals, "Độc lập - Tự do - Hạnh phúc" 13 pt bold), each on one line. The
signature block is made of paragraphs kept with the last paragraph of the body, with blank
lines for the signature above the signer's name. The appendix is a landscape section; a group
of lead agencies of one kind is summed up ("UBND các huyện, thành phố (11)"), the names being
in the workbook.
"""

from __future__ import annotations

import io
import logging
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.shared import Mm, Pt

from bot.core.domain.progress import STATES, LatestReport, PlanSummary, TaskState
from bot.core.domain.review import ReviewState
from bot.core.domain.standing import YearStanding
from bot.core.i18n import N_, _, format_score, ngettext
from handlers.exports.document_standing import shade, standing_summary
from handlers.exports.docx_layout import (
    BODY_SIZE,
    CENTER,
    LEFT,
    borderless,
    cell_line,
    cell_margins,
    keep_row_whole,
    landscape,
    page_setup,
    para,
    repeat_header,
    rule,
    run,
    widths,
)
from handlers.exports.explanations import counts_line as explanation_counts
from handlers.exports.explanations import full_lines
from handlers.exports.labels import (
    accepted_first,
    agency_with_role,
    in_sentence,
    review_mark,
    state_labels,
    summary_review_line,
)
from handlers.exports.periods import figures_line, periodic_lines
from handlers.exports.standing import assessment_label, standing_of
from handlers.extensions.common import granted_line

logger = logging.getLogger(__name__)

HEADER_SIZE = 12
MOTTO_SIZE = 13
APPENDIX_SIZE = 11
TEXT_WIDTH_MM = 165  # A4 minus the 30 mm and 15 mm side margins
HEADER_WIDTHS_MM = (77, 93)
"""The heading overhangs the text by 2.5 mm on each side so that the motto (88 mm in 12 pt
bold) and a coordinator's name of up to ``NAME_LINE`` capitals fit on one line."""
HEADER_CELL_MARGIN_MM = 1
NAME_LINE = 28
APPENDIX_WIDTHS_MM = (12, 16, 84, 58, 30, 15, 22, 20)  # 257 mm: A4 landscape less the margins
STATE_COLUMN = 4
"""The appendix column of a task's state against its deadline, filled with its colour."""
GROUP_FROM = 4
"""Lead agencies of one kind are summed up in the appendix from this many on."""
SIGNATURE_TAB_MM = 118
SIGNATURE_BLANK_LINES = 4


def report_document(summary: PlanSummary) -> bytes:
    """Return the draft consolidated report of the year as .docx bytes."""
    document: Any = Document()
    page_setup(document)
    core = document.core_properties
    core.title = _subtitle(summary)
    core.author = summary.coordinator or ""
    _heading_block(document, summary)
    _title(document, summary)
    _period(document, summary)
    standing = standing_of(summary)
    _opening(document, summary)
    standing_summary(document, summary, standing)
    _results(document, summary)
    _difficulties(document, summary)
    _extensions(document, standing)
    _proposals(document, summary)
    _closing(document, summary)
    _signature(document)
    _appendix(document, summary, standing)
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    logger.info("report document for %s: %s bytes", summary.year, len(data))
    return data


# --- parts --------------------------------------------------------------------------------


def _abbreviation(summary: PlanSummary) -> str:
    """Return the coordinator's code for the document number, e.g. ``STNMT``, or an ellipsis."""
    for agency in summary.agencies:
        if summary.coordinator and agency.name == summary.coordinator:
            return agency.code.upper()
    return "…"


def _subtitle(summary: PlanSummary) -> str:
    return _(
        "Results of implementing the Plan to improve and raise the Provincial Green Index (PGI) "
        "in %(year)s"
    ) % {"year": summary.year}


def balanced_lines(name: str, limit: int = NAME_LINE) -> list[str]:
    """Return a name on one line, or broken in two lines of even length when it is too long.

    Decree 30 has the issuing body's name centred under its superior body: "SỞ NÔNG NGHIỆP VÀ
    PHÁT TRIỂN NÔNG THÔN" is written on two lines rather than left to wrap at the last word.
    """
    words = name.split()
    if len(name) <= limit or len(words) < 2:
        return [name]
    cuts = range(1, len(words))
    best = min(cuts, key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return [" ".join(words[:best]), " ".join(words[best:])]


def _heading_block(document: Any, summary: PlanSummary) -> None:
    table = document.add_table(rows=2, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    borderless(table)
    cell_margins(table, HEADER_CELL_MARGIN_MM)
    widths(table, HEADER_WIDTHS_MM)
    left, right = table.rows[0].cells
    province = _("PEOPLE'S COMMITTEE OF %(province)s PROVINCE") % {
        "province": summary.province.upper()
    }
    if summary.coordinator:
        cell_line(left, province, first=True, size=HEADER_SIZE)
        name = balanced_lines(summary.coordinator.upper())
        paragraph = cell_line(left, name[0], bold=True, size=HEADER_SIZE)
        for line in name[1:]:
            last_run = paragraph.runs[-1]
            last_run.add_break()
            run(paragraph, line, bold=True, size=HEADER_SIZE)
        longest = max(len(line) for line in name)
    else:
        cell_line(left, province, first=True, bold=True, size=HEADER_SIZE)
        longest = len(province)
    rule(left, min(longest * 2.6 / 2, HEADER_WIDTHS_MM[0] - 10), HEADER_WIDTHS_MM[0])
    motto = _("SOCIALIST REPUBLIC OF VIETNAM")
    cell_line(right, motto, first=True, bold=True, size=HEADER_SIZE)
    cell_line(right, _("Independence - Freedom - Happiness"), bold=True, size=MOTTO_SIZE)
    rule(right, 56, HEADER_WIDTHS_MM[1])
    number, place = table.rows[1].cells
    cell_line(
        number,
        _("No.:      /BC-%(agency)s") % {"agency": _abbreviation(summary)},
        first=True,
    )
    cell_line(
        place,
        _("%(place)s, day ..... month ..... year %(year)s")
        % {"place": summary.province, "year": summary.year},
        first=True,
        italic=True,
        size=14,
    )


def _title(document: Any, summary: PlanSummary) -> None:
    para(document, "", align=CENTER, after=6)
    para(document, _("REPORT"), bold=True, align=CENTER, after=0)
    para(document, _subtitle(summary), bold=True, align=CENTER, after=0)
    rule(document, 40, TEXT_WIDTH_MM)


def _period(document: Any, summary: PlanSummary) -> None:
    """Write the period of the figures under the title, and the year's periodic reports."""
    para(document, figures_line(summary), italic=True, align=CENTER, indent=False)
    for line in periodic_lines(summary):
        para(document, line)


def _coordinator(summary: PlanSummary) -> str:
    return summary.coordinator or _("the coordinating agency")


def _opening(document: Any, summary: PlanSummary) -> None:
    para(
        document,
        _(
            "Implementing the %(plan)s, %(agency)s reports on the results of implementation "
            "in %(year)s as follows:"
        )
        % {"plan": summary.plan_title, "agency": _coordinator(summary), "year": summary.year},
    )
    para(
        document,
        ngettext(
            "As of %(date)s, %(reported)s of %(total)s agencies have reported on every task "
            "they lead; %(count)s report (counting every version) has been received.",
            "As of %(date)s, %(reported)s of %(total)s agencies have reported on every task "
            "they lead; %(count)s reports (counting every version) have been received.",
            summary.submission_count,
        )
        % {
            "date": f"{summary.today:%d/%m/%Y}",
            "reported": len(summary.reported_agencies),
            "total": len(summary.leading_agencies),
            "count": summary.submission_count,
        },
    )
    para(
        document,
        _(
            "Review of the latest reports: %(counts)s. Reports accepted by the coordinating "
            "agency come first under each task; the others are marked as under review."
        )
        % {"counts": summary_review_line(summary)},
    )


def _results(document: Any, summary: PlanSummary) -> None:
    para(document, _("I. RESULTS OF IMPLEMENTATION"), bold=True)
    for index in summary.indices:
        para(
            document,
            _("%(number)s. Index “%(name)s”") % {"number": index.code, "name": index.name},
            bold=True,
        )
        para(
            document,
            _("Score in %(year)s: %(baseline)s; target: %(target)s.")
            % {
                "year": index.baseline_year,
                "baseline": format_score(index.baseline_score),
                "target": format_score(index.target_score),
            },
        )
        _task_group(document, summary, index.tasks)
    if summary.organisational:
        para(
            document,
            _("%(number)s. Organisation of implementation") % {"number": _next_number(summary)},
            bold=True,
        )
        _task_group(document, summary, summary.organisational)


def _next_number(summary: PlanSummary) -> str:
    codes = [index.code for index in summary.indices]
    numeric = [int(code) for code in codes if code.isdigit()]
    return str(max(numeric) + 1) if numeric else str(len(codes) + 1)


def _task_group(document: Any, summary: PlanSummary, tasks: list[TaskState]) -> None:
    labels = state_labels()
    counts = [
        (in_sentence(labels[state]), sum(1 for t in tasks if t.state == state)) for state in STATES
    ]
    para(
        document,
        ngettext(
            "%(count)s task in all: %(states)s.",
            "%(count)s tasks in all: %(states)s.",
            len(tasks),
        )
        % {
            "count": len(tasks),
            "states": "; ".join(f"{label}: {count}" for label, count in counts if count),
        },
    )
    for task in tasks:
        if not task.all_reports:
            continue
        para(
            document,
            _("Task %(code)s: %(title)s") % {"code": task.code, "title": task.title},
            bold=True,
        )
        for report in accepted_first(task.all_reports):
            _report(document, report)
        reported = {r.agency_name for r in task.reports}
        missing = [name for name in task.lead_agencies if name not in reported]
        if missing:
            para(
                document,
                _("Not yet reported by: %(agencies)s")
                % {"agencies": "; ".join(lead_groups(summary, missing))},
                italic=True,
            )
    silent = [task.code for task in tasks if not task.all_reports]
    if silent:
        para(
            document,
            _("No report yet: %(codes)s") % {"codes": ", ".join(silent)},
            italic=True,
        )


def _report(document: Any, report: LatestReport) -> None:
    labels = state_labels()
    paragraph = para(document)
    run(paragraph, "- ")
    run(paragraph, report.agency_name, italic=True)
    state = _("%(status)s, %(progress)s%%") % {
        "status": in_sentence(labels.get(report.status, report.status)),
        "progress": report.progress,
    }
    if report.supporting:
        state = _("supporting") + "; " + state
    if report.review is not ReviewState.ACCEPTED:
        state += "; " + review_mark(report.review)
    run(paragraph, " (" + state + "): ")
    run(paragraph, report.results)
    if report.difficulties:
        para(document, _("Difficulties and obstacles: %(text)s") % {"text": report.difficulties})
    if report.proposals:
        para(document, _("Proposals and recommendations: %(text)s") % {"text": report.proposals})


def _reports(summary: PlanSummary) -> list[tuple[TaskState, LatestReport]]:
    return [(task, report) for task in summary.all_tasks for report in task.all_reports]


def _difficulties(document: Any, summary: PlanSummary) -> None:
    para(document, _("II. DIFFICULTIES AND OBSTACLES"), bold=True)
    blocked = [
        (task, report)
        for task, report in _reports(summary)
        if report.status == "blocked" or report.difficulties
    ]
    if not blocked:
        para(document, _("No agency has reported difficulties or obstacles."))
    for task, report in blocked:
        para(
            document,
            "- "
            + _("Task %(code)s (%(agency)s): %(text)s")
            % {
                "code": task.code,
                "agency": agency_with_role(report),
                "text": report.difficulties or report.results,
            },
        )
    _explanations(document, summary)


def _explanations(document: Any, summary: PlanSummary) -> None:
    """Write the explanations asked of late or blocked agencies, and their answers."""
    counts = explanation_counts(summary.explanations, summary.today)
    if counts is None:
        return
    para(document, counts)
    for explanation in summary.explanations:
        request, *answer = full_lines(explanation, summary.today)
        para(document, "- " + request)
        for line in answer:
            para(document, line, italic=True)


def _extensions(document: Any, standing: YearStanding) -> None:
    """Write the deadlines extended for agencies: which task, to when, by whom, when and why."""
    extended = [a for a in standing.assignments if a.extension is not None]
    if not extended:
        return
    para(document, _("Deadline extensions granted:"))
    for assignment in extended:
        assert assignment.extension is not None
        para(
            document,
            f"- {assignment.agency_name}: {assignment.task.code} — "
            + granted_line(assignment.extension),
        )


def _proposals(document: Any, summary: PlanSummary) -> None:
    para(document, _("III. PROPOSALS AND RECOMMENDATIONS"), bold=True)
    proposals = [(task, report) for task, report in _reports(summary) if report.proposals]
    if not proposals:
        para(document, _("No proposals have been made."))
    for task, report in proposals:
        para(
            document,
            "- "
            + _("Task %(code)s (%(agency)s): %(text)s")
            % {"code": task.code, "agency": agency_with_role(report), "text": report.proposals},
        )


def _closing(document: Any, summary: PlanSummary) -> None:
    closing = para(
        document,
        _(
            "The above is the report of %(agency)s on the results of implementing the plan "
            "in %(year)s./."
        )
        % {"agency": _coordinator(summary), "year": summary.year},
    )
    closing.paragraph_format.keep_with_next = True


def _signature(document: Any) -> None:
    """Write the recipients (left) and the signer (right, centred on a tab stop).

    Paragraphs rather than a table, each kept with the next: the block never sits alone on a
    page, it goes with the last paragraph of the body (Word and LibreOffice both keep it so).
    """
    recipients = [
        (_("Recipients:"), 12, True),
        (_("- The Provincial People's Committee (for reporting);"), 11, False),
        (_("- Archives: VT."), 11, False),
    ]
    signer = [_("FOR THE DIRECTOR"), _("DEPUTY DIRECTOR")]
    signer += [""] * SIGNATURE_BLANK_LINES + [_("(Signature and full name)")]
    lines = max(len(recipients), len(signer))
    for number in range(lines):
        paragraph = document.add_paragraph()
        fmt = paragraph.paragraph_format
        fmt.space_before, fmt.space_after = Pt(12 if number == 0 else 0), Pt(0)
        fmt.line_spacing = 1.0
        fmt.keep_with_next = number < lines - 1
        fmt.keep_together = True
        fmt.tab_stops.add_tab_stop(Mm(SIGNATURE_TAB_MM), WD_TAB_ALIGNMENT.CENTER)
        if number < len(recipients):
            text, size, heading = recipients[number]
            run(paragraph, text, bold=heading, italic=heading, size=size)
        else:
            run(paragraph, "", size=11)
        if number < len(signer) and signer[number]:
            last = number == len(signer) - 1
            run(
                paragraph,
                "\t" + signer[number],
                bold=not last,
                italic=last,
                size=BODY_SIZE,
            )
        elif number < len(signer):
            run(paragraph, "\t", size=BODY_SIZE)


def lead_groups(summary: PlanSummary, names: list[str]) -> list[str]:
    """Return lead agencies with each large group of one kind summed up, in the given order.

    "UBND các huyện, thành phố (11)" stands for the eleven districts; the workbook names them.
    """
    kinds = {agency.name: agency.kind for agency in summary.agencies}
    counts: dict[str, int] = {}
    for name in names:
        kind = kinds.get(name, "")
        counts[kind] = counts.get(kind, 0) + 1
    result: list[str] = []
    written: set[str] = set()
    for name in names:
        kind = kinds.get(name, "")
        if kind in _GROUPS and counts[kind] >= GROUP_FROM:
            if kind not in written:
                written.add(kind)
                result.append(_(_GROUPS[kind]) % {"count": counts[kind]})
            continue
        result.append(name)
    return result


_GROUPS = {
    "district": N_("People's Committees of the districts and the city (%(count)s)"),
    "commune": N_("People's Committees of the communes and wards (%(count)s)"),
    "department": N_("Provincial departments and agencies (%(count)s)"),
    "association": N_("Associations and mass organisations (%(count)s)"),
    "press": N_("Press agencies (%(count)s)"),
}


def _appendix(document: Any, summary: PlanSummary, standing: YearStanding) -> None:
    landscape(document)
    para(document, _("APPENDIX"), bold=True, align=CENTER, after=0)
    para(
        document,
        _("Implementation of the tasks in %(year)s") % {"year": summary.year},
        bold=True,
        align=CENTER,
        after=0,
    )
    para(
        document,
        _("(Attached to Report No.      /BC-%(agency)s)") % {"agency": _abbreviation(summary)},
        italic=True,
        align=CENTER,
    )
    headers = [
        _("No."),
        _("Code"),
        _("Task"),
        _("Lead agencies"),
        _("State"),
        _("Progress (%)"),
        _("Lead agencies' reports"),
        _("Supporting reports"),
    ]
    tasks = summary.all_tasks
    table = document.add_table(rows=1 + len(tasks), cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths(table, APPENDIX_WIDTHS_MM)
    rows = table.rows
    repeat_header(rows[0])
    for cell, header in zip(rows[0].cells, headers, strict=True):
        cell_line(
            cell, header, first=True, bold=True, size=APPENDIX_SIZE
        ).paragraph_format.line_spacing = 1.0
    labels = state_labels()
    for number, (row, task) in enumerate(zip(rows[1:], tasks, strict=True), start=1):
        values = [
            (str(number), CENTER),
            (task.code, CENTER),
            (task.title, LEFT),
            ("; ".join(lead_groups(summary, task.lead_agencies)), LEFT),
            (assessment_label(standing.tasks.get(task.code)) or labels[task.state], LEFT),
            (str(task.progress), CENTER),
            (f"{task.reported}/{len(task.lead_agencies)}", CENTER),
            (str(len(task.contributions)), CENTER),
        ]
        for cell, (text, align) in zip(row.cells, values, strict=True):
            line = cell_line(cell, text, first=True, size=APPENDIX_SIZE, align=align)
            line.paragraph_format.line_spacing = 1.0
        shade(row.cells[STATE_COLUMN], standing.task_colour(task.code))
        keep_row_whole(row)
    para(
        document,
        _("The lead agencies of each group are named in the workbook (sheet “By index”)."),
        italic=True,
        size=APPENDIX_SIZE,
    )
