"""The exports: workbook, draft report, chart and plain text, read back with their own readers."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
from xlsxwriter import Workbook

from bot.core.domain.plan import MilestoneInfo
from bot.core.domain.progress import (
    STATES,
    AgencyState,
    IndexState,
    LatestReport,
    PlanSummary,
    SubmissionRow,
    TaskState,
)
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import _
from bot.core.text import shorten, sort_key
from handlers.exports import STATE_LABELS, state_label, text_report
from handlers.exports.chart import chart, chart_order
from handlers.exports.document import balanced_lines, lead_groups, report_document
from handlers.exports.labels import in_sentence
from handlers.exports.spreadsheet import spreadsheet
from handlers.exports.xlsx_rows import PlainRows, Rows, Value, XmlRows
from handlers.report.questions import status_label

STNMT = "Sở Tài nguyên và Môi trường"
SXD = "Sở Xây dựng"
SNN = "Sở Nông nghiệp và Phát triển nông thôn"
SCT = "Sở Công Thương"
UBND_TP = "Ủy ban nhân dân thành phố Lạng Sơn"
AGENCIES = {STNMT: "stnmt", SXD: "sxd", SNN: "snnptnt", SCT: "sct", UBND_TP: "ubnd-tp"}
MEMBERS = {
    STNMT: "Nguyễn Văn An",
    SXD: "Hoàng Thị Bích",
    SNN: "Lộc Văn Cường",
    UBND_TP: "Vi Thị Dung",
}
DUE = date(2024, 12, 10)

DONE_RESULTS = "Đã ban hành Kế hoạch kiểm soát ô nhiễm môi trường do chất thải năm 2024."
PROGRESS_RESULTS = "Đã rà soát 7/11 huyện, thành phố; dự kiến hoàn thành trong quý I/2025."
BLOCKED_RESULTS = "Đã khảo sát hiện trạng 12 công trình cấp nước sạch đô thị."
BLOCKED_DIFFICULTIES = "Thiếu kinh phí sửa chữa các công trình cấp nước bị hư hỏng do bão số 3."
BLOCKED_PROPOSALS = "Đề nghị UBND tỉnh bổ sung 2,5 tỷ đồng từ nguồn dự phòng ngân sách tỉnh."
NOT_STARTED_RESULTS = "Chưa triển khai do đang chờ hướng dẫn của Bộ Nông nghiệp và PTNT."
ORG_RESULTS = "Đã tổ chức hội nghị quán triệt Kế hoạch tới các phường, xã."
ORG_PROPOSALS = "Đề nghị Sở Tài nguyên và Môi trường tổ chức tập huấn về chỉ số PGI."


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 12, day, hour, minute, tzinfo=UTC)


def _report(
    agency: str,
    status: str,
    progress: int,
    results: str,
    at: datetime,
    difficulties: str | None = None,
    proposals: str | None = None,
) -> LatestReport:
    return LatestReport(
        list(AGENCIES).index(agency) + 1,
        agency,
        status,
        progress,
        results,
        difficulties,
        proposals,
        at,
    )


def _task(
    number: int,
    code: str,
    title: str,
    index: str | None,
    leads: list[str],
    state: str,
    reports: list[LatestReport],
) -> TaskState:
    progress = round(sum(r.progress for r in reports) / len(leads))
    return TaskState(number, code, title, index, leads, state, progress, reports)


def _agencies(tasks: Iterable[TaskState]) -> list[AgencyState]:
    tasks = list(tasks)
    result = []
    for name, code in sorted(AGENCIES.items()):
        lead = [t for t in tasks if name in t.lead_agencies]
        reports = [r for t in lead for r in t.reports if r.agency_name == name]
        result.append(
            AgencyState(
                id=list(AGENCIES).index(name) + 1,  # the id its reports carry
                code=code,
                name=name,
                kind="district" if code.startswith("ubnd") else "department",
                lead_tasks=[t.code for t in lead],
                reported_tasks=[
                    t.code for t in lead if any(r.agency_name == name for r in t.reports)
                ],
                members=[MEMBERS[name]] if name in MEMBERS else [],
                last_report_at=max((r.created_at for r in reports), default=None),
            )
        )
    return result


def _submission_rows() -> list[SubmissionRow]:
    def row(
        number: int,
        at: datetime,
        code: str,
        title: str,
        index: str | None,
        agency: str,
        status: str,
        progress: int,
        results: str,
        version: int = 1,
        difficulties: str | None = None,
        proposals: str | None = None,
        files: int = 0,
    ) -> SubmissionRow:
        return SubmissionRow(
            f"2024/{number:05d}", at, code, title, index, agency, MEMBERS[agency], status,
            progress, results, difficulties, proposals, version, files,
        )  # fmt: skip

    return [
        row(1, _at(2, 2), "1.a.1", "Kiểm soát ô nhiễm", "1", STNMT, "in_progress", 50,
            "Đang xây dựng dự thảo Kế hoạch."),
        row(2, _at(5, 3, 15), "1.a.1", "Kiểm soát ô nhiễm", "1", STNMT, "done", 100,
            DONE_RESULTS, version=2, files=2),
        row(3, _at(6, 8), "1.a.2", "Rà soát quy hoạch", "1", STNMT, "in_progress", 60,
            PROGRESS_RESULTS, files=1),
        row(4, _at(7, 1, 30), "1.b.1", "Cấp nước sạch đô thị", "1", SXD, "blocked", 40,
            BLOCKED_RESULTS, difficulties=BLOCKED_DIFFICULTIES, proposals=BLOCKED_PROPOSALS),
        row(5, _at(8, 2), "2.a.1", "Nông nghiệp hữu cơ", "2", SNN, "not_started", 0,
            NOT_STARTED_RESULTS),
        row(6, _at(9, 1, 30), "III.1.3", "Quán triệt Kế hoạch", None, UBND_TP, "in_progress",
            70, ORG_RESULTS, proposals=ORG_PROPOSALS),
    ]  # fmt: skip


@pytest.fixture
def summary() -> PlanSummary:
    index_1 = [
        _task(1, "1.a.1", "Kiểm soát ô nhiễm do chất thải, ứng phó biến đổi khí hậu", "1",
              [STNMT], "done", [_report(STNMT, "done", 100, DONE_RESULTS, _at(5, 3, 15))]),
        _task(2, "1.a.2", "Rà soát quy hoạch sử dụng đất đồng nhất với quy hoạch xây dựng", "1",
              [STNMT, SXD], "in_progress",
              [_report(STNMT, "in_progress", 60, PROGRESS_RESULTS, _at(6, 8))]),
        _task(3, "1.b.1", "Quản lý cấp nước sạch đô thị, khắc phục công trình hư hỏng", "1",
              [SXD], "blocked",
              [_report(SXD, "blocked", 40, BLOCKED_RESULTS, _at(7, 1, 30),
                       BLOCKED_DIFFICULTIES, BLOCKED_PROPOSALS)]),
    ]  # fmt: skip
    index_2 = [
        _task(4, "2.a.1", "Phát triển nông nghiệp hữu cơ, nông nghiệp tuần hoàn", "2", [SNN],
              "not_started", [_report(SNN, "not_started", 0, NOT_STARTED_RESULTS, _at(8, 2))]),
        _task(5, "2.a.2", "Thúc đẩy sản xuất sạch hơn trong công nghiệp", "2", [SCT],
              "unreported", []),
    ]  # fmt: skip
    organisational = [
        _task(6, "III.1.3", "Quán triệt, triển khai Kế hoạch tới cơ sở", None, [UBND_TP],
              "in_progress",
              [_report(UBND_TP, "in_progress", 70, ORG_RESULTS, _at(9, 1, 30),
                       proposals=ORG_PROPOSALS)]),
    ]  # fmt: skip
    milestone = MilestoneInfo(
        2, "results-report", "final_report",
        "Báo cáo kết quả thực hiện nhiệm vụ cải thiện chỉ số PGI", 2024, DUE, "assigned",
    )  # fmt: skip
    return PlanSummary(
        plan_title=(
            "Kế hoạch cải thiện, nâng cao chỉ số xanh cấp tỉnh (PGI) năm 2024 và những năm tiếp "
            "theo trên địa bàn tỉnh Lạng Sơn"
        ),
        province="Lạng Sơn",
        issuer="Ủy ban nhân dân tỉnh Lạng Sơn",
        signer="Lương Trọng Quỳnh, Phó Chủ tịch UBND tỉnh",
        coordinator=STNMT,
        year=2024,
        today=date(2024, 12, 9),
        milestone=milestone,
        indices=[
            IndexState("1", "Giảm thiểu ô nhiễm và thiên tai", 2023, 4.84, 6.58, index_1),
            IndexState("2", "Chính sách khuyến khích và dịch vụ hỗ trợ", 2023, 2.1, 3.0, index_2),
        ],
        organisational=organisational,
        agencies=_agencies(index_1 + index_2 + organisational),
        submission_count=len(_submission_rows()),
        milestones=[milestone],
    )


async def _stream(rows: Iterable[SubmissionRow]) -> AsyncIterator[SubmissionRow]:
    for row in rows:
        yield row


def _texts(rows: Iterable[tuple[object, ...]]) -> set[str]:
    return {str(value) for row in rows for value in row if value is not None}


# --- shortening and Vietnamese order --------------------------------------------------------


def test_shorten_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    name = "Ủy ban nhân dân thành phố Lạng Sơn"
    assert shorten(name, 40) == name
    assert shorten(name, 20) == "Ủy ban nhân dân…"
    assert shorten("Sở Tài nguyên và Môi trường", 16) == "Sở Tài nguyên…"  # not "và"
    assert shorten("Văn phòng UBND tỉnh, Sở Xây dựng", 21) == "Văn phòng UBND tỉnh…"
    assert shorten("Quốchộiđồngnhất", 6) == "Quốch…"  # one long word: cut inside it
    for limit in range(1, len(name) + 2):
        assert len(shorten(name, limit)) <= limit


def test_sort_key_is_vietnamese_alphabetical_order() -> None:
    names = [
        "Văn phòng UBND tỉnh",
        "Đài Khí tượng Thủy văn tỉnh",
        "Sở Xây dựng",
        "Ăn uống",
        "Anh",
        "Âm nhạc",
        "Dân tộc",
        "Ủy ban nhân dân huyện Bắc Sơn",
        "Ưu tiên",
        "Bắc Sơn",
        "Ban Dân tộc",
    ]
    assert sorted(names, key=sort_key) == [
        "Anh",
        "Ăn uống",
        "Âm nhạc",
        "Ban Dân tộc",
        "Bắc Sơn",
        "Dân tộc",
        "Đài Khí tượng Thủy văn tỉnh",
        "Sở Xây dựng",
        "Ủy ban nhân dân huyện Bắc Sơn",
        "Ưu tiên",
        "Văn phòng UBND tỉnh",
    ]
    tones = ["ma", "mạ", "má", "mã", "mả", "mà"]
    assert sorted(tones, key=sort_key) == ["ma", "mà", "mả", "mã", "má", "mạ"]


def test_chart_lists_agencies_in_vietnamese_order(summary: PlanSummary) -> None:
    names = ["Văn phòng UBND tỉnh", "Đài Khí tượng Thủy văn tỉnh", "Công an tỉnh"]
    extra = [
        AgencyState(200 + n, f"x{n}", name, "department", ["III.1.3"], [], [], None)
        for n, name in enumerate(names)
    ]
    crowded = replace(summary, agencies=summary.agencies + extra)
    order = chart_order(crowded)
    unreported = [label for label in order if label in names]
    assert unreported == ["Công an tỉnh", "Đài Khí tượng Thủy văn tỉnh", "Văn phòng UBND tỉnh"]
    assert all(not label.endswith(" ") and len(label) <= 28 for label in order)
    assert "UBND thành phố Lạng Sơn" in order  # abbreviated rather than cut


# --- labels ---------------------------------------------------------------------------------


def test_every_state_has_a_label() -> None:
    assert list(STATE_LABELS) == list(STATES)
    for status in ReportStatus:
        assert state_label(status.value) == status_label(status)
    assert state_label("unreported") == _("Not reported")


# --- spreadsheet ----------------------------------------------------------------------------


async def test_spreadsheet_has_six_filtered_sheets_with_every_fact(summary: PlanSummary) -> None:
    rows = _submission_rows()
    data = await spreadsheet(summary, _stream(rows))

    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == [
        _("Overview"), _("By index"), _("By agency"), _("Submissions"), _("PGI risk"),
        _("By deadline"),
    ]  # fmt: skip
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref
        assert all(cell.font.b for cell in sheet[1] if cell.value is not None)
        assert sheet.column_dimensions["A"].width > 5

    overview, tasks, agencies, submissions, _risk, _deadlines = book.worksheets
    overview_values = list(overview.iter_rows(values_only=True))
    assert overview_values[1][:4] == ("Chỉ số 1. Giảm thiểu ô nhiễm và thiên tai", 4.84, 6.58, 3)
    assert overview_values[1][4:9] == (1, 1, 0, 1, 0)  # done, in progress, not started, ...
    overview_texts = _texts(overview_values)
    assert summary.plan_title in overview_texts
    assert "3 of 5" in overview_texts or "3/5" in overview_texts  # SXD and SCT still owe

    task_rows = list(tasks.iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in task_rows] == [t.code for t in summary.all_tasks]
    blocked = next(row for row in task_rows if row[1] == "1.b.1")
    assert blocked[3:] == (
        SXD, state_label("blocked"), 40, 1, 1, None, 0,
        "Đang thực hiện — chưa đến hạn; gặp khó khăn", "Vàng",
    )  # fmt: skip
    assert tasks.auto_filter.ref == f"A1:L{len(task_rows) + 1}"

    agency_rows = {row[0]: row for row in agencies.iter_rows(min_row=2, values_only=True)}
    assert set(agency_rows) == set(AGENCIES)
    assert agency_rows[SXD][2:6] == (2, 1, 50, "1.a.2")
    assert agency_rows[SCT][7] is None
    assert isinstance(agency_rows[STNMT][7], datetime)

    lines = list(submissions.iter_rows(min_row=2, values_only=True))
    assert len(lines) == len(rows)
    assert [line[0] for line in lines] == [row.number for row in rows]
    first = lines[3]
    assert isinstance(first[1], datetime)
    assert abs(first[1] - datetime(2024, 12, 7, 8, 30)) < timedelta(seconds=1)  # 01:30 UTC
    assert submissions["B5"].number_format == "dd/mm/yyyy hh:mm"
    assert first[3:] == (
        "1.b.1", "Cấp nước sạch đô thị", SXD, MEMBERS[SXD], state_label("blocked"), 40,
        BLOCKED_RESULTS, BLOCKED_DIFFICULTIES, BLOCKED_PROPOSALS, 1, 0, _("Leading"),
        _("Waiting for review"), None, None, None, None, None,
    )  # fmt: skip
    assert lines[5][2] == _("Organisation of implementation (section III)")
    assert lines[1][12:15] == (2, 2, _("Leading"))
    texts = _texts(lines)
    assert {row.task_code for row in rows} <= texts
    assert {row.agency_name for row in rows} <= texts
    assert {row.results for row in rows} | {ORG_PROPOSALS} <= texts
    results_column = submissions.column_dimensions["J"]
    assert 20 < results_column.width < 64
    assert submissions["J2"].alignment.wrap_text


async def test_spreadsheet_keeps_awkward_text_as_text(summary: PlanSummary) -> None:
    awkward = "<r>Báo cáo</r>"
    row = _submission_rows()[0]
    rows = [
        SubmissionRow(
            row.number, row.created_at, row.task_code, row.task_title, row.index_code,
            row.agency_name, row.member_name, row.status, row.progress, awkward,
            "=SUM(A1:A2) & <b>\x01", None, 1, 0,
        )
    ]  # fmt: skip
    data = await spreadsheet(summary, _stream(rows))

    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[3]
    assert sheet["J2"].value.strip() == awkward
    assert sheet["K2"].value.startswith("=SUM(A1:A2) & <b>")
    assert sheet["K2"].data_type == "s"


async def test_spreadsheet_streams_twenty_thousand_submissions(summary: PlanSummary) -> None:
    count = 20_000
    start = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)
    statuses = [status.value for status in ReportStatus]

    async def generated() -> AsyncIterator[SubmissionRow]:
        for n in range(count):
            yield SubmissionRow(
                f"2024/{n + 1:05d}", start + timedelta(minutes=7 * n), f"1.a.{n % 9}",
                "Kiểm soát ô nhiễm do chất thải", "1", STNMT, MEMBERS[STNMT],
                statuses[n % 4], n % 101, f"Kết quả thực hiện lần {n}", None, None, 1 + n % 3,
                n % 2,
            )  # fmt: skip

    calls: list[int] = []
    report: Callable[[int], None] = calls.append
    data = await spreadsheet(summary, generated(), report)

    assert calls == list(range(1000, count + 1, 1000))
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[3]
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    book.close()
    assert len(numbers) == count
    assert numbers[0] == "2024/00001"
    assert numbers[-1] == f"2024/{count:05d}"


AWKWARD = [
    "<r>Báo cáo</r>",
    "=SUM(A1:A2) & <b>\x01\x0b\r",
    "tab\tand\nnewline",
    "  leading and trailing  ",
    "_x0041_ is not A",
    "\ufffe\uffff",
    "Trạm quan trắc 😀 " * 2_500,  # 42,500 UTF-16 units in 40,000 characters: too long
    "Đ" * 40_000,  # one word, too long
    "",
]


def _awkward_rows() -> list[SubmissionRow]:
    first = _submission_rows()[0]
    return [
        replace(
            first,
            number=f"2024/{90 + n:05d}",
            created_at=first.created_at + timedelta(minutes=n, microseconds=123_457),
            results=text,
            difficulties=AWKWARD[-1 - n] or None,
            proposals=text[:50],
            lead=n % 2 == 0,
            member_name=AWKWARD[n - 1],
        )
        for n, text in enumerate(AWKWARD)
    ]


async def test_the_fast_rows_make_the_workbook_xlsxwriter_makes(summary: PlanSummary) -> None:
    rows = _submission_rows() + _awkward_rows()
    fast = await spreadsheet(summary, _stream(rows))
    plain = await spreadsheet(summary, _stream(rows), fast=False)

    sheet = "xl/worksheets/sheet4.xml"  # the submissions: written by XmlRows, or by XlsxWriter
    archives = [zipfile.ZipFile(io.BytesIO(data)) for data in (fast, plain)]
    # The same XML, byte for byte.
    assert archives[0].read(sheet) == archives[1].read(sheet)
    sizes = [archive.getinfo(sheet).compress_size for archive in archives]
    assert sizes[0] > sizes[1]  # the fast path spliced its rows in, at the fastest compression
    ours, theirs = (openpyxl.load_workbook(io.BytesIO(data)) for data in (fast, plain))
    assert ours.sheetnames == theirs.sheetnames
    for mine, reference in zip(ours.worksheets, theirs.worksheets, strict=True):
        assert mine.dimensions == reference.dimensions
        assert mine.freeze_panes == reference.freeze_panes
        assert mine.auto_filter.ref == reference.auto_filter.ref
        widths = {key: d.width for key, d in mine.column_dimensions.items()}
        assert widths == {key: d.width for key, d in reference.column_dimensions.items()}
        for row, expected in zip(mine.iter_rows(), reference.iter_rows(), strict=True):
            for cell, same in zip(row, expected, strict=True):
                assert (
                    cell.coordinate,
                    cell.value,
                    cell.data_type,
                    cell.number_format,
                    cell.font.b,
                    cell.font.name,
                    cell.alignment.wrap_text,
                    cell.alignment.vertical,
                ) == (
                    same.coordinate,
                    same.value,
                    same.data_type,
                    same.number_format,
                    same.font.b,
                    same.font.name,
                    same.alignment.wrap_text,
                    same.alignment.vertical,
                )
    lines = list(ours.worksheets[3].iter_rows(min_row=2, values_only=True))
    assert len(lines) == len(rows)
    results = {line[0]: line[9] for line in lines}
    assert results["2024/00090"] == " <r>Báo cáo</r>"  # not taken for rich text
    assert results["2024/00093"] == "  leading and trailing  "
    too_long = results["2024/00096"]
    assert too_long.endswith("…") and len(too_long.encode("utf-16-le")) // 2 <= 32_767
    assert results["2024/00097"].endswith("…") and len(results["2024/00097"]) <= 32_767
    assert results["2024/00098"] is None


def test_both_row_writers_make_the_same_cells(tmp_path: Path) -> None:
    moment = datetime(2024, 12, 7, 1, 30, 15, 123_457, tzinfo=UTC)
    rows: list[list[Value]] = [
        ["Số", 0, 7, -3, 2**53 - 1, 2**53 + 1, 10**20, 0.1 + 0.2, 4.84, True, moment],
        [None, "", -1e-7, 1e300, 2.5, 100, "x & y < z", " ", "_x0041_", "\x07", None],
        ["<r>a</r>", "Đ" * 20_000, 12_345.678_9, -(2**60), 3, None, "", None, 1, 2, moment],
    ]
    book: Any = Workbook(
        str(tmp_path / "rows.xlsx"),
        {"constant_memory": True, "in_memory": False, "tmpdir": str(tmp_path)},
    )
    formats = [book.add_format({"text_wrap": col % 2 == 0}) for col in range(10)]
    formats.append(book.add_format({"num_format": "dd/mm/yyyy hh:mm"}))
    writers: list[Rows] = []
    for name in ("plain", "xml"):
        sheet = book.add_worksheet(name)
        for col in range(len(formats)):
            sheet.write_string(0, col, f"cột {col}")
        widths = [6] * len(formats)
        writer: Rows = (
            PlainRows(sheet, widths) if name == "plain" else XmlRows(book, sheet, widths, tmp_path)
        )
        for number, values in enumerate(rows, start=1):
            writer.write(number, values, formats)
        writers.append(writer)
    book.close()
    for writer in writers:
        writer.close(tmp_path / "rows.xlsx")

    assert writers[0].widths == writers[1].widths
    assert writers[1].widths[1] == 20_000 and writers[1].widths[6] == len(str(10**20))
    workbook = openpyxl.load_workbook(tmp_path / "rows.xlsx")
    plain, xml = workbook["plain"], workbook["xml"]
    assert plain.dimensions == xml.dimensions == "A1:K4"
    for row, same in zip(plain.iter_rows(), xml.iter_rows(), strict=True):
        for cell, twin in zip(row, same, strict=True):
            assert (cell.value, cell.data_type, cell.number_format, cell.alignment.wrap_text) == (
                twin.value,
                twin.data_type,
                twin.number_format,
                twin.alignment.wrap_text,
            ), cell.coordinate
    assert xml["E2"].value == 2**53 - 1 and xml["G2"].value == 1e20
    assert xml["K2"].value == datetime(2024, 12, 7, 8, 30, 15, 123_000)  # local time
    assert xml["A4"].value == " <r>a</r>"


async def test_a_failed_spreadsheet_leaves_nothing_open(summary: PlanSummary) -> None:
    async def failing() -> AsyncIterator[SubmissionRow]:
        for row in _submission_rows()[:2]:
            yield row
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError):
        await spreadsheet(summary, failing())


def test_the_heavy_libraries_load_at_the_first_export() -> None:
    loaded = (
        "import sys, bot.cli, bot.runtime, handlers.exports.registry;"
        "print(sorted({'xlsxwriter', 'docx', 'matplotlib'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", loaded], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- document -------------------------------------------------------------------------------


def _paragraphs(document: object) -> list[str]:
    texts = [p.text for p in document.paragraphs]  # type: ignore[attr-defined]
    for table in document.tables:  # type: ignore[attr-defined]
        for row in table.rows:
            for cell in row.cells:
                texts += [p.text for p in cell.paragraphs]
    return texts


def test_report_document_follows_the_decree_layout(summary: PlanSummary) -> None:
    document = docx.Document(io.BytesIO(report_document(summary)))

    section: Any = document.sections[0]
    assert round(section.page_width.mm) == 210
    assert round(section.page_height.mm) == 297
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin)] == [20, 20]
    assert [round(m.mm) for m in (section.left_margin, section.right_margin)] == [30, 15]
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert 13 <= normal.font.size.pt <= 14

    heading = document.tables[0]
    left, right = (cell.text for cell in heading.rows[0].cells)
    assert "LẠNG SƠN" in left
    assert STNMT.upper() in left
    assert _("SOCIALIST REPUBLIC OF VIETNAM") in right
    motto = next(p for p in heading.rows[0].cells[1].paragraphs if p.text)
    assert all(run.bold for run in motto.runs)
    assert "/BC-STNMT" in heading.rows[1].cells[0].text
    place = heading.rows[1].cells[1].paragraphs[0]
    assert "Lạng Sơn" in place.text
    assert "2024" in place.text
    assert all(run.italic for run in place.runs)

    paragraphs = [p.text for p in document.paragraphs]
    title = paragraphs.index(_("REPORT"))
    assert document.paragraphs[title].runs[0].bold
    assert "2024" in paragraphs[title + 1]
    text = "\n".join(_paragraphs(document))
    for index in summary.indices:
        assert index.name in text
    for results in (DONE_RESULTS, PROGRESS_RESULTS, BLOCKED_RESULTS, NOT_STARTED_RESULTS):
        assert results in text
    for note in (BLOCKED_DIFFICULTIES, BLOCKED_PROPOSALS, ORG_RESULTS, ORG_PROPOSALS):
        assert note in text
    assert "2.a.2" in text  # listed as not reported
    assert SXD in text  # 1.a.2 still waits for it
    difficulties = paragraphs.index(_("II. DIFFICULTIES AND OBSTACLES"))
    proposals = paragraphs.index(_("III. PROPOSALS AND RECOMMENDATIONS"))
    assert BLOCKED_DIFFICULTIES in "\n".join(paragraphs[difficulties:proposals])
    assert ORG_PROPOSALS in "\n".join(paragraphs[proposals:])
    assert _("Recipients:") in text
    # a status inside a sentence is not capitalised
    progress = state_label("in_progress")
    assert f"({in_sentence(progress)}, 60%; {_('under review')})" in text  # not reviewed yet
    assert f"({progress}, 60%)" not in text
    counts = next(p for p in paragraphs if p.startswith("Tổng số 3 nhiệm vụ"))
    assert state_label("done") not in counts and in_sentence(state_label("done")) in counts

    # the signature block is kept with the last paragraph of the body, room left to sign
    every = document.paragraphs
    block = every[next(n for n, p in enumerate(every) if p.text.endswith("./.")) :]
    signature = block[
        : next(n for n, p in enumerate(block) if "(Ký, ghi rõ họ tên)" in p.text) + 1
    ]
    assert all(p.paragraph_format.keep_with_next for p in signature[:-1])
    assert sum(1 for p in signature if not p.text.strip()) >= 3
    # the appendix is a landscape section
    body_section, annex = document.sections
    assert annex.page_width > annex.page_height and body_section.page_width < annex.page_width

    appendix = document.tables[-1]
    assert len(appendix.rows) == len(summary.all_tasks) + 1
    assert all(run.bold for cell in appendix.rows[0].cells for run in cell.paragraphs[0].runs)
    header: Any = appendix.rows[0]._tr.trPr
    assert header.xpath("./w:tblHeader")
    assert [row.cells[1].text for row in appendix.rows[1:]] == [t.code for t in summary.all_tasks]
    assert appendix.rows[3].cells[6].text == "1/1"


def test_groups_of_lead_agencies_are_summed_up(summary: PlanSummary) -> None:
    districts = [
        AgencyState(300 + n, f"h{n}", f"UBND huyện số {n}", "district", ["III.1.3"], [], [], None)
        for n in range(11)
    ]
    grouped = replace(summary, agencies=summary.agencies + districts)
    names = [STNMT, *(a.name for a in districts), SXD]
    assert lead_groups(grouped, names) == [STNMT, "UBND các huyện, thành phố (11)", SXD]
    assert lead_groups(grouped, names[:3]) == names[:3]  # two districts are named
    assert balanced_lines("SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG") == ["SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG"]
    assert balanced_lines("SỞ NÔNG NGHIỆP VÀ PHÁT TRIỂN NÔNG THÔN") == [
        "SỞ NÔNG NGHIỆP VÀ",
        "PHÁT TRIỂN NÔNG THÔN",
    ]


# --- chart ----------------------------------------------------------------------------------


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_is_a_portrait_png_for_phones(summary: PlanSummary) -> None:
    width, height = _png_size(chart(summary))
    assert width >= 1000
    assert height > width


def test_chart_shows_at_most_forty_agencies(summary: PlanSummary) -> None:
    many = [
        AgencyState(100 + n, f"xa{n}", f"Ủy ban nhân dân xã số {n} huyện Cao Lộc tỉnh Lạng Sơn",
                    "district", ["III.1.3"], [] if n % 3 else ["III.1.3"], [], None)
        for n in range(60)
    ]  # fmt: skip
    crowded = PlanSummary(
        summary.plan_title, summary.province, summary.issuer, summary.signer,
        summary.coordinator, summary.year, summary.today, summary.milestone, summary.indices,
        summary.organisational, summary.agencies + many, summary.submission_count,
    )  # fmt: skip
    width, height = _png_size(chart(crowded))
    assert (width, height) == (1080, 1920)


# --- text -----------------------------------------------------------------------------------


def test_text_report_is_complete(summary: PlanSummary) -> None:
    text = text_report(summary)
    for task in summary.all_tasks:
        assert task.code in text
        assert task.title in text
    for index in summary.indices:
        assert index.name in text
    assert SCT in text  # has not reported
    assert BLOCKED_DIFFICULTIES in text
    assert BLOCKED_PROPOSALS in text
    assert "10/12/2024" in text


def test_text_report_of_a_closed_year_names_its_deadline_without_counting_days(
    summary: PlanSummary,
) -> None:
    current = text_report(summary)
    assert "Hạn báo cáo hiện tại" in current and "còn 1 ngày" in current
    closed = text_report(replace(summary, today=date(2026, 12, 7)))
    assert "Hạn báo cáo hiện tại" not in closed
    assert not re.search(r"quá hạn \d+ ngày", closed)  # no count of days late
    assert "🔴 1.a.2" in closed and "🟢 1.a.1" in closed  # the states of that year
    assert "10/12/2024" in closed
