"""/giahan end to end, over real HTTP: granted, granted to another date, refused.

The coordinator and the agency's leader use Telegram (python-telegram-bot against the fake Bot
API); the agency's officer uses Zalo and answers by typing the number of a choice (the first
request). Requests and answers go through the outbox worker to both platforms.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.channels.telegram import TelegramConfig, TelegramSender, new_bot
from bot.channels.zalo import ZaloSender
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.outbox import DeliveryLimits, OutboxWorker
from storage.db import Database
from storage.models import ExtensionRequest
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite
from tests.test_explanations import at
from tests.test_explanations_e2e import _register, _with_button, telegram, zalo
from tests.test_telegram_e2e import TOKEN as TELEGRAM_TOKEN
from tests.test_telegram_e2e import Bot as TelegramBot
from tests.test_telegram_e2e import ask, button
from tests.test_zalo_e2e import Running as ZaloBot
from tests.test_zalo_e2e import say

__all__ = ["telegram", "zalo"]  # the fake servers' fixtures

REASON = "Chờ số liệu khảo sát doanh nghiệp của Trung ương."


async def test_giahan_granted_granted_to_another_date_and_refused(
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
            coordinator = await _register(
                telegram, database, clock, 7001, "stnmt", Role.COORDINATOR
            )
            leader = await _register(telegram, database, clock, 7002, "sct", Role.LEADER)
            officer = zalo.user("0fc7", display_name="Cán bộ Zalo")
            await say(zalo, officer, f"/start {await invite(database, clock, 'sct')}", "Đăng ký")
            clock.set(at(5))  # before the 10/12/2024 deadline

            # 1. The officer asks on Zalo (numbers and typed answers); the coordinator agrees.
            await say(zalo, officer, "/giahan", "2. Báo cáo kết quả thực hiện…, hạn 10/12")
            await say(zalo, officer, "2", "1. Toàn bộ báo cáo")
            await say(zalo, officer, "1", "Hạn hiện tại là thứ Ba, 10/12/2024")
            await say(zalo, officer, "tuần sau", "không phải là ngày")
            await say(zalo, officer, "21/12/2024", "không phải ngày làm việc")
            await say(zalo, officer, "20/12/2024", "lý do xin gia hạn")
            await say(zalo, officer, REASON, "đã được gửi tới cơ quan điều phối")
            await worker.deliver_due()
            request = await _with_button(telegram, coordinator, "Đồng ý")
            assert "Sở Công Thương xin gia hạn" in request["text"] and REASON in request["text"]
            await ask(
                telegram,
                coordinator,
                lambda: coordinator.press(request["message_id"], button(request, "Đồng ý")),
                "Đã đồng ý gia hạn: Sở Công Thương được báo cáo đến thứ Sáu, 20/12/2024",
            )
            await worker.deliver_due()
            told = [m for m in telegram.sent_to(leader.id) if "đã được gia hạn" in m["text"]]
            assert len(told) == 1 and "Đã gia hạn từ thứ Ba, 10/12/2024" in told[0]["text"]
            await zalo.wait_for_text(officer.id, "đã được gia hạn")

            # 2. The leader asks on Telegram; the coordinator grants another date.
            which = await ask(
                telegram, leader, lambda: leader.send_text("/giahan"), "hạn báo cáo nào"
            )
            assert "hạn 20/12" in str(which["reply_markup"])
            menu = await ask(
                telegram,
                leader,
                lambda: leader.press(which["message_id"], button(which, "Báo cáo kết quả")),
                "Xin gia hạn Báo cáo kết quả",
            )
            await ask(
                telegram,
                leader,
                lambda: leader.press(menu["message_id"], button(menu, "Toàn bộ báo cáo")),
                "Hạn hiện tại là thứ Sáu, 20/12/2024",
            )
            await ask(telegram, leader, lambda: leader.send_text("27/12/2024"), "lý do")
            await ask(telegram, leader, lambda: leader.send_text(REASON), "đã được gửi")
            await worker.deliver_due()
            second = await _with_button(telegram, coordinator, "Đồng ý đến ngày khác")
            assert "thứ Sáu, 27/12/2024" in second["text"]
            await ask(
                telegram,
                coordinator,
                lambda: coordinator.press(
                    second["message_id"], button(second, "Đồng ý đến ngày khác")
                ),
                "nhập ngày đồng ý gia hạn đến",
            )
            await ask(
                telegram,
                coordinator,
                lambda: coordinator.send_text("26/12/2024"),
                "được báo cáo đến thứ Năm, 26/12/2024",
            )
            # a second press of an answered request changes nothing
            await ask(
                telegram,
                coordinator,
                lambda: coordinator.press(second["message_id"], button(second, "Đồng ý")),
                "đã được đồng chí",
            )

            # 3. The leader asks once more; the coordinator refuses, with a reason.
            which = await ask(
                telegram, leader, lambda: leader.send_text("/giahan"), "hạn báo cáo nào"
            )
            assert "hạn 26/12" in str(which["reply_markup"])
            menu = await ask(
                telegram,
                leader,
                lambda: leader.press(which["message_id"], button(which, "Báo cáo kết quả")),
                "Xin gia hạn Báo cáo kết quả",
            )
            await ask(
                telegram,
                leader,
                lambda: leader.press(menu["message_id"], button(menu, "Toàn bộ báo cáo")),
                "Hạn hiện tại là thứ Năm, 26/12/2024",
            )
            await ask(telegram, leader, lambda: leader.send_text("31/12/2024"), "lý do")
            await ask(telegram, leader, lambda: leader.send_text(REASON), "đã được gửi")
            await worker.deliver_due()
            third = await _with_button(telegram, coordinator, "Không đồng ý")
            assert "thứ Ba, 31/12/2024" in third["text"]
            await ask(
                telegram,
                coordinator,
                lambda: coordinator.press(third["message_id"], button(third, "Không đồng ý")),
                "nhập lý do không đồng ý",
            )
            await ask(
                telegram,
                coordinator,
                lambda: coordinator.send_text("Đã gia hạn hai lần, đề nghị hoàn thành ngay."),
                "Không đồng ý gia hạn",
            )
            await worker.deliver_due()
            await zalo.wait_for_text(officer.id, "không được đồng chí")

            # /tonghop lists nothing waiting any more; the rows say what happened
            async with database.session() as session:
                rows = (
                    await session.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id))
                ).all()
            assert [(r.state, r.granted_until) for r in rows] == [
                ("granted", at(20).date()),
                ("granted", at(26).date()),
                ("refused", None),
            ]
            assert rows[2].decision_reason == "Đã gia hạn hai lần, đề nghị hoàn thành ngay."
    finally:
        await telegram_bot.stop()
        await zalo_bot.stop()
