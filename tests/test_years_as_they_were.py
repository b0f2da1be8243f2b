"""Every year is shown as it was: later mergers, renames, retirements and successions change
nothing in a past year's views and files, and a year that straddles a change reads one rule."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from handlers.agency_notices import tell_followers
from handlers.exports.registry import ExportScope, export
from handlers.router import Router
from storage.db import Database
from storage.models import Agency, Cycle, Member, Submission, Task
from storage.plan_loader import default_plan_path, read_plan
from storage.summary import SummaryRepository
from storage.uow import UnitOfWork
from tests.test_summary import choice, member

TODAY = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, Monday 07/12/2026


async def _import(database: Database, path: Path, now: datetime) -> None:
    async with UnitOfWork(database) as uow:
        await uow.plans.import_plan(read_plan(path), today=now.date(), now=now)
        await tell_followers(uow, now)
        await uow.commit()


async def _report(database: Database, year: int, task: str, agency: str, at: datetime) -> None:
    """File a report as an officer of an agency did on a day (the report flow is tested apart)."""
    async with database.session() as session:
        task_id = await session.scalar(select(Task.id).where(Task.code == task))
        agency_id = await session.scalar(select(Agency.id).where(Agency.code == agency))
        cycle_id = await session.scalar(select(Cycle.id).where(Cycle.year == year))
        assert task_id and agency_id and cycle_id
        officer = Member(
            full_name=f"Cán bộ {agency}", agency_id=agency_id, role="officer", created_at=at
        )
        session.add(officer)
        await session.flush()
        session.add(
            Submission(
                cycle_id=cycle_id,
                task_id=task_id,
                agency_id=agency_id,
                member_id=officer.id,
                status="done",
                progress=100,
                results=f"Kết quả của {agency} về nhiệm vụ {task}",
                created_at=at,
            )
        )
        await session.commit()


async def _snapshot(
    coordinator: MemoryChannel,
    database: Database,
    year: int,
    officers: dict[str, MemoryChannel],
) -> dict[str, Any]:
    """Every view and file of a year, as the coordinator gets them, and officers' /lichsu."""
    shots: dict[str, Any] = {}
    for agency, officer in officers.items():
        shots[f"lichsu {agency}"] = [r.text for r in await officer.send(f"/lichsu {year}")]
    [overview] = await coordinator.send(f"/tonghop {year}")
    shots["tonghop"] = overview.text
    for number in "1234":
        [index] = await coordinator.press(choice(overview, f"Chỉ số {number}"))
        shots[f"index {number}"] = index.text
    [agencies] = await coordinator.press(choice(overview, "Theo cơ quan"))
    shots["agencies"] = agencies.text
    for n, entry in enumerate(agencies.flat_choices[:6]):
        [detail] = await coordinator.press(entry.payload)
        shots[f"agency {n}"] = detail.text
    shots["chuabaocao"] = [r.text for r in await coordinator.send(f"/chuabaocao {year}")]
    [xlsx] = await coordinator.press(choice(overview, "Bảng tính"))
    book = load_workbook(io.BytesIO(xlsx.files[0].content), read_only=True)
    shots["xlsx"] = {
        name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames
    }
    [docx] = await coordinator.press(choice(overview, "Dự thảo báo cáo"))
    document = Document(io.BytesIO(docx.files[0].content))
    shots["docx"] = [p.text for p in document.paragraphs] + [
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    ]
    [png] = await coordinator.press(choice(overview, "Biểu đồ"))
    shots["png"] = png.files[0].content
    async with database.session() as session:
        text = await export(SummaryRepository(session), "txt", ExportScope(year), TODAY.date())
    assert text is not None
    shots["txt"] = text.content.decode("utf-8")
    return shots


def _later_changes(tmp_path: Path) -> Path:
    """The shipped plan with a merger, a rename, a retirement and a succession dated 2026."""
    data = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))
    data["reorganisations"] += [
        {"since": "2026-03-01", "action": "merge", "agency": "sct", "into": "sxd"},
        {"since": "2026-03-01", "action": "merge", "agency": "snnmt", "into": "stc"},
        {
            "since": "2026-03-01",
            "action": "rename",
            "agency": "skhcn",
            "name": "Sở Khoa học, Công nghệ và Chuyển đổi số",
        },
        {"since": "2026-07-01", "action": "retire", "agency": "dkttv"},
        {"since": "2026-07-01", "action": "retire", "agency": "x-that-khe"},
    ]
    data["successions"] += [
        {"since": "2026-01-01", "succeeded": "communes", "by": "departments"},
        {"since": "2026-01-01", "task": "1.g", "succeeded": "dkttv", "by": "sgddt"},
    ]
    path = tmp_path / "later.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


async def test_later_changes_leave_past_years_as_they_were(
    router: Router,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    clock.advance(TODAY - clock.now())
    await _import(database, default_plan_path(), TODAY)  # the 2025 and 2026 cycles
    async with UnitOfWork(database) as uow:
        await uow.synthetic.generate(year=2024, submissions=300, seed=3)
        await uow.commit()
    # 2025 straddles the changes: departments report before and after 01/03, districts
    # before 01/07, communes after.
    spring, summer = datetime(2025, 2, 10, 3, tzinfo=UTC), datetime(2025, 9, 1, 3, tzinfo=UTC)
    await _report(database, 2025, "1.a.1", "stnmt", spring)
    await _report(database, 2025, "1.d", "sgtvt", spring)
    await _report(database, 2025, "1.k.1", "h-van-lang", spring)
    await _report(database, 2025, "1.k.1", "x-that-khe", summer)
    await _report(database, 2025, "2.dd", "sct", summer)
    await _report(database, 2025, "1.g", "dkttv", summer)
    coordinator = await member(
        router, database, clock, "snnmt", Role.COORDINATOR, "1", "Điều Phối"
    )
    officers = {  # sct merges into sxd and skhcn is renamed in 2026
        code: await member(router, database, clock, code, Role.OFFICER, str(n), f"Cán bộ {n}")
        for n, code in enumerate(("sxd", "skhcn", "x-cai-kinh"), start=11)
    }
    before = {
        year: await _snapshot(coordinator, database, year, officers) for year in (2024, 2025)
    }

    await _import(database, _later_changes(tmp_path), TODAY)
    after = {year: await _snapshot(coordinator, database, year, officers) for year in (2024, 2025)}
    for year in (2024, 2025):
        for view in before[year]:
            assert after[year][view] == before[year][view], (year, view)

    y2024, y2025 = before[2024], before[2025]
    # 2024: the plan as signed, its coordinator, the district committees.
    assert "SỞ TÀI NGUYÊN VÀ MÔI TRƯỜNG" in "\n".join(y2024["docx"])
    assert "/BC-STNMT" in "\n".join(y2024["docx"])
    assert "UBND huyện Văn Lãng" in y2024["txt"] and "UBND xã" not in y2024["txt"]
    # 2025: read on 10/12/2025; reports of before the changes count for the successors.
    assert "SỞ NÔNG NGHIỆP VÀ MÔI TRƯỜNG" in "\n".join(y2025["docx"])
    assert "/BC-SNNMT" in "\n".join(y2025["docx"])
    text, draft = y2025["txt"], "\n".join(y2025["docx"])
    assert "UBND xã Thất Khê" in text and "UBND huyện Tràng Định" not in text
    for earlier in (
        "Sở Tài nguyên và Môi trường (nay là Sở Nông nghiệp và Môi trường)",
        "Sở Giao thông vận tải (nay là Sở Xây dựng)",
    ):
        assert earlier in draft
        assert earlier in {row[5] for row in list(y2025["xlsx"].values())[3][1:]}
    for year in (2024, 2025):
        _sheets_agree(before[year]["xlsx"])
    # /lichsu of a year: the reports that count for the agency that year, names of the time.
    [sxd_2025] = y2025["lichsu sxd"]
    assert sxd_2025.startswith("Các báo cáo của Sở Xây dựng năm 2025")
    assert "Báo cáo của: Sở Giao thông vận tải (nay là Sở Xây dựng)" in sxd_2025
    assert "Sở Công Thương" not in sxd_2025  # merged into Sở Xây dựng only in 2026
    assert "Sở Khoa học và Công nghệ" in y2024["lichsu skhcn"][0]
    assert y2024["lichsu x-cai-kinh"] == ["UBND xã Cai Kinh không có báo cáo nào năm 2024."]


def _sheets_agree(book: dict[str, list[tuple[Any, ...]]]) -> None:
    """The spreadsheet's sheets say the same about who reported on what."""
    _overview, by_index, by_agency, submissions, _risk, by_deadline = (
        rows[1:] for rows in book.values()
    )
    by_task = {row[1]: row for row in by_index}
    led = {row[3] for row in submissions if row[14] == "Chủ trì"}
    assert led == {code for code, row in by_task.items() if row[6]}
    assert sum(row[6] for row in by_index) == sum(row[3] for row in by_agency)
    assert sum(row[7] for row in by_index) == sum(row[2] for row in by_agency)
    # every lead assignment once in the sheet of deadlines, its state counted for its agency
    assert len(by_deadline) == sum(row[2] for row in by_agency)
    overdue = sum(1 for row in by_deadline if row[7].startswith("Quá hạn"))
    assert overdue == sum(row[13] for row in by_agency)


async def test_a_year_is_read_on_its_reference_day(
    database: Database,
) -> None:
    """2025's results report (10/12/2025) decides 2025; 2024's decides 2024."""
    now = TODAY
    await _import(database, default_plan_path(), now)
    async with database.session() as session:
        repository = SummaryRepository(session)
        summary_2024 = await repository.summary(2024, now.date())
        summary_2025 = await repository.summary(2025, now.date())
    assert summary_2024 is not None and summary_2025 is not None
    assert summary_2024.coordinator == "Sở Tài nguyên và Môi trường"
    assert summary_2025.coordinator == "Sở Nông nghiệp và Môi trường"
    leads_2024 = {t.code: t.lead_agencies for t in summary_2024.all_tasks}
    leads_2025 = {t.code: t.lead_agencies for t in summary_2025.all_tasks}
    assert len(leads_2024["1.k.1"]) == 11 and len(leads_2025["1.k.1"]) == 65
    assert leads_2025["1.a.1"] == ["Sở Nông nghiệp và Môi trường"]
    assert len(summary_2024.leading_agencies) == 38  # not the Front: III.4 asks no report
    assert not {a.code for a in summary_2025.agencies} & {"stnmt", "tp-lang-son", "skhdt"}
    assert date(2025, 12, 10) in {m.due_date for m in summary_2025.milestones}
    titles = {y.year: {t.code: t.title for t in y.all_tasks} for y in (summary_2024, summary_2025)}
    assert titles[2024]["III.1.1"].endswith("chỉ số PGI năm 2024")
    assert titles[2025]["III.1.1"].endswith("chỉ số PGI năm 2025")  # the cycle's year
