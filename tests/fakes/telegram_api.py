"""Fake Telegram Bot API over real HTTP, for end-to-end tests of the Telegram adapter.

The fake is an ``aiohttp.web`` app on 127.0.0.1 with a free port. python-telegram-bot reaches it
through ``base_url``/``base_file_url``, so PTB's real request code, (de)serialisation and error
mapping run. The methods the bot uses are answered like Telegram answers them (envelopes,
limits, error texts, getUpdates offset semantics); anything else gets 501, so gaps fail loudly.

Usage:
    async with FakeTelegram(token="123:TEST") as fake:
        app = (
            ApplicationBuilder()
            .token("123:TEST")
            .base_url(fake.base_url)
            .base_file_url(fake.base_file_url)
            .build()
        )
        ...  # start polling, or set a webhook: user actions are then POSTed to it
        lan = fake.user(1001, first_name="Lan")
        lan.send_text("/start")
        await fake.wait_for_text(1001, "Xin chào")
        lan.press(fake.last_message(1001)["message_id"], "yes")
        await fake.wait_for("answerCallbackQuery")
        fake.fail_next("sendMessage", code=502)  # the next sendMessage answers 502
        fake.drop_next("getUpdates", hold=5, deliver=True)  # handed out, the answer lost

Waiting never sleeps: every recorded call and queued update pulses an event, and the ``wait_*``
helpers re-check their condition on each pulse until their timeout.

PTB quirks worth knowing: ``BadRequest`` messages lose their ``Bad Request: `` prefix and are
``str.capitalize()``-d ("Button_data_invalid"), so match them case-insensitively; and building
``RetryAfter`` warns (an error under ``filterwarnings = error``) unless ``PTB_TIMEDELTA=true``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from aiohttp import ClientSession, web

from tests.fakes.common import Dropped, Fault, Faults, Waiting, reset_connection

JSONDict = dict[str, Any]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_BYTES = 64
FIRST_UPDATE_ID = 100_000
BLOCKED = "Forbidden: bot was blocked by the user"
KICKED = "Forbidden: bot was kicked from the group chat"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
DESCRIPTIONS = {400: "Bad Request", 403: BLOCKED, 409: "Conflict", 502: "Bad Gateway"}
# String parameters kept verbatim even when they look like JSON, numbers or booleans.
PLAIN_KEYS = frozenset(
    {
        "text", "caption", "url", "secret_token", "file_id", "callback_query_id",
        "inline_query_id", "title", "description", "short_description", "name", "question",
        "explanation", "emoji", "business_connection_id", "inline_message_id",
    }
)  # fmt: skip
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,})?")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
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
        """Whether Telegram answered with a result rather than an error."""
        return self.status == 200


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str
    content: bytes = field(repr=False)


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code, self.description, self.retry_after = code, description, retry_after

    def body(self) -> JSONDict:
        """The JSON body Telegram sends for this error."""
        body: JSONDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    """A 400 with Telegram's ``Bad Request: ...`` wording."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass
class _Queued:
    update: JSONDict
    delivered: bool = False


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes = field(repr=False)
    file_name: str | None = None
    mime_type: str | None = None


class _RateLimits:
    """Telegram's send limits: global per second, per-chat token bucket, per group per minute."""

    def __init__(self, per_second: int, chat_rate: float, chat_burst: int, group_per_minute: int):
        self.per_second, self.chat_rate, self.chat_burst = per_second, chat_rate, chat_burst
        self.group_per_minute = group_per_minute
        self._global: deque[float] = deque()
        self._groups: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, refilled at)

    def take(self, chat_id: int, now: float) -> int | None:
        """Count one send; return retry_after in whole seconds when it is over a limit."""
        waits: list[float] = []
        _expire(self._global, now - 1.0)
        if len(self._global) >= self.per_second:
            waits.append(self._global[0] + 1.0 - now)
        tokens, refilled = self._buckets.get(chat_id, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - refilled) * self.chat_rate)
        if tokens < 1.0:
            waits.append((1.0 - tokens) / self.chat_rate)
        group = self._groups.setdefault(chat_id, deque()) if chat_id < 0 else None
        if group is not None:
            _expire(group, now - 60.0)
            if len(group) >= self.group_per_minute:
                waits.append(group[0] + 60.0 - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._global.append(now)
        self._buckets[chat_id] = (tokens - 1.0, now)
        if group is not None:
            group.append(now)
        return None


def _expire(window: deque[float], before: float) -> None:
    while window and window[0] <= before:
        window.popleft()


def _decode(key: str, value: Any) -> Any:
    """Turn a form/query string back into the JSON value PTB encoded."""
    if not isinstance(value, str) or key in PLAIN_KEYS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        try:
            decoded = json.loads(stripped)
        except ValueError:
            return value
        return decoded if isinstance(decoded, dict | list) else value
    if re.fullmatch(r"-?\d+", stripped):
        return int(stripped)
    return stripped == "true" if stripped in ("true", "false") else value


async def _read_params(request: web.Request) -> JSONDict:
    """Arguments from the query string and a urlencoded, multipart or JSON body."""
    raw: JSONDict = dict(request.query)
    if request.body_exists and request.content_type == "application/json":
        body = await request.json()
        raw.update(body if isinstance(body, dict) else {})
    elif request.body_exists:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                raw[key] = Upload(value.filename, value.content_type, value.file.read())
            else:
                raw[key] = value.decode() if isinstance(value, bytes) else value
    return {key: _decode(key, value) for key, value in raw.items()}


def _text_content(text: str) -> JSONDict:
    """A message's text, with the bot_command entity Telegram adds to a leading command."""
    match = _COMMAND.match(text)
    if match is None:
        return {"text": text}
    length = len(match.group().encode("utf-16-le")) // 2  # entity units are UTF-16
    return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": length}]}


def _outcome(call: Call) -> str:
    return "dropped" if call.dropped else str(call.status or "pending")


def _brief(params: JSONDict) -> str:
    text = json.dumps(params, ensure_ascii=False, default=repr)
    return text if len(text) <= 160 else text[:157] + "..."


class FakeTelegram(Waiting):
    """A Telegram Bot API server on 127.0.0.1 that a real PTB bot can talk to.

    Each Bot API method ``fooBar`` is answered by ``_api_foo_bar``; there is no other registry.
    """

    def __init__(
        self,
        token: str = "123:TEST",
        *,
        enforce_limits: bool = False,
        global_per_second: int = 30,
        per_chat_per_second: float = 1.0,
        per_chat_burst: int = 3,
        per_group_per_minute: int = 20,
        long_poll_cap: float = 1.0,
    ) -> None:
        super().__init__()
        self.token = token
        bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSONDict = {
            "id": bot_id, "is_bot": True, "first_name": "PGI Test Bot", "username": "pgi_test_bot"
        }  # fmt: skip
        self.long_poll_cap = long_poll_cap
        self.calls: list[Call] = []
        self.rate_limited = 0
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.webhook_url = ""
        self.webhook_statuses: list[int] = []  # HTTP status of each webhook delivery
        self._pushes: set[asyncio.Task[None]] = set()
        self.webhook_secret: str | None = None
        self.port = 0
        limits = (global_per_second, per_chat_per_second, per_chat_burst, per_group_per_minute)
        self._limits = _RateLimits(*limits) if enforce_limits else None
        self._faults = Faults()
        self._blocked: set[int] = set()
        self._queue: list[_Queued] = []
        self._next_update_id = FIRST_UPDATE_ID
        self._confirmed = 0  # highest positive offset getUpdates was called with
        self._poll_generation = 0
        self._counter = 0  # message ids, callback query ids and file ids
        self._chats: dict[int, JSONDict] = {}
        self._messages: dict[int, dict[int, JSONDict]] = {}
        self._files: dict[str, _StoredFile] = {}
        self.file_gate: asyncio.Event | None = None
        """When an event: files are served 1 KB at first, the rest once it is set (slow files)."""
        self.files_begun: list[str] = []
        """Paths of the files whose serving began, in order."""
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    # --- lifecycle and HTTP ---------------------------------------------------------------

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1 with a port the OS picks."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """End long polls, close the webhook client and the server."""
        self._closing = True
        self._pulse()
        if self._pushes:
            await asyncio.gather(*self._pushes, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The value for ``base_url``; PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """The value for ``base_file_url``; PTB appends the token."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def _serve_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, await _read_params(request), time.monotonic())
        self.calls.append(call)
        self._pulse()
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            result = await self._answer(method, call.params)
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

    async def _serve_file(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        stored = next((f for f in self._files.values() if f.file_path == path), None)
        if request.match_info["token"] != self.token:
            error = ApiError(401, "Unauthorized")
        elif stored is None:
            error = ApiError(404, "Not Found")
        elif self.file_gate is not None:
            return await self._serve_slowly(request, stored.content, path, self.file_gate)
        else:
            return web.Response(body=stored.content, content_type="application/octet-stream")
        return web.json_response(error.body(), status=error.code)

    async def _serve_slowly(
        self, request: web.Request, content: bytes, path: str, gate: asyncio.Event
    ) -> web.StreamResponse:
        """Serve the first kilobyte of a file, then the rest when the test opens the gate."""
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await response.prepare(request)
        await response.write(content[:1024])
        self.files_begun.append(path)
        self._pulse()
        await gate.wait()
        await response.write(content[1024:])
        await response.write_eof()
        return response

    async def _answer(self, method: str, params: JSONDict) -> Any:
        name = method.lower()
        handler = getattr(self, "_api_" + _CAMEL.sub("_", method).lower(), None)
        if handler is None:
            raise ApiError(501, f"Not Implemented: {method}")
        fault = self._faults.take(name)
        if fault is not None and not fault.deliver:
            raise fault.error
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int) and name.startswith(("send", "edit", "copy", "forward")):
            if chat_id in self._blocked:
                raise ApiError(403, KICKED if chat_id < 0 else BLOCKED)
            counted = not name.startswith("edit") and name != "sendchataction"
            if self._limits is not None and counted:
                retry = self._limits.take(chat_id, time.monotonic())
                if retry is not None:
                    self.rate_limited += 1
                    raise ApiError(429, f"Too Many Requests: retry after {retry}", retry)
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
        *,
        code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        deliver: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error.

        With ``deliver=True`` the call still takes effect (the message is stored) before the
        error is returned, like a request that timed out after Telegram had sent it.
        """
        if code == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            default = DESCRIPTIONS.get(code, "Internal Server Error")
            description = (
                f"Too Many Requests: retry after {retry_after}" if code == 429 else default
            )
        self._faults.add(
            method.lower(), Fault(ApiError(code, description, retry_after), deliver, times)
        )

    def drop_next(
        self, method: str, *, hold: float = 0.0, times: int = 1, deliver: bool = False
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with nothing: reset the connection.

        The request is held ``hold`` seconds first; make it longer than the client's read
        timeout to simulate a timeout. With ``deliver=True`` the call takes effect first (a
        message is stored, updates are handed out), like a reply lost on the way back.
        """
        self._faults.add(method.lower(), Fault(Dropped(hold), deliver, times))

    def block_chat(self, chat_id: int, blocked: bool = True) -> None:
        """Answer every send or edit to ``chat_id`` with 403 (``blocked=False`` undoes it)."""
        if blocked:
            self._blocked.add(chat_id)
        else:
            self._blocked.discard(chat_id)

    # --- recorded calls and waiting -------------------------------------------------------

    def calls_of(self, method: str) -> list[Call]:
        """The recorded calls of ``method`` (case-insensitive, as Telegram is)."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` satisfy ``predicate``; return them all."""

        def matching() -> list[Call]:
            return [c for c in self.calls_of(method) if predicate is None or predicate(c)]

        if await self.wait_until(lambda: len(matching()) >= count, timeout):
            return matching()
        what = f"{count} {method} call(s)" + (" matching the predicate" if predicate else "")
        raise TimeoutError(self._describe(what, timeout, len(matching())))

    async def wait_for_text(self, chat_id: int, substring: str, timeout: float = 10.0) -> Call:
        """Wait until a successful sendMessage/editMessageText to ``chat_id`` has ``substring``."""

        def found() -> Call | None:
            for call in reversed(self.calls):
                if (
                    call.ok
                    and call.method.lower() in ("sendmessage", "editmessagetext")
                    and call.params.get("chat_id") == chat_id
                    and substring in str(call.params.get("text", ""))
                ):
                    return call
            return None

        if await self.wait_until(lambda: found() is not None, timeout):
            return found()  # type: ignore[return-value]
        raise TimeoutError(self._describe(f"text {substring!r} in chat {chat_id}", timeout, 0))

    async def wait_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until getUpdates has been called with an offset above ``update_id``."""
        if not await self.wait_until(lambda: self._confirmed > update_id, timeout):
            what = f"update {update_id} to be confirmed (highest offset {self._confirmed})"
            raise TimeoutError(self._describe(what, timeout, 0))

    def _describe(self, what: str, timeout: float, matched: int) -> str:
        seen = [c for c in self.calls if c.method.lower() != "getupdates"]
        polls = len(self.calls) - len(seen)
        lines = [f"  {c.method} -> {_outcome(c)} {_brief(c.params)}" for c in seen[-20:]]
        return (
            f"waited {timeout}s for {what}; {matched} matched. "
            f"Calls seen (last 20, {polls} getUpdates not shown):\n" + "\n".join(lines or ["  -"])
        )

    # --- messages, users and updates ------------------------------------------------------

    def sent_to(self, chat_id: int) -> list[JSONDict]:
        """The bot's messages in ``chat_id``, oldest first, with edits applied."""
        messages = self._messages.get(chat_id, {}).values()
        return [copy.deepcopy(m) for m in messages if m["from"]["id"] == self.bot_user["id"]]

    def last_message(self, chat_id: int) -> JSONDict:
        """The bot's latest message in ``chat_id``; LookupError when there is none."""
        sent = self.sent_to(chat_id)
        if not sent:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return sent[-1]

    def user(
        self,
        user_id: int,
        first_name: str = "Lan",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        """A user with a private chat (chat id == user id) who can write to the bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        names = {"first_name": first_name, "last_name": last_name, "username": username}
        names = {key: value for key, value in names.items() if value}
        self._chats[user_id] = {"id": user_id, "type": "private", **names}
        profile: JSONDict = {"id": user_id, "is_bot": False, **names}
        if language_code:
            profile["language_code"] = language_code
        return FakeUser(self, profile)

    def queue_update(self, update: JSONDict) -> JSONDict:
        """Queue a copy of a raw update; one without ``update_id`` gets the next id.

        A duplicate whose id was already confirmed is still delivered once (Telegram never does
        that, but a webhook retry or a restored backlog can), so deduplication can be tested.
        """
        update = copy.deepcopy(update)
        update.setdefault("update_id", self._next_update_id)
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._callback_queries.setdefault(str(query["id"]), False)
        self._enqueue(update)
        self._pulse()
        return copy.deepcopy(update)

    async def deliver_webhook(
        self, update: JSONDict, *, headers: dict[str, str] | None = None
    ) -> int:
        """POST ``update`` to the webhook as Telegram would; return the HTTP status.

        By default the secret header carries the stored ``secret_token``; pass ``headers`` to
        send exactly those headers instead (e.g. a wrong or missing secret).
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set; call setWebhook first")
        if headers is None:
            secret = self.webhook_secret
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        if self._session is None:
            self._session = ClientSession()
        async with self._session.post(self.webhook_url, json=update, headers=headers) as reply:
            await reply.read()
            return reply.status

    def _next_id(self) -> int:
        self._counter += 1
        return self._counter

    def _emit(self, kind: str, payload: JSONDict, queue: bool) -> JSONDict:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        if kind == "callback_query":
            self._callback_queries[payload["id"]] = False
        if queue:
            self._enqueue(update)
        return update

    def _enqueue(self, update: JSONDict) -> None:
        """Hand an update to the bot: POST it to the webhook when one is set, else queue it."""
        if self.webhook_url:
            task = asyncio.get_running_loop().create_task(self._push(copy.deepcopy(update)))
            self._pushes.add(task)
            task.add_done_callback(self._pushes.discard)
            return
        self._queue.append(_Queued(copy.deepcopy(update)))
        self._pulse()

    async def _push(self, update: JSONDict) -> None:
        status = await self.deliver_webhook(update)
        self.webhook_statuses.append(status)
        self._pulse()

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return copy.deepcopy(self._chats[chat_id])
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        kind = "supergroup" if chat_id <= -1_000_000_000_000 else "group"
        return {"id": chat_id, "type": kind, "title": f"Group {-chat_id}"}

    def _store(self, chat_id: int, sender: JSONDict, content: JSONDict) -> JSONDict:
        """Store a new message in ``chat_id``; return a copy."""
        message = {
            "message_id": self._next_id(),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": dict(sender),
            **{key: value for key, value in content.items() if value is not None},
        }
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _register_file(
        self, content: bytes, folder: str, name: str | None = None, mime: str | None = None
    ) -> _StoredFile:
        n = self._next_id()
        suffix = PurePosixPath(name).suffix if name else ".jpg" * (folder == "photos")
        file_id, path = f"BQACAgUAAxkBAAIC{n:08d}", f"{folder}/file_{n}{suffix}"
        stored = _StoredFile(file_id, f"AgAD{n:08d}", path, content, name, mime)
        self._files[stored.file_id] = stored
        return stored

    def _document(self, stored: _StoredFile) -> JSONDict:
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_size": len(stored.content),
        }
        return {key: value for key, value in document.items() if value is not None}

    def _photo_sizes(self, content: bytes) -> list[JSONDict]:
        sizes = []
        for width, height in ((90, 68), (1280, 960)):  # the largest last, like Telegram
            stored = self._register_file(content, "photos")
            ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
            sizes.append(ids | {"file_size": len(content), "width": width, "height": height})
        return sizes

    # --- Bot API methods ------------------------------------------------------------------

    def _api_get_me(self, params: JSONDict) -> JSONDict:
        extra = {"can_join_groups": True, "can_read_all_group_messages": False}
        return self.bot_user | extra | {"supports_inline_queries": False}

    async def _api_get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(409, WEBHOOK_CONFLICT)
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = float(params.get("timeout") or 0)
        if offset < 0:  # keep the last -offset updates, forget the others
            self._queue = self._queue[offset:]
        elif offset > 0:  # an update is confirmed once an offset above it has been sent
            keep = [q for q in self._queue if q.update["update_id"] >= offset or not q.delivered]
            self._queue = keep
            self._confirmed = max(self._confirmed, offset)
        self._poll_generation += 1
        generation = self._poll_generation
        if not self._queue and timeout > 0:  # long poll; a newer poll terminates this one
            await self.wait_until(
                lambda: bool(self._queue) or self._poll_generation != generation or self._closing,
                min(timeout, self.long_poll_cap),
            )
            if self._poll_generation != generation:
                raise ApiError(409, POLL_CONFLICT)
        batch = self._queue[:limit]
        for queued in batch:
            queued.delivered = True
        return [copy.deepcopy(queued.update) for queued in batch]

    def _api_send_message(self, params: JSONDict) -> JSONDict:
        chat_id, text = self._chat_id(params), self._text(params)
        content = {"text": text, "reply_markup": self._inline_markup(params)}
        return self._store(chat_id, self.bot_user, content)

    def _api_edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        message, text, markup = (
            self._editable(params),
            self._text(params),
            self._inline_markup(params),
        )
        if message is None:
            return True
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        return self._edited(message, markup)

    def _api_edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        message, markup = self._editable(params), self._inline_markup(params)
        if message is None:
            return True
        if markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        return self._edited(message, markup)

    def _api_delete_message(self, params: JSONDict) -> bool:
        chat = self._messages.get(self._chat_id(params), {})
        if chat.pop(params.get("message_id", 0), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _api_answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self._callback_queries.get(query_id, True):  # unknown or already answered
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._callback_queries[query_id] = True
        return True

    def _api_set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("command description must be 1-256 characters long")
        self.commands[self._commands_key(params)] = commands
        return True

    def _api_get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.commands.get(self._commands_key(params), [])

    def _api_delete_my_commands(self, params: JSONDict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _api_set_webhook(self, params: JSONDict) -> bool:
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        self._api_delete_webhook(params)
        self.webhook_url = url
        self.webhook_secret = str(secret) if url and secret else None
        return True

    def _api_delete_webhook(self, params: JSONDict) -> bool:
        if params.get("drop_pending_updates"):
            self._queue.clear()
        self.webhook_url, self.webhook_secret = "", None
        return True

    def _api_get_webhook_info(self, params: JSONDict) -> JSONDict:
        info = {"url": self.webhook_url, "has_custom_certificate": False}
        return info | {"pending_update_count": len(self._queue)}

    def _api_get_file(self, params: JSONDict) -> JSONDict:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        ids = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        return ids | {"file_size": len(stored.content), "file_path": stored.file_path}

    def _api_send_document(self, params: JSONDict) -> JSONDict:
        document = self._document(self._file_param(params, "document", "documents"))
        return self._send_media(params, {"document": document})

    def _api_send_photo(self, params: JSONDict) -> JSONDict:
        photo = self._photo_sizes(self._file_param(params, "photo", "photos").content)
        return self._send_media(params, {"photo": photo})

    def _api_send_chat_action(self, params: JSONDict) -> bool:
        self._chat_id(params)
        return True

    def _api_close(self, params: JSONDict) -> bool:
        return True

    def _api_log_out(self, params: JSONDict) -> bool:
        return True

    # --- validation and helpers for the methods -------------------------------------------

    @staticmethod
    def _chat_id(params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None:
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise bad_request("chat not found")
        return chat_id

    @staticmethod
    def _text(params: JSONDict) -> str:
        text = str(params.get("text") or "")
        if not text.strip():
            raise bad_request("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
        return text

    @staticmethod
    def _inline_markup(params: JSONDict) -> JSONDict | None:
        """Validate ``reply_markup``; return it if it is an inline keyboard (Telegram echoes)."""
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
        return markup if "inline_keyboard" in markup else None

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _editable(self, params: JSONDict) -> JSONDict | None:
        if params.get("inline_message_id"):
            return None
        message = self._messages.get(self._chat_id(params), {}).get(params.get("message_id", 0))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _edited(message: JSONDict, markup: JSONDict | None) -> JSONDict:
        if markup is None:  # like Telegram: an edit without reply_markup removes the keyboard
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _send_media(self, params: JSONDict, content: JSONDict) -> JSONDict:
        chat_id, caption = self._chat_id(params), params.get("caption")
        if caption is not None and len(str(caption)) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        content |= {"caption": caption or None, "reply_markup": self._inline_markup(params)}
        return self._store(chat_id, self.bot_user, content)

    def _file_param(self, params: JSONDict, key: str, folder: str) -> _StoredFile:
        value = params.get(key)
        if isinstance(value, Upload):
            return self._register_file(value.content, folder, value.filename, value.content_type)
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self._register_file(b"", folder, PurePosixPath(value).name or None)
        if value is None:
            raise bad_request(f"there is no {key} in the request")
        raise bad_request("wrong file identifier/HTTP URL specified")


class FakeUser:
    """A Telegram user; each method builds an update and queues it unless ``queue=False``."""

    def __init__(self, fake: FakeTelegram, profile: JSONDict) -> None:
        self.fake, self.profile, self.id = fake, profile, int(profile["id"])

    def send_text(self, text: str, *, queue: bool = True) -> JSONDict:
        """A text message in the user's private chat (commands get a bot_command entity)."""
        return self._say(self.id, _text_content(text), queue)

    def press(self, message_id: int, data: str, *, queue: bool = True) -> JSONDict:
        """Press an inline button of the bot's message ``message_id`` (any data can be forged)."""
        message = self.fake._messages.get(self.id, {}).get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in the private chat of {self.id}")
        query = {
            "id": str(7_000_000_000_000_000 + self.fake._next_id()),
            "from": dict(self.profile),
            "chat_instance": str(-4_000_000_000_000_000_000 - self.id),
            "data": data,
            "message": copy.deepcopy(message),
        }
        return self.fake._emit("callback_query", query, queue)

    def upload(
        self,
        content: bytes,
        file_name: str,
        mime_type: str = "application/octet-stream",
        *,
        caption: str | None = None,
        queue: bool = True,
    ) -> JSONDict:
        """Send a document; its bytes become downloadable through getFile."""
        stored = self.fake._register_file(content, "documents", file_name, mime_type)
        return self._say(
            self.id, {"document": self.fake._document(stored), "caption": caption}, queue
        )

    def upload_photo(
        self, content: bytes, *, caption: str | None = None, queue: bool = True
    ) -> JSONDict:
        """Send a photo: two PhotoSizes, the largest last, both downloadable."""
        return self._say(
            self.id, {"photo": self.fake._photo_sizes(content), "caption": caption}, queue
        )

    def send_in_group(
        self, group_id: int, text: str, *, title: str | None = None, queue: bool = True
    ) -> JSONDict:
        """A text message in a group chat (negative id)."""
        if group_id >= 0:
            raise ValueError("group ids are negative")
        chat = self.fake._chat(group_id)
        self.fake._chats[group_id] = chat | ({"title": title} if title else {})
        return self._say(group_id, _text_content(text), queue)

    def _say(self, chat_id: int, content: JSONDict, queue: bool) -> JSONDict:
        message = self.fake._store(chat_id, self.profile, content)
        return self.fake._emit("message", message, queue)
