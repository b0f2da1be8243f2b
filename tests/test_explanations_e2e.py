"""An explanation request end to end, over real HTTP: Telegram's buttons and Zalo's numbers.

The coordinator and the agency's leader use Telegram (python-telegram-bot against the fake Bot
API); the agency's officer uses Zalo (the fake Zalo Bot Platform) and answers by typing the
number of the choice. The request, its reminder and the answer's notice go through the outbox
worker to both platforms.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.channels.zalo import ZaloSender
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.reminders import Reminders
from storage.db import Database
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite
from tests.test_explanations import ANSWER, at
from tests.test_telegram_e2e import TOKEN as TELEGRAM_TOKEN
from tests.test_telegram_e2e import Bot as TelegramBot
from tests.test_telegram_e2e import ask, button
from tests.test_zalo_e2e import TOKEN as ZALO_TOKEN
from tests.test_zalo_e2e import Running as ZaloBot
from tests.test_zalo_e2e import say


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TELEGRAM_TOKEN) as server:
        yield server


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo(token=ZALO_TOKEN) as server:
        yield server


async def _register(
    telegram: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    user_id: int,
    agency: str,
    role: Role,
) -> FakeUser:
    user = telegram.user(user_id, first_name=role.value)
    code = await invite(database, clock, agency, role)
    await ask(telegram, user, lambda: user.send_text(f"/start {code}"), "Đăng ký thành công")
    return user


async def _with_button(telegram: FakeTelegram, user: FakeUser, label: str) -> dict[str, Any]:
    """Wait for, and return, the latest message to a user with a button starting with a label."""

    def found() -> dict[str, Any] | None:
        for message in reversed(telegram.sent_to(user.id)):
            rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
            if any(key["text"].startswith(label) for row in rows for key in row):
                return message
        return None

    assert await telegram.wait_until(lambda: found() is not None, 10.0), label
    message = found()
    assert message is not None
    return message


async def test_an_explanation_over_telegram_and_zalo(
    telegram: FakeTelegram,
    zalo: FakeZalo,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    telegram_bot = TelegramBot(telegram, database, clock, tmp_path / "telegram")
    zalo_bot = ZaloBot(zalo, database, clock, tmp_path / "zalo")
    await telegram_bot.start()
    zalo_channel = await zalo_bot.start()
    try:
        async with new_bot(
            TelegramConfig(TELEGRAM_TOKEN, telegram.base_url, telegram.base_file_url)
        ) as client:
            worker = OutboxWorker(
                database,
                {"telegram": TelegramSender(client), "zalo": ZaloSender(zalo_channel.client)},
                clock,
                DeliveryLimits(rate=1000, chat_interval=0),
            )
            await _scenario(telegram, zalo, database, clock, worker)
    finally:
        await telegram_bot.stop()
        await zalo_bot.stop()


async def _scenario(
    telegram: FakeTelegram,
    zalo: FakeZalo,
    database: Database,
    clock: FrozenClock,
    worker: OutboxWorker,
) -> None:
    coordinator = await _register(telegram, database, clock, 6001, "stnmt", Role.COORDINATOR)
    leader = await _register(telegram, database, clock, 6002, "sct", Role.LEADER)
    officer = zalo.user("0fc1", display_name="Cán bộ Zalo")
    code = await invite(database, clock, "sct")
    await say(zalo, officer, f"/start {code}", "Đăng ký thành công")
    clock.set(at(16))  # the 10/12/2024 deadline has passed; Sở Công Thương has not reported

    # Asked from /chuabaocao, confirmed on the preview (edited in place).
    await ask(
        telegram, coordinator, lambda: coordinator.send_text("/chuabaocao"), "chưa báo cáo đủ"
    )
    label = "Yêu cầu giải trình: Sở Công Thương"
    late = await _with_button(telegram, coordinator, label)  # a long answer: the buttons come last
    ask_button = button(late, label)
    preview = await ask(
        telegram, coordinator, lambda: coordinator.press(late["message_id"], ask_button), "Gửi"
    )
    confirm = button(preview, "Xác nhận")
    await ask(
        telegram,
        coordinator,
        lambda: coordinator.press(preview["message_id"], confirm),
        "Đã gửi yêu cầu giải trình tới 2 thành viên của Sở Công Thương",
    )

    # Delivered through the outbox: a button on Telegram, a numbered line on Zalo.
    assert await worker.deliver_due() >= 2
    [request] = [m for m in telegram.sent_to(leader.id) if "đề nghị" in m["text"]]
    assert "giải trình lý do chưa báo cáo đúng hạn" in request["text"]
    explain = button(request, "Giải trình")
    on_zalo = await zalo.wait_for_text(officer.id, "giải trình lý do chưa báo cáo đúng hạn")
    assert "1. Giải trình" in str(on_zalo.params["text"])

    # Reminded on the working day after the answer deadline (19/12), once.
    for moment in (at(20), at(20, 11)):
        clock.set(moment)
        async with UnitOfWork(database) as uow:
            await Reminders().sweep(uow, clock.now())
        await worker.deliver_due()
    reminders = [m for m in telegram.sent_to(leader.id) if "chưa trả lời yêu cầu" in m["text"]]
    assert len(reminders) == 1
    await zalo.wait_for_text(officer.id, "chưa trả lời yêu cầu giải trình")

    # The officer answers on Zalo: /giaitrinh (as the message says), the number, one message.
    await say(zalo, officer, "/giaitrinh", "1. Giải trình: ")
    await say(zalo, officer, "1", "nhập nội dung giải trình")
    await say(zalo, officer, ANSWER, "Đã ghi nhận nội dung giải trình")
    await ask(
        telegram,
        leader,
        lambda: leader.press(request["message_id"], explain),
        "đã được đồng chí Cán bộ Zalo trả lời",
    )
    await worker.deliver_due()
    told = [
        m for m in telegram.sent_to(coordinator.id) if "đã gửi nội dung giải trình" in m["text"]
    ]
    assert len(told) == 1 and ANSWER in told[0]["text"]

    # Shown and counted.
    await ask(
        telegram,
        coordinator,
        lambda: coordinator.send_text("/tonghop"),
        "Yêu cầu giải trình: đã yêu cầu 1, đã giải trình 1, quá hạn chưa giải trình 0.",
    )
    await say(zalo, officer, "/lichsu", ANSWER[:40])
