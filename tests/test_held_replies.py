"""Direct replies go the outbox's durable way: held in the transaction, sent, then marked.

A reply is written to the outbox in the transaction that handled its update, claimed by the
instance that handles it; that instance sends it at once and marks it sent. An instance that
dies between the commit and the send leaves it claimed: once the claim has run out, the
outbox worker (the leader's, here another instance's) delivers it, so the officer's receipt
is never lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.registry import describe
from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.channels.telegram_parse import to_incoming
from bot.core.clock import FrozenClock
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.context import BotInfo
from handlers.router import Inbound, Router
from storage.db import Database
from storage.models import OutboxMessage
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.helpers import invite
from tests.test_telegram_e2e import TOKEN, Bot, ask, register


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


async def _replies(database: Database) -> list[OutboxMessage]:
    async with database.session() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.kind == "reply")
                .order_by(OutboxMessage.id)
            )
        )


async def _worker(database: Database, fake: FakeTelegram, clock: FrozenClock) -> int:
    """Let another instance's outbox worker deliver what is due; return how many it handled."""
    config = TelegramConfig(TOKEN, fake.base_url, fake.base_file_url)
    async with new_bot(config) as bot:
        worker = OutboxWorker(
            database,
            {"telegram": TelegramSender(bot)},
            clock,
            DeliveryLimits(rate=100, chat_interval=0),
            claimant="instance-b",
        )
        return await worker.deliver_due()


async def test_sent_replies_are_marked_sent_and_not_sent_again(
    fake: FakeTelegram, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    bot = Bot(fake, database, clock, tmp_path / "data")
    bot.replies_claimant = "instance-a"
    await bot.start()
    try:
        user = await register(fake, database, clock)
        await ask(fake, user, lambda: user.send_text("/trogiup"), "/baocao")
        for _ in range(100):
            held = await _replies(database)
            if held and all(row.status == "sent" for row in held):
                break
            await asyncio.sleep(0.05)
    finally:
        await bot.stop()
    assert len(held) >= 2  # the registration's welcome and the help
    assert {(row.status, row.claimed_by) for row in held} == {("sent", None)}
    sent_before = len(fake.calls_of("sendMessage"))
    clock.advance(timedelta(minutes=5))
    assert await _worker(database, fake, clock) == 0
    assert len(fake.calls_of("sendMessage")) == sent_before


async def _handle(router: Router, database: Database, user: FakeUser, text: str) -> None:
    """Record an update in the inbox and handle it; its replies are never sent (a crash)."""
    update = user.send_text(text, queue=False)
    async with UnitOfWork(database) as uow:
        (entry,) = await uow.inbox.record_all(
            "telegram", [(str(update["update_id"]), update)], router._clock.now()
        )
        await uow.commit()
    incoming = to_incoming(update, entry.update_key)
    assert incoming is not None
    await router.handle_batch([Inbound(incoming, entry.id)])


async def test_a_reply_whose_instance_died_before_sending_is_delivered_after_the_claim(
    fake: FakeTelegram, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    router = Router(
        database, clock, BotInfo(describe(), tmp_path / "data"), replies_claimant="instance-a"
    )
    user = fake.user(5002, first_name="Minh")
    code = await invite(database, clock, "sxd")
    await _handle(router, database, user, f"/start {code}")
    await _handle(router, database, user, "/trogiup")
    held = await _replies(database)
    assert [(row.status, row.claimed_by) for row in held] == [("sending", "instance-a")] * 2
    assert set(router.held) == {
        int(key.split(":")[2]) for key in (row.dedupe_key for row in held)
    }  # the channel would take them after sending

    clock.advance(timedelta(seconds=30))  # instance A may still be sending: not taken over
    assert await _worker(database, fake, clock) == 0
    clock.advance(timedelta(seconds=61))  # its claim has run out
    assert await _worker(database, fake, clock) == 2
    texts = [str(call.params["text"]) for call in fake.calls_of("sendMessage") if call.ok]
    assert len(texts) == 2
    assert "Đăng ký thành công" in texts[0] and "/baocao" in texts[1]
    assert {row.status for row in await _replies(database)} == {"sent"}
