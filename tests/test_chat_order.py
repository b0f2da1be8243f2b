"""One chat's updates in order across instances: webhooks to two instances on one PostgreSQL.

Two Telegram channels, each with its own database connection pool and web server (two
instances in one test process), receive one chat's updates alternately, as a load balancer
would hand them out. Each update is handled once, and in the order it was recorded, whichever
instance recorded it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from bot.channels.registry import describe
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel, TelegramConfig
from bot.core.clock import FrozenClock
from bot.core.messages import Reply
from bot.core.throttle import FloodLimits
from bot.web import create_app
from handlers.context import EVERYONE, BotInfo, Command, Context
from handlers.router import Router
from storage.db import Database
from storage.models import InboxUpdate
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.helpers import invite

TOKEN = "123456:TEST-TOKEN"
SECRET = "chat-order-secret"
UPDATES = 40
"""Updates per chat, sent alternately to the two instances."""

postgres_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class Instance:
    """One instance: its own Database (connection pool), router, channel and web server."""

    def __init__(self, url: str, fake: FakeTelegram, clock: FrozenClock, data_dir: Path) -> None:
        self.database = Database(url)
        self.fake, self.clock, self.data_dir = fake, clock, data_dir
        self.handled: list[tuple[str, str]] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.channel: TelegramChannel | None = None
        self.url = ""

    async def start(self, order: list[tuple[str, str]]) -> None:
        router = Router(self.database, self.clock, BotInfo(describe(), self.data_dir))

        async def note(ctx: Context) -> list[Reply]:
            entry = (ctx.incoming.chat_id, ctx.incoming.argument or "")
            order.append(entry)  # in the transaction that handles it, under the chat's turn
            self.handled.append(entry)
            return [Reply(f"ghi {entry[1]}")]

        router.add_command(Command("ghi", "note", EVERYONE, note))
        config = TelegramConfig(TOKEN, self.fake.base_url, self.fake.base_file_url)
        channel = TelegramChannel(config, router, self.database, self.clock, FloodLimits(1000))
        channel.config = replace(channel.config, webhook_secret=SECRET)
        self._runner = web.AppRunner(create_app([channel]))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        channel.config = replace(channel.config, webhook_url=self.url, webhook_secret=SECRET)
        await channel.start()
        self._task = asyncio.create_task(channel.run(self._stop))
        self.channel = channel

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        if self._runner is not None:
            await self._runner.cleanup()
        if self.channel is not None:
            await self.channel.stop()
        await self.database.dispose()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


async def _post(client: ClientSession, url: str, update: dict[str, Any]) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with client.post(url, json=update, headers=headers) as answer:
        assert answer.status == 200


async def _register(
    client: ClientSession, url: str, fake: FakeTelegram, user: FakeUser, code: str
) -> None:
    seen = len(fake.calls_of("sendMessage"))
    await _post(client, url, user.send_text(f"/start {code}", queue=False))
    for _ in range(200):
        if len(fake.calls_of("sendMessage")) > seen:
            return
        await asyncio.sleep(0.05)
    pytest.fail("the registration was not answered")


@postgres_only
async def test_one_chats_updates_in_order_across_two_instances(
    fake: FakeTelegram,
    database: Database,
    database_url: str,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    order: list[tuple[str, str]] = []
    instances = [Instance(database_url, fake, clock, tmp_path / "data") for _ in range(2)]
    for instance in instances:
        await instance.start(order)
    users = [fake.user(5100 + n, f"Cán bộ {n}") for n in range(3)]
    try:
        async with ClientSession() as client:
            for user in users:
                code = await invite(database, clock, "SNV")
                await _register(client, instances[0].url, fake, user, code)

            async def chat(user: FakeUser) -> None:
                # Like Telegram: the next update of a chat after the last one's 200.
                for n in range(UPDATES):
                    update = user.send_text(f"/ghi {n}", queue=False)
                    await _post(client, instances[n % 2].url, update)

            await asyncio.gather(*(chat(user) for user in users))
            for _ in range(400):
                if len(order) >= UPDATES * len(users):
                    break
                await asyncio.sleep(0.05)
        for instance in instances:
            assert instance.channel is not None
            await instance.channel.wait_idle()
    finally:
        for instance in instances:
            await instance.stop()

    for user in users:
        chat_id = str(user.id)
        assert [n for c, n in order if c == chat_id] == [str(n) for n in range(UPDATES)]
        sent = [
            str(call.params["text"])
            for call in fake.calls_of("sendMessage")
            if str(call.params.get("chat_id")) == chat_id and call.ok
        ]
        assert sorted(t for t in sent if t.startswith("ghi ")) == sorted(
            f"ghi {n}" for n in range(UPDATES)
        )  # every update answered once, by the instance that handled it
    assert all(instance.handled for instance in instances)  # both instances did handle some
    async with database.session() as session:
        waiting = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.processed_at.is_(None))
        )
    assert waiting == 0
