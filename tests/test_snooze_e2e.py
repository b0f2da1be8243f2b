"""The "Nhắc lại sau" button end to end, over real HTTP: the real bot on Telegram
(python-telegram-bot against the fake Bot API), the reminder delivered by the outbox worker,
the button pressed, the reminder back once at the hour chosen and not before, the leader's
escalation not held."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.reminders import Reminders
from storage.db import Database
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.test_explanations import at
from tests.test_explanations_e2e import _register, _with_button, telegram
from tests.test_reminders import CALENDAR, POLICY
from tests.test_telegram_e2e import TOKEN as TELEGRAM_TOKEN
from tests.test_telegram_e2e import Bot as TelegramBot
from tests.test_telegram_e2e import ask, button

__all__ = ["telegram"]  # the fake server's fixture

GREETING = "Kính gửi đồng chí"


def _reminders_to(fake: FakeTelegram, user: FakeUser) -> list[dict[str, Any]]:
    return [m for m in fake.sent_to(user.id) if str(m.get("text", "")).startswith(GREETING)]


async def test_remind_me_later_over_telegram(
    telegram: FakeTelegram, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    bot = TelegramBot(telegram, database, clock, tmp_path / "telegram")
    await bot.start()
    reminders = Reminders(POLICY, CALENDAR)
    async with new_bot(
        TelegramConfig(TELEGRAM_TOKEN, telegram.base_url, telegram.base_file_url)
    ) as client:
        worker = OutboxWorker(
            database,
            {"telegram": TelegramSender(client)},
            clock,
            DeliveryLimits(rate=1000, chat_interval=0),
        )

        async def sweep(moment: datetime) -> None:
            clock.set(moment)
            async with UnitOfWork(database) as uow:
                await reminders.sweep(uow, clock.now())
            await worker.deliver_due()

        clock.set(at(2))
        officer = await _register(telegram, database, clock, 7101, "sct", Role.OFFICER)
        leader = await _register(telegram, database, clock, 7102, "sct", Role.LEADER)

        await sweep(at(3, 8))  # seven days before 10/12/2024: the officer is reminded
        reminder = await _with_button(telegram, officer, "Nhắc lại sau")
        assert len(_reminders_to(telegram, officer)) == 1
        assert _reminders_to(telegram, leader) == []
        clock.set(at(3, 9))
        offered = await ask(
            telegram,
            officer,
            lambda: officer.press(reminder["message_id"], button(reminder, "Nhắc lại sau")),
            "nhắc lại",
        )
        assert "Chiều nay (15:00)" in str(offered["reply_markup"])
        await ask(
            telegram,
            officer,
            lambda: officer.press(offered["message_id"], button(offered, "Chiều nay")),
            "15:00, thứ Ba, 03/12/2024",
        )
        await sweep(at(3, 14))  # not before the hour chosen
        assert len(_reminders_to(telegram, officer)) == 1
        await sweep(at(3, 15))  # at the hour chosen: once
        await sweep(at(3, 16))
        again = _reminders_to(telegram, officer)
        assert len(again) == 2 and "Nhắc lại sau" in str(again[-1]["reply_markup"])
        await sweep(at(4, 8))  # the next day has no step of its own
        assert len(_reminders_to(telegram, officer)) == 2

        # the first day late: the leader is escalated to whatever the officer snoozed
        await sweep(at(10, 8))
        clock.set(at(10, 9))
        latest = _reminders_to(telegram, officer)[-1]
        tomorrow = await ask(
            telegram,
            officer,
            lambda: officer.press(latest["message_id"], button(latest, "Nhắc lại sau")),
            "nhắc lại",
        )
        await ask(
            telegram,
            officer,
            lambda: officer.press(tomorrow["message_id"], button(tomorrow, "Sáng mai")),
            "thứ Tư, 11/12/2024",
        )
        before = len(_reminders_to(telegram, officer))
        await sweep(at(11, 8))
        assert len(_reminders_to(telegram, leader)) == 1  # late-1: the escalation
        assert len(_reminders_to(telegram, officer)) == before + 1  # the snooze ends: once
    await bot.stop()
