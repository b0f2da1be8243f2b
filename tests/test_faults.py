"""Platform and database faults: nothing is lost, duplicates are bounded, logs are clear.

The real python-telegram-bot and the real Zalo client talk real HTTP to the fake servers, which
answer 429/500/502, reset the connection (``drop_next``) or hold a request past the client's
read timeout (``drop_next(hold=...)``), optionally after the call took effect (``deliver=True``:
the message was sent, or the updates handed out, but the answer is lost).

The duplicate bounds proven here:

- An incoming update is processed exactly once, whatever getUpdates does: the offset moves only
  past committed updates, and the inbox records a redelivery once.
- A direct reply whose answer is lost after it was sent is sent again: one extra copy per lost
  answer (never more than ``REPLY_POLICY.attempts`` copies); a lost edit costs no copy at all.
- An outbox message whose answer is lost is sent again: one extra copy per lost answer (never
  more than ``max_attempts``); a message marked sent is never sent again.

Backends: the platform faults of the channels do not depend on the database and each of their
retries costs the channel's real backoff (2 s), so those tests run once, on SQLite (``ON_SQLITE``).
The outbox faults run on both backends; the lock tests only on SQLite and the restart test only
on PostgreSQL, where those faults exist.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

import storage.db
from bot.channels.telegram import WEBHOOK_PATH as TELEGRAM_PATH
from bot.channels.telegram import TelegramSender
from bot.channels.telegram_http import LeanBot
from bot.channels.zalo import ZaloChannel, ZaloConfig, ZaloSender
from bot.core.clock import FrozenClock
from bot.core.delivery import REPLY_POLICY
from bot.core.throttle import FloodLimits
from bot.outbox import DeliveryLimits, OutboxWorker
from bot.web import WebhookServer, create_app
from handlers.router import Router
from storage.db import Database
from storage.models import InboxUpdate, MemberIdentity, OutboxMessage, Submission
from storage.outbox import OutboxItem
from storage.uow import UnitOfWork
from tests.fakes.common import Waiting
from tests.fakes.tcp_proxy import TcpProxy
from tests.fakes.telegram_api import Call, FakeTelegram, FakeUser
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite
from tests.test_telegram_e2e import TOKEN, Bot, ask, button, register, report_until_summary
from tests.test_zalo_e2e import Running

ZALO_TOKEN = "24680:zalo-fault-secret"
WEBHOOK_SECRET = "fault-webhook-secret"
READ_TIMEOUT = 0.5
"""The bot's read timeout for a send here (30 s in production), so that a timeout is short."""
POLL_GRACE = 0.3
"""Seconds a getUpdates may take beyond its long-poll timeout (10 s in production)."""
ZALO_TIMEOUT = 0.6
"""The Zalo client's whole-request timeout here (poll timeout + 15 s in production)."""
HOLD = 4.0
"""How long the fakes hold a request that should time out: longer than any timeout above."""

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


# --- running the channels with short timeouts -----------------------------------------------


class FaultBot(Bot):
    """The end-to-end tests' running TelegramChannel, with short read timeouts."""

    def __init__(
        self,
        fake: FakeTelegram,
        database: Database,
        clock: FrozenClock,
        data_dir: Path,
    ) -> None:
        super().__init__(fake, database, clock, data_dir)
        self.read_timeout, self.poll_grace = READ_TIMEOUT, POLL_GRACE


class ZaloBot(Running):
    """The Zalo end-to-end tests' running channel, whose client gives up after ZALO_TIMEOUT."""

    def __init__(
        self,
        fake: FakeZalo,
        database: Database,
        clock: FrozenClock,
        data_dir: Path,
    ) -> None:
        super().__init__(fake, database, clock, data_dir)
        self.request_timeout = ZALO_TIMEOUT


async def stop_within(running: FaultBot | ZaloBot, seconds: float = 15.0) -> None:
    """Stop a bot, failing instead of hanging when it cannot stop.

    A poll loop that died of an exception leaves the worker waiting for a wake-up that the
    stop never sends, so without the bound such a regression would hang the whole run.
    """
    async with asyncio.timeout(seconds):
        await running.stop()


class WatchedWorker(OutboxWorker):
    """The real outbox worker; a test can await its retries to move the frozen clock past them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retries = 0
        self.changes = Waiting()

    async def _retry(
        self, item: OutboxItem, seconds: float, error: str, count: bool = True
    ) -> None:
        await super()._retry(item, seconds, error, count)
        self.retries += 1
        self.changes._pulse()

    async def wait_retries(self, count: int) -> None:
        if not await self.changes.wait_until(lambda: self.retries >= count, 10.0):
            raise TimeoutError(f"{count} retries awaited, {self.retries} scheduled")


class LogWatch(logging.Handler):
    """Lets a test await a log record instead of sleeping."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.changes = Waiting()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self.changes._pulse()

    async def wait_for(self, substring: str, count: int = 1) -> None:
        def seen() -> bool:
            return sum(substring in m for m in self.messages) >= count

        if not await self.changes.wait_until(seen, 10.0):
            raise TimeoutError(f"no log with {substring!r}; logged: {self.messages}")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, long_poll_cap=0.5) as server:
        yield server


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    async with FakeZalo(token=ZALO_TOKEN, long_poll_cap=0.3) as server:
        yield server


@pytest.fixture
async def bot(
    fake: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> AsyncIterator[FaultBot]:
    running = FaultBot(fake, database, clock, tmp_path / "data")
    yield running
    await running.stop()


@pytest.fixture
async def zalo_bot(
    zalo: FakeZalo,
    database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> AsyncIterator[ZaloBot]:
    running = ZaloBot(zalo, database, clock, tmp_path / "data")
    yield running
    await running.stop()


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    watch = LogWatch()
    logging.getLogger("bot").addHandler(watch)
    yield watch
    logging.getLogger("bot").removeHandler(watch)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    return caplog


# --- helpers --------------------------------------------------------------------------------


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records at WARNING or above; none may carry a traceback or a token."""
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None and not r.exc_text for r in records), caplog.text
    assert "Traceback" not in caplog.text
    assert TOKEN not in caplog.text and ZALO_TOKEN not in caplog.text
    return records


def messages(records: list[logging.LogRecord], substring: str) -> list[str]:
    return [r.getMessage() for r in records if substring in r.getMessage()]


async def take_next_poll(fake: FakeTelegram, inject: Callable[[], None]) -> Call:
    """Queue a getUpdates fault; return the poll that takes it, once it has arrived.

    A faulted poll with ``deliver=True`` is then long-polling: an update queued now is handed
    out by it, and its answer is lost.
    """
    polls = len(fake.calls_of("getUpdates"))
    inject()
    return (await fake.wait_for("getUpdates", count=polls + 1))[polls]


def copies(fake: FakeTelegram, chat_id: int, substring: str) -> int:
    """How many of the bot's messages in the chat contain ``substring`` (edits applied)."""
    return sum(substring in str(m.get("text", "")) for m in fake.sent_to(chat_id))


async def count(database: Database, model: Any, *where: Any) -> int:
    async with database.session() as session:
        statement = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(statement) or 0)


async def unprocessed(database: Database) -> int:
    return await count(database, InboxUpdate, InboxUpdate.processed_at.is_(None))


# --- 1. getUpdates faults -------------------------------------------------------------------


@ON_SQLITE
async def test_get_updates_faults_lose_no_update_and_repeat_none(
    fake: FakeTelegram,
    bot: FaultBot,
    database: Database,
    clock: FrozenClock,
    logs: pytest.LogCaptureFixture,
) -> None:
    channel = await bot.start()
    hold = POLL_GRACE + channel.config.poll_timeout + HOLD
    get_updates = "getUpdates"
    faults: list[tuple[str, Callable[[], None], bool]] = [  # label, fault, updates handed out
        ("500", lambda: fake.fail_next(get_updates, code=500), False),
        ("502, handed out", lambda: fake.fail_next(get_updates, code=502, deliver=True), True),
        ("reset, handed out", lambda: fake.drop_next(get_updates, deliver=True), True),
        (
            "timeout, handed out",
            lambda: fake.drop_next(get_updates, hold=hold, deliver=True),
            True,
        ),
    ]
    users: list[FakeUser] = []
    for n, (label, inject, handed_out) in enumerate(faults):
        user = fake.user(6001 + n, first_name=f"Cán bộ {n}")
        code = await invite(database, clock, "sxd")
        faulted = await take_next_poll(fake, inject)
        update = user.send_text(f"/start {code}")
        await fake.wait_for_text(user.id, "Đăng ký thành công")
        await fake.wait_confirmed(update["update_id"])
        carried = [
            c
            for c in fake.calls_of("getUpdates")
            if c.ok and update["update_id"] in [u["update_id"] for u in c.result]
        ]
        assert len(carried) == 1, label  # the one answer the bot saw
        if handed_out:  # asked again from the same offset: what was lost came back
            assert carried[0].params.get("offset") == faulted.params.get("offset"), label
        users.append(user)
    await channel.wait_idle()
    for user in users:  # each update processed once: one registration, one answer
        assert len(fake.sent_to(user.id)) == copies(fake, user.id, "Đăng ký thành công") == 1
    assert await count(database, InboxUpdate) == len(faults)
    assert await unprocessed(database) == 0
    assert await count(database, MemberIdentity) == len(faults)
    records = problems(logs)
    failed = messages(records, "getUpdates failed")
    assert len(records) == len(failed) == len(faults)  # one line per failure, nothing else
    for reason, line in zip(
        ("Internal Server Error", "Bad Gateway", "Connection reset", "Timed out"),
        failed,
        strict=True,
    ):
        assert reason in line and "retrying in 1 s" in line


# --- 2. sendMessage faults: direct replies and the outbox -----------------------------------


@ON_SQLITE
async def test_replies_survive_send_faults_with_bounded_duplicates(
    fake: FakeTelegram,
    bot: FaultBot,
    database: Database,
    clock: FrozenClock,
    logs: pytest.LogCaptureFixture,
) -> None:
    channel = await bot.start()
    user = await register(fake, database, clock)
    logs.clear()
    send = "sendMessage"
    faults: list[tuple[str, Callable[[], None], int]] = [  # label, fault, answers lost
        ("429", lambda: fake.fail_next(send, code=429, retry_after=1), 0),
        ("502", lambda: fake.fail_next(send, code=502), 0),
        ("reset after sending", lambda: fake.drop_next(send, deliver=True), 1),
        ("timeout after sending", lambda: fake.drop_next(send, hold=HOLD, deliver=True), 1),
    ]
    for label, inject, lost in faults:
        before = copies(fake, user.id, "Các lệnh")
        inject()
        await ask(fake, user, lambda: user.send_text("/trogiup"), "Các lệnh")
        await channel.wait_idle()
        sent = copies(fake, user.id, "Các lệnh") - before
        assert sent == 1 + lost <= REPLY_POLICY.attempts, (
            label
        )  # the bound: one copy per lost answer
    helps = [c for c in fake.calls_of("sendMessage") if "Các lệnh" in str(c.params["text"])]
    limited = next(c for c in helps if c.status == 429)
    assert helps[helps.index(limited) + 1].time - limited.time >= 1.0  # retry_after honoured

    status = await ask(fake, user, lambda: user.send_text("/baocao 1.b.1"), "tình trạng thực hiện")
    fake.drop_next("editMessageText", deliver=True)  # the edit is made, its answer lost
    user.press(status["message_id"], button(status, "Đang triển khai"))
    edits = await fake.wait_for("editMessageText", count=2)
    await channel.wait_idle()
    assert edits[0].dropped and edits[1].status == 400  # the retry: "message is not modified"
    assert copies(fake, user.id, "phần trăm") == 1  # a lost edit is not sent again as new
    assert "phần trăm" in fake.last_message(user.id)["text"]
    assert fake.last_message(user.id)["message_id"] == status["message_id"]

    records = problems(logs)
    assert all(r.name == "bot.channels.sending" for r in records)
    assert all(f"chat {user.id}" in r.getMessage() for r in records)
    lines = [r.getMessage() for r in records]
    assert len(lines) == len(faults) + 1  # once per failure
    assert "rate-limits chat" in lines[0] and "retrying in 1 s" in lines[0]
    reasons = ("Bad Gateway", "Connection reset", "Timed out", "Connection reset")
    for reason, line in zip(reasons, lines[1:], strict=True):
        assert reason in line and "retrying in 2 s" in line


async def _outbox(database: Database, clock: FrozenClock, channel: str, chats: list[str]) -> None:
    async with UnitOfWork(database) as uow:
        for chat in chats:
            await uow.notifications.enqueue(
                channel=channel,
                chat_id=chat,
                member_id=None,
                kind="notice",
                payload={"text": f"Thông báo cho {chat}", "choices": []},
                dedupe_key=f"fault:{channel}:{chat}",
                now=clock.now(),
            )
        await uow.commit()


async def _statuses(database: Database) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def _sender_bot(fake: FakeTelegram) -> LeanBot:
    return LeanBot(
        TOKEN,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        read_timeout=READ_TIMEOUT,
        poll_grace=POLL_GRACE,
    )


async def test_outbox_429_pauses_the_whole_channel_for_retry_after(
    fake: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    logs: pytest.LogCaptureFixture,
) -> None:
    chats = ["7001", "7002", "7003"]
    await _outbox(database, clock, "telegram", chats)
    fake.fail_next("sendMessage", code=429, retry_after=1)  # the first send, to chat 7001
    limits = DeliveryLimits(rate=5, chat_interval=0, backoff_base=0.05)  # a send every 0.2 s
    async with _sender_bot(fake) as sender:
        worker = WatchedWorker(database, {"telegram": TelegramSender(sender)}, clock, limits)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            await worker.wait_retries(1)
            clock.advance(timedelta(seconds=1))  # the retry is due after retry_after
            worker.wake()
            await fake.wait_for("sendMessage", count=len(chats), predicate=lambda c: c.ok)
        finally:
            stop.set()
            await running
    calls = fake.calls_of("sendMessage")
    limited = next(c for c in calls if c.status == 429)
    assert limited.params["chat_id"] == 7001
    later = [c for c in calls if c.time > limited.time]
    assert {c.params["chat_id"] for c in later} == {7001, 7002, 7003}
    assert all(c.time - limited.time >= 0.95 for c in later)  # every chat waited, not only 7001
    for chat in chats:
        assert copies(fake, int(chat), f"Thông báo cho {chat}") == 1
    assert await _statuses(database) == ["sent"] * len(chats)
    records = problems(logs)
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "chat 7001" in records[0].getMessage() and "for 1 s" in records[0].getMessage()


async def test_outbox_server_errors_resets_and_timeouts_lose_nothing(
    fake: FakeTelegram,
    database: Database,
    clock: FrozenClock,
    logs: pytest.LogCaptureFixture,
) -> None:
    chats = ["7101", "7102", "7103", "7104", "7105"]
    await _outbox(database, clock, "telegram", chats)
    # One fault for each chat's first attempt, in the order they go out.
    fake.fail_next("sendMessage", code=500)
    fake.fail_next("sendMessage", code=502)
    fake.drop_next("sendMessage")  # reset before sending
    fake.drop_next("sendMessage", deliver=True)  # reset after sending
    fake.drop_next("sendMessage", hold=HOLD, deliver=True)  # timed out after sending
    limits = DeliveryLimits(rate=25, chat_interval=0, backoff_base=0.05)
    async with _sender_bot(fake) as sender:
        worker = WatchedWorker(database, {"telegram": TelegramSender(sender)}, clock, limits)
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            await worker.wait_retries(len(chats))
            clock.advance(timedelta(minutes=1))  # past every backoff
            worker.wake()
            await fake.wait_for("sendMessage", count=len(chats), predicate=lambda c: c.ok)
        finally:
            stop.set()
            await running
    lost = {str(c.params["chat_id"]) for c in fake.calls_of("sendMessage")[3:5]}
    assert len(lost) == 2
    for chat in chats:  # the bound: one copy, plus one per answer lost after sending
        assert copies(fake, int(chat), f"Thông báo cho {chat}") == 1 + (chat in lost)
    assert await _statuses(database) == ["sent"] * len(chats)
    records = problems(logs)
    assert len(records) == len(chats) and all(r.levelno == logging.WARNING for r in records)
    for chat in chats:
        [line] = messages(records, f"telegram chat {chat}:")
        assert "could not deliver outbox message" in line and "retrying in" in line
    reasons = " ".join(r.getMessage() for r in records)
    assert all(word in reasons for word in ("Internal Server Error", "Bad Gateway", "Timed out"))


async def test_zalo_outbox_faults_lose_nothing(
    zalo: FakeZalo,
    database: Database,
    clock: FrozenClock,
    logs: pytest.LogCaptureFixture,
) -> None:
    chats = ["z701", "z702", "z703"]
    for chat in chats:
        zalo.user(chat).send_text("xin chào")  # a chat the platform lets the bot write to
    await _outbox(database, clock, "zalo", chats)
    zalo.fail_next("sendMessage", code=502)
    zalo.drop_next("sendMessage")
    zalo.drop_next("sendMessage", hold=HOLD, deliver=True)  # timed out after sending
    config = ZaloConfig(ZALO_TOKEN, zalo.base_url, request_timeout=ZALO_TIMEOUT)
    channel = ZaloChannel(config, Router(database, clock), database, clock)
    limits = DeliveryLimits(rate=25, chat_interval=0, backoff_base=0.05)
    worker = WatchedWorker(database, {"zalo": ZaloSender(channel.client)}, clock, limits)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await worker.wait_retries(len(chats))
        clock.advance(timedelta(minutes=1))
        worker.wake()
        await zalo.wait_for("sendMessage", count=len(chats), predicate=lambda c: c.ok)
    finally:
        stop.set()
        await running
        await channel.stop()
    lost = str(zalo.calls_of("sendMessage")[2].params["chat_id"])  # the timed-out one
    for chat in chats:
        sent = [t for t in zalo.sent_to(chat) if t == f"Thông báo cho {chat}"]
        assert len(sent) == 1 + (chat == lost)
    assert await _statuses(database) == ["sent"] * len(chats)
    records = problems(logs)
    assert len(records) == len(chats)
    for chat in chats:
        assert len(messages(records, f"zalo chat {chat}:")) == 1


@ON_SQLITE
async def test_zalo_polling_and_replies_survive_faults(
    zalo: FakeZalo,
    zalo_bot: ZaloBot,
    database: Database,
    clock: FrozenClock,
    logs: pytest.LogCaptureFixture,
) -> None:
    channel = await zalo_bot.start()
    user = zalo.user("fa0001", display_name="Lò Thị Hoa")
    code = await invite(database, clock, "sct")

    async def poll_fault(inject: Callable[[], None]) -> None:
        polls = len(zalo.calls_of("getUpdates"))
        inject()  # none hands an update out: Zalo forgets what it returned (no offset)
        await zalo.wait_for("getUpdates", count=polls + 1)

    def said(expect: str) -> int:
        return len([t for t in zalo.sent_to(user.id) if expect in t])

    async def say(text: str, expect: str, sent: int) -> None:
        before = said(expect)
        user.send_text(text)
        assert await zalo.wait_until(lambda: said(expect) > before)
        await channel.wait_idle()
        assert said(expect) - before == sent

    await poll_fault(lambda: zalo.fail_next("getUpdates", code=502))
    await say(f"/start {code}", "Đăng ký thành công", 1)
    await poll_fault(lambda: zalo.drop_next("getUpdates", hold=HOLD))
    await say("/trogiup", "Các lệnh", 1)
    zalo.fail_next("sendMessage", code=500)
    await say("/trogiup", "Các lệnh", 1)
    zalo.drop_next("sendMessage", hold=HOLD, deliver=True)
    await say("/trogiup", "Các lệnh", 2)  # the bound: one extra copy per answer lost
    assert await count(database, InboxUpdate) == 4 and await unprocessed(database) == 0
    records = problems(logs)
    lines = [r.getMessage() for r in records]
    assert len(lines) == 4, lines
    assert "getUpdates failed: 502" in lines[0] and "getUpdates failed: 0 " in lines[1]
    assert all(f"Zalo chat {user.id}: " in line for line in lines[2:])


# --- 3. the database: a lock on SQLite, a restart of PostgreSQL -----------------------------


@contextlib.asynccontextmanager
async def sqlite_lock(database_url: str) -> AsyncIterator[None]:
    """Another connection holds SQLite's write lock (``BEGIN IMMEDIATE``) until the block ends.

    The lock is taken off the event loop: the bot may be finishing a transaction right then.
    """
    path = make_url(database_url).database
    assert path is not None
    locker = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
    try:
        await asyncio.to_thread(locker.execute, "BEGIN IMMEDIATE")
        yield
    finally:
        locker.rollback()
        locker.close()


@ON_SQLITE
async def test_a_brief_sqlite_lock_delays_intake_but_loses_nothing(
    fake: FakeTelegram,
    bot: FaultBot,
    database: Database,
    clock: FrozenClock,
    database_url: str,
    logs: pytest.LogCaptureFixture,
) -> None:
    channel = await bot.start()
    codes = [await invite(database, clock, "sxd") for _ in range(3)]
    users = [fake.user(6101 + n) for n in range(3)]
    await channel.wait_idle()
    async with sqlite_lock(database_url):  # another process writing, for about a second
        updates = [u.send_text(f"/start {c}") for u, c in zip(users, codes, strict=True)]
        last = updates[-1]["update_id"]
        await fake.wait_for(
            "getUpdates",
            predicate=lambda c: c.ok and any(u["update_id"] == last for u in c.result),
        )
        await asyncio.sleep(1.0)  # the length of the lock (the fault itself), not a wait
        assert not fake.calls_of("sendMessage")  # intake waits for the lock...
        assert all(int(c.params.get("offset") or 0) <= last for c in fake.calls_of("getUpdates"))
    for user in users:
        await fake.wait_for_text(user.id, "Đăng ký thành công")
    await fake.wait_confirmed(last)
    await channel.wait_idle()
    assert all(copies(fake, u.id, "Đăng ký thành công") == 1 for u in users)
    assert await count(database, InboxUpdate) == 3 and await unprocessed(database) == 0
    assert problems(logs) == []  # under the busy timeout, a lock is only a delay


@ON_SQLITE
async def test_a_sqlite_lock_longer_than_the_busy_timeout_returns_the_updates(
    fake: FakeTelegram,
    clock: FrozenClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_watch: LogWatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 200)  # 10 s in production
    database = Database(database_url)
    running = FaultBot(fake, database, clock, tmp_path / "data")
    try:
        channel = await running.start()
        code = await invite(database, clock, "sxd")
        user = fake.user(6201)
        await channel.wait_idle()  # the worker dies if the lock outlasts its look at the inbox
        async with sqlite_lock(database_url):
            update = user.send_text(f"/start {code}")
            await log_watch.wait_for("could not record")  # the commit failed: not confirmed
            assert all(
                int(c.params.get("offset") or 0) <= update["update_id"]
                for c in fake.calls_of("getUpdates")
            )
        await fake.wait_for_text(user.id, "Đăng ký thành công")
        await fake.wait_confirmed(update["update_id"])
        await channel.wait_idle()
        handed_out = [
            c
            for c in fake.calls_of("getUpdates")
            if c.ok and any(u["update_id"] == update["update_id"] for u in c.result)
        ]
        assert len(handed_out) >= 2  # asked again after the failed commit
        assert copies(fake, user.id, "Đăng ký thành công") == 1
        assert await count(database, InboxUpdate) == 1 and await unprocessed(database) == 0
    finally:
        try:
            await stop_within(running)
        finally:
            await database.dispose()
    records = problems(logs)
    assert records and all(
        r.levelno == logging.WARNING
        and "could not record 1 update(s): database is locked; asking again in" in r.getMessage()
        for r in records
    )
    assert len(records) == len(handed_out) - 1  # one line per failed commit


@ON_SQLITE
async def test_a_zalo_event_is_kept_through_a_sqlite_lock_longer_than_the_busy_timeout(
    zalo: FakeZalo,
    clock: FrozenClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_watch: LogWatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    database = Database(database_url)
    running = ZaloBot(zalo, database, clock, tmp_path / "data")
    try:
        channel = await running.start()
        code = await invite(database, clock, "sct")
        user = zalo.user("fa0002")
        await channel.wait_idle()  # the worker dies if the lock outlasts its look at the inbox
        async with sqlite_lock(database_url):
            user.send_text(f"/start {code}")  # Zalo forgets it once getUpdates returns it
            await log_watch.wait_for("could not record Zalo event")
        await zalo.wait_for_text(user.id, "Đăng ký thành công")
        await channel.wait_idle()
        assert len([t for t in zalo.sent_to(user.id) if "Đăng ký thành công" in t]) == 1
        assert await count(database, InboxUpdate) == 1 and await unprocessed(database) == 0
    finally:
        try:
            await stop_within(running)
        finally:
            await database.dispose()
    records = problems(logs)
    assert records and all(
        "could not record Zalo event" in r.getMessage() and "database is locked" in r.getMessage()
        for r in records
    )


async def _terminate_connections(database_url: str) -> int:
    """Kill every other connection to the test database, as a server restart does."""
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        killed = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return sum(1 for row in killed if row[0])


@ON_POSTGRES
async def test_a_postgres_restart_mid_conversation_loses_nothing(
    fake: FakeTelegram,
    bot: FaultBot,
    database: Database,
    clock: FrozenClock,
    database_url: str,
    logs: pytest.LogCaptureFixture,
) -> None:
    channel = await bot.start()
    user = await register(fake, database, clock)
    status = await ask(fake, user, lambda: user.send_text("/baocao 1.b.1"), "tình trạng thực hiện")
    assert await _terminate_connections(database_url) >= 1  # the pool's idle connections
    await ask(
        fake,
        user,
        lambda: user.press(status["message_id"], button(status, "Đang triển khai")),
        "phần trăm",
    )
    await ask(fake, user, lambda: user.send_text("60"), "kết quả thực hiện")
    files = await ask(fake, user, lambda: user.send_text("Đã rà soát."), "minh chứng")
    assert await _terminate_connections(database_url) >= 1
    summary = await ask(
        fake, user, lambda: user.press(files["message_id"], button(files, "Bỏ qua")), "kiểm tra"
    )
    assert await _terminate_connections(database_url) >= 1
    await ask(
        fake,
        user,
        lambda: user.press(summary["message_id"], button(summary, "Xác nhận")),
        "Đã ghi nhận",
    )
    await channel.wait_idle()
    async with database.session() as session:
        row = await session.scalar(select(Submission))
        assert row is not None and row.progress == 60
    assert await count(database, Submission) == 1
    assert await unprocessed(database) == 0
    assert copies(fake, user.id, "Đã ghi nhận") == 1
    assert problems(logs) == []  # pool_pre_ping replaced the dead connections quietly


OUTAGE = float(os.environ.get("PGIBOT_TEST_OUTAGE", "15"))
"""Seconds the database is away in the outage test (15 s: the outage the flaw was seen with)."""
PACE = 1.2
"""Seconds between two messages of one user in the outage test: slower than the flood rate."""


class DatabaseOutage:
    """Take the test database away and bring it back, for real.

    PostgreSQL: the bot connects through a TCP proxy that is closed (connections refused, open
    ones cut) and reopened. SQLite: another connection holds the write lock past the busy
    timeout, so every write fails with "database is locked" as on an unwritable file (the
    tests run as root, whom file modes do not stop).
    """

    def __init__(self, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self._database_url = database_url
        self._proxy: TcpProxy | None = None
        self._lock: contextlib.AbstractAsyncContextManager[None] | None = None
        self.url = database_url
        if make_url(database_url).get_backend_name() == "sqlite":
            monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 200)  # 10 s in production

    async def __aenter__(self) -> DatabaseOutage:
        url = make_url(self._database_url)
        if url.get_backend_name() != "sqlite":
            self._proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
            await self._proxy.open()
            self.url = url.set(host="127.0.0.1", port=self._proxy.port).render_as_string(
                hide_password=False
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.end()
        if self._proxy is not None:
            await self._proxy.close()

    async def begin(self) -> None:
        if self._proxy is not None:
            await self._proxy.close()
        else:
            self._lock = sqlite_lock(self._database_url)
            await self._lock.__aenter__()

    async def end(self) -> None:
        if self._proxy is not None:
            if self._proxy._server is None:
                await self._proxy.open()
        elif self._lock is not None:
            lock, self._lock = self._lock, None
            await lock.__aexit__(None, None, None)


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_a_database_outage_loses_no_message_and_floods_no_one(
    fake: FakeTelegram,
    clock: FrozenClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_watch: LogWatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    """Users who write at a normal pace through an outage are all answered after it, in order.

    Telegram hands out the unconfirmed updates again at every poll while the database is away:
    flood control must judge each update once, not at every sight.
    """
    async with DatabaseOutage(database_url, monkeypatch) as outage:
        database = Database(outage.url)
        running = FaultBot(fake, database, clock, tmp_path / "data")
        running.flood = FloodLimits()  # the production limits: 12 at once, then 1 a second
        try:
            channel = await running.start()
            users = [fake.user(6301 + n, first_name=f"Cán bộ {n}") for n in range(3)]
            sent: dict[int, list[int]] = {user.id: [] for user in users}
            for user in users:  # all is well before the outage
                sent[user.id].append(user.send_text("xin chào")["update_id"])
            assert await fake.wait_until(lambda: all(len(fake.sent_to(u.id)) == 1 for u in users))
            await channel.wait_idle()
            await outage.begin()
            loop = asyncio.get_running_loop()
            until = loop.time() + OUTAGE
            for turn in itertools.count():
                user = users[turn % len(users)]
                sent[user.id].append(user.send_text(f"tin nhắn số {turn + 1}")["update_id"])
                if loop.time() >= until:
                    break
                await asyncio.sleep(PACE / len(users))  # each user writes every PACE seconds
            await log_watch.wait_for("could not record")  # the outage was seen
            await outage.end()
            during = sum(len(ids) - 1 for ids in sent.values())
            assert during >= 3 * int(OUTAGE / PACE)

            def answered() -> bool:
                return all(len(fake.sent_to(u.id)) == len(sent[u.id]) for u in users)

            assert await fake.wait_until(answered, OUTAGE + 30.0), {
                u.id: (len(sent[u.id]), len(fake.sent_to(u.id))) for u in users
            }
            await fake.wait_confirmed(max(max(ids) for ids in sent.values()))
            await channel.wait_idle()
            for user in users:  # no one was told to slow down; each got one answer a message
                texts = [str(m.get("text", "")) for m in fake.sent_to(user.id)]
                assert not any("quá nhanh" in text for text in texts), texts
                assert all("chưa đăng ký" in text for text in texts), texts
            async with database.session() as session:  # recorded once each, in the order sent
                rows = (
                    await session.execute(
                        select(InboxUpdate.update_key, InboxUpdate.processed_at).order_by(
                            InboxUpdate.id
                        )
                    )
                ).all()
            keys = [int(key) for key, _ in rows]
            assert keys == sorted(keys) == sorted(i for ids in sent.values() for i in ids)
            assert all(processed is not None for _, processed in rows)
        finally:
            try:
                await stop_within(running)
            finally:
                await database.dispose()
    records = problems(logs)
    assert records and all("could not record" in r.getMessage() for r in records), [
        r.getMessage() for r in records
    ]


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_an_update_caught_by_an_outage_while_being_handled_is_answered_after_it(
    fake: FakeTelegram,
    clock: FrozenClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    log_watch: LogWatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    """Recorded, then the database goes away before it is handled: it waits, then is answered.

    No apology is sent for it and nothing is left for the next start: the worker handles it
    again as soon as the database is back.
    """
    async with DatabaseOutage(database_url, monkeypatch) as outage:
        database = Database(outage.url)
        running = FaultBot(fake, database, clock, tmp_path / "data")
        try:
            channel = await running.start()
            user = fake.user(6401, first_name="Cán bộ")
            user.send_text("xin chào")
            assert await fake.wait_until(lambda: len(fake.sent_to(user.id)) == 1)
            await channel.wait_idle()
            router = channel._router
            handle_batch = router.handle_batch

            async def outage_first(*args: Any, **kwargs: Any) -> Any:
                monkeypatch.setattr(router, "handle_batch", handle_batch)  # only this once
                await outage.begin()  # recorded already; the outage hits its handling
                return await handle_batch(*args, **kwargs)

            monkeypatch.setattr(router, "handle_batch", outage_first)
            user.send_text("tin nhắn gửi đúng lúc mất kết nối")
            await log_watch.wait_for("the database is unavailable")
            await outage.end()
            assert await fake.wait_until(lambda: len(fake.sent_to(user.id)) == 2, 30.0)
            await channel.wait_idle()
            texts = [str(m.get("text", "")) for m in fake.sent_to(user.id)]
            assert all("chưa đăng ký" in text for text in texts), texts  # answered, no apology
            async with database.session() as session:
                rows = (
                    await session.execute(select(InboxUpdate.processed_at, InboxUpdate.attempts))
                ).all()
            assert len(rows) == 2
            assert all(processed is not None and attempts == 0 for processed, attempts in rows)
        finally:
            try:
                await stop_within(running)
            finally:
                await database.dispose()
    records = problems(logs)
    assert records and all("the database is unavailable" in r.getMessage() for r in records), [
        r.getMessage() for r in records
    ]


@ON_SQLITE
async def test_webhook_retries_during_an_outage_are_judged_once_and_confirmed_when_recorded(
    fake: FakeTelegram,
    clock: FrozenClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    """Telegram retries a webhook delivery until it gets 200: each retry is the same update."""
    async with DatabaseOutage(database_url, monkeypatch) as outage:
        database = Database(outage.url)
        running = FaultBot(fake, database, clock, tmp_path / "data")
        running.flood = FloodLimits()
        try:
            channel = await running.start(webhook=True)
            user = fake.user(6401)
            update = user.send_text("xin chào", queue=False)
            await channel.wait_idle()
            await outage.begin()
            statuses = [await fake.deliver_webhook(update) for _ in range(20)]
            assert set(statuses) == {503}  # not recorded: not confirmed
            await outage.end()
            assert await fake.deliver_webhook(update) == 200
            await fake.wait_for_text(user.id, "chưa đăng ký")
            await channel.wait_idle()
            texts = [str(m.get("text", "")) for m in fake.sent_to(user.id)]
            assert len(texts) == 1 and "quá nhanh" not in texts[0]
            assert await count(database, InboxUpdate) == 1 and await unprocessed(database) == 0
        finally:
            try:
                await stop_within(running)
            finally:
                await database.dispose()
    lines = [r.getMessage() for r in problems(logs)]
    assert len(lines) == 20 and all(
        "could not record a webhook update: database is locked" in line for line in lines
    )


@ON_SQLITE
async def test_zalo_webhook_retries_during_an_outage_are_judged_once(
    zalo: FakeZalo,
    clock: FrozenClock,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs: pytest.LogCaptureFixture,
) -> None:
    """The same on Zalo's webhook: each retry of an event is the same event."""
    async with DatabaseOutage(database_url, monkeypatch) as outage:
        database = Database(outage.url)
        running = ZaloBot(zalo, database, clock, tmp_path / "data")  # production flood limits
        try:
            channel = await running.start(webhook=True)
            user = zalo.user("fa0201")
            event = user.send_text("xin chào", queue=False)
            await channel.wait_idle()
            await outage.begin()
            statuses = [await zalo.push(event) for _ in range(20)]
            assert set(statuses) == {503}
            await outage.end()
            assert await zalo.push(event) == 200
            await zalo.wait_for_text(user.id, "chưa đăng ký")
            await channel.wait_idle()
            texts = zalo.sent_to(user.id)
            assert len(texts) == 1 and "quá nhanh" not in texts[0]
            assert await count(database, InboxUpdate) == 1 and await unprocessed(database) == 0
        finally:
            try:
                await stop_within(running)
            finally:
                await database.dispose()
    lines = [r.getMessage() for r in problems(logs)]
    assert len(lines) == 20 and all(
        "could not record a webhook event: database is locked" in line for line in lines
    )


# --- 4. Telegram's update ids start again after a quiet week ------------------------------


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
async def test_an_update_id_used_again_after_a_quiet_week_is_a_new_update(
    fake: FakeTelegram,
    bot: FaultBot,
    database: Database,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    log_watch: LogWatch,
) -> None:
    """After a week without updates Telegram numbers the next one at random, maybe as an old one.

    A redelivery within days is dropped (and logged, by id only); the same id a week later is a
    new update, and a report confirmed with it is a new report, not the receipt of the old one.
    """
    caplog.set_level(logging.WARNING)
    channel = await bot.start()
    user = await register(fake, database, clock)
    summary = await report_until_summary(fake, user)
    confirm = user.press(summary["message_id"], button(summary, "Xác nhận"), queue=False)
    first = await ask(fake, user, lambda: fake.queue_update(confirm), "Đã ghi nhận báo cáo số")
    await channel.wait_idle()
    answers = len(fake.sent_to(user.id))
    fake.queue_update(confirm)  # a redelivery: the same update, the same day
    await log_watch.wait_for("duplicate")
    await channel.wait_idle()
    assert len(fake.sent_to(user.id)) == answers and await count(database, Submission) == 1
    dropped = [r.getMessage() for r in caplog.records if "duplicate" in r.getMessage()]
    assert dropped == [
        f"telegram update {confirm['update_id']} was recorded before; dropped as a duplicate"
    ]

    clock.advance(timedelta(days=8))  # a quiet week: the ids start again, here at an old one
    summary = await report_until_summary(fake, user)
    again = user.press(summary["message_id"], button(summary, "Xác nhận"), queue=False)
    again["update_id"] = confirm["update_id"]
    second = await ask(fake, user, lambda: fake.queue_update(again), "Đã ghi nhận báo cáo số")
    await channel.wait_idle()
    assert "phiên bản 2" in str(second["text"]) and str(second["text"]) != str(first["text"])
    assert await count(database, Submission) == 2
    assert await count(database, InboxUpdate, InboxUpdate.processed_at.is_(None)) == 0
    assert not any("Đã rà soát" in r.getMessage() for r in caplog.records)  # never the content


# --- 6. the webhook server under slow clients ------------------------------------------------


@ON_SQLITE
async def test_slow_clients_cannot_hold_the_webhook_server(
    fake: FakeTelegram,
    bot: FaultBot,
    database: Database,
    log_watch: LogWatch,
) -> None:
    """Half a header, or a trickled body, holds a connection only so long; the limit holds."""
    channel = await bot.start()
    channel.config = replace(channel.config, webhook_secret=WEBHOOK_SECRET)
    header_timeout, limit = 0.5, 40
    server = WebhookServer(
        create_app([channel], body_timeout=0.5),
        "127.0.0.1",
        0,
        header_timeout=header_timeout,
        max_connections=limit,
    )
    await server.start()
    url = f"http://127.0.0.1:{server.port}{TELEGRAM_PATH}"
    user = fake.user(6501)

    async def deliver(text: str) -> int:
        update = user.send_text(text, queue=False)
        headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=update, headers=headers) as reply,
        ):
            return reply.status

    async def half_header() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /telegram HTTP/1.1\r\nHost: bot\r\nContent-Type: appl")
        await writer.drain()
        return reader, writer

    async def closed_by_the_server(reader: asyncio.StreamReader) -> bytes:
        async with asyncio.timeout(header_timeout + 10):  # a guard against a hang, not a timing
            try:
                return await reader.read()
            except ConnectionResetError:
                return b""

    try:
        slow = [await half_header() for _ in range(limit - 5)]
        assert await deliver("xin chào") == 200  # room left: a genuine delivery goes through
        for reader, writer in slow:  # each slow one is closed by the server, with no answer
            assert await closed_by_the_server(reader) == b""
            writer.close()
        slow = [await half_header() for _ in range(limit + 20)]  # more than the limit
        answers = [await closed_by_the_server(reader) for reader, _ in slow]
        assert answers == [b""] * len(slow)  # the ones over the limit at once, the others later
        await log_watch.wait_for("connection(s) to the webhook refused")
        for _, writer in slow:
            writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        body = b'{"update_id": 1, "message": {}}'
        writer.write(
            b"POST /telegram HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
            + f"X-Telegram-Bot-Api-Secret-Token: {WEBHOOK_SECRET}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )  # the header, then a body that never ends
        await writer.drain()
        answer = await closed_by_the_server(reader)
        assert answer.startswith(b"HTTP/1.1 408")
        writer.close()
        assert await deliver("/trogiup") == 200  # and the server still serves
        await channel.wait_idle()
        assert await count(database, InboxUpdate) == 2
    finally:
        await server.cleanup()


# --- 13. a Zalo event the database refuses -------------------------------------------------


@ON_POSTGRES
async def test_a_zalo_event_the_database_refuses_is_set_aside_and_polling_goes_on(
    zalo: FakeZalo,
    zalo_bot: ZaloBot,
    database: Database,
    logs: pytest.LogCaptureFixture,
) -> None:
    """Zalo forgets an event once handed out; one PostgreSQL refuses must not stop intake."""
    channel = await zalo_bot.start()
    sender, other = zalo.user("fa0101"), zalo.user("fa0102")
    poison = sender.send_text("xin chào", queue=False)
    poison["message"]["date"] = float("nan")  # JSON's NaN: PostgreSQL's json type refuses it
    zalo.queue_event(poison)
    other.send_text("xin chào")
    await zalo.wait_for_text(other.id, "chưa đăng ký", timeout=60.0)
    await zalo.wait_for_text(sender.id, "sự cố kỹ thuật")  # told, politely, to send it again
    await channel.wait_idle()
    async with database.session() as session:
        rows = (await session.execute(select(InboxUpdate).order_by(InboxUpdate.id))).scalars()
        aside, taken = list(rows)
    key = f"message.text.received:{poison['message']['message_id']}"
    assert aside.update_key == key and aside.processed_at is not None
    assert aside.last_error and "NaN" not in str(aside.payload)
    assert taken.processed_at is not None
    records = problems(logs)
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and key in errors[0] and "set aside" in errors[0]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert warnings and all(f"could not record Zalo event {key}" in w for w in warnings)


# --- the fakes' new faults ------------------------------------------------------------------


async def test_drop_next_resets_or_holds_past_the_timeout(fake: FakeTelegram) -> None:
    url = f"{fake.base_url}{TOKEN}/sendMessage"
    body = {"chat_id": 42, "text": "xin chào"}
    fake.drop_next("sendMessage")
    fake.drop_next("sendMessage", hold=HOLD, deliver=True)
    async with httpx.AsyncClient(timeout=READ_TIMEOUT) as client:
        with pytest.raises(httpx.ReadError):  # a reset, nothing sent
            await client.post(url, json=body)
        with pytest.raises(httpx.ReadTimeout):  # held: the client gives up first, yet it is sent
            await client.post(url, json=body)
        assert (await client.post(url, json=body)).status_code == 200
    assert [m["text"] for m in fake.sent_to(42)] == ["xin chào", "xin chào"]
    first, second, third = fake.calls_of("sendMessage")
    assert first.dropped and not first.ok and third.ok
    assert not second.dropped  # still held when the client gave up
    assert all(b.time >= a.time for a, b in itertools.pairwise([first, second, third]))


@ON_SQLITE
async def test_a_poll_loop_that_dies_still_lets_the_channel_stop(
    database: Database, clock: FrozenClock
) -> None:
    """A poll that raises must not leave the inbox worker waiting for a wake-up forever."""
    from bot.channels.base import InboxChannel
    from handlers.router import Router

    class BrokenPoll(InboxChannel):
        name = "broken"

        @property
        def uses_webhook(self) -> bool:
            return False

        async def poll(self, stop: asyncio.Event) -> None:
            raise RuntimeError("the platform went away")

    channel = BrokenPoll(Router(database, clock), database, clock)
    stop = asyncio.Event()
    running = asyncio.create_task(channel.run(stop))
    await channel.wait_idle()  # the worker is waiting
    stop.set()
    with pytest.raises(RuntimeError, match="went away"):
        await asyncio.wait_for(running, timeout=5)
