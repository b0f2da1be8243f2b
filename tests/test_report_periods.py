"""The period of a report's figures, and periodic (quarterly, six-monthly) reports.

The rule (``bot.core.domain.periods``), the setting and the plan file; the period in the
report conversation, in the database, in /tonghop, /nhiemvu, the reminders and in each file
read back; a quarter of reminders walked day by day.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.config.locale import LocaleSettings
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.periods import (
    ReportPeriod,
    milestone_period,
    period_start_day,
    set_period_start,
    year_period,
)
from bot.core.domain.plan import MilestoneInfo
from bot.core.messages import Reply
from handlers.exports.text import text_report
from handlers.periods import read_typed_date
from handlers.router import Router
from storage.db import Database
from storage.models import Submission
from storage.plan_loader import PlanFileError, default_plan_path, read_plan
from storage.uow import UnitOfWork
from tests.helpers import dump, invite
from tests.test_conversations import text_of
from tests.test_reminders import Recorder, _member, _report_all, _seen, _walk, d, days

YEAR_FIGURES = "Số liệu tính từ ngày 15/12/2023 đến ngày 14/12/2024 (thứ Bảy)"
Q3_FIGURES = "Số liệu tính từ ngày 15/06/2024 đến ngày 14/09/2024 (thứ Bảy)"
QUARTERS = [
    {"code": "q1", "title": "Báo cáo tiến độ quý I", "due": "31/03"},
    {"code": "q2", "title": "Báo cáo tiến độ quý II", "due": "30/06"},
    {"code": "q3", "title": "Báo cáo tiến độ quý III", "due": "30/09"},
    {"code": "q4", "title": "Báo cáo tiến độ quý IV", "due": "31/12"},
]


def _milestone(due: date, period: str = "year", cutoff: str | None = None) -> MilestoneInfo:
    return MilestoneInfo(1, "m", "progress_report", "t", 2026, due, "assigned", period, cutoff)


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "period", "cutoff", "start", "end"),
    [
        ("10/12/2026", "year", None, "15/12/2025", "14/12/2026"),
        ("20/07/2026", "year", None, "15/12/2025", "14/12/2026"),
        ("31/03/2026", "quarter", None, "15/12/2025", "14/03/2026"),
        ("15/04/2026", "quarter", None, "15/12/2025", "14/03/2026"),
        ("30/06/2026", "quarter", None, "15/03/2026", "14/06/2026"),
        ("30/09/2026", "quarter", None, "15/06/2026", "14/09/2026"),
        ("31/12/2026", "quarter", None, "15/09/2026", "14/12/2026"),
        ("30/06/2026", "half_year", None, "15/12/2025", "14/06/2026"),
        ("20/12/2026", "half_year", None, "15/06/2026", "14/12/2026"),
        ("20/07/2026", "year", "30/06", "01/07/2025", "30/06/2026"),
        ("30/09/2026", "quarter", "31/08", "01/06/2026", "31/08/2026"),
    ],
)
def test_the_period_of_each_kind_of_deadline(
    due: str, period: str, cutoff: str | None, start: str, end: str
) -> None:
    found = milestone_period(_milestone(d(due), period, cutoff), (12, 15))
    assert found == ReportPeriod(d(start), d(end))


def test_the_setting_moves_every_period_and_refuses_a_day_that_is_not_every_year() -> None:
    assert year_period(2026, (1, 1)) == ReportPeriod(d("01/01/2026"), d("31/12/2026"))
    assert milestone_period(_milestone(d("15/04/2026"), "quarter"), (1, 1)) == ReportPeriod(
        d("01/01/2026"), d("31/03/2026")
    )
    assert LocaleSettings(pgibot_period_start="01/01").period_start == (1, 1)
    assert LocaleSettings().period_start == (12, 15) == period_start_day()
    for wrong in ("29/02", "31/04", "15-12", "15/12/2024", ""):
        with pytest.raises(ValueError, match="dd/mm"):
            LocaleSettings(pgibot_period_start=wrong)
    with pytest.raises(ValueError, match="day is out of range"):
        set_period_start(2, 30)
    assert period_start_day() == (12, 15)  # unchanged


def test_typed_dates() -> None:
    assert read_typed_date(" 30/11/2024 ") == d("30/11/2024")
    assert read_typed_date("1-2-2025") == d("01/02/2025")
    assert read_typed_date("30.11.2024") == d("30/11/2024")
    for wrong in ("31/02/2024", "30/11", "ngày mai", "2024-11-30", "", "1"):
        assert read_typed_date(wrong) is None, wrong


# --- the plan file --------------------------------------------------------------------------


def _plan(tmp_path: Path, **changes: Any) -> Path:
    document = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    document["cycles"]["progress_reports"] = changes.pop("progress_reports", QUARTERS)
    for milestone in document["milestones"]:
        milestone.update(changes.pop(milestone["code"], {}))
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


async def _import(database: Database, clock: FrozenClock, path: Path) -> None:
    async with UnitOfWork(database) as uow:
        await uow.plans.import_plan(read_plan(path), today=clock.now().date(), now=clock.now())
        await uow.commit()


@pytest.fixture
async def quarterly(database: Database, clock: FrozenClock, tmp_path: Path) -> Database:
    """The shipped plan with four quarterly progress reports."""
    await _import(database, clock, _plan(tmp_path))
    return database


async def test_the_plan_file_declares_quarterly_reports_and_a_cutoff(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    half = [{"code": "h1", "title": "Báo cáo 6 tháng", "due": "20/06", "period": "half_year"}]
    path = _plan(
        tmp_path,
        progress_reports=[*QUARTERS, *half],
        **{"implementation-plan": {"cutoff": "30/06"}},
    )
    await _import(database, clock, path)
    async with UnitOfWork(database) as uow:
        milestones = {m.code: m for m in await uow.plans.milestones(2024)}
    assert milestones["q3"].period == "quarter" and milestones["h1"].period == "half_year"
    assert milestones["results-report"].period == "year"
    assert milestones["implementation-plan"].cutoff == "30/06"
    assert milestone_period(milestones["implementation-plan"]) == ReportPeriod(
        d("01/07/2023"), d("30/06/2024")
    )
    assert milestone_period(milestones["h1"]) == ReportPeriod(d("15/12/2023"), d("14/06/2024"))
    for wrong in (
        {"progress_reports": [{**QUARTERS[0], "period": "month"}]},
        {"progress_reports": [{**QUARTERS[0], "cutoff": "31/02"}]},
        {"results-report": {"cutoff": "14-12"}},
    ):
        with pytest.raises(PlanFileError):
            read_plan(_plan(tmp_path, **wrong))


# --- the report conversation, the database, /tonghop and the files --------------------------


async def _member_channel(
    router: Router, database: Database, clock: FrozenClock, agency: str, role: Role, user: str
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=user, display_name=f"Cán bộ {user}")
    code = await invite(database, clock, agency, role)
    assert "Đăng ký thành công" in text_of(await channel.send(f"/start {code}"))
    return channel


def choice(reply: Reply, label: str) -> str:
    return next(c.payload for c in reply.flat_choices if c.label.startswith(label))


def number_of(reply: Reply, label: str) -> str:
    labels = [c.label for c in reply.flat_choices]
    return str(labels.index(next(x for x in labels if x.startswith(label))) + 1)


async def _up_to_the_summary(officer: MemoryChannel, task: str) -> Reply:
    [status] = await officer.send(f"/baocao {task}")
    assert YEAR_FIGURES in status.text  # shown when the report starts
    await officer.press(choice(status, "Chưa triển khai"))
    [evidence] = await officer.send("Đang chuẩn bị hồ sơ thiết kế.")
    [summary] = await officer.press(choice(evidence, "Bỏ qua"))
    return summary


async def test_the_officer_sees_and_changes_the_cutoff_and_every_view_prints_it(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _member_channel(router, database, clock, "sxd", Role.OFFICER, "301")
    summary = await _up_to_the_summary(officer, "1.b.1")
    assert YEAR_FIGURES in summary.text
    [ask] = await officer.press(choice(summary, "Số liệu tính đến ngày khác"))
    assert "từ ngày 15/12/2023 đến ngày 14/12/2024" in ask.text
    before = await dump(database)
    for wrong, polite in (
        ("ngày mai", "không phải là một ngày"),
        ("31/02/2024", "không phải là một ngày"),
        ("15/12/2024", "nằm ngoài kỳ số liệu"),
        ("14/12/2023", "nằm ngoài kỳ số liệu"),
    ):
        answer = await officer.send(wrong)
        assert polite in answer[0].text and "Đề nghị đồng chí" in answer[0].text, wrong
        assert "dd/mm/yyyy" in answer[-1].text  # asked again
    assert {**await dump(database), "conversation": []} == {**before, "conversation": []}
    [summary] = await officer.send("30/11/2024")
    assert "Số liệu tính từ ngày 15/12/2023 đến ngày 30/11/2024 (thứ Bảy)" in summary.text
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2024/")
    async with database.session() as session:
        row = (await session.execute(select(Submission.period_start, Submission.period_end))).one()
    assert tuple(row) == (d("15/12/2023"), d("30/11/2024"))

    # By numbered choices (Zalo, the console): "Giữ ngày …" brings back the period's own day.
    summary = await _up_to_the_summary(officer, "1.b.2")
    [ask] = await officer.send(number_of(summary, "Số liệu tính đến ngày khác"))
    [summary] = await officer.send(number_of(ask, "Giữ ngày 14/12/2024"))
    assert YEAR_FIGURES in summary.text
    await officer.send(number_of(summary, "Xác nhận"))
    async with database.session() as session:
        ends = list(await session.scalars(select(Submission.period_end).order_by(Submission.id)))
    assert ends == [d("30/11/2024"), d("14/12/2024")]

    coordinator = await _member_channel(router, database, clock, "stnmt", Role.COORDINATOR, "1")
    [overview] = await coordinator.send("/tonghop")
    assert YEAR_FIGURES in overview.text
    [xlsx] = await coordinator.press(choice(overview, "Bảng tính"))
    workbook = load_workbook(io.BytesIO(xlsx.files[0].content), read_only=True)
    overview_sheet, submissions = workbook.worksheets[0], workbook.worksheets[3]
    overview_rows = list(overview_sheet.iter_rows(values_only=True))
    assert ("Kỳ số liệu", YEAR_FIGURES) in [tuple(r[:2]) for r in overview_rows]
    rows = list(submissions.iter_rows(values_only=True))
    assert rows[0][-2:] == ("Số liệu tính từ ngày", "Số liệu tính đến ngày")
    assert [r[-2:] for r in rows[1:]] == [
        ("15/12/2023", "30/11/2024"),
        ("15/12/2023", "14/12/2024"),
    ]
    [docx] = await coordinator.press(choice(overview, "Dự thảo báo cáo"))
    paragraphs = [p.text for p in Document(io.BytesIO(docx.files[0].content)).paragraphs]
    assert YEAR_FIGURES in paragraphs
    async with UnitOfWork(database) as uow:
        plan = await uow.summaries.summary(2024, clock.now().date())
    assert plan is not None and YEAR_FIGURES in text_report(plan).splitlines()


# --- periodic reports -----------------------------------------------------------------------


async def test_quarterly_reports_in_nhiemvu_tonghop_and_the_files(
    router: Router, quarterly: Database, clock: FrozenClock
) -> None:
    database = quarterly
    clock.set(clock.now().replace(year=2024, month=9, day=2))  # Monday 02/09/2024, 09:00
    officer = await _member_channel(router, database, clock, "sxd", Role.OFFICER, "301")
    tasks = text_of(await officer.send("/nhiemvu"))
    assert "Hạn báo cáo tiếp theo: Báo cáo tiến độ quý III" in tasks
    assert Q3_FIGURES in tasks
    summary = await _up_to_the_summary_quarterly(officer, "1.b.1")
    await officer.press(choice(summary, "Xác nhận"))
    async with database.session() as session:
        row = (await session.execute(select(Submission.period_start, Submission.period_end))).one()
    assert tuple(row) == (d("15/06/2024"), d("14/09/2024"))

    clock.set(clock.now().replace(month=11, day=20))  # the results report is the next deadline
    tasks = text_of(await officer.send("/nhiemvu"))
    assert "Báo cáo định kỳ tiếp theo: Báo cáo tiến độ quý IV (hằng quý)" in tasks
    assert "Số liệu tính từ ngày 15/09/2024 đến ngày 14/12/2024 (thứ Bảy)" in tasks

    coordinator = await _member_channel(router, database, clock, "stnmt", Role.COORDINATOR, "1")
    [overview] = await coordinator.send("/tonghop")
    q3_line = next(x for x in overview.text.splitlines() if "quý III" in x)
    assert Q3_FIGURES in q3_line and "hằng quý" in q3_line and "hạn thứ Hai, 30/09/2024" in q3_line
    assert "1/" in q3_line and "1 báo cáo" in q3_line
    assert "Báo cáo định kỳ:" in overview.text
    [xlsx] = await coordinator.press(choice(overview, "Bảng tính"))
    workbook = load_workbook(io.BytesIO(xlsx.files[0].content), read_only=True)
    cells = [str(c) for r in workbook.worksheets[0].iter_rows(values_only=True) for c in r if c]
    assert any("quý III" in c and Q3_FIGURES in c for c in cells)
    assert any(c.startswith("1/") and "1 báo cáo" in c for c in cells)
    [docx] = await coordinator.press(choice(overview, "Dự thảo báo cáo"))
    body = "\n".join(p.text for p in Document(io.BytesIO(docx.files[0].content)).paragraphs)
    assert "Báo cáo định kỳ:" in body and Q3_FIGURES in body


async def _up_to_the_summary_quarterly(officer: MemoryChannel, task: str) -> Reply:
    [status] = await officer.send(f"/baocao {task}")
    assert Q3_FIGURES in status.text
    await officer.press(choice(status, "Chưa triển khai"))
    [evidence] = await officer.send("Đang chuẩn bị hồ sơ thiết kế.")
    [summary] = await officer.press(choice(evidence, "Bỏ qua"))
    assert Q3_FIGURES in summary.text
    return summary


async def test_a_quarter_walked_day_by_day_reminds_once_per_step(
    quarterly: Database, clock: FrozenClock
) -> None:
    database = quarterly
    await _member(database, "sct", Role.OFFICER, "sct-officer", clock)
    await _member(database, "sxd", Role.OFFICER, "sxd-officer", clock)
    await _member(database, "stnmt", Role.COORDINATOR, "coordinator", clock)
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("01/07/2024"), d("24/09/2024"))
    await _report_all(database, "sxd", clock)  # sxd reports in the quarter, after one reminder
    await _walk(database, clock, recorder, d("25/09/2024"), d("15/10/2024"))
    steps = days("23/09/2024", "27/09/2024", "30/09/2024")  # 29/09 is a Sunday: on 27/09
    late = days(
        "01/10/2024",
        "02/10/2024",
        "03/10/2024",
        "04/10/2024",
        "07/10/2024",
        "08/10/2024",
        "09/10/2024",
        "10/10/2024",
        "11/10/2024",
        "14/10/2024",
    )
    assert _seen(recorder, "sct-officer", "quý III") == steps + late
    assert _seen(recorder, "sxd-officer", "quý III") == days("23/09/2024")
    quarterly_reminders = [r for _w, r in recorder.received["sct-officer"] if "quý III" in r.text]
    assert all(Q3_FIGURES in r.text for r in quarterly_reminders)
    assert _seen(recorder, "sct-officer", "quý IV") == []  # not yet: due 31/12
