"""The runtime wires the bot from its settings alone: channels from the registry, one outbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.runtime import NoChannel, Runtime
from storage.db import Database
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite

TELEGRAM_TOKEN = "123456:TEST-TOKEN"
ZALO_TOKEN = "98765:zalo-test-secret"


async def test_a_runtime_from_settings_runs_both_channels_and_delivers_a_notice(
    database_url: str,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    async with FakeTelegram(token=TELEGRAM_TOKEN) as telegram, FakeZalo(token=ZALO_TOKEN) as zalo:
        settings = Settings(
            _env_file=None,
            database_url=database_url,
            pgibot_data_dir=tmp_path / "data",
            telegram_bot_token=SecretStr(TELEGRAM_TOKEN),
            telegram_api_base_url=telegram.base_url,
            telegram_api_file_url=telegram.base_file_url,
            zalo_bot_token=SecretStr(ZALO_TOKEN),
            zalo_api_base_url=zalo.base_url,
        )
        stop = asyncio.Event()
        runtime = await Runtime.build(settings, clock, database, stop)
        assert runtime is not None
        assert [channel.name for channel in runtime.channels] == ["telegram", "zalo"]
        described = runtime.router.bot_info.platform("telegram")
        assert described is not None and described.chat_link == "https://t.me/pgi_test_bot"
        running: asyncio.Task[None] | None = None
        try:
            assert await runtime.start(stop)
            running = asyncio.create_task(runtime.run(stop))
            coordinator = telegram.user(1001, "Điều", "Phối")
            coordinator.send_text(
                f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}"
            )
            await telegram.wait_for_text(coordinator.id, "Đăng ký thành công")
            officer = zalo.user("z-officer", display_name="Nguyễn Thị Lan")
            officer.send_text(await invite(database, clock, "sxd"))
            await zalo.wait_for_text(officer.id, "Đăng ký thành công")
            coordinator.send_text("/thongbao Họp trực tuyến lúc 14 giờ.")
            await telegram.wait_for_text(coordinator.id, "gửi tới 1 cán bộ")
            # Delivered by the outbox worker: the router woke it through the runtime's wiring.
            await zalo.wait_for_text(officer.id, "Họp trực tuyến lúc 14 giờ.")
        finally:
            stop.set()
            if running is not None:
                await running
            await runtime.close()


async def test_without_a_token_the_runtime_refuses_to_build(
    database_url: str, database: Database, clock: FrozenClock
) -> None:
    settings = Settings(_env_file=None, database_url=database_url)
    with pytest.raises(NoChannel):
        await Runtime.build(settings, clock, database, asyncio.Event())
