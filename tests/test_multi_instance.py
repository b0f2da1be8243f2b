"""Several instances on one database: outbox leases, one leader, heartbeats."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING
from pydantic import SecretStr
from sqlalchemy import select, text

from benchmarks.harness import BotProcess, pgibot_command
from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.channels.telegram_http import LeanBot
from bot.cli import ops
from bot.config import Settings
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.outbox import DeliveryLimits, OutboxWorker
from bot.runtime import Runtime
from bot.web import create_app
from storage.db import Database
from storage.health import Health, Problem, check_health
from storage.leadership import Leadership
from storage.models import Instance, JobRun, OutboxMessage
from storage.notifications import SENDING, SENT
from storage.repositories.instances import InstanceInfo
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram
from tests.helpers import invite

TOKEN = "777:MULTI"
LEASE = timedelta(seconds=90)
postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def _queue(database: Database, clock: FrozenClock, chats: int, each: int = 1) -> None:
    now = clock.now()
    async with UnitOfWork(database) as uow:
        agency = await uow.agencies.by_code("sct")
        for chat in range(1, chats + 1):
            member_id = await uow.members.create(
                full_name=f"Cán bộ {chat}",
                agency_id=agency.id,
                role=Role.OFFICER,
                invitation_id=None,
                now=now,
            )
            await uow.members.add_identity(member_id, "telegram", str(chat), str(chat), now)
            for n in range(each):
                await uow.notifications.enqueue(
                    channel="telegram",
                    chat_id=str(chat),
                    member_id=member_id,
                    kind="reminder",
                    payload={"text": f"Tin nhắc số {n} cho cán bộ {chat}", "choices": []},
                    dedupe_key=f"multi:{chat}:{n}",
                    now=now,
                )
        await uow.commit()


async def _rows(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


def _bot(fake: FakeTelegram) -> LeanBot:
    return new_bot(TelegramConfig(TOKEN, fake.base_url, fake.base_file_url))


# --- the outbox's leases --------------------------------------------------------------------


async def test_a_claim_is_taken_over_only_after_its_lease_and_its_holder_then_changes_nothing(
    database: Database, clock: FrozenClock
) -> None:
    await _queue(database, clock, chats=3)
    now = clock.now()
    async with UnitOfWork(database) as uow:
        first = await uow.outbox.due(now, 10, "a", LEASE)
        await uow.commit()
    assert len(first) == 3
    async with UnitOfWork(database) as uow:  # still held: nothing to take
        assert await uow.outbox.due(now + LEASE - timedelta(seconds=1), 10, "b", LEASE) == []
        assert await uow.outbox.next_due_at() == now + LEASE  # wake up when the lease ends
    async with UnitOfWork(database) as uow:  # a renewal pushes the end further
        assert await uow.outbox.renew("a", now + 2 * LEASE) == 3
        await uow.commit()
    async with UnitOfWork(database) as uow:
        assert await uow.outbox.due(now + LEASE + timedelta(seconds=1), 10, "b", LEASE) == []
    later = now + 2 * LEASE + timedelta(seconds=1)
    async with UnitOfWork(database) as uow:
        taken = await uow.outbox.due(later, 10, "b", LEASE)
        await uow.commit()
    assert [item.id for item in taken] == [item.id for item in first]
    assert [item.attempts for item in taken] == [2, 2, 2]
    async with UnitOfWork(database) as uow:  # the old holder's late outcome is ignored
        await uow.outbox.mark(first[0].id, SENT, later, None, "a")
        await uow.outbox.retry_at(first[1].id, later, "timeout", claimant="a")
        await uow.outbox.mark(first[2].id, SENT, later, None, "b")
        await uow.commit()
    rows = await _rows(database)
    assert [(r.status, r.claimed_by) for r in rows] == [
        (SENDING, "b"),
        (SENDING, "b"),
        (SENT, None),
    ]
    assert all(r.lease_until == later + LEASE for r in rows[:2])


async def test_a_sender_cut_off_from_its_claim_stops_and_another_instance_finishes(
    database: Database, clock: FrozenClock, fake: FakeTelegram
) -> None:
    """The claim cannot be renewed (renewals far apart here): no send after its margin."""
    await _queue(database, clock, chats=1, each=3)
    limits = DeliveryLimits(rate=1000, chat_interval=0.3, renew_every=3600)
    async with _bot(fake) as bot:
        sender = {"telegram": TelegramSender(bot)}
        first = OutboxWorker(database, sender, clock, limits, claimant="a")
        delivering = asyncio.create_task(first.deliver_due())
        await fake.wait_for("sendMessage", count=1)
        clock.advance(timedelta(seconds=limits.lease - limits.lease_margin + 1))
        assert await delivering == 3
        assert len(fake.calls_of("sendMessage")) == 1  # the two others were left unsent
        second = OutboxWorker(database, sender, clock, limits, claimant="b")
        assert await second.deliver_due() == 0  # a's lease still runs
        clock.advance(timedelta(seconds=limits.lease))
        assert await second.deliver_due() == 2
    texts = [call.params["text"] for call in fake.calls_of("sendMessage")]
    assert texts == [f"Tin nhắc số {n} cho cán bộ 1" for n in range(3)]
    assert [(r.status, r.claimed_by) for r in await _rows(database)] == [(SENT, None)] * 3


@postgres_only
async def test_two_instances_deliver_each_message_once(
    database_url: str, clock: FrozenClock, fake: FakeTelegram
) -> None:
    one, two = Database(database_url), Database(database_url)
    try:
        await _queue(one, clock, chats=150, each=2)
        limits = DeliveryLimits(rate=2000, chat_interval=0.0, batch=40)
        async with _bot(fake) as bot:
            sender = {"telegram": TelegramSender(bot)}
            workers = [
                OutboxWorker(one, sender, clock, limits, claimant="one"),
                OutboxWorker(two, sender, clock, limits, claimant="two"),
            ]

            async def drain(worker: OutboxWorker) -> int:
                total = 0
                while delivered := await worker.deliver_due():
                    total += delivered
                return total

            shares = await asyncio.gather(*(drain(worker) for worker in workers))
        assert sum(shares) == 300 and all(shares), shares  # both took part
        texts = [call.params["text"] for call in fake.calls_of("sendMessage")]
        assert len(texts) == len(set(texts)) == 300
        assert {r.status for r in await _rows(one)} == {SENT}
    finally:
        await one.dispose()
        await two.dispose()


# --- leadership -----------------------------------------------------------------------------


async def _leader_pid(database: Database) -> int | None:
    async with database.session() as session:
        pid = await session.scalar(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    return int(pid) if pid is not None else None


async def _until(condition: asyncio.Future[None] | asyncio.Task[None], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        await condition


@postgres_only
async def test_one_instance_leads_and_another_takes_over_when_its_connection_dies(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    databases = [Database(database_url), Database(database_url)]
    leaders = [Leadership(database, check_every=0.2) for database in databases]
    stops = [asyncio.Event(), asyncio.Event()]
    runs = [asyncio.create_task(one.run(s)) for one, s in zip(leaders, stops, strict=True)]
    try:
        waiting = [asyncio.ensure_future(leader.wait_leading()) for leader in leaders]
        done, pending = await asyncio.wait(waiting, timeout=10, return_when="FIRST_COMPLETED")
        for waiter in pending:
            waiter.cancel()
        assert len(done) == 1
        first = waiting.index(done.pop())
        other = 1 - first
        for _round in range(3):  # the other keeps trying, and keeps failing
            await asyncio.sleep(0.2)  # no event marks a failed try: let a few happen
            assert leaders[first].is_leader and not leaders[other].is_leader
        pid = await _leader_pid(databases[other])
        assert pid is not None
        async with databases[other].session() as session:  # the leader's connection dies
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await _until(asyncio.ensure_future(leaders[other].wait_leading()), 10)
        await _until(asyncio.ensure_future(leaders[first].wait_following()), 10)
        assert not leaders[first].is_leader  # a lost connection is lost leadership
        lost = [r for r in caplog.records if r.name == "storage.leadership"]
        assert [r.levelname for r in lost] == ["WARNING"]
        assert "leadership lost" in lost[0].getMessage()
        stops[other].set()  # a leader that stops lets go at once
        await _until(asyncio.ensure_future(leaders[first].wait_leading()), 10)
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*runs)
        for database in databases:
            await database.dispose()


async def test_on_sqlite_the_one_process_leads(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'one.sqlite3'}")
    leadership = Leadership(database)
    changes: list[bool] = []
    leadership.on_change(changes.append)
    stop = asyncio.Event()
    running = asyncio.create_task(leadership.run(stop))
    await _until(asyncio.ensure_future(leadership.wait_leading()), 5)
    stop.set()
    await running
    await database.dispose()
    assert changes == [True, False]


# --- two runtimes on one database -----------------------------------------------------------


@postgres_only
async def test_two_runtimes_one_leads_and_the_other_takes_over_polling_and_jobs(
    database_url: str, clock: FrozenClock, fake: FakeTelegram, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        pgibot_data_dir=tmp_path / "data",
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_base_url=fake.base_url,
        telegram_api_file_url=fake.base_file_url,
    )
    databases = [Database(database_url), Database(database_url)]
    stops = [asyncio.Event(), asyncio.Event()]
    runtimes: list[Runtime] = []
    runs: list[asyncio.Task[None]] = []
    try:
        for database, stop in zip(databases, stops, strict=True):
            runtime = await Runtime.build(settings, clock, database, stop)
            assert runtime is not None and await runtime.start(stop)
            runtimes.append(runtime)
            runs.append(asyncio.create_task(runtime.run(stop)))
        waiting = [asyncio.ensure_future(r.leadership.wait_leading()) for r in runtimes]
        done, pending = await asyncio.wait(waiting, timeout=10, return_when="FIRST_COMPLETED")
        for waiter in pending:
            waiter.cancel()
        first = waiting.index(done.pop())
        leader, standby = runtimes[first], runtimes[1 - first]
        assert leader.scheduler.state == STATE_RUNNING
        assert standby.scheduler.state == STATE_PAUSED

        user = fake.user(1001, "Điều", "Phối")
        user.send_text(f"/start {await invite(databases[0], clock, 'stnmt', Role.COORDINATOR)}")
        await fake.wait_for_text(user.id, "Đăng ký thành công")

        for runtime in runtimes:  # a beat now, rather than waiting for the next one
            await runtime.heartbeat.beat()
        health = await check_health(databases[0].engine, clock.now())
        assert [(i.id, i.leader) for i in health.instances] == [
            (leader.heartbeat.instance_id, True),
            (standby.heartbeat.instance_id, False),
        ]
        assert health.healthy, health.problems

        left = user.send_text("/trogiup", queue=False)  # recorded by an instance that died
        async with UnitOfWork(databases[0]) as uow:
            await uow.inbox.record_all("telegram", [(str(left["update_id"]), left)], clock.now())
            await uow.commit()
        answered = len(fake.calls_of("sendMessage"))
        stops[first].set()  # the leader stops: the standby takes over within seconds
        await runs[first]
        await leader.close()
        async with asyncio.timeout(15):
            await standby.leadership.wait_leading()
        assert standby.scheduler.state == STATE_RUNNING
        await fake.wait_for("sendMessage", count=answered + 1)  # the new leader adopted it
        user.send_text("/trogiup")
        await fake.wait_for("sendMessage", count=answered + 2)  # through the new poller

        await standby.heartbeat.beat()
        health = await check_health(databases[0].engine, clock.now())
        assert [(i.id, i.leader) for i in health.instances] == [
            (standby.heartbeat.instance_id, True)  # the stopped one removed its row
        ]
        assert not [c for c in fake.calls_of("getUpdates") if c.status == 409]
    finally:
        for stop in stops:
            stop.set()
        await asyncio.gather(*runs)
        for index, runtime in enumerate(runtimes):
            if index != first:
                await runtime.close()
        for database in databases:
            await database.dispose()


async def test_healthz_names_the_instance_and_says_whether_it_leads() -> None:
    app = create_app([], about=lambda: {"instance": "may-chu-1:42:abcdef", "leader": True})
    async with TestClient(TestServer(app)) as client:
        reply = await client.get("/healthz")
        assert reply.status == 200
        assert await reply.json() == {
            "status": "ok",
            "instance": "may-chu-1:42:abcdef",
            "leader": True,
        }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_second_instance_on_one_sqlite_file_is_named_in_a_warning(
    database_url: str,
    clock: FrozenClock,
    fake: FakeTelegram,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    database = Database(database_url)
    async with UnitOfWork(database) as uow:
        await uow.instances.beat("may-chu-khac:4242:abcdef", clock.now(), leader=True)
        await uow.commit()
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        pgibot_data_dir=tmp_path / "data",
        telegram_bot_token=SecretStr(TOKEN),
        telegram_api_base_url=fake.base_url,
        telegram_api_file_url=fake.base_file_url,
    )
    stop = asyncio.Event()
    runtime = await Runtime.build(settings, clock, database, stop)
    assert runtime is not None
    try:
        assert await runtime.start(stop)
        running = asyncio.create_task(runtime.run(stop))
        async with asyncio.timeout(10):
            await runtime.leadership.wait_leading()  # on SQLite, at once
        stop.set()
        await running
    finally:
        stop.set()
        await runtime.close()
        await database.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(
        "Another instance (may-chu-khac:4242:abcdef)" in w and "PostgreSQL" in w for w in warnings
    ), warnings


def test_status_lists_the_instances_the_leader_first(capsys: pytest.CaptureFixture[str]) -> None:
    seen = datetime(2024, 11, 20, 2, 0, 5, tzinfo=UTC)
    started = seen - timedelta(hours=1)
    health = Health(kind="postgresql", reachable=True, outbox={"pending": 0})
    health.instances = [
        InstanceInfo("may-chu-1:10:aaaaaa", "may-chu-1", 10, started, seen, True),
        InstanceInfo("may-chu-2:20:bbbbbb", "may-chu-2", 20, started, seen, False),
    ]
    ops._instances(health)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Số phiên bản đang chạy: 2"
    assert lines[1] == (
        "  may-chu-1:10:aaaaaa (chính): khởi động lúc 20/11/2024 08:00, "
        "hoạt động gần nhất lúc 20/11/2024 09:00"
    )
    assert lines[2].startswith("  may-chu-2:20:bbbbbb (dự phòng):")
    assert ops.PROBLEMS[Problem.NO_LEADER]


# --- two real processes ---------------------------------------------------------------------


async def _instances(url: str) -> list[tuple[int, bool]]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = await session.execute(select(Instance.pid, Instance.leader))
            return [(pid, leader) for pid, leader in rows]
    finally:
        await database.dispose()


async def _until_instances(url: str, expected: Callable[[list[tuple[int, bool]]], bool]) -> None:
    """Wait until the heartbeats another process writes match (no event crosses processes)."""
    for _attempt in range(300):
        if expected(await _instances(url)):
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(await _instances(url))


async def _sweep_started(url: str) -> datetime | None:
    database = Database(url)
    try:
        async with database.session() as session:
            return await session.scalar(
                select(JobRun.started_at).where(JobRun.name == "reminders")
            )
    finally:
        await database.dispose()


@postgres_only
async def test_two_processes_the_leader_killed_and_the_other_polls_and_sweeps_within_15_s(
    database_url: str, tmp_path: Path
) -> None:
    async with FakeTelegram(token=TOKEN) as fake:
        env = BotProcess.environment(database_url, fake, tmp_path / "data")
        first = BotProcess(pgibot_command(None), env, tmp_path / "first.log", tmp_path)
        second = BotProcess(pgibot_command(None), env, tmp_path / "second.log", tmp_path)
        try:
            await first.start(fake)  # it polls: it leads
            await second.start(fake, polling=False)
            await _until_instances(
                database_url,
                lambda rows: sorted(rows) == sorted([(first.pid, True), (second.pid, False)]),
            )
            user = fake.user(4242, "Thăm", "Dò")
            user.send_text("/trogiup")
            await fake.wait_for("sendMessage", count=1, timeout=15)
            await first.kill()
            killed, seen, killed_at = time.monotonic(), len(fake.calls), datetime.now(UTC)
            assert await fake.wait_until(
                lambda: any(c.method == "getUpdates" for c in fake.calls[seen:]), 15
            ), "the other process did not take polling over within 15 s"
            took_over = time.monotonic() - killed
            user.send_text("/trogiup")
            await fake.wait_for("sendMessage", count=2, timeout=15)
            await _until_instances(database_url, lambda rows: (second.pid, True) in rows)
            swept = await _sweep_started(database_url)
            for _attempt in range(150):  # the new leader's scheduler runs the sweep at once
                if swept is not None and swept >= killed_at:
                    break
                await asyncio.sleep(0.1)
                swept = await _sweep_started(database_url)
            assert swept is not None and swept >= killed_at, swept
            assert (swept - killed_at).total_seconds() < 15
            code, _seconds = await second.terminate()
            assert code == 0
        finally:
            await first.kill()
            await second.kill()
    assert took_over < 15
    assert second.pid not in [pid for pid, _leader in await _instances(database_url)]
