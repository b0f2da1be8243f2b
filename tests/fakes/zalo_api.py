"""Fake Zalo Bot Platform API over real HTTP, for end-to-end tests of the Zalo adapter.

The fake is an ``aiohttp.web`` app on 127.0.0.1 with a free port. The adapter reaches it by
using ``fake.base_url`` instead of ``https://bot-api.zaloplatforms.com/bot`` and appending the
token and the method (``{base_url}{token}/{method}``), so its real HTTP code, JSON handling and
error mapping run. Methods are answered like the Bot Platform answers them (section 2 of
``zalo-apis.md``): the ``ok``/``result`` envelope, ``ok: false`` errors whose ``error_code``
equals the HTTP status, getUpdates returning ONE update (not a list) or 408 after the long-poll
timeout, and 400 on getUpdates while a webhook is set. Unknown methods get 404, so gaps fail
loudly. Method names are matched exactly (``sendMessage``, not ``sendmessage``).

Usage:
    async with FakeZalo(token="12345:zalo-secret") as fake:
        adapter = ZaloAdapter(token="12345:zalo-secret", base_url=fake.base_url, ...)
        ...  # start polling getUpdates, or call setWebhook: user events are then POSTed to it
        lan = fake.user("6f1c2d", display_name="Nguyễn Thị Lan")
        lan.send_text("/start")
        await fake.wait_for_text("6f1c2d", "Xin chào")
        lan.send_photo(b"\\xff\\xd8...", caption="Ảnh hiện trường")
        fake.fail_next("sendMessage", code=429)  # the next sendMessage answers 429
        fake.drop_next("sendMessage", hold=2, deliver=True)  # sent, but the bot times out
        await fake.push(event, wrapped=True, duplicate=True)  # webhook edge cases

Waiting never sleeps: every recorded call, answer and queue change pulses an event, and the
``wait_*`` helpers re-check their condition on each pulse until their timeout.

Assumptions where the platform is undocumented or uncertain (change them here if a live account
disagrees):
    - A chat the bot may write to is one whose user has sent the bot something; any other
      ``chat_id`` gets 400 "chat not found". Zalo has no API listing chats.
    - ``block_chat`` models a user who blocked the bot: every ``send*`` method to that chat
      (sendMessage, sendPhoto, sendSticker, sendChatAction) answers 403 "user blocked the bot".
      The real code and wording are unknown.
    - Text length is counted in Python characters (code points); whitespace-only text counts as
      empty. A photo caption has the same 2000-character limit.
    - setWebhook requires ``secret_token`` (8-256 characters) and accepts ``http://`` URLs too,
      so a local test server can receive pushes; the real platform wants HTTPS.
    - getUpdates has no offset: an update is gone once returned. A missing ``timeout`` means
      30 s (the documented default); every poll is capped at ``long_poll_cap`` seconds.
    - Photo events carry ``photo_url`` (served by this fake at ``/photos/{name}``) and
      ``caption`` only when there is one; sticker events carry ``sticker`` (an id string).
    - A webhook delivery that cannot connect is recorded as status 0 and not retried.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientError, ClientSession, web

from tests.fakes.common import Dropped, Fault, Faults, Waiting, reset_connection

JSONDict = dict[str, Any]

TEXT_LIMIT = 2000
SECRET_MIN, SECRET_MAX = 8, 256
DEFAULT_POLL_TIMEOUT = 30.0
SECRET_HEADER = "X-Bot-Api-Secret-Token"
BLOCKED = "user blocked the bot"
DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    408: "Request timeout",
    429: "Quota exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
METHODS = frozenset(
    {
        "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
        "sendMessage", "sendPhoto", "sendSticker", "sendChatAction",
    }
)  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@dataclass
class Call:
    """One request the bot made; ``status`` stays 0 until it has been answered."""

    method: str
    params: JSONDict
    time: float  # time.monotonic() on arrival
    status: int = 0
    result: Any = None
    dropped: bool = False
    """The connection was reset instead of answered (``drop_next``); ``status`` stays 0."""

    @property
    def ok(self) -> bool:
        """Whether the fake answered with a result rather than an error."""
        return self.status == 200


class ApiError(Exception):
    """An error answer of the Bot Platform API; the HTTP status equals ``code``."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code, self.description = code, description

    def body(self) -> JSONDict:
        """The JSON body sent for this error."""
        return {"ok": False, "error_code": self.code, "description": self.description}


@dataclass(frozen=True)
class _Photo:
    content: bytes = field(repr=False)
    content_type: str = "image/jpeg"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _new_id() -> str:
    return uuid.uuid4().hex


async def _read_params(request: web.Request) -> JSONDict:
    """Arguments from the query string and a JSON or urlencoded/multipart body."""
    params: JSONDict = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as error:
            raise ApiError(400, "Bad Request: invalid JSON body") from error
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: the JSON body must be an object")
        params.update(body)
    else:
        for key, value in (await request.post()).items():
            params[key] = value if isinstance(value, str) else repr(value)
    return params


def _outcome(call: Call) -> str:
    return "dropped" if call.dropped else str(call.status or "pending")


def _brief(params: JSONDict) -> str:
    text = json.dumps(params, ensure_ascii=False, default=repr)
    return text if len(text) <= 160 else text[:157] + "..."


class FakeZalo(Waiting):
    """A Zalo Bot Platform API server on 127.0.0.1 that a real adapter can talk to.

    Each method ``fooBar`` is answered by ``_api_foo_bar``; there is no other registry.
    """

    def __init__(
        self,
        token: str = "12345:zalo-secret",
        *,
        long_poll_cap: float = 1.0,
        account_name: str = "pgi_bot",
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.account_name = account_name
        self.long_poll_cap = long_poll_cap
        self.calls: list[Call] = []
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.webhook_updated_at = 0
        self.webhook_statuses: list[int] = []  # HTTP status of each delivery; 0 = no connection
        self.port = 0
        self._queue: deque[JSONDict] = deque()
        self._faults = Faults()
        self._blocked: set[str] = set()
        self._known_chats: set[str] = set()
        self._sent: dict[str, list[str]] = {}
        self._photos: dict[str, _Photo] = {}
        self.photo_downloads: list[str] = []
        """The host (as the client named it) of each request for a photo, in order."""
        self._pushes: set[asyncio.Task[int]] = set()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    # --- lifecycle and HTTP ---------------------------------------------------------------

    async def __aenter__(self) -> FakeZalo:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1 with a port the OS picks."""
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/bot{token}/{method}", self._serve_api)
        app.router.add_post("/bot{token}/{method}", self._serve_api)
        app.router.add_get("/photos/{name}", self._serve_photo)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """End long polls, finish webhook deliveries, close the client and the server."""
        self._closing = True
        self._pulse()
        while self._pushes:
            await asyncio.gather(*self._pushes, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The API base URL; the client appends ``{token}/{method}``."""
        return f"http://127.0.0.1:{self.port}/bot"

    def photo_url(self, name: str) -> str:
        """The URL at which the fake serves the photo ``name``."""
        return f"http://127.0.0.1:{self.port}/photos/{name}"

    @property
    def download_hosts(self) -> tuple[str, ...]:
        """The hosts a client must accept photos from (set the bot's ``download_hosts``)."""
        return ("127.0.0.1",)

    async def _serve_api(self, request: web.Request) -> web.Response:
        try:
            params, bad_body = await _read_params(request), None
        except ApiError as error:
            params, bad_body = {}, error
        call = Call(request.match_info["method"], params, time.monotonic())
        self.calls.append(call)
        self._pulse()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if bad_body is not None:
                raise bad_body
            result = await self._answer(call.method, params)
        except ApiError as error:
            call.status, call.result = error.code, error.body()
            response = web.json_response(error.body(), status=error.code)
        except Dropped as drop:
            await self.wait_until(lambda: self._closing, drop.hold)
            reset_connection(request)
            call.dropped = True
            self._pulse()
            return web.Response()  # never sent: the connection is gone
        else:
            call.status, call.result = 200, result
            response = web.json_response({"ok": True, "result": result})
        self._pulse()
        return response

    async def _serve_photo(self, request: web.Request) -> web.Response:
        self.photo_downloads.append(request.host)
        photo = self._photos.get(request.match_info["name"])
        if photo is None:
            error = ApiError(404, "Not Found")
            return web.json_response(error.body(), status=error.code)
        return web.Response(body=photo.content, content_type=photo.content_type)

    async def _answer(self, method: str, params: JSONDict) -> Any:
        if method not in METHODS:  # exact spelling only; "sendmessage" is not found
            raise ApiError(404, "Not Found")
        handler = getattr(self, "_api_" + _CAMEL.sub("_", method).lower())
        fault = self._faults.take(method)
        if fault is not None and not fault.deliver:
            raise fault.error
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        if fault is not None:  # it took effect, yet the bot sees an error ("timed out but sent")
            raise fault.error
        return result

    # --- fault injection ------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        code: int = 429,
        description: str | None = None,
        *,
        times: int = 1,
        deliver: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with error ``code``.

        ``description`` defaults per code ("Quota exceeded" for 429, "Bad Gateway" for 502...).
        With ``deliver=True`` the call still takes effect (a message is stored, an update is
        consumed) before the error is returned, like a request that failed after Zalo acted.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        text = description or DESCRIPTIONS.get(code, "Error")
        self._faults.add(method, Fault(ApiError(code, text), deliver, times))

    def drop_next(
        self, method: str, *, hold: float = 0.0, times: int = 1, deliver: bool = False
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with nothing: reset the connection.

        The request is held ``hold`` seconds first; make it longer than the client's timeout
        to simulate a timeout. With ``deliver=True`` the call takes effect first (a message is
        stored; for getUpdates an update is consumed, and lost, as Zalo keeps no offset).
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.add(method, Fault(Dropped(hold), deliver, times))

    def block_chat(self, chat_id: str, blocked: bool = True) -> None:
        """Answer every send to ``chat_id`` with 403 (``blocked=False`` undoes it)."""
        if blocked:
            self._blocked.add(str(chat_id))
        else:
            self._blocked.discard(str(chat_id))

    # --- recorded calls and waiting -------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        """The recorded calls of ``method``, oldest first."""
        return [call for call in self.calls if call.method == method]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` satisfy ``predicate``; return them all.

        A call counts as soon as it arrives; only a long-polling getUpdates is still unanswered
        (``status == 0``) then, so check ``call.ok`` or ``call.status`` in ``predicate`` if needed.
        """

        def matching() -> list[Call]:
            return [c for c in self.calls_of(method) if predicate is None or predicate(c)]

        if await self.wait_until(lambda: len(matching()) >= count, timeout):
            return matching()
        what = f"{count} {method} call(s)" + (" matching the predicate" if predicate else "")
        raise TimeoutError(self._describe(what, timeout, len(matching())))

    async def wait_for_text(self, chat_id: str, substring: str, timeout: float = 10.0) -> Call:
        """Wait until a successful sendMessage to ``chat_id`` contains ``substring``."""

        def found() -> Call | None:
            for call in self.calls:
                if (
                    call.ok
                    and call.method == "sendMessage"
                    and str(call.params.get("chat_id")) == str(chat_id)
                    and substring in str(call.params.get("text", ""))
                ):
                    return call
            return None

        if await self.wait_until(lambda: found() is not None, timeout):
            return found()  # type: ignore[return-value]
        raise TimeoutError(self._describe(f"text {substring!r} in chat {chat_id}", timeout, 0))

    async def wait_queue_empty(self, timeout: float = 10.0) -> None:
        """Wait until getUpdates has taken every queued update."""
        if not await self.wait_until(lambda: not self._queue, timeout):
            what = f"the update queue to drain ({len(self._queue)} left)"
            raise TimeoutError(self._describe(what, timeout, 0))

    async def wait_for_webhook(self, count: int = 1, timeout: float = 10.0) -> list[int]:
        """Wait until ``count`` webhook deliveries have been answered; return their statuses."""
        if not await self.wait_until(lambda: len(self.webhook_statuses) >= count, timeout):
            what = f"{count} webhook deliveries ({len(self.webhook_statuses)} answered)"
            raise TimeoutError(self._describe(what, timeout, len(self.webhook_statuses)))
        return list(self.webhook_statuses)

    def _describe(self, what: str, timeout: float, matched: int) -> str:
        seen = [c for c in self.calls if c.method != "getUpdates"]
        polls = len(self.calls) - len(seen)
        lines = [f"  {c.method} -> {_outcome(c)} {_brief(c.params)}" for c in seen[-20:]]
        return (
            f"waited {timeout}s for {what}; {matched} matched. "
            f"Calls seen (last 20, {polls} getUpdates not shown):\n" + "\n".join(lines or ["  -"])
        )

    # --- users, updates and webhook pushes ------------------------------------------------

    def sent_to(self, chat_id: str) -> list[str]:
        """The texts the bot sent to ``chat_id`` with successful sendMessage, oldest first."""
        return list(self._sent.get(str(chat_id), []))

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Copies of the updates queued for getUpdates, oldest first."""
        return copy.deepcopy(list(self._queue))

    def user(self, user_id: str, display_name: str = "Nguyễn Văn A") -> FakeZaloUser:
        """A Zalo user with a private chat (chat id == user id) who can write to the bot."""
        if not str(user_id):
            raise ValueError("user ids are non-empty strings")
        return FakeZaloUser(self, str(user_id), display_name)

    def queue_event(self, event: JSONDict) -> JSONDict:
        """Hand a copy of a raw event to the bot (queue it, or POST it to the webhook)."""
        event = copy.deepcopy(event)
        self._deliver(event)
        return copy.deepcopy(event)

    async def push(
        self,
        event: JSONDict,
        *,
        wrapped: bool = False,
        secret: str | None = None,
        duplicate: bool = False,
    ) -> int:
        """POST ``event`` to the webhook as Zalo would; return the last HTTP status.

        ``wrapped`` sends ``{"ok": true, "result": event}``; ``secret`` replaces the stored
        secret in the header (``""`` sends no header); ``duplicate`` sends it twice. Each status
        is also appended to ``webhook_statuses``.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set; call setWebhook first")
        body = {"ok": True, "result": event} if wrapped else event
        secret = self.webhook_secret if secret is None else secret
        status = 0
        for _ in range(2 if duplicate else 1):
            status = await self._post(self.webhook_url, body, secret)
        return status

    def _register_photo(self, content: bytes) -> str:
        name = f"{_new_id()}.jpg"
        self._photos[name] = _Photo(content)
        return self.photo_url(name)

    def _deliver(self, event: JSONDict) -> None:
        """POST the event to the webhook when one is set, else queue it for getUpdates."""
        if self.webhook_url:
            url, secret = self.webhook_url, self.webhook_secret
            task = asyncio.get_running_loop().create_task(self._post(url, event, secret))
            self._pushes.add(task)
            task.add_done_callback(self._pushes.discard)
            return
        self._queue.append(event)
        self._pulse()

    async def _post(self, url: str, body: JSONDict, secret: str | None) -> int:
        headers = {SECRET_HEADER: secret} if secret else {}
        if self._session is None:
            self._session = ClientSession()
        try:
            async with self._session.post(url, json=body, headers=headers) as reply:
                await reply.read()
                status = reply.status
        except (ClientError, OSError):
            status = 0
        self.webhook_statuses.append(status)
        self._pulse()
        return status

    # --- Bot Platform methods -------------------------------------------------------------

    def _api_get_me(self, params: JSONDict) -> JSONDict:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    async def _api_get_updates(self, params: JSONDict) -> JSONDict:
        if self.webhook_url:
            raise ApiError(400, "Webhook is active")
        raw = params.get("timeout")
        try:
            timeout = DEFAULT_POLL_TIMEOUT if raw in (None, "") else float(raw)
        except (TypeError, ValueError) as error:
            raise ApiError(400, "timeout is invalid") from error
        wait = max(0.0, min(timeout, self.long_poll_cap))
        await self.wait_until(lambda: bool(self._queue) or self._closing, wait)
        if not self._queue or self.webhook_url:  # no await between the check and the pop
            raise ApiError(408, "Request timeout")
        event = self._queue.popleft()
        self._pulse()
        return event

    def _api_set_webhook(self, params: JSONDict) -> JSONDict:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if not url.startswith(("https://", "http://")):
            raise ApiError(400, "url is invalid")
        if not SECRET_MIN <= len(secret) <= SECRET_MAX:
            raise ApiError(400, f"secret_token must be {SECRET_MIN}-{SECRET_MAX} characters")
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = _now_ms()
        return self._api_get_webhook_info(params)

    def _api_delete_webhook(self, params: JSONDict) -> JSONDict:
        self.webhook_url, self.webhook_secret = "", None
        self.webhook_updated_at = _now_ms()
        return self._api_get_webhook_info(params)

    def _api_get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}

    def _api_send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._chat_id(params)
        text = self._text(params.get("text"), "text")
        self._sent.setdefault(chat_id, []).append(text)
        return self._sent_message()

    def _api_send_photo(self, params: JSONDict) -> JSONDict:
        self._chat_id(params)
        if not str(params.get("photo") or "").strip():
            raise ApiError(400, "photo is empty")
        if params.get("caption") is not None:
            self._text(params["caption"], "caption", allow_empty=True)
        return self._sent_message()

    def _api_send_sticker(self, params: JSONDict) -> JSONDict:
        self._chat_id(params)
        if not str(params.get("sticker") or "").strip():
            raise ApiError(400, "sticker is empty")
        return self._sent_message()

    def _api_send_chat_action(self, params: JSONDict) -> bool:
        self._chat_id(params)
        return True

    # --- validation and helpers for the methods -------------------------------------------

    def _chat_id(self, params: JSONDict) -> str:
        """The known, unblocked ``chat_id`` of a send, as a string."""
        raw = params.get("chat_id")
        if raw is None or str(raw) == "":
            raise ApiError(400, "chat_id is empty")
        chat_id = str(raw)
        if chat_id not in self._known_chats:
            raise ApiError(400, "chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, BLOCKED)
        return chat_id

    @staticmethod
    def _text(value: Any, name: str, *, allow_empty: bool = False) -> str:
        text = "" if value is None else str(value)
        if not allow_empty and not text.strip():
            raise ApiError(400, f"{name} is empty")
        if len(text) > TEXT_LIMIT:
            raise ApiError(400, f"{name} too long")
        return text

    @staticmethod
    def _sent_message() -> JSONDict:
        return {"message_id": _new_id(), "date": _now_ms()}


class FakeZaloUser:
    """A Zalo user; each method builds an event and delivers it unless ``queue=False``."""

    def __init__(self, fake: FakeZalo, user_id: str, display_name: str) -> None:
        self.fake, self.id, self.display_name = fake, user_id, display_name

    def send_text(self, text: str, *, queue: bool = True) -> JSONDict:
        """A text message in the user's private chat."""
        return self._say("message.text.received", {"text": text}, queue)

    def send_photo(
        self,
        content: bytes,
        caption: str | None = None,
        *,
        queue: bool = True,
        host: str | None = None,
    ) -> JSONDict:
        """A photo whose bytes the fake serves (image/jpeg) at the event's ``photo_url``.

        ``host`` names the server differently in the URL (e.g. "localhost": the same server
        under a name that is not Zalo's), as a forged event would.
        """
        url = self.fake._register_photo(content)
        if host is not None:
            url = url.replace("127.0.0.1", host, 1)
        body: JSONDict = {"photo_url": url}
        if caption is not None:
            body["caption"] = caption
        return self._say("message.image.received", body, queue)

    def send_sticker(
        self, sticker: str = "bfe6f5b2a1e4400bab1ce1f1", *, queue: bool = True
    ) -> JSONDict:
        """A sticker (an id string, as in stickers.zaloapp.com)."""
        return self._say("message.sticker.received", {"sticker": sticker}, queue)

    def _say(self, event_name: str, content: JSONDict, queue: bool) -> JSONDict:
        """Build the event; the user becomes a known chat even when it is not delivered."""
        message: JSONDict = {
            "message_id": _new_id(),
            "date": _now_ms(),
            "chat": {"id": self.id, "chat_type": "PRIVATE"},
            "from": {"id": self.id, "display_name": self.display_name, "is_bot": False},
            **content,
        }
        event = {"event_name": event_name, "message": message}
        self.fake._known_chats.add(self.id)
        if queue:
            self.fake._deliver(copy.deepcopy(event))
        return event
