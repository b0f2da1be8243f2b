"""The year's workbook: an overview, every task, every agency and every submission.

XlsxWriter writes in constant-memory mode, row by row, into a temporary directory, so memory
stays flat (about 11 MB more for a hundred thousand submissions) however large the year. The
submissions arrive as an async iterator and are never held in a list. Their sheet, the only
large one, is written by the fast row writer of ``handlers.exports.xlsx_rows`` (``fast=False``
writes it through XlsxWriter like the others, three times slower).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook

from bot.core.domain.progress import STATES, PlanSummary, SubmissionRow, TaskState
from bot.core.domain.review import ReviewState
from bot.core.domain.standing import STANDINGS, YearStanding
from bot.core.i18n import _, format_day, format_moment
from bot.core.priority import give_way
from handlers.exports.explanations import answer_state, reason_label
from handlers.exports.labels import (
    index_labels,
    kind_label,
    organisational_label,
    review_label,
    state_labels,
    summary_review_line,
)
from handlers.exports.periods import figures_line, periodic_rows
from handlers.exports.standing import (
    BLOCKED_LABEL,
    FILLS,
    assessment_label,
    colour_label,
    standing_label,
    standing_of,
)
from handlers.exports.xlsx_rows import PlainRows, Rows, Value, XmlRows

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
SHEET_NAME_LIMIT = 31
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "-"))

TEXT, WRAP, NUMBER, MOMENT = "text", "wrap", "number", "moment"
_CAPS = {TEXT: 40, WRAP: 60, NUMBER: 14, MOMENT: 17}
_MINIMUM = {TEXT: 6, WRAP: 12, NUMBER: 6, MOMENT: 17}


@dataclass(frozen=True, slots=True)
class _Column:
    header: str
    kind: str = TEXT


class _Sheet:
    """One worksheet written top to bottom, remembering how wide each column needs to be."""

    def __init__(
        self, book: _Book, name: str, columns: Sequence[_Column], *, fast: bool = False
    ) -> None:
        self.sheet: Any = book.workbook.add_worksheet(_sheet_name(name))
        self.kinds = [c.kind for c in columns]
        for col, column in enumerate(columns):
            self.sheet.write_string(0, col, column.header, book.header)
        widths = [max(_MINIMUM[c.kind], _header_width(c.header)) for c in columns]
        self.rows: Rows = (
            XmlRows(book.workbook, self.sheet, widths, book.folder)
            if fast
            else PlainRows(self.sheet, widths)
        )
        book.rows.append(self.rows)
        plain = {TEXT: book.cell, WRAP: book.wrap, NUMBER: book.cell, MOMENT: book.moment}
        self.formats = tuple(plain[kind] for kind in self.kinds)
        self.bold_formats = tuple(book.bold if f is book.cell else f for f in self.formats)
        self.row = 1

    def write(
        self, values: Sequence[Value], *, bold: bool = False, fill: Any = None, at: int = -1
    ) -> None:
        """Write one row of values under the previous one, each in its column's format.

        ``fill`` is the format of the column ``at`` (a colour's cell; the last by default).
        """
        formats = self.bold_formats if bold else self.formats
        if fill is not None:
            formats = tuple(fill if i == at % len(formats) else f for i, f in enumerate(formats))
        self.rows.write(self.row, values, formats)
        self.row += 1

    def skip(self) -> None:
        """Leave an empty row."""
        self.row += 1

    def finish(self, filter_rows: int | None = None) -> None:
        """Freeze the header, filter the data and size the columns."""
        last = (filter_rows if filter_rows is not None else self.row - 1) or 1
        self.sheet.freeze_panes(1, 0)
        self.sheet.autofilter(0, 0, last, len(self.kinds) - 1)
        for col, (kind, width) in enumerate(zip(self.kinds, self.rows.widths, strict=True)):
            self.sheet.set_column(col, col, min(width, _CAPS[kind]) + 2)


class _Book:
    """The workbook, the formats every sheet shares, and each sheet's row writer."""

    def __init__(self, path: Path) -> None:
        self.folder = path.parent
        self.workbook: Any = Workbook(
            str(path),
            {"constant_memory": True, "in_memory": False, "tmpdir": str(self.folder)},
        )
        add = self.workbook.add_format
        base = {"font_name": "Times New Roman", "font_size": 12, "valign": "top"}
        self.header = add(
            {**base, "bold": True, "text_wrap": True, "bg_color": "#DDEBF7", "border": 1}
        )
        self.cell = add(base)
        self.bold = add({**base, "bold": True})
        self.wrap = add({**base, "text_wrap": True})
        self.moment = add({**base, "num_format": "dd/mm/yyyy hh:mm", "align": "left"})
        self.fills = {colour: add({**base, "bg_color": fill}) for colour, fill in FILLS.items()}
        self.rows: list[Rows] = []


async def spreadsheet(
    summary: PlanSummary,
    submissions: AsyncIterator[SubmissionRow],
    progress: Callable[[int], object] | None = None,
    *,
    fast: bool = True,
) -> bytes:
    """Return the year's .xlsx: overview, tasks, agencies, submissions, PGI risk, deadlines.

    ``fast`` writes the submissions through ``XmlRows`` rather than XlsxWriter's own calls:
    the same workbook, three times sooner.
    """
    with tempfile.TemporaryDirectory(prefix="pgibot-xlsx-") as tmpdir:
        path = Path(tmpdir) / "report.xlsx"
        book = _Book(path)
        try:
            book.workbook.set_properties(
                {
                    "title": summary.plan_title,
                    "subject": _("Year %(year)s") % {"year": summary.year},
                }
            )
            from handlers.exports.standing_sheets import assignments_sheet, risk_sheet

            standing = standing_of(summary)
            _overview(book, summary, standing)
            _tasks(book, summary, standing)
            _agencies(book, summary, standing)
            if summary.explanations:
                _explanations(book, summary)
            count = await _submissions(book, summary, submissions, progress, fast)
            risk_sheet(book, summary, standing)
            assignments_sheet(book, summary, standing)
        except BaseException:
            book.workbook.close()
            for rows in book.rows:
                rows.close(None)
            raise
        data = await asyncio.to_thread(_close, book, path)  # compressing: off the event loop
    logger.info("spreadsheet for %s: %s submissions, %s bytes", summary.year, count, len(data))
    return data


def _close(book: _Book, path: Path) -> bytes:
    """Write the workbook's file (the zip compression of every sheet); return its bytes."""
    book.workbook.close()
    for rows in book.rows:
        rows.close(path)
    return path.read_bytes()


def _overview(book: _Book, summary: PlanSummary, standing: YearStanding) -> None:
    labels = state_labels()
    years = {index.baseline_year for index in summary.indices}
    baseline = (
        _("Score in %(year)s") % {"year": years.pop()} if len(years) == 1 else _("Baseline score")
    )
    sheet = _Sheet(
        book,
        _("Overview"),
        [
            _Column(_("Index"), WRAP),
            _Column(baseline, NUMBER),
            _Column(_("Target score"), NUMBER),
            _Column(_("Tasks"), NUMBER),
            *(_Column(labels[state], NUMBER) for state in STATES),
            *(_Column(standing_label(s), NUMBER) for s in STANDINGS),
            _Column(_(BLOCKED_LABEL), NUMBER),
            _Column(_("Colour")),
        ],
    )
    headings = index_labels(summary)
    groups: list[tuple[str, float | None, float | None, list[TaskState]]] = [
        (headings[i.code], i.baseline_score, i.target_score, i.tasks) for i in summary.indices
    ]
    if summary.organisational:
        groups.append((organisational_label(), None, None, summary.organisational))
    for label, score, target, tasks in groups:
        counts = [sum(1 for t in tasks if t.state == state) for state in STATES]
        colour = standing.colour_of(tasks)
        sheet.write(
            [
                label,
                score,
                target,
                len(tasks),
                *counts,
                *_standings(standing, tasks),
                colour_label(colour),
            ],
            fill=book.fills[colour],
        )
    filtered = sheet.row - 1
    everything = summary.all_tasks
    colour = standing.colour_of(everything)
    sheet.write(
        [_("Total"), None, None, len(everything)]
        + [sum(1 for t in everything if t.state == state) for state in STATES]
        + [*_standings(standing, everything), colour_label(colour)],
        bold=True,
        fill=book.fills[colour],
    )
    sheet.skip()
    milestone = summary.milestone
    info: list[tuple[str, Value]] = [
        (_("Plan"), summary.plan_title),
        (_("Year"), summary.year),
        (_("Generated on"), format_day(summary.today)),
        (_("Coordinating agency"), summary.coordinator or ""),
        (_("Current milestone"), milestone.title if milestone else _("none")),
        (_("Due date"), format_day(milestone.due_date) if milestone else ""),
        (_("Period of the figures"), figures_line(summary)),
        *((heading, counts) for _m, heading, counts in periodic_rows(summary)),
        (
            _("Agencies that reported on every task they lead"),
            _("%(reported)s of %(total)s")
            % {
                "reported": len(summary.reported_agencies),
                "total": len(summary.leading_agencies),
            },
        ),
        (_("Reports received (every version)"), summary.submission_count),
        (_("Review of the latest reports"), summary_review_line(summary)),
    ]
    for label, value in info:
        sheet.write([label, value])
    sheet.finish(filtered)


def _standings(standing: YearStanding, tasks: list[TaskState]) -> list[Value]:
    counts: list[Value] = [standing.count(tasks, s) for s in STANDINGS]
    return [*counts, standing.blocked_count(tasks)]


def _tasks(book: _Book, summary: PlanSummary, standing: YearStanding) -> None:
    labels = state_labels()
    sheet = _Sheet(
        book,
        _("By index"),
        [
            _Column(_("Index"), WRAP),
            _Column(_("Code")),
            _Column(_("Task"), WRAP),
            _Column(_("Lead agencies"), WRAP),
            _Column(_("State")),
            _Column(_("Progress (%)"), NUMBER),
            _Column(_("Lead agencies reported"), NUMBER),
            _Column(_("Lead agencies assigned"), NUMBER),
            _Column(_("Supporting agencies"), WRAP),
            _Column(_("Supporting agencies reported"), NUMBER),
            _Column(_("State by deadline")),
            _Column(_("Colour")),
        ],
    )
    headings = index_labels(summary)
    for task in summary.all_tasks:
        supporting = task.supporting_agencies + [
            r.agency_name
            for r in task.contributions
            if r.agency_name not in task.supporting_agencies
        ]
        sheet.write(
            [
                headings.get(task.index_code, task.index_code or ""),
                task.code,
                task.title,
                "; ".join(task.lead_agencies),
                labels.get(task.state, task.state),
                task.progress,
                task.reported,
                len(task.lead_agencies),
                "; ".join(supporting),
                len(task.contributions),
                assessment_label(standing.tasks.get(task.code)),
                colour_label(colour := standing.task_colour(task.code)),
            ],
            fill=book.fills[colour],
        )
    sheet.finish()


def _agencies(book: _Book, summary: PlanSummary, standing: YearStanding) -> None:
    sheet = _Sheet(
        book,
        _("By agency"),
        [
            _Column(_("Agency"), WRAP),
            _Column(_("Kind")),
            _Column(_("Lead tasks"), NUMBER),
            _Column(_("Tasks reported"), NUMBER),
            _Column(_("Reporting rate (%)"), NUMBER),
            _Column(_("Tasks not reported"), WRAP),
            _Column(_("Members"), WRAP),
            _Column(_("Last report"), MOMENT),
            _Column(_("Supporting tasks"), NUMBER),
            _Column(_("Supporting tasks reported"), NUMBER),
            *(_Column(standing_label(s), NUMBER) for s in STANDINGS),
            _Column(_(BLOCKED_LABEL), NUMBER),
            _Column(_("Colour")),
        ],
    )
    for agency in summary.agencies:
        lead, reported = len(agency.lead_tasks), len(agency.reported_tasks)
        own = [a.assessment for a in standing.of_agency(agency.id)]
        colour = standing.agency_colour(agency.id)
        sheet.write(
            [
                agency.name,
                kind_label(agency.kind),
                lead,
                reported,
                round(100 * reported / lead) if lead else 0,
                ", ".join(agency.pending_tasks),
                "; ".join(agency.members),
                agency.last_report_at,
                len(agency.support_tasks),
                len(agency.contributed_tasks),
                *(sum(1 for a in own if a.standing == s) for s in STANDINGS),
                sum(1 for a in own if a.blocked),
                colour_label(colour),
            ],
            fill=book.fills[colour],
        )
    sheet.finish()


def _explanations(book: _Book, summary: PlanSummary) -> None:
    """Write one row per explanation request: the agency, the tasks, the state, the answer."""
    titles = {task.code: task.title for task in summary.all_tasks}
    sheet = _Sheet(
        book,
        _("Explanations"),
        [
            _Column(_("Agency"), WRAP),
            _Column(_("Code")),
            _Column(_("Task"), WRAP),
            _Column(_("Reason")),
            _Column(_("Requested at"), MOMENT),
            _Column(_("Requested by")),
            _Column(_("Answer due")),
            _Column(_("State")),
            _Column(_("Explanation"), WRAP),
            _Column(_("Explained by")),
            _Column(_("Explained at"), MOMENT),
        ],
    )
    for explanation in summary.explanations:
        sheet.write(
            [
                explanation.agency_name,
                ", ".join(explanation.task_codes),
                "; ".join(titles.get(code, code) for code in explanation.task_codes),
                reason_label(explanation.reason),
                explanation.asked_at,
                explanation.asked_by or "",
                format_day(explanation.due_date),
                answer_state(explanation, summary.today),
                explanation.answer or "",
                explanation.answered_by or "",
                explanation.answered_at,
            ]
        )
    sheet.finish()


def _review_cell(label: str, item: SubmissionRow) -> str:
    """Return the review column: the state, and the agency leader's acceptance if any."""
    if item.leader_at is None:
        return label
    return (
        label
        + "; "
        + _("accepted by the agency's leader %(name)s at %(time)s")
        % {"name": item.leader or "", "time": format_moment(item.leader_at)}
    )


async def _submissions(
    book: _Book,
    summary: PlanSummary,
    submissions: AsyncIterator[SubmissionRow],
    progress: Callable[[int], object] | None,
    fast: bool,
) -> int:
    sheet = _Sheet(
        book,
        _("Submissions"),
        [
            _Column(_("Number")),
            _Column(_("Time"), MOMENT),
            _Column(_("Index"), WRAP),
            _Column(_("Task code")),
            _Column(_("Task"), WRAP),
            _Column(_("Agency"), WRAP),
            _Column(_("Officer")),
            _Column(_("Status")),
            _Column(_("Progress (%)"), NUMBER),
            _Column(_("Results"), WRAP),
            _Column(_("Difficulties and obstacles"), WRAP),
            _Column(_("Proposals and recommendations"), WRAP),
            _Column(_("Version"), NUMBER),
            _Column(_("Attachments"), NUMBER),
            _Column(_("Role")),
            _Column(_("Review")),
            _Column(_("Reviewer")),
            _Column(_("Reviewed at"), MOMENT),
            _Column(_("Reason for return"), WRAP),
            _Column(_("Figures from")),
            _Column(_("Figures to")),
        ],
        fast=fast,
    )
    labels = state_labels()
    headings = index_labels(summary)
    roles = {True: _("Leading"), False: _("Supporting")}
    reviews = {state: review_label(state) for state in ReviewState}
    count = 0
    async for item in submissions:
        sheet.write(
            (
                item.number,
                item.created_at,
                headings.get(item.index_code) or item.index_code,
                item.task_code,
                item.task_title,
                item.agency_name,
                item.member_name,
                labels.get(item.status, item.status),
                item.progress,
                item.results,
                item.difficulties,
                item.proposals,
                item.version,
                item.attachments,
                roles[item.lead],
                _review_cell(reviews[item.review], item),
                item.reviewer,
                item.reviewed_at,
                item.review_reason,
                f"{item.period_start:%d/%m/%Y}" if item.period_start else None,
                f"{item.period_end:%d/%m/%Y}" if item.period_end else None,
            )
        )
        count += 1
        if count % PROGRESS_EVERY == 0:
            if progress is not None:
                progress(count)
            await give_way()  # officers reporting meanwhile are answered first
    sheet.finish()
    return count


def _header_width(header: str) -> int:
    """Return the width a header needs, allowing it to wrap onto two lines."""
    words = header.split()
    return max([len(header) // 2 + 1, *(len(w) for w in words)]) if words else 0


def _sheet_name(name: str) -> str:
    """Return a name Excel accepts for a sheet."""
    return name.translate(_SHEET_FORBIDDEN).strip("'")[:SHEET_NAME_LIMIT] or "Sheet"
