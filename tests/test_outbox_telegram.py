"""The outbox worker against the fake Bot API: limits held, faults survived, nothing lost."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.channels.telegram_http import LeanBot
from bot.core.clock import SystemClock
from bot.core.domain.members import Role
from bot.outbox import DeliveryLimits, OutboxWorker
from storage.db import Database
from storage.models import MemberIdentity, OutboxMessage
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram

TOKEN = "777:OUTBOX"


@pytest.fixture
async def fake_limited() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, enforce_limits=True) as server:
        yield server


def _bot(fake: FakeTelegram) -> LeanBot:
    """The bot's own Bot API client, as the running bot makes it."""
    return new_bot(TelegramConfig(TOKEN, fake.base_url, fake.base_file_url))


async def _queue(database: Database, chats: int, each: int) -> None:
    now = datetime.now(UTC)
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
                    dedupe_key=f"test:{chat}:{n}",
                    now=now,
                )
        await uow.commit()


async def _deliver_all(
    database: Database,
    fake: FakeTelegram,
    expected: int,
    limits: DeliveryLimits,
) -> None:
    async with _bot(fake) as bot:
        worker = OutboxWorker(database, {"telegram": TelegramSender(bot)}, SystemClock(), limits)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            await fake.wait_for(
                "sendMessage", count=expected, predicate=lambda c: c.ok, timeout=60
            )
        finally:
            stop.set()
            await running


async def _statuses(database: Database) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


async def test_limits_hold_and_every_message_arrives_once(
    database: Database, fake_limited: FakeTelegram
) -> None:
    await _queue(database, chats=20, each=3)
    await _deliver_all(database, fake_limited, 60, DeliveryLimits(rate=25, chat_interval=1.0))
    assert fake_limited.rate_limited == 0
    for chat in range(1, 21):
        texts = [m["text"] for m in fake_limited.sent_to(chat)]
        assert texts == [f"Tin nhắc số {n} cho cán bộ {chat}" for n in range(3)]
        times = [
            c.time for c in fake_limited.calls_of("sendMessage") if c.params["chat_id"] == chat
        ]
        assert all(b - a >= 0.95 for a, b in itertools.pairwise(times))
    assert set(await _statuses(database)) == {"sent"}


async def test_429_and_500_delay_delivery_but_lose_and_duplicate_nothing(
    database: Database, fake_limited: FakeTelegram
) -> None:
    await _queue(database, chats=5, each=2)
    fake_limited.fail_next("sendMessage", code=429, retry_after=1)
    fake_limited.fail_next("sendMessage", code=500, times=2)
    fake_limited.fail_next("sendMessage", code=502, times=1)
    limits = DeliveryLimits(rate=25, chat_interval=0.2, backoff_base=0.05)
    await _deliver_all(database, fake_limited, 10, limits)
    sent = [c for c in fake_limited.calls_of("sendMessage") if c.ok]
    assert len(sent) == 10
    assert len({c.params["text"] for c in sent}) == 10  # no duplicates
    limited = next(c for c in fake_limited.calls_of("sendMessage") if c.status == 429)
    assert all(c.time - limited.time >= 0.95 for c in sent if c.time > limited.time)
    assert set(await _statuses(database)) == {"sent"}


async def worker_settled(database: Database) -> None:
    """Wait until no outbox message is being sent any more."""
    for _ in range(200):
        async with database.session() as session:
            busy = await session.scalar(
                select(OutboxMessage.id).where(OutboxMessage.status == "sending").limit(1)
            )
        if busy is None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the outbox worker did not settle")


async def test_a_blocked_user_is_marked_and_not_retried(
    database: Database, fake_limited: FakeTelegram
) -> None:
    await _queue(database, chats=2, each=1)
    fake_limited.block_chat(2)
    limits = DeliveryLimits(rate=25, chat_interval=0)
    async with _bot(fake_limited) as bot:
        worker = OutboxWorker(database, {"telegram": TelegramSender(bot)}, SystemClock(), limits)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await fake_limited.wait_for("sendMessage", count=2)  # one sent, one refused
        await worker_settled(database)
        stop.set()
        await running
    statuses = await _statuses(database)
    async with database.session() as session:
        reachable = await session.scalar(
            select(MemberIdentity.reachable).where(MemberIdentity.chat_id == "2")
        )
    async with UnitOfWork(database) as uow:
        blocked = await uow.notifications.unreachable_members()
    assert statuses == ["sent", "blocked"]
    assert reachable is False
    assert blocked == [("Cán bộ 2", "Sở Công Thương")]
    assert len([c for c in fake_limited.calls_of("sendMessage") if c.params["chat_id"] == 2]) == 1


async def test_failures_after_the_last_retry_are_kept_for_the_coordinator(
    database: Database, fake_limited: FakeTelegram
) -> None:
    await _queue(database, chats=1, each=1)
    fake_limited.fail_next("sendMessage", code=500, times=10)
    limits = DeliveryLimits(rate=25, chat_interval=0, backoff_base=0.01, max_attempts=3)
    async with _bot(fake_limited) as bot:
        worker = OutboxWorker(database, {"telegram": TelegramSender(bot)}, SystemClock(), limits)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await fake_limited.wait_for("sendMessage", count=3)
        stop.set()
        await running
    async with UnitOfWork(database) as uow:
        failed = await uow.notifications.undeliverable(datetime(2000, 1, 1, tzinfo=UTC))
    assert failed == [("Cán bộ 1", "Sở Công Thương", "failed")]
    assert len(fake_limited.calls_of("sendMessage")) == 3


async def test_a_stop_sends_only_what_is_on_the_wire_and_keeps_the_rest(
    database: Database, fake_limited: FakeTelegram
) -> None:
    await _queue(database, chats=60, each=1)  # at 5 a second: twelve seconds of sending
    limits = DeliveryLimits(rate=5.0, chat_interval=1.0)
    async with _bot(fake_limited) as bot:
        worker = OutboxWorker(database, {"telegram": TelegramSender(bot)}, SystemClock(), limits)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await fake_limited.wait_for("sendMessage", count=3, predicate=lambda c: c.ok)
        stop.set()
        await asyncio.wait_for(running, timeout=2.0)  # not the twelve seconds of the batch
    async with database.session() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    sent = [r for r in rows if r.status == "sent"]
    kept = [r for r in rows if r.status == "pending"]
    assert len(sent) + len(kept) == 60 and len(kept) >= 40
    assert all(r.attempts == 0 for r in kept)  # given back untried, not counted as failures
    assert len(sent) == len([c for c in fake_limited.calls_of("sendMessage") if c.ok])
