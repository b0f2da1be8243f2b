"""End to end over real HTTP: the real python-telegram-bot against the fake Bot API server."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from bot.channels.registry import describe
from bot.channels.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from bot.channels.telegram import TelegramChannel, TelegramConfig
from bot.core.clock import FrozenClock
from bot.core.throttle import FloodLimits
from bot.web import create_app
from handlers.context import BotInfo, Command
from handlers.router import Router
from storage.db import Database
from storage.models import Attachment, AuditEntry, InboxUpdate, MemberIdentity, Submission, Task
from tests.fakes.telegram_api import FakeTelegram, FakeUser
from tests.helpers import invite

TOKEN = "123456:TEST-TOKEN"
SECRET = "s3cret-webhook-token"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


class Bot:
    """One running TelegramChannel, which a test can stop and start again (a restart)."""

    def __init__(
        self,
        fake: FakeTelegram,
        database: Database,
        clock: FrozenClock,
        data_dir: Path,
    ) -> None:
        self.fake, self.database, self.clock, self.data_dir = fake, database, clock, data_dir
        self.flood = FloodLimits(burst=1000)  # tests type faster than people; one test floods
        self.commands: list[Command] = []
        """Commands added to the router's own (a test's faulty command)."""
        self.read_timeout, self.poll_grace = 30.0, 10.0  # the production timeouts
        self.replies_claimant: str | None = None
        """The instance id under which replies are held in the outbox (None: not held)."""
        self.channel: TelegramChannel | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.webhook_url: str | None = None

    def _build(self) -> TelegramChannel:
        router = Router(
            self.database,
            self.clock,
            BotInfo(describe(), self.data_dir),
            replies_claimant=self.replies_claimant,
        )
        for command in self.commands:
            router.add_command(command)
        config = TelegramConfig(
            TOKEN,
            self.fake.base_url,
            self.fake.base_file_url,
            poll_timeout=1,
            read_timeout=self.read_timeout,
            poll_grace=self.poll_grace,
        )
        return TelegramChannel(config, router, self.database, self.clock, self.flood)

    async def start(self, *, webhook: bool = False) -> TelegramChannel:
        channel = self._build()
        if webhook:
            channel.config = replace(channel.config, webhook_secret=SECRET)
            self._runner = web.AppRunner(create_app([channel]))
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.webhook_url = f"http://127.0.0.1:{port}{TELEGRAM_PATH}"
            channel.config = replace(
                channel.config, webhook_url=self.webhook_url, webhook_secret=SECRET
            )
        await channel.start()
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(channel.run(self._stop))
        self.channel = channel
        return channel

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.channel is not None:
            await self.channel.stop()
        self.channel = None


@pytest.fixture
async def bot(
    fake: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> AsyncIterator[Bot]:
    running = Bot(fake, database, clock, tmp_path / "data")
    yield running
    await running.stop()


def button(message: dict[str, Any], label: str) -> str:
    for row in message.get("reply_markup", {}).get("inline_keyboard", []):
        for key in row:
            if key["text"].startswith(label):
                return str(key["callback_data"])
    raise AssertionError(f"no button {label!r} in {message.get('reply_markup')}")


async def ask(
    fake: FakeTelegram, user: FakeUser, act: Callable[[], object], expect: str
) -> dict[str, Any]:
    """Act as the user and wait for the bot's message containing ``expect``; return it."""
    seen = len(fake.calls)
    act()

    def answer() -> Any:
        for call in fake.calls[seen:]:
            text = str(call.params.get("text", ""))
            if call.ok and call.method in ("sendMessage", "editMessageText") and expect in text:
                return call
        return None

    if not await fake.wait_until(lambda: answer() is not None, 10.0):
        texts = [str(c.params.get("text", ""))[:80] for c in fake.calls[seen:]]
        raise AssertionError(f"no answer with {expect!r}; the bot said {texts}")
    call = answer()
    chat_id = int(call.params["chat_id"])
    return next(m for m in fake.sent_to(chat_id) if m["message_id"] == call.result["message_id"])


async def register(
    fake: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    user_id: int = 5001,
    agency: str = "sxd",
) -> FakeUser:
    user = fake.user(user_id, first_name="Lan", last_name="Hoàng Thị")
    code = await invite(database, clock, agency)
    await ask(fake, user, lambda: user.send_text(f"/start {code}"), "Đăng ký thành công")
    return user


async def report_until_summary(fake: FakeTelegram, user: FakeUser) -> dict[str, Any]:
    status = await ask(fake, user, lambda: user.send_text("/baocao 1.b.1"), "tình trạng thực hiện")
    progress = await ask(
        fake,
        user,
        lambda: user.press(status["message_id"], button(status, "Đang triển khai")),
        "phần trăm",
    )
    assert progress["message_id"] == status["message_id"]  # edited in place
    await ask(fake, user, lambda: user.send_text("60"), "kết quả thực hiện")
    files = await ask(
        fake, user, lambda: user.send_text("Đã rà soát 12 công trình cấp nước."), "minh chứng"
    )
    files = await ask(
        fake,
        user,
        lambda: user.upload(b"%PDF-1.4 minh chung", "bien-ban.pdf", "application/pdf"),
        "Các tệp đã nhận: bien-ban.pdf",
    )
    return await ask(
        fake, user, lambda: user.press(files["message_id"], button(files, "Xong")), "kiểm tra lại"
    )


async def _count(database: Database, model: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_full_report_with_a_file(
    mode: str,
    fake: FakeTelegram,
    bot: Bot,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    await bot.start(webhook=mode == "webhook")
    if mode == "webhook":
        assert fake.webhook_url == bot.webhook_url and fake.webhook_secret == SECRET
    commands = [c["command"] for c in next(iter(fake.commands.values()))]
    assert {"baocao", "nhiemvu", "lichsu", "trogiup", "huy"} <= set(commands)
    user = await register(fake, database, clock)
    summary = await report_until_summary(fake, user)
    assert "Tiến độ: 60%" in summary["text"] and "bien-ban.pdf" in summary["text"]
    receipt = await ask(
        fake,
        user,
        lambda: user.press(summary["message_id"], button(summary, "Xác nhận")),
        "Đã ghi nhận báo cáo số 2024/",
    )
    assert receipt["message_id"] == summary["message_id"]
    async with database.session() as session:
        row = await session.scalar(select(Submission))
        assert row is not None and (row.progress, row.status) == (60, "in_progress")
        stored = await session.scalar(select(Attachment))
        assert stored is not None
        assert (tmp_path / "data" / stored.storage_path).read_bytes() == b"%PDF-1.4 minh chung"
    assert fake.calls_of("answerCallbackQuery")
    if mode == "webhook":
        assert set(fake.webhook_statuses) == {200}
        assert not fake.calls_of("getUpdates")


async def test_webhook_refuses_a_wrong_secret_and_bad_bodies(
    fake: FakeTelegram, bot: Bot, database: Database
) -> None:
    await bot.start(webhook=True)
    user = fake.user(5002)
    update = user.send_text("/start ABCD1234", queue=False)
    assert await fake.deliver_webhook(update, headers={}) == 403
    wrong = {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}
    assert await fake.deliver_webhook(update, headers=wrong) == 403
    assert bot.webhook_url is not None
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with ClientSession() as client:
        async with client.post(bot.webhook_url, data=b"{not json", headers=headers) as reply:
            assert reply.status == 400
        async with client.post(bot.webhook_url, json=[1, 2], headers=headers) as reply:
            assert reply.status == 400
        big = b'{"update_id": 1, "x": "' + b"a" * (1024 * 1024) + b'"}'
        async with client.post(bot.webhook_url, data=io.BytesIO(big), headers=headers) as reply:
            assert reply.status == 413
        async with client.get(bot.webhook_url.replace(TELEGRAM_PATH, "/healthz")) as reply:
            assert reply.status == 200
    assert await _count(database, InboxUpdate) == 0
    assert not fake.calls_of("sendMessage")


async def test_a_restart_mid_conversation_resumes_where_it_was(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = await register(fake, database, clock)
    status = await ask(fake, user, lambda: user.send_text("/baocao 1.b.2"), "tình trạng thực hiện")
    await bot.stop()
    user.press(status["message_id"], button(status, "Hoàn thành"))  # while the bot is down
    await bot.start()
    await fake.wait_for_text(user.id, "kết quả thực hiện")
    files = await ask(fake, user, lambda: user.send_text("Đã hoàn thành đề án."), "minh chứng")
    summary = await ask(
        fake, user, lambda: user.press(files["message_id"], button(files, "Bỏ qua")), "kiểm tra"
    )
    await ask(
        fake,
        user,
        lambda: user.press(summary["message_id"], button(summary, "Xác nhận")),
        "Đã ghi nhận",
    )
    assert await _count(database, Submission) == 1


async def test_the_same_update_delivered_twice_makes_one_submission(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = await register(fake, database, clock)
    summary = await report_until_summary(fake, user)
    confirm = user.press(summary["message_id"], button(summary, "Xác nhận"), queue=False)
    fake.queue_update(confirm)
    fake.queue_update(confirm)  # redelivered, same update_id
    await fake.wait_for_text(user.id, "Đã ghi nhận")
    await fake.wait_confirmed(confirm["update_id"])
    assert bot.channel is not None
    await bot.channel.wait_idle()
    assert await _count(database, Submission) == 1
    receipts = [c for c in fake.calls if "Đã ghi nhận" in str(c.params.get("text", ""))]
    assert len(receipts) == 1


async def test_updates_recorded_before_a_crash_are_processed_at_start(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    code = await invite(database, clock, "sct")
    user = fake.user(5003, first_name="Minh")
    crashed = bot._build()  # recorded, never processed: the process died right after the commit
    await crashed.record(user.send_text(f"/start {code}", queue=False))
    await crashed.bot.shutdown()
    await bot.start()
    await fake.wait_for_text(user.id, "Đăng ký thành công")
    async with database.session() as session:
        pending = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.processed_at.is_(None))
        )
    assert pending == 0


async def test_bad_input_over_telegram(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = await register(fake, database, clock)
    await ask(fake, user, lambda: user.send_text("/khongco"), "không có lệnh /khongco")
    tasks = await ask(fake, user, lambda: user.send_text("/baocao"), "chọn nhiệm vụ")
    await ask(fake, user, lambda: user.send_text("nhiệm vụ đầu"), "chọn một trong các lựa chọn")
    async with database.session() as session:
        foreign = await session.scalar(select(Task.id).where(Task.code == "2.b.1"))
    nonce = button(tasks, "1.b.1").split(":")[1]
    await ask(
        fake,
        user,
        lambda: user.press(tasks["message_id"], f"bc:{nonce}:tk:{foreign}"),
        "không được giao cho đơn vị",
    )
    status = await ask(
        fake,
        user,
        lambda: user.press(tasks["message_id"], button(tasks, "1.b.1")),
        "tình trạng thực hiện",
    )
    await ask(
        fake,
        user,
        lambda: user.press(status["message_id"], button(status, "Đang triển khai")),
        "phần trăm",
    )
    await ask(fake, user, lambda: user.send_text("120"), "số nguyên từ 0 đến 100")
    await ask(fake, user, lambda: user.send_text("40"), "kết quả thực hiện")
    await ask(fake, user, lambda: user.send_text("x" * 3500), "quá dài (3500 ký tự; tối đa 3000)")
    await ask(fake, user, lambda: user.send_text("Đang thi công."), "minh chứng")
    await ask(
        fake,
        user,
        lambda: user.upload(b"MZ\x90\x00", "virus.exe", "application/x-msdownload"),
        "chỉ nhận tệp pdf",
    )
    too_big = b"x" * (20 * 1024 * 1024 + 1)
    await ask(
        fake,
        user,
        lambda: user.upload(too_big, "lon.pdf", "application/pdf"),
        "Tệp quá lớn (20,1 MB)",
    )
    await ask(
        fake, user, lambda: user.upload_photo(b"\xff\xd8\xff photo"), "Đã nhận tệp anh-1.jpg"
    )
    await ask(fake, user, lambda: user.send_text("/huy"), "Đã hủy")
    await ask(
        fake,
        user,
        lambda: user.press(status["message_id"], button(status, "Hoàn thành")),
        "không còn hiệu lực",
    )
    await ask(fake, user, lambda: user.send_in_group(-100777, "/baocao"), "trò chuyện riêng")
    user.send_in_group(-100777, "/nhiemvu")
    await ask(fake, user, lambda: user.send_text("/trogiup"), "Các lệnh")
    group_answers = [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == -100777]
    assert len(group_answers) == 1
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 0
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert "choice.forged" in actions


async def test_429_delays_but_loses_nothing_and_blocked_users_are_marked(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = await register(fake, database, clock)
    fake.fail_next("sendMessage", code=429, retry_after=1)
    await ask(fake, user, lambda: user.send_text("/trogiup"), "Các lệnh")
    helps = [c for c in fake.calls_of("sendMessage") if "Các lệnh" in str(c.params.get("text"))]
    assert [c.status for c in helps] == [429, 200]
    assert helps[1].time - helps[0].time >= 1.0
    fake.block_chat(user.id)
    user.send_text("/nhiemvu")
    await fake.wait_for("sendMessage", predicate=lambda c: c.status == 403)
    assert bot.channel is not None
    await bot.channel.wait_idle()
    async with database.session() as session:
        identity = await session.scalar(select(MemberIdentity))
        assert identity is not None and identity.reachable is False


async def test_a_long_answer_is_split_under_the_telegram_limit(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = await register(fake, database, clock, agency="stnmt")
    await ask(fake, user, lambda: user.send_text("/nhiemvu"), "Nhiệm vụ của Sở Tài nguyên")
    assert all(len(c.params["text"]) <= 4096 for c in fake.calls_of("sendMessage"))
    assert all(c.ok for c in fake.calls_of("sendMessage"))


async def test_pgibot_run_against_a_local_bot_api_server(
    fake: FakeTelegram, tmp_path: Path
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "ZALO_", "PGIBOT_", "DATABASE_URL"))
    }
    env |= {
        "PGIBOT_DATA_DIR": str(tmp_path / "data"),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "TELEGRAM_API_FILE_URL": fake.base_file_url,
    }

    async def pgibot(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        return process.returncode or 0, out.decode()

    assert (await pgibot("init"))[0] == 0
    code_out = (await pgibot("invite", "create", "--agency", "snnmt"))[1]
    match = re.search(r"Mã mời: ([A-Z0-9]+)", code_out)
    assert match is not None
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        user = fake.user(5009, first_name="Thu")
        user.send_text(f"/start {match.group(1)}")
        await fake.wait_for_text(user.id, "Đăng ký thành công", timeout=30)
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            rest = await process.stdout.read() if process.stdout else b""
            print("PROCESS OUTPUT:", rest.decode()[-3000:])
            await process.wait()
    text = out.decode()
    assert process.returncode == 0, text
    assert "Bot @pgi_test_bot đang chạy" in text and "Bot đã dừng" in text
    assert TOKEN not in text  # the token never reaches the log


async def test_the_coordinator_receives_files_over_telegram(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = await register(fake, database, clock, user_id=5020, agency="stnmt")
    async with database.session() as session:
        from storage.models import Member

        member = await session.scalar(select(Member))
        assert member is not None
        member.role = "coordinator"
        await session.commit()
    overview = await ask(fake, user, lambda: user.send_text("/tonghop"), "TỔNG HỢP")
    await ask(
        fake,
        user,
        lambda: user.press(overview["message_id"], button(overview, "Biểu đồ")),
        "Tệp đính kèm: bieu-do-pgi-2024.png",
    )
    [document] = await fake.wait_for("sendDocument")
    assert document.ok


async def test_a_flooding_user_is_throttled_politely_and_the_others_are_served(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    bot.flood = FloodLimits()  # the production limits
    channel = await bot.start()
    flooder = await register(fake, database, clock, user_id=5030)
    other = await register(fake, database, clock, user_id=5031, agency="stnmt")
    flood = [flooder.send_text("/trogiup") for _ in range(100)]  # all at once
    await ask(fake, other, lambda: other.send_text("/nhiemvu"), "Nhiệm vụ của Sở Tài nguyên")
    await fake.wait_confirmed(flood[-1]["update_id"])
    await channel.wait_idle()
    said = [str(m.get("text", "")) for m in fake.sent_to(flooder.id)]
    helps = [t for t in said if "Các lệnh" in t]
    warnings = [t for t in said if "gửi tin nhắn quá nhanh" in t]
    burst = int(channel.throttle.limits.burst)
    assert burst - 1 <= len(helps) <= burst + 2  # the burst, and what refilled meanwhile
    assert len(warnings) == 1 and "Đề nghị đồng chí" in warnings[0]
    async with database.session() as session:
        pending = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.processed_at.is_(None))
        )
    assert pending == 0  # the dropped updates are done with, not retried


async def test_a_malformed_polled_update_does_not_stop_the_polling(
    fake: FakeTelegram, bot: Bot, database: Database, clock: FrozenClock
) -> None:
    """An update python-telegram-bot cannot parse is recorded and set aside; polling goes on.

    Before the adapter took polled updates as JSON, such an update made ``getUpdates`` raise
    inside PTB, and the poll loop (and ``pgibot run``) ended.
    """
    await bot.start()
    user = await register(fake, database, clock, user_id=5040)
    broken = fake.queue_update({"message": {"message_id": 1, "chat": [], "from": "x", "date": 0}})
    await ask(fake, user, lambda: user.send_text("/trogiup"), "Các lệnh")
    await fake.wait_confirmed(broken["update_id"])
    async with database.session() as session:
        row = await session.scalar(
            select(InboxUpdate).where(InboxUpdate.update_key == str(broken["update_id"]))
        )
    assert row is not None and (row.processed_at is not None or row.attempts == 1)
