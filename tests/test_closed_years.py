"""A closed year is never chased: the sweep, the digest and /nhacnho read one rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.calendar import ReminderPolicy, WorkingCalendar
from bot.core.domain.members import Role
from handlers.reminders import Reminders
from handlers.report.states import REPORT_NOW
from handlers.router import Router
from storage.db import Database
from storage.models import OutboxMessage
from storage.uow import UnitOfWork
from tests.test_conversations import text_of
from tests.test_reminders import _member


async def _cycles(database: Database, *years: int) -> dict[int, int]:
    async with UnitOfWork(database) as uow:
        found = {}
        for year in years:
            for cycle in await uow.submissions.open_cycles(date(year, 6, 1)):
                found[cycle.year] = cycle.id
        await uow.commit()
    return found


async def _outbox(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def _people(database: Database, clock: FrozenClock) -> None:
    await _member(database, "sct", Role.OFFICER, "sct-officer", clock)
    await _member(database, "sct", Role.LEADER, "sct-leader", clock)


async def test_nhacnho_on_07_12_2026_reminds_of_2026_only(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    from tests.helpers import invite

    cycles = await _cycles(database, 2025, 2026)
    clock.set(datetime(2026, 12, 7, 2, 0, tzinfo=UTC))  # Monday 07/12/2026, 09:00 in Hà Nội
    await _people(database, clock)
    coordinator = MemoryChannel(router.handle, user_id="900", display_name="Điều phối")
    await coordinator.send(f"/start {await invite(database, clock, 'snnmt', Role.COORDINATOR)}")
    assert "Đã xếp lịch gửi tin nhắc" in text_of(await coordinator.send("/nhacnho"))
    assert "Đã xếp lịch gửi tin nhắc" in text_of(await coordinator.send("/nhacnho sct"))
    sent = await _outbox(database)
    assert sent  # 2026's implementation plan (20/07/2026) is late for Sở Công Thương
    for message in sent:
        # 2025 appears only as the first day of 2026's figures (from 15/12/2025)
        text = message.payload["text"].replace("15/12/2025", "")
        assert "2025" not in text and "2026" in text
        for row in message.payload.get("choices", []):
            for choice in row:
                prefix, _sep, rest = choice["payload"].partition(":")
                if prefix != REPORT_NOW.prefix:
                    continue  # "Nhắc lại sau" names the deadline, not the year
                cycle_id, _task = REPORT_NOW.decode(rest)
                assert int(cycle_id) == cycles[2026]


async def test_the_sweep_and_the_digest_stop_when_the_year_closes(
    database: Database, clock: FrozenClock
) -> None:
    await _cycles(database, 2025)
    await _people(database, clock)
    await _member(database, "snnmt", Role.COORDINATOR, "coordinator", clock)
    reminders = Reminders(ReminderPolicy(late_working_days=100), WorkingCalendar())
    clock.set(datetime(2026, 3, 31, 2, 0, tzinfo=UTC))  # the last day 2025 is open
    async with UnitOfWork(database) as uow:
        assert (await reminders.sweep(uow, clock.now())).decided
        assert await reminders.digest(uow, clock.now())
    texts = [m.payload["text"] for m in await _outbox(database)]
    assert any("2025" in text and "Sở Công Thương" in text for text in texts)
    before = len(texts)
    clock.set(datetime(2026, 4, 6, 2, 0, tzinfo=UTC))  # Monday 06/04/2026: 2025 is closed
    async with UnitOfWork(database) as uow:
        assert (await reminders.sweep(uow, clock.now())).decided == 0
        assert await reminders.nudge(uow, clock.now()) == (0, 0)
        await uow.commit()
        assert await reminders.digest(uow, clock.now()) == 0
    assert len(await _outbox(database)) == before
