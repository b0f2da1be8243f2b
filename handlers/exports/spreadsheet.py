"""The year's workbook: an overview, every task, every agency and every submission.

XlsxWriter writes in constant-memory mode, row by row, into a temporary directory, so memory
stays flat (about 11 MB more for a hundred thousand submissions) however large the year. The
submissions arrive as an async iterator and are never held in a list; nearly all the time goes
into XlsxWriter's own work on each cell.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook

from bot.core.domain.progress import STATES, PlanSummary, SubmissionRow, TaskState
from bot.core.i18n import _, format_day
from bot.core.text import shorten
from handlers.exports.labels import (
    index_labels,
    kind_label,
    local,
    organisational_label,
    state_labels,
)

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
SUBMISSIONS_SHEET = "xl/worksheets/sheet4.xml"
"""The fourth sheet: overview, by index, by agency, then every submission."""
EXCEL_CELL_LIMIT = 32_767
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DIMENSION = re.compile(r'<dimension ref="[^"]*"/>')
SHEET_NAME_LIMIT = 31
_EXCEL_EPOCH = datetime(1899, 12, 30)
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

    def __init__(self, book: _Book, name: str, columns: Sequence[_Column]) -> None:
        self.sheet: Any = book.workbook.add_worksheet(_sheet_name(name))
        self.book = book
        self.kinds = [c.kind for c in columns]
        self.widths = [max(_MINIMUM[c.kind], _header_width(c.header)) for c in columns]
        for col, column in enumerate(columns):
            self.sheet.write_string(0, col, column.header, book.header)
        self.row = 1

    def write(self, values: Sequence[object], *, bold: bool = False) -> None:
        """Write one row of values under the previous one."""
        row, sheet, book = self.row, self.sheet, self.book
        for col, value in enumerate(values):
            kind = self.kinds[col] if col < len(self.kinds) else TEXT
            if value is None or value == "":
                continue
            if isinstance(value, datetime):
                sheet.write_number(row, col, _serial(value), book.moment)
            elif isinstance(value, int | float):
                sheet.write_number(row, col, value, book.bold if bold else book.cell)
                self._see(col, len(str(value)))
            else:
                text = _clean(str(value))
                fmt = book.wrap if kind == WRAP else book.bold if bold else book.cell
                sheet.write_string(row, col, text, fmt)
                self._see(col, len(text))
        self.row += 1

    def skip(self) -> None:
        """Leave an empty row."""
        self.row += 1

    def _see(self, col: int, length: int) -> None:
        if col < len(self.widths) and length > self.widths[col]:
            self.widths[col] = length

    def finish(self, filter_rows: int | None = None) -> None:
        """Freeze the header, filter the data and size the columns."""
        last = (filter_rows if filter_rows is not None else self.row - 1) or 1
        self.sheet.freeze_panes(1, 0)
        self.sheet.autofilter(0, 0, last, len(self.kinds) - 1)
        for col, (kind, width) in enumerate(zip(self.kinds, self.widths, strict=True)):
            self.sheet.set_column(col, col, min(width, _CAPS[kind]) + 2)


class _Book:
    """The workbook and the formats every sheet shares."""

    def __init__(self, path: Path, tmpdir: str) -> None:
        self.workbook: Any = Workbook(
            str(path),
            {"constant_memory": True, "in_memory": False, "tmpdir": tmpdir},
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
        self.tmpdir = tmpdir
        self.rows_file: Path | None = None
        self.rows_count = 0


async def spreadsheet(
    summary: PlanSummary,
    submissions: AsyncIterator[SubmissionRow],
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """Return the year's .xlsx: overview, tasks by index, agencies and every submission."""
    with tempfile.TemporaryDirectory(prefix="pgibot-xlsx-") as tmpdir:
        path = Path(tmpdir) / "report.xlsx"
        book = _Book(path, tmpdir)
        try:
            book.workbook.set_properties(
                {
                    "title": summary.plan_title,
                    "subject": _("Year %(year)s") % {"year": summary.year},
                }
            )
            _overview(book, summary)
            _tasks(book, summary)
            _agencies(book, summary)
            count = await _submissions(book, summary, submissions, progress)
        finally:
            book.workbook.close()
        if book.rows_file is not None:
            _splice(path, book.rows_file, count + 1, SUBMISSIONS_SHEET)
        data = path.read_bytes()
    logger.info("spreadsheet for %s: %s submissions, %s bytes", summary.year, count, len(data))
    return data


def _overview(book: _Book, summary: PlanSummary) -> None:
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
        sheet.write([label, score, target, len(tasks), *counts])
    filtered = sheet.row - 1
    everything = summary.all_tasks
    sheet.write(
        [_("Total"), None, None, len(everything)]
        + [sum(1 for t in everything if t.state == state) for state in STATES],
        bold=True,
    )
    sheet.skip()
    milestone = summary.milestone
    info: list[tuple[str, object]] = [
        (_("Plan"), summary.plan_title),
        (_("Year"), summary.year),
        (_("Generated on"), format_day(summary.today)),
        (_("Coordinating agency"), summary.coordinator or ""),
        (_("Current milestone"), milestone.title if milestone else _("none")),
        (_("Due date"), format_day(milestone.due_date) if milestone else ""),
        (
            _("Agencies that reported on every task they lead"),
            _("%(reported)s of %(total)s")
            % {
                "reported": len(summary.reported_agencies),
                "total": len(summary.leading_agencies),
            },
        ),
        (_("Reports received (every version)"), summary.submission_count),
    ]
    for label, value in info:
        sheet.write([label, value])
    sheet.finish(filtered)


def _tasks(book: _Book, summary: PlanSummary) -> None:
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
            ]
        )
    sheet.finish()


def _agencies(book: _Book, summary: PlanSummary) -> None:
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
        ],
    )
    for agency in summary.agencies:
        lead, reported = len(agency.lead_tasks), len(agency.reported_tasks)
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
            ]
        )
    sheet.finish()


async def _submissions(
    book: _Book,
    summary: PlanSummary,
    submissions: AsyncIterator[SubmissionRow],
    progress: Callable[[int], None] | None,
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
        ],
    )
    # The hot loop. XlsxWriter costs about 90 us a row here (10 s for 100,000 rows), so the
    # rows of this sheet are written as worksheet XML directly into a file, with the cell
    # formats XlsxWriter assigned, and spliced into the sheet after the workbook is closed.
    labels = state_labels()
    headings = index_labels(summary)
    roles = {True: _xml(_("Leading")), False: _xml(_("Supporting"))}
    cell, wrap, moment = (f._get_xf_index() for f in (book.cell, book.wrap, book.moment))
    widths = sheet.widths
    texts_of = (
        (0, "A", cell),
        (2, "C", wrap),
        (3, "D", cell),
        (4, "E", wrap),
        (5, "F", wrap),
        (6, "G", cell),
        (7, "H", cell),
        (9, "J", wrap),
        (10, "K", wrap),
        (11, "L", wrap),
    )
    row = 1
    book.rows_file = Path(book.tmpdir) / "submissions.rows.xml"
    with book.rows_file.open("w", encoding="utf-8") as out:
        async for item in submissions:
            row += 1
            index = headings.get(item.index_code) or item.index_code or ""
            values = (
                item.number,
                index,
                item.task_code,
                item.task_title,
                item.agency_name,
                item.member_name,
                labels.get(item.status, item.status),
                item.results,
                item.difficulties or "",
                item.proposals or "",
            )
            parts = [f'<row r="{row}">']
            for (col, letter, style), text in zip(texts_of, values, strict=True):
                if col == 2:
                    parts.append(
                        f'<c r="B{row}" s="{moment}"><v>{_serial(item.created_at)!r}</v></c>'
                    )
                if col == 9:
                    parts.append(f'<c r="I{row}" s="{cell}"><v>{item.progress}</v></c>')
                if text:
                    if len(text) > widths[col]:
                        widths[col] = len(text)
                    parts.append(
                        f'<c r="{letter}{row}" s="{style}" t="inlineStr"><is>'
                        f'<t xml:space="preserve">{_xml(text)}</t></is></c>'
                    )
            parts.append(
                f'<c r="M{row}" s="{cell}"><v>{item.version}</v></c>'
                f'<c r="N{row}" s="{cell}"><v>{item.attachments}</v></c>'
                f'<c r="O{row}" s="{cell}" t="inlineStr"><is><t>{roles[item.lead]}</t></is></c>'
                "</row>"
            )
            out.write("".join(parts))
            if (row - 1) % PROGRESS_EVERY == 0:
                if progress is not None:
                    progress(row - 1)
                await asyncio.sleep(0)  # let the bot answer others during a long export
    book.rows_count = row - 1
    sheet.row = row
    sheet.finish()
    return row - 1


def _xml(text: str) -> str:
    """Escape a text for worksheet XML, dropping characters XML cannot hold."""
    if len(text) > EXCEL_CELL_LIMIT:
        text = shorten(text, EXCEL_CELL_LIMIT)
    text = _INVALID_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _splice(path: Path, rows_file: Path, last_row: int, sheet: str) -> None:
    """Put the rows written apart into their sheet, inside the closed workbook."""
    source = path.with_name("workbook-without-rows.xlsx")
    path.rename(source)
    with (
        zipfile.ZipFile(source) as old,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as new,
    ):
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename != sheet:
                new.writestr(info, data)
                continue
            head, tail = data.decode("utf-8").split("</sheetData>", 1)
            head = _DIMENSION.sub(f'<dimension ref="A1:O{last_row}"/>', head, count=1)
            with new.open(info.filename, "w", force_zip64=True) as target:
                target.write(head.encode("utf-8"))
                with rows_file.open("rb") as rows:
                    shutil.copyfileobj(rows, target, 1 << 20)
                target.write(("</sheetData>" + tail).encode("utf-8"))
    source.unlink()


def _serial(moment: datetime) -> float:
    """Return a moment as an Excel date serial in local time."""
    return (local(moment) - _EXCEL_EPOCH).total_seconds() / 86_400


def _clean(text: str) -> str:
    """Keep a text from being taken for rich-text XML (XlsxWriter trims what is too long)."""
    if text.startswith("<r>") and text.endswith("</r>"):
        text = " " + text  # XlsxWriter would write it unescaped as rich text
    return text


def _header_width(header: str) -> int:
    """Return the width a header needs, allowing it to wrap onto two lines."""
    words = header.split()
    return max([len(header) // 2 + 1, *(len(w) for w in words)]) if words else 0


def _sheet_name(name: str) -> str:
    """Return a name Excel accepts for a sheet."""
    return name.translate(_SHEET_FORBIDDEN).strip("'")[:SHEET_NAME_LIMIT] or "Sheet"
