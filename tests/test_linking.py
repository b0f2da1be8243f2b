"""One person, two apps: linking a Telegram and a Zalo account, and where reminders go."""

from __future__ import annotations

import re
from pathlib import Path

from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import Incoming
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.uow import UnitOfWork
from tests.helpers import invite


def message(channel: str, user: str, text: str) -> Incoming:
    return Incoming(channel, user, user, text=text, display_name="Phạm Văn Đông")


async def test_link_two_apps_and_choose_the_channel(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    code = await invite(database, clock, "sct")
    await router.handle(message("telegram", "111", f"/start {code}"))
    [answer] = await router.handle(message("telegram", "111", "/lienket"))
    link = re.search(r"Mã liên kết của đồng chí là ([A-Z0-9]{6})", answer.text)
    assert link is not None
    same_app = await router.handle(message("telegram", "111", f"/lienket {link[1]}"))
    assert "ứng dụng còn lại" in same_app[0].text
    [linked] = await router.handle(message("zalo", "zz9", f"/lienket {link[1]}"))
    assert "Liên kết thành công" in linked.text and "Sở Công Thương" in linked.text
    [tasks] = await router.handle(message("zalo", "zz9", "/nhiemvu"))
    assert tasks.text.startswith("Nhiệm vụ của Sở Công Thương")
    again = await router.handle(message("zalo", "zz8", f"/lienket {link[1]}"))
    assert "không hợp lệ hoặc đã hết hạn" in again[0].text  # one use

    async def recipients() -> list[str]:
        async with UnitOfWork(database) as uow:
            agency = await uow.agencies.by_code("sct")
            return [r.channel for r in await uow.notifications.recipients(agency.id)]

    assert await recipients() == ["zalo"]  # one reminder, on the app linked last
    [chosen] = await router.handle(message("zalo", "zz9", "/kenh telegram"))
    assert "qua Telegram" in chosen.text
    assert await recipients() == ["telegram"]
    [wrong] = await router.handle(message("zalo", "zz9", "/kenh viber"))
    assert "telegram, zalo" in wrong.text


async def test_an_account_registered_elsewhere_cannot_be_linked(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    await router.handle(message("telegram", "1", f"/start {await invite(database, clock, 'sct')}"))
    await router.handle(message("zalo", "2", f"/start {await invite(database, clock, 'sxd')}"))
    [answer] = await router.handle(message("telegram", "1", "/lienket"))
    code = answer.text.split("là ")[1].split(",")[0]
    [refused] = await router.handle(message("zalo", "2", f"/lienket {code}"))
    assert "đã đăng ký cho Sở Xây dựng" in refused.text
    [stranger] = await router.handle(message("zalo", "3", "/lienket SAIMA1"))
    assert "không hợp lệ" in stranger.text


async def test_platform_links_come_from_the_adapters_descriptions(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    """/moi gives each platform's invitation link; a group is sent to its own platform's chat."""
    platforms = describe(accounts={"telegram": "pgi_test_bot", "zalo": "Bot PGI"})
    router = Router(database, clock, BotInfo(platforms, tmp_path / "data"))
    code = await invite(database, clock, "stnmt", Role.COORDINATOR)
    await router.handle(message("zalo", "z1", f"/start {code}"))
    [answer] = await router.handle(message("zalo", "z1", "/moi sxd"))
    invitation = re.search(r"Mã mời ([A-Z0-9]{10})", answer.text)
    assert invitation is not None, answer.text
    assert f"Liên kết Telegram: https://t.me/pgi_test_bot?start={invitation[1]}" in answer.text
    assert "Liên kết Zalo" not in answer.text  # Zalo has no such link
    group = Incoming("zalo", "g1", "z1", text="/trogiup", is_private=False)
    [notice] = await router.handle(group)
    assert "trò chuyện riêng" in notice.text and "https://" not in notice.text
