"""End to end over real HTTP: the Zalo adapter against the fake Zalo Bot Platform server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.channels.registry import describe
from bot.channels.zalo import WEBHOOK_PATH as ZALO_PATH
from bot.channels.zalo import ZaloChannel, ZaloConfig, ZaloSender
from bot.core.clock import FrozenClock, SystemClock
from bot.core.throttle import FloodLimits
from bot.outbox import DeliveryLimits, OutboxWorker
from bot.web import create_app
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.models import Attachment, InboxUpdate, Submission
from storage.uow import UnitOfWork
from tests.fakes.zalo_api import FakeZalo, FakeZaloUser
from tests.helpers import invite

TOKEN = "98765:zalo-test-secret"
SECRET = "zalo-webhook-secret"


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    async with FakeZalo(token=TOKEN) as server:
        yield server


class Running:
    """One running Zalo channel that a test can stop and start again."""

    def __init__(
        self,
        fake: FakeZalo,
        database: Database,
        clock: FrozenClock,
        data_dir: Path,
    ) -> None:
        self.fake, self.database, self.clock, self.data_dir = fake, database, clock, data_dir
        self.channel: ZaloChannel | None = None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.url: str | None = None
        self.request_timeout: float | None = None
        """The client's whole-request timeout; None: the production one."""
        self.flood: FloodLimits | None = None
        """How much one user may send; None: the production limits."""

    async def start(self, *, webhook: bool = False) -> ZaloChannel:
        router = Router(self.database, self.clock, BotInfo(describe(), self.data_dir))
        channel = ZaloChannel(
            ZaloConfig(
                self.fake.token,
                self.fake.base_url,
                poll_timeout=1,
                request_timeout=self.request_timeout,
                download_hosts=self.fake.download_hosts,
            ),
            router,
            self.database,
            self.clock,
            self.flood,
        )
        if webhook:
            channel.config = replace(channel.config, webhook_secret=SECRET)
            self._runner = web.AppRunner(create_app([channel]))
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}{ZALO_PATH}"
            channel.config = replace(channel.config, webhook_url=self.url, webhook_secret=SECRET)
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
    fake: FakeZalo, database: Database, clock: FrozenClock, tmp_path: Path
) -> AsyncIterator[Running]:
    running = Running(fake, database, clock, tmp_path / "data")
    yield running
    await running.stop()


async def say(fake: FakeZalo, user: FakeZaloUser, text: str, expect: str) -> str:
    """Send text as the user and wait for the bot's answer containing ``expect``."""
    seen = len(fake.sent_to(user.id))
    user.send_text(text)

    def answer() -> str | None:
        return next((t for t in fake.sent_to(user.id)[seen:] if expect in t), None)

    if not await fake.wait_until(lambda: answer() is not None, 10.0):
        raise AssertionError(f"no answer with {expect!r}: {fake.sent_to(user.id)[seen:]}")
    return answer() or ""


async def _count(database: Database, model: Any) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_register_and_report_with_a_photo_by_numbers_and_typed_labels(
    mode: str,
    fake: FakeZalo,
    bot: Running,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    await bot.start(webhook=mode == "webhook")
    user = fake.user("a1b2c3", display_name="Nguyễn Thị Lan")
    code = await invite(database, clock, "sxd")
    await say(fake, user, code, "Đăng ký thành công")  # the code typed alone
    status = await say(fake, user, "/baocao 1.b.1", "tình trạng thực hiện nhiệm vụ")
    assert "1. Chưa triển khai" in status and "4. Gặp khó khăn, vướng mắc" in status
    await say(fake, user, "dang trien khai", "phần trăm")  # a label typed without diacritics
    await say(fake, user, "60", "kết quả thực hiện")
    await say(fake, user, "Đã rà soát 12 công trình.", "minh chứng")
    seen = len(fake.sent_to(user.id))
    user.send_photo(b"\xff\xd8\xff\xe0 anh hien truong")
    await fake.wait_for_text(user.id, "Đã nhận tệp anh-1.jpg")
    assert len(fake.sent_to(user.id)) > seen
    summary = await say(fake, user, "1", "kiểm tra lại")  # 1. Xong
    assert "Tiến độ: 60%" in summary and "1. Xác nhận" in summary
    await say(fake, user, "xac nhan", "Đã ghi nhận báo cáo số 2024/")
    async with database.session() as session:
        row = await session.scalar(select(Submission))
        assert row is not None and (row.status, row.progress) == ("in_progress", 60)
        stored = await session.scalar(select(Attachment))
        assert stored is not None
        assert (tmp_path / "data" / stored.storage_path).read_bytes().startswith(b"\xff\xd8")
    assert all(len(text) <= 2000 for text in fake.sent_to(user.id))


async def test_long_answers_are_split_under_2000_characters(
    fake: FakeZalo, bot: Running, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = fake.user("d4e5f6")
    await say(fake, user, f"/start {await invite(database, clock, 'h-cao-loc')}", "Đăng ký")
    await say(fake, user, "/nhiemvu", "Nhiệm vụ của UBND huyện Cao Lộc")
    await fake.wait_for_text(user.id, "Xem 1.k.1")
    texts = fake.sent_to(user.id)
    assert all(0 < len(text) <= 2000 for text in texts)
    assert sum(1 for text in texts if "Xem " in text) >= 1


async def test_webhook_checks_the_secret_and_records_each_event_once(
    fake: FakeZalo, bot: Running, database: Database, clock: FrozenClock
) -> None:
    await bot.start(webhook=True)
    user = fake.user("f00d01")
    event = user.send_text("/start KHONGCO1", queue=False)
    assert await fake.push(event, secret="wrong-secret") == 401
    assert await _count(database, InboxUpdate) == 0
    assert await fake.push(event, wrapped=True, duplicate=True) == 200
    assert await fake.push(event) == 200  # flat, the same event again
    await fake.wait_for_text(user.id, "không hợp lệ")
    assert bot.channel is not None
    await bot.channel.wait_idle()
    assert await _count(database, InboxUpdate) == 1
    assert len([t for t in fake.sent_to(user.id) if "không hợp lệ" in t]) == 1


async def test_a_restart_mid_conversation_and_bad_input(
    fake: FakeZalo, bot: Running, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = fake.user("0a0b0c")
    await say(fake, user, f"/start {await invite(database, clock, 'sct')}", "Đăng ký")
    await say(fake, user, "/lenhla", "không có lệnh /lenhla")
    await say(fake, user, "/baocao 2.dd", "tình trạng thực hiện nhiệm vụ")
    await say(fake, user, "9", "chọn một trong các lựa chọn")  # no 9th choice
    await bot.stop()
    await bot.start()  # the conversation survives the restart
    await say(fake, user, "hoan thanh", "kết quả thực hiện")
    user.send_sticker()
    await fake.wait_for_text(user.id, "không có nội dung")
    await say(fake, user, "/huy", "Đã hủy")
    assert await _count(database, Submission) == 0


async def test_reminders_reach_zalo_through_the_outbox(
    fake: FakeZalo, database: Database, clock: FrozenClock
) -> None:
    user = fake.user("ab12cd")
    user.send_text("xin chào")  # the chat becomes known to the platform
    async with UnitOfWork(database) as uow:
        await uow.notifications.enqueue(
            channel="zalo",
            chat_id="ab12cd",
            member_id=None,
            kind="notice",
            payload={
                "text": "Thông báo: họp lúc 14 giờ.",
                "choices": [[{"label": "Báo cáo ngay: 1.b.1", "payload": "rp:1:1"}]],
            },
            dedupe_key="notice:zalo:1",
            now=clock.now(),
        )
        await uow.commit()
    fake.fail_next("sendMessage", code=429)
    channel = ZaloChannel(
        ZaloConfig(TOKEN, fake.base_url), Router(database, clock), database, clock
    )
    worker = OutboxWorker(
        database,
        {"zalo": ZaloSender(channel.client)},
        SystemClock(),
        DeliveryLimits(rate=25, chat_interval=0, backoff_base=0.05),
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        call = await fake.wait_for_text("ab12cd", "họp lúc 14 giờ", timeout=20)
    finally:
        stop.set()
        await running
        await channel.stop()
    assert "1. Báo cáo ngay: 1.b.1" in call.params["text"]
    assert [c.status for c in fake.calls_of("sendMessage")] == [429, 200]


async def test_pgibot_run_serves_zalo_alone(fake: FakeZalo, tmp_path: Path) -> None:
    import os
    import re
    import signal
    import sys

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "ZALO_", "PGIBOT_", "DATABASE_URL"))
    }
    env |= {
        "PGIBOT_DATA_DIR": str(tmp_path / "data"),
        "ZALO_BOT_TOKEN": TOKEN,
        "ZALO_API_BASE_URL": fake.base_url,
    }

    async def pgibot(*args: str) -> str:
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
        return out.decode()

    await pgibot("init")
    code = re.search(r"Mã mời: ([A-Z0-9]+)", await pgibot("invite", "create", "--agency", "sct"))
    assert code is not None
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
        user = fake.user("5a5b5c")
        user.send_text(code[1])
        await fake.wait_for_text(user.id, "Đăng ký thành công", timeout=30)
        process.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = out.decode()
    assert process.returncode == 0, text
    assert "Bot Zalo pgi_bot đang chạy" in text and "Bot đã dừng" in text
    assert TOKEN not in text


async def test_the_progress_step_lists_no_numbers_and_a_typed_number_is_a_percentage(
    fake: FakeZalo, bot: Running, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = fake.user("0d0e0f")
    await say(fake, user, f"/start {await invite(database, clock, 'sxd')}", "Đăng ký")
    await say(fake, user, "/baocao 1.b.1", "tình trạng thực hiện")
    progress = await say(fake, user, "2", "phần trăm")  # 2. Đang triển khai
    assert "1. 0%" not in progress and "25%" not in progress
    retry = await say(fake, user, "150", "số nguyên từ 0 đến 100")
    assert "nút" not in retry  # nothing to press on Zalo
    await say(fake, user, "1", "kết quả thực hiện")  # one per cent, as the question says
    await say(fake, user, "Đã rà soát 12 công trình cấp nước.", "minh chứng")
    summary = await say(fake, user, "bo qua", "kiểm tra lại")
    assert "Tiến độ: 1%" in summary
    await say(fake, user, "1", "Đã ghi nhận báo cáo số 2024/")
    async with database.session() as session:
        assert await session.scalar(select(Submission.progress)) == 1


async def test_the_cutoff_on_zalo_by_number_typed_label_and_typed_dates(
    fake: FakeZalo, bot: Running, database: Database, clock: FrozenClock
) -> None:
    await bot.start()
    user = fake.user("0a0b0c")
    await say(fake, user, f"/start {await invite(database, clock, 'sxd')}", "Đăng ký")
    status = await say(fake, user, "/baocao 1.b.1", "tình trạng thực hiện")
    assert "Số liệu tính từ ngày 15/12/2023 đến ngày 14/12/2024 (thứ Bảy)" in status
    await say(fake, user, "1", "kết quả thực hiện")  # 1. Chưa triển khai
    await say(fake, user, "Đang chuẩn bị hồ sơ thiết kế.", "minh chứng")
    summary = await say(fake, user, "bo qua", "kiểm tra lại")
    assert "4. Số liệu tính đến ngày khác" in summary
    ask = await say(fake, user, "4", "dd/mm/yyyy")
    assert "1. Giữ ngày 14/12/2024" in ask
    await say(fake, user, "32/11/2024", "không phải là một ngày")
    await say(fake, user, "01/12/2023", "nằm ngoài kỳ số liệu")
    summary = await say(fake, user, "29/11/2024", "kiểm tra lại")
    assert "đến ngày 29/11/2024 (thứ Sáu)" in summary
    await say(fake, user, "so lieu tinh den ngay khac", "dd/mm/yyyy")  # the label, typed
    summary = await say(fake, user, "giu ngay 14/12/2024", "kiểm tra lại")
    assert "đến ngày 14/12/2024 (thứ Bảy)" in summary
    await say(fake, user, "1", "Đã ghi nhận báo cáo số 2024/")
    async with database.session() as session:
        assert await session.scalar(select(Submission.period_end)) == date(2024, 12, 14)


async def test_a_number_typed_after_a_notification_names_its_numbered_choices(
    fake: FakeZalo, bot: Running, database: Database, clock: FrozenClock
) -> None:
    from datetime import timedelta

    from bot.core.messages import Choice, Reply, reply_to_payload
    from handlers.report.states import REPORT_NOW
    from storage.models import ChoiceOffer, Cycle, Task

    channel = await bot.start()
    user = fake.user("1a1b1c")
    await say(fake, user, f"/start {await invite(database, clock, 'sxd')}", "Đăng ký")
    async with database.session() as session:
        task_id = await session.scalar(select(Task.id).where(Task.code == "1.b.1"))
        cycle_id = await session.scalar(select(Cycle.id).where(Cycle.year == 2024))
    assert task_id is not None and cycle_id is not None
    worker = OutboxWorker(
        database,
        {"zalo": channel.sender},
        clock,
        DeliveryLimits(rate=50, chat_interval=0, backoff_base=0.05),
    )
    notices = 0

    async def notify() -> None:
        """Deliver a reminder with two numbered choices, a minute later."""
        nonlocal notices
        notices += 1
        reminder = Reply(
            f"Nhắc báo cáo số {notices}: nhiệm vụ 1.b.1.",
            (
                (Choice("Báo cáo ngay: 1.b.1", REPORT_NOW.encode(cycle_id, task_id)),),
                (Choice("Xem lịch sử", "/lichsu"),),
            ),
        )
        clock.advance(timedelta(minutes=1))
        async with UnitOfWork(database) as uow:
            await uow.notifications.enqueue(
                channel="zalo",
                chat_id=user.id,
                member_id=None,
                kind="reminder",
                payload=reply_to_payload(reminder),
                dedupe_key=f"test:reminder:{notices}",
                now=clock.now(),
            )
            await uow.commit()
        await worker.deliver_due(asyncio.Event())
        sent = await fake.wait_for_text(user.id, f"Nhắc báo cáo số {notices}")
        assert "1. Báo cáo ngay: 1.b.1" in sent.params["text"]
        clock.advance(timedelta(minutes=1))

    # in no conversation, the number names the reminder's choice
    await notify()
    await say(fake, user, "1", "tình trạng thực hiện nhiệm vụ")
    # the conversation's own list is now the last one: 2 is a state of the task
    await say(fake, user, "2", "phần trăm")
    # at the percentage step a number is a percentage, whatever arrived meanwhile
    await notify()
    await say(fake, user, "1", "kết quả thực hiện")
    await say(fake, user, "/huy", "Đã hủy")
    # a reminder delivered before the chat's last list no longer names anything
    await notify()
    await say(fake, user, "/baocao 1.b.1", "tình trạng thực hiện nhiệm vụ")
    await say(fake, user, "/huy", "Đã hủy")
    await say(fake, user, "1", "Bot hoạt động theo lệnh")  # a number on its own
    async with database.session() as session:
        offer = (await session.scalars(select(ChoiceOffer))).one()
    assert offer.chat_id == user.id and offer.labels == ["bao cao ngay: 1.b.1", "xem lich su"]
