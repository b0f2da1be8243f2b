"""Explanation requests: asked of a late or blocked agency, reminded, answered, and shown."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import docx
import openpyxl
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.calendar import WorkingCalendar
from bot.core.domain.explanations import (
    Explanation,
    ExplanationReason,
    answer_due,
    count,
    reminder_steps,
)
from bot.core.domain.members import Role
from bot.core.domain.plan import AssignmentRole
from bot.core.domain.submissions import NewSubmission, ReportStatus
from bot.core.messages import Reply
from handlers.exports.registry import ExportScope, export
from handlers.reminders import Reminders
from handlers.router import Router
from storage.db import Database
from storage.models import (
    Agency,
    AuditEntry,
    ExplanationReminder,
    ExplanationRequest,
    OutboxMessage,
)
from storage.summary import SummaryRepository
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_conversations import text_of

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkingCalendar()
ANSWER = "Do thiếu cán bộ chuyên trách, đơn vị sẽ hoàn thành báo cáo trước 27/12/2024."


def at(day: int, hour: int = 9) -> datetime:
    """Return a moment of December 2024 in Hà Nội time."""
    return datetime(2024, 12, day, hour, 0, tzinfo=HANOI)


def d(text: str) -> date:
    day, month, year = (int(x) for x in text.split("/"))
    return date(year, month, day)


# --- the rules, without a database ----------------------------------------------------------


def test_the_answer_deadline_counts_working_days_only() -> None:
    assert answer_due(d("16/12/2024"), 3, CALENDAR) == d("19/12/2024")  # Mon → Thu
    assert answer_due(d("19/12/2024"), 3, CALENDAR) == d("24/12/2024")  # over a weekend
    assert answer_due(d("26/04/2024"), 1, CALENDAR) == d("02/05/2024")  # 29/4–1/5 off
    assert answer_due(d("07/12/2024"), 0, CALENDAR) == d("06/12/2024")  # a Saturday


def test_an_unanswered_request_is_reminded_on_the_working_days_after_its_deadline() -> None:
    steps = reminder_steps(d("19/12/2024"), 3, CALENDAR)
    assert [(s.name, s.day) for s in steps] == [
        ("late-1", d("20/12/2024")),
        ("late-2", d("23/12/2024")),
        ("late-3", d("24/12/2024")),
    ]
    assert reminder_steps(d("19/12/2024"), 0, CALENDAR) == []


def _explanation(due: str, answer: str | None = None) -> Explanation:
    return Explanation(
        id=1,
        year=2024,
        agency_id=7,
        agency_name="Sở Công Thương",
        task_codes=("1.a", "2.b"),
        task_id=None,
        reason=ExplanationReason.LATE,
        asked_at=at(16),
        asked_by="Điều phối",
        due_date=d(due),
        answer=answer,
        answered_at=at(18) if answer else None,
    )


def test_requests_are_counted_asked_answered_and_overdue() -> None:
    requests = [
        _explanation("19/12/2024"),
        _explanation("19/12/2024", "Đã giải trình."),
        _explanation("23/12/2024"),
    ]
    assert count(requests, d("19/12/2024")) == count(requests, d("19/12/2024"))
    counted = count(requests, d("20/12/2024"))
    assert (counted.asked, counted.answered, counted.overdue, counted.waiting) == (3, 1, 1, 2)
    assert count(requests, d("19/12/2024")).overdue == 0  # the deadline's own day is in time
    assert requests[0].concerns("2.b") and not requests[0].concerns("2.b", agency_id=8)


# --- asked, reminded, answered, shown -------------------------------------------------------


async def join(
    router: Router, database: Database, clock: FrozenClock, agency: str, role: Role, name: str
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=name, display_name=name)
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


async def outbox(database: Database, kind: str) -> list[tuple[str, dict[str, Any]]]:
    async with database.session() as session:
        rows = await session.execute(
            select(OutboxMessage.chat_id, OutboxMessage.payload)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        return [(chat, payload) for chat, payload in rows.all()]


async def _sweep(database: Database, clock: FrozenClock, moment: datetime) -> None:
    clock.set(moment)
    async with UnitOfWork(database) as uow:
        await Reminders().sweep(uow, clock.now())


def _choice(reply: Reply, label: str) -> str:
    return next(c.payload for c in reply.flat_choices if c.label.startswith(label))


async def test_an_explanation_is_asked_reminded_answered_and_shown(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await join(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    officer = await join(router, database, clock, "sct", Role.OFFICER, "canbo")
    leader = await join(router, database, clock, "sct", Role.LEADER, "lanhdao")
    clock.set(at(16))  # Monday 16/12/2024: the 10/12 deadline has passed, sct has not reported

    [late] = await coordinator.send("/chuabaocao")
    [preview] = await coordinator.press(_choice(late, "Yêu cầu giải trình: Sở Công Thương"))
    assert "Yêu cầu Sở Công Thương giải trình (chậm báo cáo), năm 2024" in text_of([preview])
    assert "Hạn giải trình: thứ Năm, 19/12/2024." in preview.text
    assert await outbox(database, "explanation") == []  # nothing sent before the confirmation
    confirm = _choice(preview, "Xác nhận")
    [sent] = await coordinator.press(confirm)
    assert "Đã gửi yêu cầu giải trình tới 2 thành viên của Sở Công Thương" in text_of([sent])
    [again] = await coordinator.press(confirm)  # pressed twice: still one request
    assert "đã được yêu cầu giải trình nội dung này" in again.text

    requests = await outbox(database, "explanation")
    assert [chat for chat, _payload in requests] == ["canbo", "lanhdao"]  # officer and leader
    text = requests[0][1]["text"]
    assert "Kính gửi đồng chí canbo" in text and "giải trình lý do chưa báo cáo đúng hạn" in text
    [[button]] = requests[0][1]["choices"]
    assert button["label"] == "Giải trình" and button["payload"].startswith("ga:")

    # Reminded like a deadline: working days after 19/12 only, within the hours, once a step.
    for moment in (at(19), at(20, 7), at(20), at(20, 10), at(20, 22), at(21), at(23)):
        await _sweep(database, clock, moment)
    reminded = await outbox(database, "explanation-reminder")
    assert [chat for chat, _payload in reminded] == ["canbo", "lanhdao"] * 2  # 20/12, 23/12
    assert "hạn giải trình là thứ Năm, 19/12/2024" in reminded[0][1]["text"]
    [overview] = await coordinator.send("/tonghop")
    assert "Yêu cầu giải trình: đã yêu cầu 1, đã giải trình 0, quá hạn chưa giải trình 1." in (
        overview.text
    )

    # Answered in one step: the button, then one message; the leader finds it answered.
    [question] = await officer.press(button["payload"])
    assert "nhập nội dung giải trình trong một tin nhắn" in text_of([question])
    [short] = await officer.send("Vâng")
    assert "quá ngắn" in short.text
    [side] = (await officer.send("/nhiemvu"))[-1:]  # a side command asks the question again
    assert "nhập nội dung giải trình" in side.text
    [done] = await officer.send(ANSWER)
    assert "Đã ghi nhận nội dung giải trình" in text_of([done])
    [late_answer] = await leader.press(button["payload"])
    assert "đã được đồng chí canbo trả lời" in late_answer.text
    [told] = await outbox(database, "explanation-answer")
    assert told[0] == "dieuphoi" and ANSWER in told[1]["text"]
    await _sweep(database, clock, at(24))  # answered: no third reminder
    assert len(await outbox(database, "explanation-reminder")) == 4
    async with database.session() as session:
        assert len(list(await session.scalars(select(ExplanationReminder)))) == 4
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("explanation.%"))
                .order_by(AuditEntry.id)
            )
        )
        sct = await session.scalar(select(Agency.id).where(Agency.code == "sct"))
    assert actions == ["explanation.ask", "explanation.answer"]

    # Shown beside the task in every view and file, and counted.
    counted = "Yêu cầu giải trình: đã yêu cầu 1, đã giải trình 1, quá hạn chưa giải trình 0."
    assert counted in text_of(await coordinator.send("/tonghop"))
    [view] = await coordinator.press(f"th:2024:ad:{sct}")
    assert "Giải trình (canbo, 09:00, thứ Hai, 23/12/2024): Do thiếu cán bộ" in view.text
    assert "Yêu cầu giải trình (chậm báo cáo) ngày thứ Hai, 16/12/2024" in view.text
    [index] = await coordinator.press("th:2024:ix:1")  # 1.i is one of the tasks asked about
    assert "đã giải trình: 1/1)" in index.text
    [leader_view] = await leader.send("/tonghop")
    assert ANSWER in leader_view.text
    assert "đã giải trình" in text_of(await coordinator.send("/chuabaocao"))
    history = text_of(await officer.send("/lichsu"))
    assert "Yêu cầu giải trình (mới nhất trước):" in history and ANSWER in history
    today = clock.now().astimezone(HANOI).date()
    async with database.session() as session:
        repository = SummaryRepository(session)
        txt = await export(repository, "txt", ExportScope(2024), today)
        xlsx = await export(repository, "xlsx", ExportScope(2024), today)
        draft = await export(repository, "docx", ExportScope(2024), today)
    assert txt is not None and xlsx is not None and draft is not None
    plain = txt.content.decode()
    assert counted in plain and "Sở Công Thương: Yêu cầu giải trình" in plain and ANSWER in plain
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["Giải trình"]
    [header, row] = [[cell.value for cell in r] for r in sheet.iter_rows()]
    assert header[:4] == ["Cơ quan, đơn vị", "Mã", "Nhiệm vụ", "Lý do yêu cầu"]
    assert row[0] == "Sở Công Thương" and "đã giải trình" in row and ANSWER in row
    paragraphs = [p.text for p in docx.Document(io.BytesIO(draft.content)).paragraphs]
    assert counted in paragraphs and any(ANSWER in p for p in paragraphs)


async def test_a_blocked_task_is_asked_by_command_and_answered_from_the_list(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await join(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    officer = await join(router, database, clock, "sct", Role.OFFICER, "canbo")
    [not_late] = await coordinator.send("/giaitrinh sct")  # 20/11/2024: not late yet
    assert "không chậm hạn báo cáo hiện tại" in not_late.text
    async with UnitOfWork(database) as uow:
        agency = await uow.agencies.by_code("sct")
        member = next(m for m in await uow.members.list_all() if m.agency_id == agency.id)
        [cycle] = [
            c for c in await uow.submissions.open_cycles(clock.now().date()) if c.year == 2024
        ]
        task = next(
            t
            for t in await uow.plans.tasks_of_agency(agency.id, clock.now().date())
            if t.role is AssignmentRole.LEAD
        )
        await uow.submissions.create(
            NewSubmission(
                cycle.id,
                task.id,
                agency.id,
                member.id,
                ReportStatus.BLOCKED,
                20,
                "Đã khảo sát một phần.",
                "Chưa được bố trí kinh phí.",
                None,
                None,
            ),
            clock.now(),
        )
        await uow.commit()
    [other] = await coordinator.send("/giaitrinh sct 1.b.1")  # sxd's task, sct has no report
    assert "không chậm báo cáo và không báo cáo gặp khó khăn" in other.text
    [unknown] = await coordinator.send("/giaitrinh khong-co-don-vi")
    assert "Không có cơ quan, đơn vị nào tên là khong-co-don-vi" in unknown.text
    [preview] = await coordinator.send(f"/giaitrinh sct {task.code}")
    assert "(khó khăn, vướng mắc)" in text_of([preview])
    [sent] = await coordinator.press(_choice(preview, "Xác nhận"))
    assert "Đã gửi yêu cầu giải trình tới 1 thành viên của Sở Công Thương" in sent.text
    [request] = await outbox(database, "explanation")
    assert "khó khăn, vướng mắc đã báo cáo" in request[1]["text"]

    [listing] = await officer.send("/giaitrinh")  # typed: the numbered choice on Zalo/console
    assert f"• {task.code} (khó khăn, vướng mắc)" in text_of([listing])
    [question] = await officer.send("1")
    assert "nhập nội dung giải trình" in question.text
    await officer.send("Kinh phí dự kiến được bố trí trong quý I năm 2025.")
    [none_left] = await officer.send("/giaitrinh")
    assert "không có yêu cầu giải trình nào đang chờ trả lời" in none_left.text
    async with database.session() as session:
        [row] = list(await session.scalars(select(ExplanationRequest)))
    assert (row.reason, row.task_id, row.task_codes) == ("blocked", task.id, task.code)
    assert row.answer == "Kinh phí dự kiến được bố trí trong quý I năm 2025."
    [menu] = await coordinator.send("/giaitrinh")
    assert "đã yêu cầu 1, đã giải trình 1" in menu.text and "Các yêu cầu gần đây:" in menu.text


async def test_the_coordinator_asks_from_tonghop_and_from_an_agency_view(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await join(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    clock.set(at(16))
    async with database.session() as session:
        sxd = await session.scalar(select(Agency.id).where(Agency.code == "sxd"))
    [overview] = await coordinator.send("/tonghop")
    [menu] = await coordinator.press(_choice(overview, "Yêu cầu giải trình"))
    assert "Chọn cơ quan, đơn vị (hoặc nhiệm vụ gặp khó khăn) cần yêu cầu giải trình" in menu.text
    assert "Hiển thị 10 trong số" in menu.text  # every agency is late: the first ten, a hint
    assert len(menu.flat_choices) == 10
    assert all(c.payload.startswith("gx:2024:") for c in menu.flat_choices)
    [view] = await coordinator.press(f"th:2024:ad:{sxd}")
    [preview] = await coordinator.press(_choice(view, "Yêu cầu giải trình: Sở Xây dựng"))
    [cancelled] = await coordinator.press(_choice(preview, "Hủy"))
    assert "Đã hủy: không gửi yêu cầu giải trình." in cancelled.text
    [sent] = await coordinator.press(_choice(preview, "Xác nhận"))
    assert "Sở Xây dựng chưa có thành viên đăng ký để nhận" in text_of([sent])
    async with database.session() as session:
        [row] = list(await session.scalars(select(ExplanationRequest)))
    assert row.agency_id == sxd and row.reason == "late" and row.task_id is None
    assert await outbox(database, "explanation") == []  # nobody to tell, nothing queued


async def test_an_absent_members_explanation_reminder_goes_to_the_stand_in(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    from storage.models import Member

    coordinator = await join(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    await join(router, database, clock, "sct", Role.OFFICER, "canbo")
    await join(router, database, clock, "sct", Role.OFFICER, "thaythe")
    await join(router, database, clock, "sct", Role.LEADER, "lanhdao")
    clock.set(at(16))
    [late] = await coordinator.send("/chuabaocao")
    [preview] = await coordinator.press(_choice(late, "Yêu cầu giải trình: Sở Công Thương"))
    await coordinator.press(_choice(preview, "Xác nhận"))
    assert [chat for chat, _ in await outbox(database, "explanation")] == [
        "canbo",
        "thaythe",
        "lanhdao",
    ]
    async with database.session() as session:
        ids = {
            name: id_ for name, id_ in await session.execute(select(Member.full_name, Member.id))
        }
    async with UnitOfWork(database) as uow:
        away = (d("19/12/2024"), d("31/12/2024"))
        await uow.absences.add(ids["canbo"], *away, ids["thaythe"], ids["canbo"], clock.now())
        await uow.commit()

    await _sweep(database, clock, at(20))  # the first reminder, canbo away
    reminded = await outbox(database, "explanation-reminder")
    assert [chat for chat, _ in reminded] == ["thaythe", "lanhdao"]
    note = "(Đồng chí nhận tin này thay đồng chí canbo đến hết thứ Ba, 31/12/2024 đang vắng mặt.)"
    assert note in reminded[0][1]["text"] and "vắng mặt" not in reminded[1][1]["text"]
    assert reminded[0][1]["choices"][0][0]["label"] == "Giải trình"
    await _sweep(database, clock, at(20, 15))  # the same step: nobody reminded twice
    assert len(await outbox(database, "explanation-reminder")) == 2


async def test_the_daily_digest_lists_the_agencies_that_owe_an_explanation(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await join(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    officer = await join(router, database, clock, "sct", Role.OFFICER, "canbo")
    clock.set(at(16))
    [late] = await coordinator.send("/chuabaocao")
    [preview] = await coordinator.press(_choice(late, "Yêu cầu giải trình: Sở Công Thương"))
    await coordinator.press(_choice(preview, "Xác nhận"))

    async def digest(moment: datetime) -> str:
        clock.set(moment)
        async with UnitOfWork(database) as uow:
            await Reminders().digest(uow, clock.now())
        return (await outbox(database, "digest"))[-1][1]["text"]

    waiting = await digest(at(18))  # asked, not yet due
    assert "Yêu cầu giải trình: đã yêu cầu 1, đã giải trình 0, quá hạn chưa giải trình 0." in (
        waiting
    )
    owed = "• Sở Công Thương: chưa giải trình 1, quá hạn 0 (đã yêu cầu 1)"
    assert "Các cơ quan, đơn vị chưa giải trình:" in waiting and owed in waiting
    overdue = await digest(at(20))  # past the 19/12 deadline
    assert "• Sở Công Thương: chưa giải trình 1, quá hạn 1 (đã yêu cầu 1)" in overdue
    [[button]] = (await outbox(database, "explanation"))[0][1]["choices"]
    await officer.press(button["payload"])
    await officer.send(ANSWER)
    answered = await digest(at(23))  # sct is still late on its report: a digest all the same
    assert len(await outbox(database, "digest")) == 3
    assert "đã giải trình 1" not in answered and "chưa giải trình:" not in answered  # none owed
