"""One sender per platform, one policy: a reply and a notification meet a fault alike.

Each platform's channel has one sender; here the outbox worker is given that very sender, and
the same fault is served to a direct reply (``channel.deliver``, what the inbox worker does
after a commit) and to a notification (an outbox row): a 429 is waited out for the time the
platform asks, a 5xx is retried and arrives once, a block marks the chat unreachable after one
request, a bad request is given up after one request. Real clients, real fake servers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import select

from bot.channels.base import InboxChannel
from bot.channels.telegram import TelegramChannel, TelegramConfig
from bot.channels.zalo import ZaloChannel, ZaloConfig
from bot.core.clock import FrozenClock, SystemClock
from bot.core.messages import Reply
from bot.outbox import DeliveryLimits, OutboxWorker
from handlers.router import Router
from storage.db import Database
from storage.models import Agency, Member, MemberIdentity, OutboxMessage
from storage.uow import UnitOfWork
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo

TELEGRAM_TOKEN = "4242:POLICY"
ZALO_TOKEN = "4343:zalo-policy-secret"
RETRY_AFTER = 1.0


class Call(Protocol):
    method: str
    params: dict[str, Any]
    time: float
    status: int

    @property
    def ok(self) -> bool: ...


@dataclass
class Platform:
    """One platform under test: its channel, and how to fault its fake."""

    name: str
    channel: InboxChannel
    calls: Callable[[], list[Call]]
    fail_next: Callable[[int], None]
    block: Callable[[str], None]
    chat: Callable[[int], str]
    """A chat the bot may write to (its user has written to the bot)."""


@pytest.fixture(params=["telegram", "zalo"])
async def platform(
    request: pytest.FixtureRequest,
    database: Database,
) -> AsyncIterator[Platform]:
    clock = SystemClock()
    router = Router(database, clock)
    if request.param == "telegram":
        async with FakeTelegram(token=TELEGRAM_TOKEN) as fake:
            config = TelegramConfig(TELEGRAM_TOKEN, fake.base_url, fake.base_file_url)
            channel = TelegramChannel(config, router, database, clock)
            await channel.start()

            def fail_telegram(code: int) -> None:
                after = int(RETRY_AFTER) if code == 429 else None
                fake.fail_next("sendMessage", code=code, retry_after=after)

            def telegram_chat(n: int) -> str:
                return str(fake.user(8000 + n).id)

            yield Platform(
                "telegram",
                channel,
                lambda: list(fake.calls_of("sendMessage")),
                fail_telegram,
                lambda chat: fake.block_chat(int(chat)),
                telegram_chat,
            )
            await channel.stop()
        return
    async with FakeZalo(token=ZALO_TOKEN) as zalo:
        zalo_config = ZaloConfig(ZALO_TOKEN, zalo.base_url, retry_after=RETRY_AFTER)
        zalo_channel = ZaloChannel(zalo_config, router, database, clock)
        await zalo_channel.start()

        def zalo_chat(n: int) -> str:
            user = zalo.user(f"zp{n}")
            user.send_text("xin chào")  # a chat the platform lets the bot write to
            return user.id

        yield Platform(
            "zalo",
            zalo_channel,
            lambda: list(zalo.calls_of("sendMessage")),
            lambda code: zalo.fail_next("sendMessage", code=code),
            zalo.block_chat,
            zalo_chat,
        )
        await zalo_channel.stop()


async def _member(database: Database, channel: str, chat: str) -> None:
    """Give the chat a member, so that being unreachable shows on their account."""
    now = datetime.now(UTC)
    async with database.session() as session:
        agency = await session.scalar(select(Agency.id).where(Agency.code == "sct"))
        member = Member(
            full_name=f"Cán bộ {chat}", agency_id=agency, role="officer", created_at=now
        )
        session.add(member)
        await session.flush()
        session.add(
            MemberIdentity(
                member_id=member.id, channel=channel, user_id=chat, chat_id=chat, created_at=now
            )
        )
        await session.commit()


async def _reachable(database: Database, chat: str) -> bool:
    async with database.session() as session:
        value = await session.scalar(
            select(MemberIdentity.reachable).where(MemberIdentity.chat_id == chat)
        )
    assert value is not None
    return bool(value)


async def _notify(
    database: Database,
    clock: FrozenClock,
    platform: Platform,
    chat: str,
    text: str,
) -> str:
    """Deliver one notification through the outbox worker with the channel's own sender.

    A retry is due later: the frozen clock is moved past it, and the worker delivers again.
    """
    async with UnitOfWork(database) as uow:
        await uow.notifications.enqueue(
            channel=platform.name,
            chat_id=chat,
            member_id=None,
            kind="notice",
            payload={"text": text, "choices": []},
            dedupe_key=f"policy:{platform.name}:{chat}",
            now=clock.now(),
        )
        await uow.commit()
    limits = DeliveryLimits(rate=25, chat_interval=0, backoff_base=0.1)
    worker = OutboxWorker(database, {platform.name: platform.channel.sender}, clock, limits)
    for _ in range(5):
        await worker.deliver_due()
        async with database.session() as session:
            status = await session.scalar(
                select(OutboxMessage.status).where(OutboxMessage.chat_id == chat)
            )
        if status != "pending":
            return str(status)
        clock.advance(timedelta(minutes=1))  # past the retry's due time
    raise AssertionError(f"the notification to {chat} was not settled")


async def _reply(platform: Platform, chat: str, text: str) -> None:
    await platform.channel.deliver(chat, [Reply(text)])


def _to(platform: Platform, chat: str, text: str) -> list[Call]:
    """The sendMessage calls to a chat whose text contains ``text``."""
    return [
        c
        for c in platform.calls()
        if str(c.params.get("chat_id")) == chat and text in str(c.params.get("text"))
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_429_is_waited_out_as_the_platform_asks_on_both_paths(
    platform: Platform, database: Database, clock: FrozenClock
) -> None:
    for n, path in enumerate(("reply", "notification")):
        chat = platform.chat(n)
        text = f"Tin {path}"
        platform.fail_next(429)
        if path == "reply":
            await _reply(platform, chat, text)
        else:
            assert await _notify(database, clock, platform, chat, text) == "sent"
        limited, sent = _to(platform, chat, text)
        assert limited.status == 429 and sent.ok, path
        assert sent.time - limited.time >= RETRY_AFTER * 0.95, path  # retry_after honoured


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_server_error_is_retried_and_arrives_once_on_both_paths(
    platform: Platform, database: Database, clock: FrozenClock
) -> None:
    for n, path in enumerate(("reply", "notification")):
        chat = platform.chat(10 + n)
        text = f"Tin {path}"
        platform.fail_next(502)
        if path == "reply":
            await _reply(platform, chat, text)
        else:
            assert await _notify(database, clock, platform, chat, text) == "sent"
        calls = _to(platform, chat, text)
        assert [c.status for c in calls] == [502, 200], path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_blocked_chat_is_marked_unreachable_after_one_request_on_both_paths(
    platform: Platform, database: Database, clock: FrozenClock
) -> None:
    for n, path in enumerate(("reply", "notification")):
        chat = platform.chat(20 + n)
        await _member(database, platform.name, chat)
        platform.block(chat)
        text = f"Tin {path}"
        if path == "reply":
            await platform.channel.deliver(chat, [Reply(text), Reply("Tin thứ hai")])
        else:
            assert await _notify(database, clock, platform, chat, text) == "blocked"
        assert [c.status for c in _to(platform, chat, "")] == [403], path  # nothing more
        assert not await _reachable(database, chat), path


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_bad_request_is_given_up_after_one_request_on_both_paths(
    platform: Platform,
    database: Database,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    for n, path in enumerate(("reply", "notification")):
        chat = platform.chat(30 + n)
        text = f"Tin {path}"
        platform.fail_next(400)
        if path == "reply":
            await _reply(platform, chat, text)
        else:
            assert await _notify(database, clock, platform, chat, text) == "failed"
        assert [c.status for c in _to(platform, chat, text)] == [400], path
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 2
