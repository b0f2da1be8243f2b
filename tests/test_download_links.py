"""Files for everyone: on Zalo, which cannot receive files, the bot sends a link to the file.

End to end over real HTTP: the coordinator asks /tonghop on the fake Zalo Bot Platform and
picks the spreadsheet; the bot answers with a link on its own web server, and the link gives
the very bytes the bot made. Then the link's limits: it expires, a one-use link is used up,
an unknown one is refused, each politely in Vietnamese; without a public address the bot
still says plainly why the file does not come.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.api import ApiServices
from bot.channels.zalo import ZaloChannel, ZaloConfig
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import OutgoingFile
from bot.web import create_app
from handlers.context import BotInfo
from handlers.downloads import DownloadLinks
from handlers.router import Router
from storage.db import Database
from tests.fakes.zalo_api import FakeZalo
from tests.helpers import invite

TOKEN = "98765:zalo-test-secret"
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/files/[A-Za-z0-9_-]+)")


class RecordingLinks(DownloadLinks):
    """The real download links, remembering each file handed over (to compare the bytes)."""

    handed: list[OutgoingFile]

    async def create(self, file: OutgoingFile) -> tuple[str, object]:  # type: ignore[override]
        self.handed.append(file)
        return await super().create(file)


@dataclass
class Served:
    fake: FakeZalo
    links: RecordingLinks | None
    clock: FrozenClock


async def _serve(
    database: Database, clock: FrozenClock, tmp_path: Path, *, once: bool, public: bool
) -> AsyncIterator[Served]:
    """Run the Zalo channel (polling the fake) and, if public, the web server with the links."""
    async with FakeZalo(token=TOKEN) as fake:
        router = Router(database, clock, BotInfo(data_dir=tmp_path / "data"))
        links = None
        if public:
            links = RecordingLinks(
                database,
                clock,
                tmp_path / "data",
                "",  # the server's address, once it listens
                valid_for=timedelta(minutes=30),
                once=once,
            )
            links.handed = []
        channel = ZaloChannel(
            ZaloConfig(TOKEN, fake.base_url, poll_timeout=1), router, database, clock, links=links
        )
        runner = web.AppRunner(create_app([channel], api=ApiServices(database, clock, links)))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        if links is not None:
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            links.base_url = f"http://127.0.0.1:{port}/files/"
        stop = asyncio.Event()
        await channel.start()
        task = asyncio.create_task(channel.run(stop))
        try:
            yield Served(fake, links, clock)
        finally:
            stop.set()
            await task
            await channel.stop()
            await runner.cleanup()


@pytest.fixture
async def served(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[Served]:
    async for running in _serve(database, clock, tmp_path, once=False, public=True):
        yield running


async def _coordinator_asks_for_the_spreadsheet(
    served: Served, database: Database, clock: FrozenClock
) -> str:
    fake = served.fake
    user = fake.user("c0ffee", display_name="Trần Văn Điều Phối")
    user.send_text(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
    await fake.wait_for_text(user.id, "Đăng ký thành công")
    user.send_text("/tonghop 2024")
    await fake.wait_for_text(user.id, "Bảng tính")
    user.send_text("bang tinh")  # the choice's label, typed without diacritics
    call = await fake.wait_for_text(user.id, "tải về", timeout=30)
    return str(call.params["text"])


async def test_the_coordinator_on_zalo_gets_a_link_to_the_same_file(
    served: Served, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    text = await _coordinator_asks_for_the_spreadsheet(served, database, clock)
    assert served.links is not None
    [handed] = served.links.handed
    assert handed.file_name in text and "Zalo chưa nhận được tệp" not in text
    assert "21/11/2024" not in text and "20/11/2024" in text  # valid for 30 minutes, today
    found = LINK.search(text)
    assert found is not None, text
    async with aiohttp.ClientSession() as session, session.get(found[1]) as response:
        assert response.status == 200
        body = await response.read()
        assert response.headers["Content-Type"] == handed.mime_type
        assert "attachment" in response.headers["Content-Disposition"]
    assert body == handed.content and body.startswith(b"PK")  # the very workbook the bot made
    stored = tmp_path / "data" / "downloads" / hashlib.sha256(body).hexdigest()
    assert stored.read_bytes() == body
    clock.set(clock.now() + timedelta(minutes=31))
    async with aiohttp.ClientSession() as session, session.get(found[1]) as response:
        assert response.status == 410
        page = await response.text()
    assert "đã hết hạn" in page and "/tonghop" in page
    async with aiohttp.ClientSession() as session, session.get(found[1] + "x") as response:
        assert response.status == 404
        assert "không tồn tại" in await response.text()


async def test_a_one_use_link_gives_its_file_once(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    async for served in _serve(database, clock, tmp_path, once=True, public=True):
        text = await _coordinator_asks_for_the_spreadsheet(served, database, clock)
        assert "một lần" in text
        found = LINK.search(text)
        assert found is not None
        async with aiohttp.ClientSession() as session:
            async with session.head(found[1]) as response:  # a link preview's probe
                assert response.status == 405
            async with session.get(found[1]) as response:
                assert response.status == 200
            async with session.get(found[1]) as response:
                assert response.status == 410
                assert "đã được sử dụng" in await response.text()


async def test_without_a_public_address_the_bot_says_why_no_file_comes(
    database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    async for served in _serve(database, clock, tmp_path, once=False, public=False):
        fake = served.fake
        user = fake.user("c0ffee")
        user.send_text(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
        await fake.wait_for_text(user.id, "Đăng ký thành công")
        user.send_text("/tonghop 2024")
        await fake.wait_for_text(user.id, "Bảng tính")
        user.send_text("bang tinh")
        call = await fake.wait_for_text(user.id, "Zalo chưa nhận được tệp", timeout=30)
        assert ".xlsx" in call.params["text"]
