"""Reminders: a whole year walked day by day, restarts, /nhacnho, the scheduler's timing."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.delivery import Piece
from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar
from bot.core.domain.members import Role
from bot.core.domain.plan import AssignmentRole
from bot.core.domain.submissions import NewSubmission, ReportStatus
from bot.core.messages import Reply
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.reminders import Reminders
from handlers.router import Router
from storage.db import Database
from storage.models import Agency, Member, MemberIdentity, OutboxMessage
from storage.uow import UnitOfWork
from tests.test_conversations import text_of

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
CALENDAR = WorkingCalendar()
POLICY = ReminderPolicy()
YEAR_2024 = date(2024, 6, 1)
"""A day when the 2024 reporting year is open."""


def d(text: str) -> date:
    day, month, year = (int(x) for x in text.split("/"))
    return date(year, month, day)


def days(*texts: str) -> list[date]:
    return [d(t) for t in texts]


class Recorder:
    """A sender that records what each chat received, and when."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.received: dict[str, list[tuple[datetime, Reply]]] = defaultdict(list)

    label = "Recorder"
    numbered = False

    def pieces(
        self, chat_id: str, reply: Reply, edit_message_id: int | None = None
    ) -> list[Piece]:
        async def record() -> None:
            self.received[chat_id].append((self.clock.now().astimezone(HANOI), reply))

        return [Piece(record)]


async def _member(
    database: Database,
    agency: str,
    role: Role,
    chat: str,
    clock: FrozenClock,
) -> None:
    async with database.session() as session:
        agency_id = await session.scalar(select(Agency.id).where(Agency.code == agency))
        member = Member(
            full_name=f"Cán bộ {chat}",
            agency_id=agency_id,
            role=role.value,
            created_at=clock.now(),
        )
        session.add(member)
        await session.flush()
        session.add(
            MemberIdentity(
                member_id=member.id,
                channel="telegram",
                user_id=chat,
                chat_id=chat,
                created_at=clock.now(),
            )
        )
        await session.commit()


async def _report_all(
    database: Database,
    agency: str,
    clock: FrozenClock,
    only: list[str] | None = None,
    but: str | None = None,
) -> None:
    """File a report on every task the agency leads (or only some), at the clock's time."""
    async with UnitOfWork(database) as uow:
        agency_id = (await uow.agencies.by_code(agency)).id
        member_id = min(m.id for m in await uow.members.list_all() if m.agency_id == agency_id)
        [cycle_id] = [c.id for c in await uow.submissions.open_cycles(YEAR_2024) if c.year == 2024]
        for task in await uow.plans.tasks_of_agency(agency_id, clock.now().date()):
            task_id, code = task.id, task.code
            if task.role is AssignmentRole.LEAD and (only is None or code in only) and code != but:
                await uow.submissions.create(
                    NewSubmission(
                        cycle_id,
                        task_id,
                        agency_id,
                        member_id,
                        ReportStatus.DONE,
                        100,
                        "Đã hoàn thành.",
                        None,
                        None,
                        None,
                    ),
                    clock.now(),
                )
        await uow.commit()


async def _walk(
    database: Database,
    clock: FrozenClock,
    recorder: Recorder,
    start: date,
    end: date,
) -> None:
    reminders = Reminders(POLICY, CALENDAR)
    worker = OutboxWorker(
        database, {"telegram": recorder}, clock, DeliveryLimits(rate=100_000, chat_interval=0)
    )
    day = start
    while day <= end:
        for hour, minute in ((7, 0), (8, 0), (8, 40), (22, 30)):
            clock.set(datetime(day.year, day.month, day.day, hour, minute, tzinfo=HANOI))
            async with UnitOfWork(database) as uow:
                await reminders.sweep(uow, clock.now())
            async with UnitOfWork(database) as uow:
                await reminders.digest(uow, clock.now())
            await worker.deliver_due()
        clock.set(datetime(day.year, day.month, day.day, 10, 0, tzinfo=HANOI))
        await _events(database, clock, day)
        day += timedelta(days=1)


async def _events(database: Database, clock: FrozenClock, day: date) -> None:
    if day == d("15/07/2024"):
        await _report_all(database, "sxd", clock, only=["III.1.2"])  # sxd's implementation plan
    if day == d("11/07/2024"):
        await _report_all(database, "stnmt", clock, only=["III.1.2"])
    if day == d("05/12/2024"):
        await _report_all(database, "sxd", clock)  # sxd's results, after 20/07: they count
        await _report_all(database, "stnmt", clock, but="III.5")
    if day == d("18/12/2024"):
        await _report_all(database, "stnmt", clock, only=["III.5"])  # the consolidated report


def _seen(recorder: Recorder, chat: str, kind_text: str = "") -> list[date]:
    return [when.date() for when, reply in recorder.received[chat] if kind_text in reply.text]


JULY_STEPS = days("12/07/2024", "17/07/2024", "19/07/2024")
JULY_LATE = days(
    "22/07/2024",
    "23/07/2024",
    "24/07/2024",
    "25/07/2024",
    "26/07/2024",
    "29/07/2024",
    "30/07/2024",
    "31/07/2024",
    "01/08/2024",
    "02/08/2024",
)
DECEMBER_STEPS = days("03/12/2024", "06/12/2024", "09/12/2024", "10/12/2024")
DECEMBER_LATE = days(
    "11/12/2024",
    "12/12/2024",
    "13/12/2024",
    "16/12/2024",
    "17/12/2024",
    "18/12/2024",
    "19/12/2024",
    "20/12/2024",
    "23/12/2024",
    "24/12/2024",
)


@pytest.fixture
async def people(database: Database, clock: FrozenClock) -> None:
    await _member(database, "sxd", Role.OFFICER, "sxd-officer", clock)
    await _member(database, "sxd", Role.LEADER, "sxd-leader", clock)
    await _member(database, "sct", Role.OFFICER, "sct-officer", clock)
    await _member(database, "sct", Role.LEADER, "sct-leader", clock)
    await _member(database, "stnmt", Role.COORDINATOR, "coordinator", clock)


def _check_the_year(recorder: Recorder) -> None:
    plan, results = "Kế hoạch triển khai", "Báo cáo kết quả"
    # sxd reported its implementation plan on 15/07 and its results on 05/12.
    assert _seen(recorder, "sxd-officer", plan) == days("12/07/2024")
    assert _seen(recorder, "sxd-officer", results) == days("03/12/2024")
    assert _seen(recorder, "sxd-leader") == []  # never late: no escalation
    # sct never reports: every step, and its leader from the first day late.
    assert _seen(recorder, "sct-officer", plan) == JULY_STEPS + JULY_LATE
    assert _seen(recorder, "sct-officer", results) == DECEMBER_STEPS + DECEMBER_LATE
    assert _seen(recorder, "sct-leader", plan) == JULY_LATE
    assert _seen(recorder, "sct-leader", results) == DECEMBER_LATE
    assert all("chỉ đạo cán bộ đầu mối" in r.text for _w, r in recorder.received["sct-leader"])
    # The coordinator: its agency's own reports were on time; the consolidated report (III.5,
    # due 20/12) was filed on 18/12, after two reminders.
    coordinator = recorder.received["coordinator"]
    reminders = [w.date() for w, r in coordinator if "Báo cáo tổng hợp" in r.text]
    assert reminders == days("13/12/2024", "17/12/2024")
    digests = [w.date() for w, r in coordinator if r.text.startswith("Tổng hợp tình hình")]
    assert d("24/07/2024") in digests and d("02/08/2024") in digests  # sct 3+ working days late
    assert all(CALENDAR.is_working_day(day) for day in digests)
    assert len(digests) == len(set(digests))  # one a day at most
    july_digest = next(
        r.text
        for w, r in coordinator
        if w.date() == d("24/07/2024") and r.text.startswith("Tổng hợp")
    )
    assert "Sở Công Thương" in july_digest and "quá hạn 3 ngày làm việc" in july_digest
    # never at night, never on a day off, and every message once
    for chat, received in recorder.received.items():
        for when, _reply in received:
            assert 8 <= when.hour < 21, (chat, when)
            assert CALENDAR.is_working_day(when.date()), (chat, when)
        texts = [(w.date(), r.text) for w, r in received]
        assert len(texts) == len(set(texts)), chat


async def test_a_whole_year_of_reminders(
    database: Database, clock: FrozenClock, people: None
) -> None:
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("01/07/2024"), d("31/12/2024"))
    _check_the_year(recorder)
    sample = next(r for w, r in recorder.received["sct-officer"] if w.date() == d("09/12/2024"))
    assert "Hạn báo cáo: thứ Ba, 10/12/2024 (còn 1 ngày)" in sample.text
    assert sample.text.startswith("Kính gửi đồng chí Cán bộ sct-officer,")
    assert sample.flat_choices[0].label.startswith("Báo cáo ngay: ")


async def test_a_restart_mid_year_sends_nothing_twice_and_misses_nothing(
    database_url: str, clock: FrozenClock, people: None
) -> None:

    recorder = Recorder(clock)
    for start, end in (
        ("01/07/2024", "23/07/2024"),
        ("24/07/2024", "09/12/2024"),
        ("10/12/2024", "31/12/2024"),
    ):
        restarted = Database(database_url)  # a new process: new Database, new objects
        try:
            await _walk(restarted, clock, recorder, d(start), d(end))
        finally:
            await restarted.dispose()
    _check_the_year(recorder)


async def test_a_bot_down_at_the_reminder_hour_catches_up_once(
    database: Database, clock: FrozenClock, people: None
) -> None:
    recorder = Recorder(clock)
    # Down all Wednesday 17/07 (before-3) and back at 15:10: the reminder goes out then, once.
    await _walk(database, clock, recorder, d("12/07/2024"), d("16/07/2024"))
    worker = OutboxWorker(
        database, {"telegram": recorder}, clock, DeliveryLimits(rate=100_000, chat_interval=0)
    )
    for hour in (15, 16):
        clock.set(datetime(2024, 7, 17, hour, 10, tzinfo=HANOI))
        async with UnitOfWork(database) as uow:
            await Reminders(POLICY, CALENDAR).sweep(uow, clock.now())
        await worker.deliver_due()
    assert (
        next(w for w in recorder.received["sct-officer"] if w[0].date() == d("17/07/2024"))[0].hour
        == 15
    )
    assert _seen(recorder, "sct-officer") == days("12/07/2024", "17/07/2024")
    # Down from 19/07 to 29/07 included: on 30/07 only that day's step, no burst of stale ones.
    clock.set(datetime(2024, 7, 30, 9, 0, tzinfo=HANOI))
    async with UnitOfWork(database) as uow:
        await Reminders(POLICY, CALENDAR).sweep(uow, clock.now())
    await worker.deliver_due()
    assert _seen(recorder, "sct-officer") == days("12/07/2024", "17/07/2024", "30/07/2024")


async def test_nhacnho_and_the_report_now_button(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    from tests.helpers import invite

    coordinator = MemoryChannel(router.handle, user_id="900", display_name="Điều phối")
    code = await invite(database, clock, "stnmt", Role.COORDINATOR)
    await coordinator.send(f"/start {code}")
    officer = MemoryChannel(router.handle, user_id="901", display_name="Cán bộ")
    code = await invite(database, clock, "sct")
    await officer.send(f"/start {code}")
    assert "không có lệnh /nhacnho" not in text_of(await officer.send("/nhacnho"))
    assert "không dành cho vai trò" in text_of(await officer.send("/nhacnho"))
    # 20/11/2024: no deadline has passed since 20/07 for a report due 10/12 → nobody is late
    # for the results report; the July plan is late for sct.
    answer = text_of(await coordinator.send("/nhacnho"))
    assert "Đã xếp lịch gửi tin nhắc" in answer
    again = text_of(await coordinator.send("/nhacnho"))  # same minute: nothing new
    assert "0 tin nhắn" in again
    answer = text_of(await coordinator.send("/nhacnho Sở Công Thương"))
    assert "1 cơ quan, đơn vị" in answer
    assert "Không có cơ quan, đơn vị nào tên là xyz" in text_of(
        await coordinator.send("/nhacnho xyz")
    )
    async with database.session() as session:
        rows = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "901"))
        )
    assert rows
    button = rows[0].payload["choices"][0][0]
    assert button["label"].startswith("Báo cáo ngay: ")
    status = await officer.press(button["payload"])
    assert "tình trạng thực hiện nhiệm vụ" in text_of(status)


async def test_the_scheduler_runs_the_sweep_every_ten_minutes_and_at_start(
    database: Database, clock: FrozenClock, people: None
) -> None:
    from bot.scheduler import REMINDER_JOB, ReminderJob, build_scheduler

    woken = asyncio.Event()
    reminder_job = ReminderJob(database, Reminders(), clock, woken.set)
    scheduler = build_scheduler(reminder_job, HANOI)
    job = scheduler.get_job(REMINDER_JOB)
    assert job is not None and job.trigger.interval == timedelta(minutes=10)
    assert str(job.trigger.timezone) == "Asia/Ho_Chi_Minh"
    assert job.misfire_grace_time is None and job.coalesce
    # The real scheduler runs it once at start: 12/07/2024 08:05 sends the first step.
    clock.set(datetime(2024, 7, 12, 8, 5, tzinfo=HANOI))
    scheduler.start()
    try:
        await asyncio.wait_for(woken.wait(), 10)
    finally:
        scheduler.shutdown(wait=False)
        await reminder_job.drain()
    async with database.session() as session:
        assert await session.scalar(select(OutboxMessage.id).limit(1)) is not None


async def test_the_first_sweep_of_the_day_runs_at_the_reminder_hour(
    database: Database, clock: FrozenClock, people: None
) -> None:
    from bot.scheduler import ReminderJob, build_scheduler

    reminder_job = ReminderJob(database, Reminders(POLICY, CALENDAR), clock, lambda: None)
    scheduler = build_scheduler(reminder_job, HANOI)
    # Whenever the bot was started, some job of the scheduler fires at 08:00 sharp, Hà Nội
    # time (12/07/2024 is before-7 of the July deadline for sct), on every day.
    for just_before in (
        datetime(2024, 7, 12, 7, 55, 30, tzinfo=HANOI),
        datetime(2024, 7, 11, 8, 0, 1, tzinfo=HANOI),
    ):
        fire_times = [
            job.trigger.get_next_fire_time(None, just_before) for job in scheduler.get_jobs()
        ]
        first = min(t for t in fire_times if t is not None)
        expected = datetime.combine(
            just_before.date() + timedelta(days=just_before.hour >= 8), time(8), HANOI
        )
        assert first == expected, (just_before, fire_times)
    # The sweep run at that moment sends the reminder at once: received by 08:01.
    at_hour = datetime(2024, 7, 12, 8, 0, tzinfo=HANOI)
    clock.set(at_hour)
    recorder = Recorder(clock)
    worker = OutboxWorker(
        database, {"telegram": recorder}, clock, DeliveryLimits(rate=100_000, chat_interval=0)
    )
    await reminder_job.run()
    await worker.deliver_due()
    received = [when for when, _reply in recorder.received["sct-officer"]]
    assert received and all(when <= at_hour + timedelta(minutes=1) for when in received)


def test_the_hourly_job_follows_the_configured_reminder_hour(
    database: Database, clock: FrozenClock
) -> None:
    from bot.scheduler import ReminderJob, build_scheduler

    policy = ReminderPolicy(send_hour=7)
    scheduler = build_scheduler(
        ReminderJob(database, Reminders(policy, CALENDAR), clock, lambda: None), HANOI
    )
    after = datetime(2024, 12, 9, 6, 59, tzinfo=HANOI)
    fire_times = [job.trigger.get_next_fire_time(None, after) for job in scheduler.get_jobs()]
    assert min(t for t in fire_times if t is not None) == datetime(2024, 12, 9, 7, 0, tzinfo=HANOI)
