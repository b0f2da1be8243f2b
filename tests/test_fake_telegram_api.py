"""The fake Bot API, driven by the real python-telegram-bot ``Bot`` over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_api import FIRST_UPDATE_ID, FakeTelegram

TOKEN = "123:TEST"
LAN = 1001


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, long_poll_cap=0.3) as fake:
        yield fake


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake.base_url, base_file_url=fake.base_file_url) as bot:
        yield bot


@pytest.fixture
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # RetryAfter reads its own deprecated int property on construction unless this is set.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Có", callback_data="yes"),
                InlineKeyboardButton("Không", callback_data="no"),
            ]
        ]
    )


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "pgi_test_bot"
    assert bot.id == 123
    assert (await bot.get_me()).is_bot
    assert len(fake.calls_of("getMe")) == 2


async def test_send_message_round_trip_with_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(LAN, "Xin chào Lan", reply_markup=keyboard())
    second = await bot.send_message(LAN, "Báo cáo tuần này?")

    assert first.text == "Xin chào Lan"
    assert first.chat.id == LAN
    assert first.chat.type == "private"
    assert first.from_user is not None
    assert first.from_user.username == "pgi_test_bot"
    assert first.reply_markup == keyboard()
    assert second.reply_markup is None
    assert second.message_id > first.message_id
    call = fake.calls_of("sendMessage")[0]
    assert call.params["chat_id"] == LAN
    assert call.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "no"
    stored = fake.sent_to(LAN)
    assert [m["text"] for m in stored] == ["Xin chào Lan", "Báo cáo tuần này?"]
    assert fake.last_message(LAN)["message_id"] == second.message_id


@pytest.mark.parametrize(
    ("text", "error"),
    [("x" * 4097, "message is too long"), ("", "message text is empty"), ("  ", "text is empty")],
)
async def test_text_limits(bot: Bot, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        await bot.send_message(LAN, text)


async def test_text_of_exactly_4096_characters_passes(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_message(LAN, "ệ" * 4096)
    assert message.text == "ệ" * 4096
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.edit_message_text("ệ" * 4097, chat_id=LAN, message_id=message.message_id)


async def test_callback_data_over_64_bytes_is_rejected(fake: FakeTelegram, bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="Đ" * 32)]])  # 64 bytes
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="Đ" * 33)]])

    await bot.send_message(LAN, "ok", reply_markup=ok)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(LAN, "too long", reply_markup=too_long)
    assert len(fake.sent_to(LAN)) == 1


async def test_fail_next_429_raises_retry_after(
    fake: FakeTelegram, bot: Bot, ptb_timedelta: None
) -> None:
    fake.fail_next("sendMessage", retry_after=7)

    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(LAN, "một")
    assert raised.value.retry_after == dtm.timedelta(seconds=7)
    await bot.send_message(LAN, "hai")
    assert [c.status for c in fake.calls_of("sendMessage")] == [429, 200]
    assert fake.calls_of("sendMessage")[0].result["parameters"] == {"retry_after": 7}


async def test_fail_next_with_deliver_stores_the_message_but_errors(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.fail_next("sendMessage", code=502, deliver=True, times=2)

    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(LAN, "gửi rồi")
    await bot.send_message(LAN, "lần ba")
    assert [m["text"] for m in fake.sent_to(LAN)] == ["gửi rồi", "gửi rồi", "lần ba"]


async def test_blocked_chat_is_forbidden(fake: FakeTelegram, bot: Bot) -> None:
    fake.block_chat(LAN)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(LAN, "nhắc việc")
    await bot.send_message(1002, "other users still get messages")


async def test_get_updates_redelivers_until_confirmed(fake: FakeTelegram, bot: Bot) -> None:
    lan = fake.user(LAN, first_name="Lan", username="lan_ls")
    start = lan.send_text("/start@pgi_test_bot now")
    hello = lan.send_text("xin chào")
    assert start["update_id"] == FIRST_UPDATE_ID
    assert hello["update_id"] == FIRST_UPDATE_ID + 1

    first = await bot.get_updates()
    again = await bot.get_updates()
    after_one = await bot.get_updates(offset=start["update_id"] + 1)
    await fake.wait_confirmed(start["update_id"], timeout=1)
    none_left = await bot.get_updates(offset=hello["update_id"] + 1)
    still_none = await bot.get_updates()

    assert [u.update_id for u in first] == [start["update_id"], hello["update_id"]]
    assert [u.update_id for u in again] == [start["update_id"], hello["update_id"]]
    assert [u.update_id for u in after_one] == [hello["update_id"]]
    assert none_left == still_none == ()
    message = first[0].message
    assert message is not None
    assert message.chat.id == LAN
    assert message.from_user is not None
    assert message.from_user.username == "lan_ls"
    assert message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start@pgi_test_bot")
    assert message.text is not None
    assert message.text.startswith("/start")


async def test_a_duplicate_update_is_delivered_again(fake: FakeTelegram, bot: Bot) -> None:
    update = fake.user(LAN).send_text("báo cáo")
    await bot.get_updates()
    await bot.get_updates(offset=update["update_id"] + 1)

    fake.queue_update(update)

    redelivered = await bot.get_updates(offset=update["update_id"] + 1)
    assert [u.update_id for u in redelivered] == [update["update_id"]]


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    fake: FakeTelegram, bot: Bot
) -> None:
    fake.long_poll_cap = 30.0
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    await fake.wait_for("getUpdates")
    started = time.monotonic()

    fake.user(LAN).send_text("có ai không?")

    updates = await asyncio.wait_for(poll, timeout=5)
    assert len(updates) == 1
    assert time.monotonic() - started < 2


async def test_long_poll_with_nothing_pending_returns_empty_at_the_cap(
    fake: FakeTelegram, bot: Bot
) -> None:
    assert await bot.get_updates(timeout=20) == ()
    assert fake.calls_of("getUpdates")[0].params["timeout"] == 20


async def test_a_second_poller_terminates_the_first(fake: FakeTelegram, bot: Bot) -> None:
    fake.long_poll_cap = 30.0
    first = asyncio.create_task(bot.get_updates(timeout=20))
    await fake.wait_for("getUpdates")
    async with Bot(TOKEN, base_url=fake.base_url) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=20))

        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        fake.user(LAN).send_text("xin chào")
        assert len(await second) == 1


async def test_wrong_token_is_rejected(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:WRONG", base_url=fake.base_url):
            pass
    assert [(c.method, c.status) for c in fake.calls] == [("getMe", 401)]


async def test_uploaded_document_downloads_with_the_same_bytes(
    fake: FakeTelegram, bot: Bot
) -> None:
    content = b"%PDF-1.7 bao cao tien do \x00\xff"
    fake.user(LAN).upload(content, "bao-cao.pdf", "application/pdf", caption="Tuần 47")

    (update,) = await bot.get_updates()
    assert update.message is not None
    document = update.message.document
    assert document is not None
    assert (document.file_name, document.mime_type, document.file_size) == (
        "bao-cao.pdf",
        "application/pdf",
        len(content),
    )
    assert update.message.caption == "Tuần 47"
    file = await bot.get_file(document.file_id)
    assert file.file_size == len(content)
    assert await file.download_as_bytearray() == content


async def test_uploaded_photo_has_two_sizes_largest_last(fake: FakeTelegram, bot: Bot) -> None:
    content = b"\xff\xd8\xff\xe0 fake jpeg"
    fake.user(LAN).upload_photo(content)

    (update,) = await bot.get_updates()
    assert update.message is not None
    small, large = update.message.photo
    assert large.width > small.width
    assert await (await bot.get_file(large.file_id)).download_as_bytearray() == content


async def test_unknown_file_id_is_a_bad_request(bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_bot_can_send_a_document_and_download_it(fake: FakeTelegram, bot: Bot) -> None:
    message = await bot.send_document(
        LAN, b"a,b\n1,2\n", filename="tong-hop.csv", caption="Tổng hợp"
    )

    assert message.document is not None
    assert message.document.file_name == "tong-hop.csv"
    assert fake.calls_of("sendDocument")[0].params["document"].content == b"a,b\n1,2\n"
    file = await bot.get_file(message.document.file_id)
    assert await file.download_as_bytearray() == b"a,b\n1,2\n"


async def test_webhook_makes_get_updates_conflict(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/telegram", secret_token="s3cret_-x")

    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/telegram"
    assert fake.webhook_secret == "s3cret_-x"
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


async def test_deliver_webhook_posts_with_the_secret(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, object]] = []

    async def webhook(request: web.Request) -> web.Response:
        received.append(
            (request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json())
        )
        return web.Response()

    app = web.Application()
    app.router.add_post("/telegram", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        await bot.set_webhook(
            f"http://127.0.0.1:{runner.addresses[0][1]}/telegram", secret_token="abc"
        )
        update = fake.user(LAN).send_text("/start", queue=False)

        assert await fake.deliver_webhook(update) == 200
    finally:
        await runner.cleanup()
    assert received == [("abc", update)]
    assert fake.calls_of("getUpdates") == []


async def test_unknown_method_fails_loudly(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(NetworkError, match="Not Implemented: sendDice"):
        await bot.send_dice(LAN)
    assert fake.calls_of("sendDice")[0].status == 501


async def test_edit_message_text(fake: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(LAN, "Chọn:", reply_markup=keyboard())

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "Chọn:", chat_id=LAN, message_id=sent.message_id, reply_markup=keyboard()
        )
    edited = await bot.edit_message_text("Đã chọn: Có", chat_id=LAN, message_id=sent.message_id)

    assert isinstance(edited, type(sent))
    assert edited.text == "Đã chọn: Có"
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert fake.sent_to(LAN) == [fake.last_message(LAN)]
    assert fake.last_message(LAN)["text"] == "Đã chọn: Có"
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=LAN, message_id=9999)


async def test_press_a_button_and_answer_it(fake: FakeTelegram, bot: Bot) -> None:
    lan = fake.user(LAN)
    sent = await bot.send_message(LAN, "Hoàn thành?", reply_markup=keyboard())

    lan.press(sent.message_id, "yes")
    (update,) = await bot.get_updates()

    query = update.callback_query
    assert query is not None
    assert query.data == "yes"
    assert query.from_user.id == LAN
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.reply_markup == keyboard()
    assert await bot.answer_callback_query(query.id, text="Đã ghi nhận")
    with pytest.raises(BadRequest, match=r"(?i)query ID is invalid"):
        await bot.answer_callback_query(query.id)


async def test_group_message(fake: FakeTelegram, bot: Bot) -> None:
    fake.user(LAN).send_in_group(-4001, "/report@pgi_test_bot", title="Sở TN&MT")

    (update,) = await bot.get_updates()
    assert update.message is not None
    assert update.message.chat.type == "group"
    assert update.message.chat.title == "Sở TN&MT"
    assert update.message.from_user is not None
    assert update.message.from_user.id == LAN


async def test_commands_are_stored(fake: FakeTelegram, bot: Bot) -> None:
    await bot.set_my_commands(
        [("report", "Gửi báo cáo"), ("help", "Trợ giúp")], language_code="vi"
    )

    commands = await bot.get_my_commands(language_code="vi")
    assert [c.command for c in commands] == ["report", "help"]
    assert await bot.get_my_commands() == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Report-Now", "x")])


async def test_wait_helpers(fake: FakeTelegram, bot: Bot) -> None:
    sending = asyncio.create_task(bot.send_message(LAN, "Nhắc: hạn nộp báo cáo hôm nay"))

    call = await fake.wait_for_text(LAN, "hạn nộp", timeout=5)
    assert call.ok
    await sending
    with pytest.raises(
        TimeoutError, match=r"1 editMessageText call\(s\)[\s\S]*sendMessage -> 200"
    ):
        await fake.wait_for("editMessageText", timeout=0.05)


async def test_enforced_limits_answer_429(ptb_timedelta: None) -> None:
    async with (
        FakeTelegram(token=TOKEN, enforce_limits=True, per_chat_burst=3) as fake,
        Bot(TOKEN, base_url=fake.base_url) as bot,
    ):
        for n in range(3):
            await bot.send_message(LAN, f"tin {n}")
        with pytest.raises(RetryAfter) as raised:
            await bot.send_message(LAN, "quá nhanh")
        await bot.send_message(1002, "another chat has its own bucket")
        await bot.send_chat_action(LAN, "typing")

    assert raised.value.retry_after == dtm.timedelta(seconds=1)
    assert fake.rate_limited == 1


async def test_a_polling_application_talks_to_the_fake(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(
            update.effective_chat.id, "Xin chào!", reply_markup=keyboard()
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Đã chọn: {query.data}")

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(fake.base_url)
        .base_file_url(fake.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    lan = fake.user(LAN)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=10)
        command = lan.send_text("/start")
        await fake.wait_for_text(LAN, "Xin chào!")
        press = lan.press(fake.last_message(LAN)["message_id"], "yes")
        await fake.wait_for_text(LAN, "Đã chọn: yes")
        await fake.wait_confirmed(command["update_id"])
        await app.updater.stop()
        await app.stop()

    assert press["update_id"] == command["update_id"] + 1
    assert fake.calls_of("answerCallbackQuery")[0].ok
    assert fake.calls_of("deleteWebhook")[0].ok
