"""Secrets never reach a log: the bot run at DEBUG against the fake APIs, every line read back.

The real channels (python-telegram-bot over HTTP, the Zalo client), the real database engine
and the real web server log as they do in production, at the most talkative level; what any
handler would write (messages, tracebacks) must hold neither a token, nor a webhook secret,
nor an invitation code (a user's message, and a SQL parameter).
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.channels.redaction import protect
from bot.core.clock import FrozenClock
from storage.db import Database
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite
from tests.test_telegram_e2e import SECRET as TELEGRAM_SECRET
from tests.test_telegram_e2e import TOKEN as TELEGRAM_TOKEN
from tests.test_telegram_e2e import Bot as TelegramBot
from tests.test_zalo_e2e import SECRET as ZALO_SECRET
from tests.test_zalo_e2e import TOKEN as ZALO_TOKEN
from tests.test_zalo_e2e import Running as ZaloBot

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def everything_logged() -> Iterator[io.StringIO]:
    """Every record of every logger at DEBUG, formatted with its traceback, as a file would."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield output
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def echoing_database(database_url: str) -> AsyncIterator[Database]:
    """The database as ``--sql-echo`` makes it: every statement logged."""
    database = Database(database_url, echo=True)
    yield database
    await database.dispose()


def assert_clean(log: str, *secrets: str) -> None:
    assert log.count("\n") > 50  # it did log, a lot
    for secret in secrets:
        assert secret not in log, f"{secret!r} in the log"


@ON_SQLITE
async def test_telegram_at_debug_logs_no_secret(
    everything_logged: io.StringIO,
    echoing_database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    database = echoing_database
    async with FakeTelegram(token=TELEGRAM_TOKEN, long_poll_cap=0.3) as fake:
        codes = []
        for webhook in (False, True):
            bot = TelegramBot(fake, database, clock, tmp_path / "data")
            await bot.start(webhook=webhook)
            try:
                user = fake.user(8101 + len(codes))
                code = await invite(database, clock, "sxd")
                codes.append(code)
                user.send_text(f"/start {code}")
                await fake.wait_for_text(user.id, "Đăng ký thành công")
                assert bot.channel is not None
                await bot.channel.wait_idle()
            finally:
                await bot.stop()
    assert fake.webhook_secret == TELEGRAM_SECRET  # the secret was set, so it could be logged
    assert_clean(everything_logged.getvalue(), TELEGRAM_TOKEN, TELEGRAM_SECRET, *codes)


@ON_SQLITE
async def test_zalo_at_debug_logs_no_secret(
    everything_logged: io.StringIO,
    echoing_database: Database,
    clock: FrozenClock,
    tmp_path: Path,
) -> None:
    database = echoing_database
    async with FakeZalo(token=ZALO_TOKEN, long_poll_cap=0.3) as fake:
        codes = []
        for webhook in (False, True):
            bot = ZaloBot(fake, database, clock, tmp_path / "data")
            await bot.start(webhook=webhook)
            try:
                user = fake.user(f"ab{len(codes)}")
                code = await invite(database, clock, "sct")
                codes.append(code)
                user.send_text(f"/start {code}")
                await fake.wait_for_text(user.id, "Đăng ký thành công")
                assert bot.channel is not None
                await bot.channel.wait_idle()
            finally:
                await bot.stop()
    assert_clean(everything_logged.getvalue(), ZALO_TOKEN, ZALO_SECRET, *codes)


def test_a_secret_is_cut_from_messages_arguments_and_tracebacks(
    everything_logged: io.StringIO,
) -> None:
    protect("tok-" + "9" * 20, None, "short")
    token = "tok-" + "9" * 20
    log = logging.getLogger("tests.redaction")
    log.warning("calling https://api.example/bot%s/getMe", token)
    try:
        raise ConnectionError(f"cannot reach https://api.example/bot{token}/getMe")
    except ConnectionError:
        log.exception("failed")
    log.info("a short word stays: short")
    output = everything_logged.getvalue()
    assert token not in output
    assert output.count("bot***/getMe") == 2 and "Traceback" in output
    assert "a short word stays: short" in output
