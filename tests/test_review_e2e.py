"""The review loop end to end over real HTTP, on Telegram (buttons) and Zalo (numbered choices).

An officer reports; the coordinator returns the report with a reason; the officer receives the
reason and the "Bổ sung ngay" button through the outbox, supplements the report after the
deadline; the coordinator is told it arrived and accepts it. ``/tonghop``, ``/lichsu`` and the
spreadsheet show each step.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.throttle import FloodLimits
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.exports.registry import ExportScope, export
from storage.db import Database
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite
from tests.test_channels_e2e import Driver, TelegramDriver, ZaloDriver
from tests.test_telegram_e2e import TOKEN as TELEGRAM_TOKEN
from tests.test_telegram_e2e import Bot as TelegramBot
from tests.test_zalo_e2e import TOKEN as ZALO_TOKEN
from tests.test_zalo_e2e import Running as ZaloBot

AFTER_DEADLINE = datetime(2024, 12, 16, 2, 0, tzinfo=UTC)  # Monday 16/12/2024, 09:00
REASON = "Đề nghị bổ sung kinh phí đã sử dụng và biên bản nghiệm thu."


@dataclass
class Scene:
    officer: Driver
    coordinator: Driver
    worker: OutboxWorker

    clock: FrozenClock

    async def deliver(self) -> None:
        """Deliver what the outbox holds a minute later (the worker's own pass, awaited)."""
        self.clock.advance(timedelta(minutes=1))
        await self.worker.deliver_due(asyncio.Event())


@pytest.fixture(params=["telegram", "zalo"])
async def scene(
    request: pytest.FixtureRequest, database: Database, clock: FrozenClock, tmp_path: Path
) -> AsyncIterator[Scene]:
    limits = DeliveryLimits(rate=50, chat_interval=0, backoff_base=0.05)
    if request.param == "telegram":
        async with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
            bot = TelegramBot(fake, database, clock, tmp_path / "data")
            officer: Driver = TelegramDriver(fake, bot)
            coordinator = TelegramDriver(fake, bot)
            coordinator.user = fake.user(7002, first_name="Hoa")
            await officer.start()
            assert bot.channel is not None
            worker = OutboxWorker(database, {"telegram": bot.channel.sender}, clock, limits)
            yield Scene(officer, coordinator, worker, clock)
            await bot.stop()
    else:
        async with FakeZalo(token=ZALO_TOKEN) as zfake:
            zbot = ZaloBot(zfake, database, clock, tmp_path / "data")
            zbot.flood = FloodLimits(burst=40)  # the officer's whole loop at test speed
            officer = ZaloDriver(zfake, zbot)
            zcoordinator = ZaloDriver(zfake, zbot)
            zcoordinator.user = zfake.user("8a8b8c", display_name="Hoa")
            await officer.start()
            assert zbot.channel is not None
            worker = OutboxWorker(database, {"zalo": zbot.channel.sender}, clock, limits)
            yield Scene(officer, zcoordinator, worker, clock)
            await zbot.stop()


async def _workbook_lines(database: Database, clock: FrozenClock) -> list[tuple[object, ...]]:
    async with UnitOfWork(database) as uow:
        made = await export(uow.summaries, "xlsx", ExportScope(2024), clock.now().date())
    assert made is not None
    sheet = openpyxl.load_workbook(io.BytesIO(made.content)).worksheets[3]
    header = [cell.value for cell in sheet[1]]
    review = header.index("Xem xét")
    return [row[review : review + 4] for row in sheet.iter_rows(min_row=2, values_only=True)]


async def test_the_review_loop(scene: Scene, database: Database, clock: FrozenClock) -> None:
    officer, coordinator = scene.officer, scene.coordinator
    await officer.say(f"/start {await invite(database, clock, 'sxd')}", "Đăng ký thành công")
    code = await invite(database, clock, "stnmt", Role.COORDINATOR)
    await coordinator.say(f"/start {code}", "Đăng ký thành công")
    # the officer reports
    await officer.say("/baocao 1.b.1", "tình trạng thực hiện nhiệm vụ")
    await officer.choose("Đang triển khai", "phần trăm")
    await officer.say("60", "kết quả thực hiện")
    await officer.say("Đã rà soát 12 công trình cấp nước.", "minh chứng")
    await officer.choose("Bỏ qua", "kiểm tra lại")
    await officer.choose("Xác nhận", "Đã ghi nhận báo cáo số 2024/")
    await coordinator.say("/tonghop", "chờ xem xét 1")
    # the coordinator returns it with a reason
    queue = await coordinator.say("/duyet sxd", "Báo cáo chờ xem xét (1)")
    assert "Sở Xây dựng" in queue and "Đang triển khai, 60%" in queue
    await coordinator.choose("Trả lại 1", "nhập lý do")
    await coordinator.say(REASON, "Đã trả lại báo cáo của Sở Xây dựng")
    await coordinator.say("/tonghop", "trả lại 1")
    [(state, reviewer, _, reason)] = await _workbook_lines(database, clock)
    assert (state, reviewer, reason) == ("Trả lại để bổ sung", "Hoa", REASON)
    # the officer receives the reason and the button, and supplements after the deadline
    clock.set(AFTER_DEADLINE)
    await officer.say("/lichsu", "Trả lại để bổ sung (đồng chí Hoa")
    await scene.deliver()
    # on Zalo the notice's "Bổ sung ngay" is a numbered line, and the typed number names it
    await officer.choose("Bổ sung ngay", f"Lý do: {REASON}")
    await officer.choose("Kết quả", "Đã rà soát 12 công trình cấp nước.")
    await officer.say("Đã rà soát 12 công trình, kinh phí 2,4 tỷ đồng.", "kiểm tra lại")
    await officer.choose("Xác nhận", "phiên bản 2")
    # the coordinator is told and accepts
    await scene.deliver()
    await coordinator.choose("Xem xét ngay", "phiên bản 2")
    await coordinator.choose("Tiếp nhận 1", "Đã tiếp nhận báo cáo của Sở Xây dựng")
    await coordinator.say("/tonghop", "đã tiếp nhận 1 · trả lại 0 · chờ xem xét 0")
    await scene.deliver()
    await officer.say("/lichsu", "Đã tiếp nhận (đồng chí Hoa")
    lines = await _workbook_lines(database, clock)
    assert [(state, reviewer, reason) for state, reviewer, _, reason in lines] == [
        ("Trả lại để bổ sung", "Hoa", REASON),
        ("Đã tiếp nhận", "Hoa", None),
    ]
    assert all(isinstance(at, datetime) for _, _, at, _ in lines)
