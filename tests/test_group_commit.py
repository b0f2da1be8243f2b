"""The inbox worker's group commit, over real HTTP against the fake Bot API.

Updates that arrive together are handled in one transaction; an update that fails in such a
batch costs the others nothing: the batch is rolled back and handled again one by one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import Incoming, Reply
from handlers.context import EVERYONE, Command, Context
from handlers.router import Inbound, Router
from storage.db import Database
from storage.models import AuditEntry, InboxUpdate, LinkCode
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.helpers import invite
from tests.test_telegram_e2e import TOKEN, Bot, register


class Fault(RuntimeError):
    """What the test's faulty command raises."""


async def _faulty(ctx: Context) -> list[Reply]:
    ctx.audit("fault.before-raising")  # must be rolled back with the fault
    raise Fault("a handler fault")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def running(
    fake: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> AsyncIterator[Bot]:
    """The end-to-end tests' running bot, with one more command: /hong, which fails."""
    bot = Bot(fake, database, clock, tmp_path / "data")
    bot.commands.append(Command("hong", "fails", EVERYONE, _faulty))
    yield bot
    await bot.stop()


async def _registered(running: Bot, count: int) -> tuple[FakeUser, ...]:
    """Register officers of three agencies, then stop the bot so that updates pile up."""
    await running.start()
    agencies = ("sxd", "stnmt", "sct")
    users = [
        await register(running.fake, running.database, running.clock, 6001 + n, agencies[n % 3])
        for n in range(count)
    ]
    await running.stop()
    return tuple(users)


def _commits(engine: AsyncEngine) -> list[int]:
    counted = [0]

    def count(*_args: Any) -> None:
        counted[0] += 1

    event.listen(engine.sync_engine, "commit", count)
    return counted


def _texts(fake: FakeTelegram, user: FakeUser) -> list[str]:
    return [str(m.get("text", "")) for m in fake.sent_to(user.id)]


async def test_updates_that_arrive_together_are_committed_together(
    running: Bot, engine: AsyncEngine
) -> None:
    lan, minh, thu = await _registered(running, 3)
    lan.send_text("/baocao 1.b.1")
    minh.send_text("/nhiemvu")
    lan.send_text("/huy")  # the same chat twice in a batch: /huy sees the report begun
    thu.send_text("/trogiup")
    commits = _commits(engine)
    channel = await running.start()
    await running.fake.wait_for_text(thu.id, "Các lệnh")
    await channel.wait_idle()
    assert commits[0] == 2  # recording the four updates, then handling all four
    lan_said = _texts(running.fake, lan)
    assert any("tình trạng thực hiện" in t for t in lan_said)
    assert "Đã hủy" in lan_said[-1]
    assert any("Nhiệm vụ của" in t for t in _texts(running.fake, minh))
    async with running.database.session() as session:
        rows = list(await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id)))
    assert [r.processed_at is not None for r in rows[-4:]] == [True] * 4


async def test_a_fault_in_a_batch_costs_the_others_nothing(
    running: Bot, engine: AsyncEngine
) -> None:
    lan, minh, thu = await _registered(running, 3)
    lan.send_text("/nhiemvu")
    faulty = minh.send_text("/hong")
    thu.send_text("/trogiup")
    lan.send_text("/lichsu")
    channel = await running.start()
    await running.fake.wait_for_text(lan.id, "chưa có báo cáo nào")
    await channel.wait_idle()
    lan_said, thu_said = _texts(running.fake, lan), _texts(running.fake, thu)
    assert sum("Nhiệm vụ của" in t for t in lan_said) == 1  # answered once, not twice
    assert sum("Các lệnh" in t for t in thu_said) == 1
    apology = _texts(running.fake, minh)[-1]
    assert "sự cố kỹ thuật" in apology
    async with running.database.session() as session:
        rows = {
            r.update_key: r
            for r in await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id))
        }
        audited = list(await session.scalars(select(AuditEntry.action)))
    failed = rows[str(faulty["update_id"])]
    assert failed.attempts == 1 and failed.processed_at is None  # retried at the next start
    assert "a handler fault" in (failed.last_error or "")
    others = [r for key, r in rows.items() if key != str(faulty["update_id"])]
    assert all(r.processed_at is not None and r.attempts == 0 for r in others)
    assert "fault.before-raising" not in audited


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_batch_is_handled_in_one_transaction_by_the_router(
    running: Bot, engine: AsyncEngine
) -> None:
    """The same, counted at the router: N updates, one BEGIN."""
    users = await _registered(running, 3)
    begins = [0]

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(*_args: Any) -> None:
        begins[0] += 1

    for user in users * 3:
        user.send_text("/trogiup")
    channel = await running.start()
    for user in users:
        await running.fake.wait_until(
            lambda u=user: sum("Các lệnh" in t for t in _texts(running.fake, u)) == 3, 10.0
        )
    await channel.wait_idle()
    assert begins[0] == 3  # the look for leftovers at start, the inbox, the nine updates


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_writers_of_one_process_take_turns_on_sqlite(
    database: Database,
) -> None:
    """Two tasks writing at once never meet SQLite's busy handler; a commit lets the other in."""
    order: list[str] = []
    first_began = asyncio.Event()

    async def writer(name: str, rounds: int) -> None:
        async with UnitOfWork(database) as uow:
            for n in range(rounds):
                uow.audit.record(f"{name}.{n}", now=datetime.now(UTC))
                await uow.flush()
                order.append(f"{name}.{n}")
                first_began.set()
                await asyncio.sleep(0)  # the other task runs meanwhile and must wait
                await uow.commit()

    async def second() -> None:
        await first_began.wait()
        await writer("b", 1)

    await asyncio.gather(writer("a", 2), second())
    assert order == ["a.0", "b.0", "a.1"]  # a's commit let b write before a went on

    async with UnitOfWork(database) as outer:  # nested in one task: no deadlock on the turn
        async with UnitOfWork(database) as inner:
            inner.audit.record("nested", now=datetime.now(UTC))
            await inner.commit()
        assert "nested" in await outer.audit.actions()


def _choice(answer: list[Reply], label: str) -> str:
    for reply in answer:
        for choice in reply.flat_choices:
            if choice.label.startswith(label):
                return choice.payload
    raise AssertionError(f"no choice {label!r}")


async def test_an_export_in_a_batch_sees_the_reports_of_the_same_batch(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    """A file built from a read-only session would miss a report committed with it."""
    officer = MemoryChannel(router.handle, user_id="301", display_name="Lan")
    coordinator = MemoryChannel(router.handle, user_id="302", display_name="Minh")
    await officer.send(f"/start {await invite(database, clock, 'sxd')}")
    await coordinator.send(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
    answer = await officer.send("/baocao 1.b.1")
    answer = await officer.press(_choice(answer, "Đang triển khai"))
    await officer.send("60")
    answer = await officer.send("Đã rà soát 12 công trình.")
    answer = await officer.press(_choice(answer, "Bỏ qua"))
    confirm = Incoming(
        "memory", "301", "301", update_id="9001", payload=_choice(answer, "Xác nhận")
    )
    export = Incoming("memory", "302", "302", update_id="9002", payload="th:2024:f:txt")
    receipt, [file_reply] = await router.handle_batch([Inbound(confirm), Inbound(export)])
    assert "Đã ghi nhận" in receipt[0].text
    text = file_reply.files[0].content.decode()
    assert "Số lượt báo cáo đã tiếp nhận (kể cả các lần cập nhật): 1" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_writer_cancelled_while_queueing_again_gives_back_nothing(
    database: Database,
) -> None:
    """A unit of work cancelled inside commit's hand-over must not free another's turn."""
    inside: set[str] = set()
    overlaps: list[set[str]] = []
    second_in = asyncio.Event()

    async def hold(name: str, seconds: float) -> None:
        inside.add(name)
        if len(inside) > 1:
            overlaps.append(set(inside))
        await asyncio.sleep(seconds)
        inside.discard(name)

    async def first() -> None:
        async with UnitOfWork(database) as uow:
            await hold("first", 0.02)
            await uow.commit()  # the second waits: the turn goes to it, the first queues again
            await hold("first", 0.01)

    async def second() -> None:
        async with UnitOfWork(database):
            second_in.set()
            await hold("second", 0.1)

    async def third() -> None:
        async with UnitOfWork(database):
            await hold("third", 0.01)

    running = asyncio.create_task(first())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(second())
    await second_in.wait()  # the first is queueing again inside its commit
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    await asyncio.gather(waiting, third())
    assert overlaps == []


async def test_an_update_processed_before_is_not_processed_again(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    """A batch whose commit went through but was reported failed is not applied twice."""
    user = MemoryChannel(router.handle, user_id="401", display_name="Lan")
    await user.send(f"/start {await invite(database, clock, 'sxd')}")
    link = Incoming("memory", "401", "401", update_id="501", text="/lienket")
    helping = Incoming("memory", "401", "401", update_id="502", text="/trogiup")
    async with UnitOfWork(database) as uow:
        entries = await uow.inbox.record_all("memory", [("501", {}), ("502", {})], clock.now())
        await uow.inbox.claim([entries[0].id], clock.now())  # the first went through before
        await uow.commit()
    answers = await router.handle_batch(
        [Inbound(link, entries[0].id), Inbound(helping, entries[1].id)]
    )
    assert answers[0] == [] and "Các lệnh" in answers[1][0].text
    assert await router.handle(link, inbox_id=entries[0].id) == []
    async with database.session() as session:
        codes = await session.scalar(select(func.count()).select_from(LinkCode))
        pending = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.processed_at.is_(None))
        )
    assert codes == 0 and pending == 0
