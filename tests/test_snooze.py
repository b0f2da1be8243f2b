"""The "Nhắc lại sau" button: when a snoozed reminder comes back, and December walked."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.calendar import (
    ReminderPolicy,
    Snooze,
    WorkingCalendar,
    snooze_until,
    steps_for,
)
from bot.core.domain.members import Role
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.reminders import Reminders
from handlers.router import Router
from storage.db import Database
from storage.models import AuditEntry, SnoozeRow
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_conversations import text_of
from tests.test_reminders import Recorder, d

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
POLICY = ReminderPolicy()
CALENDAR = WorkingCalendar()
STEPS = steps_for(d("10/12/2024"), POLICY, CALENDAR)  # last step: late-10 on 24/12/2024


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d(day), time(hour, minute), HANOI)


@pytest.mark.parametrize(
    ("choice", "now", "expected"),
    [
        (Snooze.LATER_TODAY, at("03/12/2024", 9), (at("03/12/2024", 15), False)),
        (Snooze.LATER_TODAY, at("03/12/2024", 15), None),  # the hour has come
        (Snooze.LATER_TODAY, at("07/12/2024", 9), None),  # a Saturday
        (Snooze.TOMORROW, at("06/12/2024", 9), (at("09/12/2024", 8), False)),  # over a weekend
        (Snooze.WORKING_DAYS, at("05/12/2024", 9), (at("09/12/2024", 8), False)),
        (Snooze.WORKING_DAYS, at("23/12/2024", 9), (at("24/12/2024", 8), True)),  # last step
        (Snooze.TOMORROW, at("24/12/2024", 9), None),  # nothing after the last step
        (Snooze.LATER_TODAY, at("24/12/2024", 9), (at("24/12/2024", 15), False)),
    ],
)
def test_when_a_snoozed_reminder_comes_back(
    choice: Snooze, now: datetime, expected: tuple[datetime, bool] | None
) -> None:
    assert snooze_until(choice, now, STEPS, POLICY, CALENDAR) == expected


def test_a_declared_working_saturday_is_a_day_a_snooze_can_end() -> None:
    saturday = WorkingCalendar(working_days=frozenset({d("07/12/2024")}))
    assert snooze_until(Snooze.TOMORROW, at("06/12/2024", 9), STEPS, POLICY, saturday) == (
        at("07/12/2024", 8),
        False,
    )


async def _join(
    router: Router, database: Database, clock: FrozenClock, who: str, role: Role
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=who, display_name=who)
    await channel.send(f"/start {await invite(database, clock, 'sct', role)}")
    return channel


def _payload(received: list[tuple[datetime, object]], label: str) -> str:
    for _when, reply in reversed(received):
        for choice in reply.flat_choices:  # type: ignore[attr-defined]
            if choice.label.startswith(label):
                return str(choice.payload)
    raise AssertionError(f"no choice {label!r}")


async def test_a_snooze_is_honoured_once_never_crosses_the_last_step_nor_holds_the_leader(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    clock.set(at("02/12/2024", 9))
    officer = await _join(router, database, clock, "an", Role.OFFICER)
    await _join(router, database, clock, "lead", Role.LEADER)
    recorder = Recorder(clock)
    reminders = Reminders(POLICY, CALENDAR)
    worker = OutboxWorker(
        database, {"memory": recorder}, clock, DeliveryLimits(rate=100_000, chat_interval=0)
    )

    async def sweep(moment: datetime) -> None:
        clock.set(moment)
        async with UnitOfWork(database) as uow:
            await reminders.sweep(uow, clock.now())
        await worker.deliver_due()

    def received(chat: str, day: str) -> list[str]:
        return [r.text for w, r in recorder.received[chat] if w.date() == d(day)]

    await sweep(at("03/12/2024", 8))
    assert len(received("an", "03/12/2024")) == 1  # before-7
    clock.set(at("03/12/2024", 9))
    offered = await officer.press(_payload(recorder.received["an"], "Nhắc lại sau"))
    assert "Chiều nay (15:00)" in [c.label for r in offered for c in r.flat_choices]
    chosen = await officer.press(_payload([(clock.now(), offered[0])], "Chiều nay"))
    assert "15:00, thứ Ba, 03/12/2024" in text_of(chosen)
    await officer.press(_payload([(clock.now(), offered[0])], "Chiều nay"))  # pressed twice
    for moment in (at("03/12/2024", 14, 50), at("03/12/2024", 15), at("03/12/2024", 15, 10)):
        await sweep(moment)
    assert len(received("an", "03/12/2024")) == 2  # honoured once, at 15:00
    await sweep(at("04/12/2024", 8))
    assert received("an", "04/12/2024") == []
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(SnoozeRow)) == 1
        assert (
            await session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "reminder.snooze")
            )
            == 1
        )
    # 10/12, the due day: two working days later; the leader's escalation is not held
    await sweep(at("10/12/2024", 8))
    clock.set(at("10/12/2024", 9))
    offered = await officer.press(_payload(recorder.received["an"], "Nhắc lại sau"))
    await officer.press(_payload([(clock.now(), offered[0])], "Sau 2 ngày làm việc"))
    for day in ("11/12/2024", "12/12/2024", "13/12/2024"):
        await sweep(at(day, 8))
    assert received("an", "11/12/2024") == [] and len(received("an", "12/12/2024")) == 1
    assert len(received("lead", "11/12/2024")) == 1  # late-1: the escalation
    # 23/12: two working days would pass the last step (24/12): brought forward to it
    await sweep(at("23/12/2024", 8))
    clock.set(at("23/12/2024", 9))
    offered = await officer.press(_payload(recorder.received["an"], "Nhắc lại sau"))
    last = text_of(await officer.press(_payload([(clock.now(), offered[0])], "Sau 2 ngày")))
    assert "08:00, thứ Ba, 24/12/2024" in last and "không thể muộn hơn" in last
    for day in ("24/12/2024", "25/12/2024", "26/12/2024"):
        await sweep(at(day, 8))
    assert len(received("an", "24/12/2024")) == 1
    assert received("an", "25/12/2024") == received("an", "26/12/2024") == []
    clock.set(at("24/12/2024", 9))
    offered = await officer.press(_payload(recorder.received["an"], "Nhắc lại sau"))
    assert [c.label for r in offered for c in r.flat_choices] == ["Chiều nay (15:00)"]
