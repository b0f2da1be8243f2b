"""The fake Zalo Bot Platform API, driven by a plain aiohttp client over real HTTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, web

from tests.fakes.zalo_api import SECRET_HEADER, FakeZalo

TOKEN = "12345:zalo-secret"
SECRET = "s3cret-token"
LAN = "8a1f2b3c4d5e6f70"
HEX = re.compile(r"[0-9a-f]{32}")

JSONDict = dict[str, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeZalo]:
    async with FakeZalo(token=TOKEN, long_poll_cap=0.2) as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[ClientSession]:
    async with ClientSession() as session:
        yield session


async def call(
    session: ClientSession, fake: FakeZalo, method: str, token: str = TOKEN, **params: Any
) -> tuple[int, JSONDict]:
    async with session.post(f"{fake.base_url}{token}/{method}", json=params) as reply:
        return reply.status, await reply.json()


class Receiver:
    """A small webhook endpoint of the test: records each POST, checks the secret header."""

    def __init__(self) -> None:
        self.bodies: list[JSONDict] = []
        self.secrets: list[str | None] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_HEADER)
        self.secrets.append(secret)
        self.bodies.append(await request.json())
        return web.Response(status=200 if secret == SECRET else 401)

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/zalo", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/zalo"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver() as receiver:
        yield receiver


async def test_get_me_over_post_and_get(fake: FakeZalo, session: ClientSession) -> None:
    status, body = await call(session, fake, "getMe")
    assert status == 200
    assert body == {
        "ok": True,
        "result": {
            "id": "12345",
            "account_name": "pgi_bot",
            "account_type": "BASIC",
            "can_join_groups": False,
        },
    }
    async with session.get(f"{fake.base_url}{TOKEN}/getMe") as reply:
        assert reply.status == 200
        assert (await reply.json())["result"]["account_name"] == "pgi_bot"
    assert [c.status for c in fake.calls_of("getMe")] == [200, 200]


async def test_wrong_token_and_unknown_method(fake: FakeZalo, session: ClientSession) -> None:
    status, body = await call(session, fake, "getMe", token="12345:wrong")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}

    status, body = await call(session, fake, "sendVideo", chat_id=LAN)
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
    status, _ = await call(session, fake, "sendmessage", chat_id=LAN, text="x")
    assert status == 404
    assert [c.status for c in fake.calls] == [401, 404, 404]


async def test_get_updates_returns_one_update_then_408(
    fake: FakeZalo, session: ClientSession
) -> None:
    lan = fake.user(LAN, display_name="Nguyễn Thị Lan")
    first = lan.send_text("/start")
    second = lan.send_text("Báo cáo")
    assert len(fake.pending_updates) == 2

    status, body = await call(session, fake, "getUpdates", timeout="30")
    assert status == 200
    assert body["result"] == first  # one update object, not a list
    message = first["message"]
    assert first["event_name"] == "message.text.received"
    assert HEX.fullmatch(message["message_id"])
    assert message["date"] > 1_600_000_000_000  # epoch milliseconds
    assert message["chat"] == {"id": LAN, "chat_type": "PRIVATE"}
    assert message["from"] == {"id": LAN, "display_name": "Nguyễn Thị Lan", "is_bot": False}
    assert message["text"] == "/start"

    status, body = await call(session, fake, "getUpdates", timeout="30")
    assert (status, body["result"]) == (200, second)

    # Idle: the poll waits up to the cap, then times out with 408 (nothing is ever re-sent).
    status, body = await call(session, fake, "getUpdates", timeout="30")
    assert status == 408
    assert body == {"ok": False, "error_code": 408, "description": "Request timeout"}
    await fake.wait_queue_empty()


async def test_long_poll_wakes_up_on_a_new_update(fake: FakeZalo, session: ClientSession) -> None:
    fake.long_poll_cap = 10.0
    poll = asyncio.create_task(call(session, fake, "getUpdates", timeout=30))
    await fake.wait_for("getUpdates")
    event = fake.user(LAN).send_sticker()

    status, body = await poll
    assert status == 200
    assert body["result"] == event
    assert event["event_name"] == "message.sticker.received"
    assert event["message"]["sticker"]


async def test_send_message_limits(fake: FakeZalo, session: ClientSession) -> None:
    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="Xin chào")
    assert (status, body["description"]) == (400, "chat not found")

    fake.user(LAN).send_text("hi", queue=False)  # writing once makes the chat known
    assert fake.pending_updates == []
    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="")
    assert (status, body) == (
        400,
        {"ok": False, "error_code": 400, "description": "text is empty"},
    )
    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="x" * 2001)
    assert (status, body["description"]) == (400, "text too long")

    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="ữ" * 2000)
    assert status == 200
    assert HEX.fullmatch(body["result"]["message_id"])
    assert body["result"]["date"] > 1_600_000_000_000
    status, _ = await call(session, fake, "sendMessage", chat_id=LAN, text="Xin chào Lan")
    assert status == 200

    assert fake.sent_to(LAN) == ["ữ" * 2000, "Xin chào Lan"]
    found = await fake.wait_for_text(LAN, "chào Lan")
    assert found.params["text"] == "Xin chào Lan"
    with pytest.raises(TimeoutError, match="never sent"):
        await fake.wait_for_text(LAN, "never sent", timeout=0.05)


async def test_fail_next_and_block_chat(fake: FakeZalo, session: ClientSession) -> None:
    fake.user(LAN).send_text("hi")
    fake.fail_next("sendMessage", code=429)
    fake.fail_next("sendMessage", code=502, times=2)

    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="a")
    assert status == 429
    assert body == {"ok": False, "error_code": 429, "description": "Quota exceeded"}
    for _ in range(2):
        status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="a")
        assert (status, body["error_code"], body["description"]) == (502, 502, "Bad Gateway")
    status, _ = await call(session, fake, "sendMessage", chat_id=LAN, text="a")
    assert status == 200
    assert fake.sent_to(LAN) == ["a"]  # failed calls were not delivered

    fake.fail_next("sendMessage", code=500, description="boom", deliver=True)
    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="b")
    assert (status, body["description"]) == (500, "boom")
    assert fake.sent_to(LAN) == ["a", "b"]  # ...unless deliver=True

    fake.block_chat(LAN)
    status, body = await call(session, fake, "sendMessage", chat_id=LAN, text="c")
    assert status == 403
    assert body == {"ok": False, "error_code": 403, "description": "user blocked the bot"}
    fake.block_chat(LAN, blocked=False)
    status, _ = await call(session, fake, "sendMessage", chat_id=LAN, text="c")
    assert status == 200
    calls = await fake.wait_for("sendMessage", count=2, predicate=lambda c: c.ok)
    assert [c.params["text"] for c in calls] == ["a", "c"]


async def test_other_send_methods_are_recorded(fake: FakeZalo, session: ClientSession) -> None:
    fake.user(LAN).send_text("hi")
    photo = {"chat_id": LAN, "photo": "https://example.org/a.jpg", "caption": "Ảnh"}
    assert (await call(session, fake, "sendPhoto", **photo))[0] == 200
    assert (await call(session, fake, "sendSticker", chat_id=LAN, sticker="abc"))[0] == 200
    status, body = await call(session, fake, "sendChatAction", chat_id=LAN, action="typing")
    assert (status, body) == (200, {"ok": True, "result": True})
    assert (await call(session, fake, "sendPhoto", chat_id=LAN))[0] == 400
    assert fake.calls_of("sendPhoto")[0].params == photo
    assert [c.method for c in fake.calls if c.ok][-3:] == [
        "sendPhoto",
        "sendSticker",
        "sendChatAction",
    ]
    assert fake.sent_to(LAN) == []


async def test_form_and_query_parameters(fake: FakeZalo, session: ClientSession) -> None:
    fake.user(LAN).send_text("hi")
    url = f"{fake.base_url}{TOKEN}/sendMessage"
    async with session.post(url, data={"chat_id": LAN, "text": "form"}) as reply:
        assert reply.status == 200
    async with session.get(url, params={"chat_id": LAN, "text": "query"}) as reply:
        assert reply.status == 200
    assert fake.sent_to(LAN) == ["form", "query"]


async def test_webhook_blocks_polling_and_receives_pushes(
    fake: FakeZalo, session: ClientSession, receiver: Receiver
) -> None:
    status, body = await call(session, fake, "setWebhook", url=receiver.url, secret_token="short")
    assert status == 400
    status, _ = await call(session, fake, "setWebhook", url=receiver.url, secret_token="x" * 257)
    assert status == 400
    status, body = await call(session, fake, "setWebhook", url=receiver.url, secret_token=SECRET)
    assert status == 200
    assert body["result"]["url"] == receiver.url
    assert body["result"]["updated_at"] > 1_600_000_000_000
    status, body = await call(session, fake, "getWebhookInfo")
    assert (status, body["result"]["url"]) == (200, receiver.url)

    status, body = await call(session, fake, "getUpdates", timeout="30")
    assert status == 400
    assert body == {"ok": False, "error_code": 400, "description": "Webhook is active"}

    # A user's message is POSTed to the webhook (flat) with the secret header.
    event = fake.user(LAN).send_text("qua webhook")
    assert fake.pending_updates == []
    await fake.wait_for_webhook()
    assert receiver.bodies == [event]
    assert receiver.secrets == [SECRET]
    assert fake.webhook_statuses == [200]

    # The pusher: flat, wrapped, duplicated, and with a wrong or missing secret.
    assert await fake.push(event) == 200
    assert await fake.push(event, wrapped=True) == 200
    assert receiver.bodies[-1] == {"ok": True, "result": event}
    assert await fake.push(event, duplicate=True) == 200
    assert receiver.bodies[-2:] == [event, event]
    assert await fake.push(event, secret="wrong-secret") == 401
    assert await fake.push(event, secret="") == 401
    assert receiver.secrets[-2:] == ["wrong-secret", None]
    assert fake.webhook_statuses == [200, 200, 200, 200, 200, 401, 401]

    status, body = await call(session, fake, "deleteWebhook")
    assert (status, body["result"]["url"]) == (200, "")
    queued = fake.user(LAN).send_text("lại polling")
    status, body = await call(session, fake, "getUpdates", timeout="1")
    assert (status, body["result"]) == (200, queued)
    with pytest.raises(RuntimeError, match="no webhook"):
        await fake.push(queued)


async def test_photo_bytes_are_downloadable(fake: FakeZalo, session: ClientSession) -> None:
    jpeg = b"\xff\xd8\xff\xe0fake-jpeg\xff\xd9"
    fake.user(LAN).send_photo(jpeg, caption="Ảnh hiện trường")
    fake.user(LAN).send_photo(b"\xff\xd8second")

    status, body = await call(session, fake, "getUpdates", timeout=5)
    assert status == 200
    message = body["result"]["message"]
    assert body["result"]["event_name"] == "message.image.received"
    assert message["caption"] == "Ảnh hiện trường"
    assert message["photo_url"].startswith(f"http://127.0.0.1:{fake.port}/photos/")
    async with session.get(message["photo_url"]) as reply:
        assert reply.status == 200
        assert reply.content_type == "image/jpeg"
        assert await reply.read() == jpeg

    status, body = await call(session, fake, "getUpdates", timeout=5)
    assert "caption" not in body["result"]["message"]
    async with session.get(f"http://127.0.0.1:{fake.port}/photos/missing.jpg") as reply:
        assert reply.status == 404


async def test_wait_for_reports_what_it_saw(fake: FakeZalo, session: ClientSession) -> None:
    await call(session, fake, "getMe")
    with pytest.raises(TimeoutError, match=r"(?s)1 sendMessage call\(s\).*getMe -> 200"):
        await fake.wait_for("sendMessage", timeout=0.05)
