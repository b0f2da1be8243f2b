"""The four states, their colours and the PGI risk view in every file, read back."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime

import docx
import openpyxl
import pytest
from matplotlib.image import imread

from bot.core.domain.extensions import Extension, ExtensionState
from bot.core.domain.progress import PlanSummary
from bot.core.domain.results import TOTAL, PgiResult
from bot.core.i18n import _
from handlers.exports import text_report
from handlers.exports.chart import chart
from handlers.exports.document import report_document
from handlers.exports.spreadsheet import spreadsheet
from handlers.exports.standing import FILLS, STANDING_COLOURS, standing_of
from tests.test_exports import SCT, SNN, STNMT, SXD, UBND_TP, _stream, _submission_rows
from tests.test_exports import summary as summary

AFTER = date(2024, 12, 11)
"""The day after the results report's deadline (10/12/2024)."""
AT = datetime(2025, 8, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def late(summary: PlanSummary) -> PlanSummary:
    """The fixture's year the day after its deadline, with a published score for index 1."""
    published = [
        PgiResult(2023, TOTAL, 17.33, 62, 63, AT, "@plan"),
        PgiResult(2024, "1", 5.9, None, None, AT, "Nguyễn Văn An"),
    ]
    return replace(summary, today=AFTER, results=published)


def _fill(cell: object) -> str:
    colour = cell.fill.fgColor.rgb  # type: ignore[attr-defined]
    return f"#{colour[-6:]}".upper()


async def test_the_workbook_has_the_states_the_colours_and_the_risk(late: PlanSummary) -> None:
    book = openpyxl.load_workbook(io.BytesIO(await spreadsheet(late, _stream(_submission_rows()))))
    risk = list(book[_("PGI risk")].iter_rows(values_only=True))
    assert risk[0][:5] == ("Chỉ số", "Điểm năm 2023", "Điểm mục tiêu", "Điểm công bố gần nhất",
                           "Còn phải tăng")  # fmt: skip
    # index 2 must still gain 0.90 of its own 2023 score; index 1 0.68 from its 2024 score
    assert [row[0] for row in risk[1:]] == [
        "Chỉ số 2. Chính sách khuyến khích và dịch vụ hỗ trợ",
        "Chỉ số 1. Giảm thiểu ô nhiễm và thiên tai",
    ]
    two, one = risk[1:]
    assert two[1:10] == (2.1, 3.0, "—", 0.9, 2, 0, 100, 0, "Đỏ")
    assert one[1:10] == (4.84, 6.58, "5,90 (năm 2024)", 0.68, 3, 33, 67, 33, "Đỏ")

    deadlines = book[_("By deadline")]
    rows = {(row[1], row[3]): row for row in deadlines.iter_rows(min_row=2, values_only=True)}
    assert rows[("1.a.1", STNMT)][4:9] == (
        "thứ Ba, 10/12/2024", "Hoàn thành", rows[("1.a.1", STNMT)][6],
        "Hoàn thành đúng hạn", "Xanh",
    )  # fmt: skip
    assert rows[("1.a.2", SXD)][5:9] == ("Chưa báo cáo", None, "Quá hạn", "Đỏ")
    assert rows[("1.b.1", SXD)][7:9] == ("Quá hạn; gặp khó khăn", "Đỏ")
    assert rows[("2.a.2", SCT)][7:9] == ("Quá hạn", "Đỏ")
    fills = {(row[1].value, row[3].value): _fill(row[8]) for row in deadlines.iter_rows(min_row=2)}
    assert fills[("1.a.1", STNMT)] == FILLS[standing_of(late).tasks["1.a.1"].colour].upper()
    assert fills[("1.a.2", SXD)] == "#F4C7C3"  # red
    assert fills[("1.a.1", STNMT)] == "#B7E1CD"  # green

    agencies = {row[0]: row for row in book[_("By agency")].iter_rows(values_only=True)}
    assert agencies[STNMT][-6:] == (1, 0, 0, 1, 0, "Đỏ")  # 1.a.1 on time, 1.a.2 overdue
    assert agencies[SNN][-6:] == (0, 0, 0, 1, 0, "Đỏ")
    overview = list(book[_("Overview")].iter_rows(values_only=True))
    assert overview[0][-6:] == (
        "Hoàn thành đúng hạn", "Hoàn thành quá hạn", "Đang thực hiện — chưa đến hạn", "Quá hạn",
        "Gặp khó khăn", "Mức cảnh báo",
    )  # fmt: skip
    assert overview[1][-6:] == (1, 0, 0, 2, 1, "Đỏ")


async def test_the_workbook_the_text_and_the_draft_show_an_extension_for_its_agency_only(
    late: PlanSummary,
) -> None:
    sct = next(a.id for a in late.agencies if a.name == SCT)
    granted = Extension(7, 2024, 1, sct, SCT, ("2.a.2",), date(2024, 12, 10), date(2024, 12, 20),
                        "Chờ số liệu", "Cán bộ", AT, ExtensionState.GRANTED, date(2024, 12, 20),
                        "Nguyễn Văn An", AT, "Chờ số liệu khảo sát")  # fmt: skip
    extended = replace(late, extensions=[granted])
    book = openpyxl.load_workbook(
        io.BytesIO(await spreadsheet(extended, _stream(_submission_rows())))
    )
    rows = {
        (row[1], row[3]): row
        for row in book[_("By deadline")].iter_rows(min_row=2, values_only=True)
    }
    assert rows[("2.a.2", SCT)][4] == "thứ Sáu, 20/12/2024"
    assert rows[("2.a.2", SCT)][7:9] == ("Đang thực hiện — chưa đến hạn", "Xanh")
    assert "Đã gia hạn từ thứ Ba, 10/12/2024 đến thứ Sáu, 20/12/2024" in rows[("2.a.2", SCT)][9]
    assert "Nguyễn Văn An" in rows[("2.a.2", SCT)][9]
    assert "Chờ số liệu khảo sát" in rows[("2.a.2", SCT)][9]
    assert rows[("1.a.2", SXD)][4] == "thứ Ba, 10/12/2024" and not rows[("1.a.2", SXD)][9]
    text = text_report(extended)
    assert "Các trường hợp đã gia hạn:" in text
    assert f"• {SCT}: 2.a.2 — Đã gia hạn từ thứ Ba, 10/12/2024 đến thứ Sáu, 20/12/2024" in text
    paragraphs = [p.text for p in docx.Document(io.BytesIO(report_document(extended))).paragraphs]
    at = paragraphs.index("Các trường hợp đã gia hạn:")
    assert paragraphs[at + 1].startswith(f"- {SCT}: 2.a.2 — Đã gia hạn từ thứ Ba, 10/12/2024")
    assert "Nguyễn Văn An" in paragraphs[at + 1] and "Chờ số liệu khảo sát" in paragraphs[at + 1]
    assert paragraphs.index(_("III. PROPOSALS AND RECOMMENDATIONS")) > at + 1


async def test_before_the_deadline_everything_is_green_or_amber(summary: PlanSummary) -> None:
    book = openpyxl.load_workbook(
        io.BytesIO(await spreadsheet(summary, _stream(_submission_rows())))
    )
    colours = [row[8] for row in book[_("By deadline")].iter_rows(min_row=2, values_only=True)]
    assert colours.count("Vàng") == 1 and colours.count("Đỏ") == 0  # 1.b.1: blocked
    states = [row[7] for row in book[_("By deadline")].iter_rows(min_row=2, values_only=True)]
    assert "Đang thực hiện — chưa đến hạn; gặp khó khăn" in states


def test_the_draft_report_summarises_the_states_and_the_risk(late: PlanSummary) -> None:
    document = docx.Document(io.BytesIO(report_document(late)))
    body = "\n".join(p.text for p in document.paragraphs)
    assert (
        "Đối chiếu với thời hạn, trong 6 nhiệm vụ: hoàn thành đúng hạn: 1; hoàn thành quá hạn: "
        "0; đang thực hiện — chưa đến hạn: 0; quá hạn: 5; gặp khó khăn: 1. 5 cơ quan, đơn vị có "
        "nhiệm vụ quá hạn."
    ) in body
    risk = next(t for t in document.tables if t.rows[0].cells[0].text == "Chỉ số")
    assert [c.text for c in risk.rows[2].cells] == [
        "1. Giảm thiểu ô nhiễm và thiên tai", "4,84", "6,58", "5,90 (năm 2024)", "0,68", "33",
        "67", "33", "Đỏ",
    ]  # fmt: skip
    assert _shading(risk.rows[2].cells[-1]) == "F4C7C3"
    appendix = document.tables[-1]
    by_code = {row.cells[1].text: row.cells for row in appendix.rows[1:]}
    assert by_code["1.a.1"][4].text == "Hoàn thành đúng hạn"
    assert _shading(by_code["1.a.1"][4]) == "B7E1CD"
    assert by_code["1.b.1"][4].text == "Quá hạn; gặp khó khăn"
    assert _shading(by_code["1.b.1"][4]) == "F4C7C3"


def _shading(cell: object) -> str | None:
    from docx.oxml.ns import qn

    found = cell._tc.tcPr.find(qn("w:shd"))  # type: ignore[attr-defined]
    return None if found is None else found.get(qn("w:fill"))


def test_the_text_leads_with_marks_and_ends_with_the_risk(late: PlanSummary) -> None:
    text = text_report(late)
    assert "🔴 Chỉ số 1. Giảm thiểu ô nhiễm và thiên tai" in text
    assert "• 🟢 1.a.1 Kiểm soát ô nhiễm do chất thải" in text
    assert "— Hoàn thành đúng hạn; Hoàn thành, 100%" in text
    assert "• 🔴 1.b.1 Quản lý cấp nước sạch đô thị" in text
    assert "— Quá hạn; gặp khó khăn; Gặp khó khăn, vướng mắc, 40%" in text
    assert "Nhiệm vụ quá hạn (6):" in text
    assert f"• {UBND_TP}: III.1.3 Quán triệt, triển khai Kế hoạch tới cơ sở" in text
    risk = text.index("MỨC ĐỘ RỦI RO THEO CHỈ SỐ PGI, NĂM 2024")
    assert text.index("🔴 Chỉ số 2.", risk) < text.index("🔴 Chỉ số 1.", risk)
    assert "công bố gần nhất: 5,90 (năm 2024) · còn phải tăng: 0,68" in text
    assert "Số nhiệm vụ: 3 · hoàn thành: 33% · quá hạn: 67% · gặp khó khăn: 33%" in text
    assert text.rstrip().endswith("🟢 hoàn thành đúng hạn hoặc chưa đến hạn")


def _pixels(png: bytes, colour: str) -> int:
    image = imread(io.BytesIO(png), format="png")
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    found = (
        (abs(image[..., 0] - red) < 0.01)
        & (abs(image[..., 1] - green) < 0.01)
        & (abs(image[..., 2] - blue) < 0.01)
    )
    return int(found.sum())


def test_the_chart_draws_the_states_in_their_colours(
    summary: PlanSummary,
    late: PlanSummary,
) -> None:
    before, after = chart(summary), chart(late)
    overdue = STANDING_COLOURS[standing_of(late).overdue[0].assessment.standing]
    not_due = STANDING_COLOURS[standing_of(summary).tasks["1.a.2"].standing]
    # each colour has its legend patch; the bars add to it
    assert _pixels(before, overdue) < 1000  # nothing is overdue the day before the deadline
    assert _pixels(after, overdue) > _pixels(before, overdue) + 5000
    assert _pixels(after, not_due) < 1000  # and nothing is still to come the day after
    assert _pixels(before, not_due) > _pixels(after, not_due) + 5000
