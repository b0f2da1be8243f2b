"""/tonghop leads with the overdue and the blocked, and marks each index, agency and task."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.plan import AssignmentRole
from bot.core.domain.submissions import NewSubmission, ReportStatus
from handlers.router import Router
from storage.db import Database
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_conversations import text_of


async def _report(
    database: Database, clock: FrozenClock, code: str, status: ReportStatus, when: datetime
) -> None:
    async with UnitOfWork(database) as uow:
        agency = await uow.agencies.by_code("sct")
        [member] = [m for m in await uow.members.list_all() if m.agency_id == agency.id]
        [cycle] = [c for c in await uow.submissions.open_cycles(when.date()) if c.year == 2024]
        task = next(t for t in await uow.plans.tasks_of_agency(agency.id, when.date())
                    if t.code == code)  # fmt: skip
        blocked = status is ReportStatus.BLOCKED
        await uow.submissions.create(
            NewSubmission(cycle.id, task.id, agency.id, member.id, status,
                          100 if status is ReportStatus.DONE else 30, "Kết quả thực hiện.",
                          "Thiếu kinh phí thực hiện." if blocked else None, None, None),
            when,
        )  # fmt: skip
        await uow.commit()


async def test_the_overview_leads_with_the_overdue_and_the_blocked(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = MemoryChannel(router.handle, user_id="900", display_name="Điều phối")
    await coordinator.send(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
    officer = MemoryChannel(router.handle, user_id="901", display_name="Cán bộ Công Thương")
    await officer.send(f"/start {await invite(database, clock, 'sct')}")
    async with UnitOfWork(database) as uow:
        agency = await uow.agencies.by_code("sct")
        tasks = [
            t.code
            for t in await uow.plans.tasks_of_agency(agency.id, clock.now().date())
            if t.role is AssignmentRole.LEAD and t.index_code
        ]
    done, blocked, *silent = tasks
    await _report(database, clock, done, ReportStatus.DONE, datetime(2024, 12, 5, 2, tzinfo=UTC))
    await _report(
        database, clock, blocked, ReportStatus.BLOCKED, datetime(2024, 12, 6, 2, tzinfo=UTC)
    )
    clock.set(datetime(2024, 12, 11, 2, 0, tzinfo=UTC))  # the day after the results report

    [overview] = await coordinator.send("/tonghop 2024")
    lines = overview.text.splitlines()
    overdue = next(i for i, line in enumerate(lines) if line.startswith("🔴 Quá hạn: "))
    difficulties = next(i for i, line in enumerate(lines) if line.startswith("🟡 Gặp khó khăn"))
    agencies = next(
        i for i, line in enumerate(lines) if line.startswith("Cơ quan, đơn vị đã báo cáo đủ")
    )
    first_index = next(i for i, line in enumerate(lines) if "Chỉ số 1." in line)
    assert overdue < difficulties < agencies < first_index
    sct = next(line for line in lines[overdue:difficulties] if "Sở Công Thương" in line)
    assert blocked in sct and done not in sct and all(code in sct for code in silent[:10])
    assert f"{blocked} — Sở Công Thương: Thiếu kinh phí thực hiện." in overview.text
    assert lines[first_index].startswith("🔴 ")
    assert overview.text.endswith(
        "🔴 quá hạn · 🟡 hoàn thành quá hạn hoặc gặp khó khăn · 🟢 hoàn thành đúng hạn hoặc "
        "chưa đến hạn"
    )

    by_agency = next(c for c in overview.flat_choices if c.label == "Theo cơ quan")
    [listing] = await coordinator.press(by_agency.payload)
    marks = {c.label[:1] for c in listing.flat_choices if ":ad:" in c.payload}
    assert marks <= {"🔴", "🟡", "🟢"} and "🔴" in marks

    leader = MemoryChannel(router.handle, user_id="902", display_name="Lãnh đạo Công Thương")
    await leader.send(f"/start {await invite(database, clock, 'sct', Role.LEADER)}")
    view = text_of(await leader.send("/tonghop 2024"))
    assert view.startswith("🔴 Sở Công Thương — năm 2024")
    assert f"• 🟢 {done} " in view and "— Hoàn thành đúng hạn; Hoàn thành, 100%" in view
    assert f"• 🔴 {blocked} " in view and "— Quá hạn; gặp khó khăn; Gặp khó khăn" in view
    if silent:
        assert f"• 🔴 {silent[0]} " in view

    index = next(c for c in overview.flat_choices if c.label == "Chỉ số 1")
    index_view = text_of(await coordinator.press(index.payload))
    assert "Hoàn thành đúng hạn: " in index_view and "Quá hạn: " in index_view
