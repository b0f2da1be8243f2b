"""The officer's scenarios on both channels from one suite: Telegram and Zalo, over real HTTP.

A driver plays the officer on one platform: on Telegram it presses the inline buttons, on Zalo
it types the number of the choice. The scenarios are the same: registration, a full report
with a photo, bad input, a restart in the middle, and an update delivered twice.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.console import ConsoleChannel
from bot.channels.registry import describe
from bot.channels.zalo import ZaloClient, ZaloConfig
from bot.core.clock import FrozenClock
from bot.core.messages import FileUnavailable
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.models import Attachment, Submission
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite
from tests.test_telegram_e2e import TOKEN as TELEGRAM_TOKEN
from tests.test_telegram_e2e import Bot as TelegramBot
from tests.test_zalo_e2e import TOKEN as ZALO_TOKEN
from tests.test_zalo_e2e import Running as ZaloBot


class Driver:
    """An officer on one platform."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def say(self, text: str, expect: str) -> str: ...
    async def choose(self, label: str, expect: str) -> str: ...
    async def photo(self, content: bytes, expect: str) -> str: ...
    async def redeliver_last(self) -> None: ...


class TelegramDriver(Driver):
    def __init__(self, fake: FakeTelegram, bot: TelegramBot) -> None:
        self.fake, self.bot = fake, bot
        self.user = fake.user(7001, first_name="Lan")
        self.last: dict[str, Any] | None = None

    async def start(self) -> None:
        await self.bot.start()

    async def stop(self) -> None:
        await self.bot.stop()

    async def _wait(self, act: Any, expect: str) -> str:
        seen = len(self.fake.calls)
        self.last = act()

        def found() -> Any:
            for call in self.fake.calls[seen:]:
                text = str(call.params.get("text", ""))
                if (
                    call.ok
                    and call.method in ("sendMessage", "editMessageText")
                    and expect in text
                ):
                    return call
            return None

        assert await self.fake.wait_until(lambda: found() is not None, 10.0), expect
        return str(found().params["text"])

    async def say(self, text: str, expect: str) -> str:
        return await self._wait(lambda: self.user.send_text(text), expect)

    async def choose(self, label: str, expect: str) -> str:
        def button() -> tuple[int, str] | None:
            for message in reversed(self.fake.sent_to(self.user.id)):
                for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                    for key in row:
                        if key["text"].startswith(label):
                            return message["message_id"], key["callback_data"]
            return None

        assert await self.fake.wait_until(lambda: button() is not None, 10.0), label
        found = button()
        assert found is not None
        return await self._wait(lambda: self.user.press(*found), expect)

    async def photo(self, content: bytes, expect: str) -> str:
        return await self._wait(lambda: self.user.upload_photo(content), expect)

    async def redeliver_last(self) -> None:
        assert self.last is not None
        self.fake.queue_update(self.last)  # the same update_id again
        await self.fake.wait_confirmed(self.last["update_id"])
        assert self.bot.channel is not None
        await self.bot.channel.wait_idle()


class ZaloDriver(Driver):
    def __init__(self, fake: FakeZalo, bot: ZaloBot) -> None:
        self.fake, self.bot = fake, bot
        self.user = fake.user("7a7b7c", display_name="Lan")
        self.last: dict[str, Any] | None = None

    async def start(self) -> None:
        await self.bot.start(webhook=True)

    async def stop(self) -> None:
        await self.bot.stop()

    async def _wait(self, act: Any, expect: str) -> str:
        seen = len(self.fake.sent_to(self.user.id))
        self.last = act()

        def found() -> str | None:
            return next((t for t in self.fake.sent_to(self.user.id)[seen:] if expect in t), None)

        assert await self.fake.wait_until(lambda: found() is not None, 10.0), expect
        return found() or ""

    async def say(self, text: str, expect: str) -> str:
        return await self._wait(lambda: self.user.send_text(text), expect)

    async def choose(self, label: str, expect: str) -> str:
        def number() -> str | None:
            for text in reversed(self.fake.sent_to(self.user.id)):
                for line in text.splitlines():
                    found = re.match(r"(\d+)\. (.*)", line)
                    if found and found[2].startswith(label):
                        return found[1]
            return None

        assert await self.fake.wait_until(lambda: number() is not None, 10.0), label
        typed = number() or ""
        return await self._wait(lambda: self.user.send_text(typed), expect)

    async def photo(self, content: bytes, expect: str) -> str:
        return await self._wait(lambda: self.user.send_photo(content), expect)

    async def redeliver_last(self) -> None:
        assert self.last is not None
        assert await self.fake.push(self.last) == 200  # Zalo posts the same event again
        assert self.bot.channel is not None
        await self.bot.channel.wait_idle()


@pytest.fixture(params=["telegram", "zalo"])
async def officer(
    request: pytest.FixtureRequest,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> AsyncIterator[Driver]:
    if request.param == "telegram":
        async with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
            bot = TelegramBot(fake, database, clock, tmp_path / "data")
            driver: Driver = TelegramDriver(fake, bot)
            await driver.start()
            yield driver
            await bot.stop()
    else:
        async with FakeZalo(token=ZALO_TOKEN) as zfake:
            zbot = ZaloBot(zfake, database, clock, tmp_path / "data")
            driver = ZaloDriver(zfake, zbot)
            await driver.start()
            yield driver
            await zbot.stop()


async def _count(database: Database, model: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_the_officers_scenarios(
    officer: Driver, database: Database, clock: FrozenClock
) -> None:
    # registration; a stranger first, then with the code
    await officer.say("xin chào", "chưa đăng ký")
    await officer.say("/start SAIMA123", "không hợp lệ")
    await officer.say(f"/start {await invite(database, clock, 'sxd')}", "Đăng ký thành công")
    # bad input at the first steps
    await officer.say("/lenhla", "không có lệnh /lenhla")
    await officer.say("/baocao 1.b.1", "tình trạng thực hiện nhiệm vụ")
    await officer.say("tùy ý", "chọn một trong các lựa chọn")
    await officer.choose("Đang triển khai", "phần trăm")
    await officer.say("150", "số nguyên từ 0 đến 100")
    await officer.say("60", "kết quả thực hiện")
    await officer.say("x" * 3100, "quá dài")
    # a restart in the middle of the conversation
    await officer.stop()
    await officer.start()
    await officer.say("Đã rà soát 12 công trình cấp nước.", "minh chứng")
    await officer.photo(b"\xff\xd8\xff\xe0 anh", "Các tệp đã nhận: anh-1.jpg")
    await officer.choose("Xong", "kiểm tra lại")
    await officer.choose("Xác nhận", "Đã ghi nhận báo cáo số 2024/")
    # the confirmation delivered again creates nothing
    await officer.redeliver_last()
    assert await _count(database, Submission) == 1
    assert await _count(database, Attachment) == 1
    await officer.say("/lichsu", "Đang triển khai, 60%")


# --- the console: each session its own update ids ------------------------------------------


class ConsoleSession:
    """One ``pgibot console`` session as a member: the real ConsoleChannel, output read back."""

    def __init__(self, router: Router, user_id: str, tmp_path: Path) -> None:
        self.output = io.StringIO()
        self.console = ConsoleChannel(
            router.handle,
            user_id=user_id,
            display_name="Lan",
            stdin=io.StringIO(""),
            stdout=self.output,
            files_dir=tmp_path / "exports",
        )

    async def say(self, text: str, expect: str) -> str:
        start = self.output.tell()
        await self.console.say(text)
        answer = self.output.getvalue()[start:]
        assert expect in answer, answer
        return answer

    async def choose(self, answer: str, label: str, expect: str) -> str:
        number = re.search(rf"^\s*(\d+)\. {re.escape(label)}", answer, re.MULTILINE)
        assert number is not None, answer
        return await self.say(number.group(1), expect)


async def _report_from_the_console(session: ConsoleSession, results: str) -> str:
    status = await session.say("/baocao 1.b.1", "tình trạng thực hiện nhiệm vụ")
    ask = await session.choose(status, "Chưa triển khai", "kết quả thực hiện")
    ask = await session.say(results, "minh chứng")
    summary = await session.choose(ask, "Bỏ qua", "kiểm tra lại")
    return await session.choose(summary, "Xác nhận", "Đã ghi nhận báo cáo số")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_two_console_sessions_each_keep_their_report(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    """The same line of a later session is a new update: its report is not the earlier one."""
    router = Router(database, clock, BotInfo(describe(), tmp_path / "data"))
    first = ConsoleSession(router, "member-1", tmp_path)
    await first.say(f"/start {await invite(database, clock, 'sxd')}", "Đăng ký thành công")
    one = await _report_from_the_console(first, "Đang chuẩn bị hồ sơ.")
    second = ConsoleSession(router, "member-1", tmp_path)  # the officer comes back later
    await second.say("/trogiup", "/baocao")  # so that its lines fall on the same numbers
    clock.advance(timedelta(hours=1))
    two = await _report_from_the_console(second, "Đã trình phê duyệt hồ sơ.")
    numbers = [re.search(r"báo cáo số (\S+)", text) for text in (one, two)]
    assert all(numbers) and "phiên bản 2" in two
    async with database.session() as session:
        rows = list(await session.scalars(select(Submission).order_by(Submission.id)))
    assert [row.results for row in rows] == ["Đang chuẩn bị hồ sơ.", "Đã trình phê duyệt hồ sơ."]


# --- Zalo photos: only from Zalo's hosts ----------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_zalo_photos_are_downloaded_only_from_zalo_hosts(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    """A photo event naming another host is refused politely, and nothing is fetched from it."""
    async with FakeZalo(token=ZALO_TOKEN) as fake:
        officer = ZaloDriver(fake, ZaloBot(fake, database, clock, tmp_path / "data"))
        await officer.start()
        try:
            await officer.say(f"/start {await invite(database, clock, 'sxd')}", "thành công")
            await officer.say("/baocao 1.b.1", "tình trạng thực hiện nhiệm vụ")
            await officer.choose("Đang triển khai", "phần trăm")
            await officer.say("60", "kết quả thực hiện")
            await officer.say("Đã rà soát 12 công trình cấp nước.", "minh chứng")
            refused = await officer._wait(
                lambda: officer.user.send_photo(b"\xff\xd8\xff\xe0 anh", host="localhost"),
                "Bot chưa tải được tệp này",
            )
            assert "Đề nghị đồng chí" in refused
            assert fake.photo_downloads == []  # not even asked
            await officer.photo(b"\xff\xd8\xff\xe0 anh", "Các tệp đã nhận: anh-1.jpg")
            assert fake.photo_downloads == [f"127.0.0.1:{fake.port}"]  # the first file
        finally:
            await officer.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://evilzdn.vn/a.jpg",  # ends with the name, but is not a subdomain of it
        "https://zdn.vn.attacker.example/a.jpg",
        "https://10.0.0.1/a.jpg",
        "file:///etc/passwd",
        "https://user@/a.jpg",
        "not a url",
    ],
)
async def test_a_photo_address_off_zalo_hosts_is_refused_before_any_request(url: str) -> None:
    client = ZaloClient(ZaloConfig("1:t", "http://127.0.0.1:9/bot"))
    try:
        with pytest.raises(FileUnavailable, match="not a Zalo host"):
            await client.download(url)
    finally:
        await client.close()
