"""Conversations declare their commands, buttons and steps; the router only dispatches them.

The button codecs must read what the handlers wrote by hand before: those payloads live on in
chats (buttons pressed days later) and in outbox rows (reminders not yet sent).
"""

from __future__ import annotations

import pytest

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import Role
from bot.core.messages import MAX_PAYLOAD_BYTES, Choice, Reply
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Button, Conversation
from handlers.conversations import CONVERSATIONS
from handlers.coordination import MEMBER_BUTTON, MemberButton
from handlers.report.states import REPORT_NOW, ReportButton
from handlers.router import Router
from handlers.summary import BUTTON as SUMMARY_BUTTON
from handlers.tasks import TASK_BUTTON
from storage.db import Database
from tests.helpers import invite


@pytest.mark.parametrize(
    ("payload", "button", "parts"),
    [
        ("bc:ab12:tk:345", Button("bc", 3), ("ab12", "tk", "345")),
        ("bc:0000:ok:", Button("bc", 3), ("0000", "ok", "")),
        ("rp:7:123", Button("rp", 2), ("7", "123")),
        ("task:12", Button("task"), ("12",)),
        ("th:2024:f:xlsx", Button("th", 3), ("2024", "f", "xlsx")),
        ("th:2024:ov:", Button("th", 3), ("2024", "ov", "")),
        ("th:2024", Button("th", 3), ("2024", "", "")),  # cut short: the handler finds it stale
        ("th:2024:ix:a:b", Button("th", 3), ("2024", "ix", "a:b")),  # the last part: the rest
    ],
)
def test_a_button_decodes_what_the_handlers_encoded(
    payload: str, button: Button, parts: tuple[str, ...]
) -> None:
    prefix, _sep, argument = payload.partition(":")
    assert prefix == button.prefix
    assert button.decode(argument) == parts
    if payload != "th:2024":
        assert button.encode(*parts) == payload


def test_a_button_pads_missing_parts_and_refuses_too_many_or_too_long() -> None:
    assert Button("th", 3).encode(2024, "ov") == "th:2024:ov:"
    with pytest.raises(ValueError, match="parts"):
        Button("task").encode(1, 2)
    with pytest.raises(ValueError, match=str(MAX_PAYLOAD_BYTES)):
        Button("x").encode("é" * 40)  # 80 bytes in UTF-8


def test_the_typed_buttons_write_today_s_payloads() -> None:
    assert ReportButton("ab12", "tk", "345").encode() == "bc:ab12:tk:345"
    assert ReportButton("ab12", "cx").encode() == "bc:ab12:cx:"
    assert REPORT_NOW.encode(7, 123) == "rp:7:123"
    assert TASK_BUTTON.encode(12) == "task:12"
    assert SUMMARY_BUTTON.encode(2024, "f", "xlsx") == "th:2024:f:xlsx"
    assert SUMMARY_BUTTON.encode(2024, "ov") == "th:2024:ov:"


@pytest.mark.parametrize(
    ("payload", "button", "parts"),
    [
        ("rp:7:123", REPORT_NOW, ("7", "123")),
        ("task:12", TASK_BUTTON, ("12",)),
        ("mb:12:off", MEMBER_BUTTON, ("12", "off")),
        ("th:2024:f:xlsx", SUMMARY_BUTTON, ("2024", "f", "xlsx")),
    ],
)
def test_the_typed_buttons_read_today_s_payloads(
    payload: str, button: Button, parts: tuple[str, ...]
) -> None:
    prefix, _sep, argument = payload.partition(":")
    assert (prefix, button.decode(argument)) == (button.prefix, parts)


def test_member_buttons_keep_today_s_payloads() -> None:
    assert MemberButton(12, reinstate=False).encode() == "mb:12:off"
    assert MemberButton(7, reinstate=True).encode() == "mb:7:on"
    assert MemberButton.decode("12:off") == MemberButton(12, reinstate=False)
    assert MemberButton.decode("7:on") == MemberButton(7, reinstate=True)
    for forged in ("", "12", "x:on", "12:maybe", "12:on:more", "-1:off"):
        assert MemberButton.decode(forged) is None, forged


def test_report_buttons_round_trip_and_fit_telegram() -> None:
    prefix, _sep, argument = "bc:ab12:tk:345".partition(":")
    assert prefix == "bc"
    assert ReportButton.decode(argument) == ReportButton("ab12", "tk", "345")
    assert ReportButton.decode("0000:ok:") == ReportButton("0000", "ok")
    longest = ReportButton("ffff", "tk", str(2**63 - 1))  # the largest id a database gives
    assert len(longest.encode().encode()) <= MAX_PAYLOAD_BYTES
    assert ReportButton.decode(longest.encode().partition(":")[2]) == longest


TODAY_S_COMMANDS = [
    "start",
    "baocao",
    "nhiemvu",
    "lichsu",
    "tonghop",
    "chuabaocao",
    "duyet",
    "mohan",
    "giaitrinh",
    "giahan",
    "pgi",
    "moi",
    "thanhvien",
    "thongbao",
    "nhacnho",
    "vangmat",
    "lienket",
    "kenh",
    "web",
    "nhatky",
    "trogiup",
    "huy",
]


async def _nothing(ctx: Context) -> list[Reply]:
    return []


def test_the_commands_keep_their_order(router: Router) -> None:
    assert list(router.commands) == TODAY_S_COMMANDS  # /trogiup and Telegram's menu show this


def test_a_command_declared_twice_is_refused(database: Database, clock: FrozenClock) -> None:
    twice = Conversation("again", commands=(Command("baocao", "again", EVERYONE, _nothing),))
    with pytest.raises(ValueError, match="baocao"):
        Router(database, clock, conversations=[*CONVERSATIONS, twice])
    own = Conversation("help", commands=(Command("trogiup", "help", EVERYONE, _nothing),))
    with pytest.raises(ValueError, match="trogiup"):  # the router's own commands count too
        Router(database, clock, conversations=[own])
    with pytest.raises(ValueError, match="huy"):
        Router(database, clock).add_command(Command("huy", "cancel", EVERYONE, _nothing))


def test_a_button_prefix_declared_twice_is_refused(database: Database, clock: FrozenClock) -> None:
    async def pressed(ctx: Context, argument: str) -> list[Reply]:
        return []

    twice = Conversation("again", buttons={"task": pressed})
    with pytest.raises(ValueError, match="task"):
        Router(database, clock, conversations=[*CONVERSATIONS, twice])


async def test_a_declared_conversation_gets_its_command_button_text_and_question_again(
    database: Database, clock: FrozenClock
) -> None:
    """A conversation added to the list is served like the built-in ones, asides included."""
    heard: list[str] = []
    button = Button("ec", 1)

    def question(ctx: Context) -> Reply:
        return Reply("Câu hỏi đang chờ", ((Choice("Một", button.encode(1)),),))

    async def begin(ctx: Context) -> list[Reply]:
        ctx.state = ConversationState("echo.wait")
        return [question(ctx)]

    async def pressed(ctx: Context, argument: str) -> list[Reply]:
        heard.append(f"button {button.decode(argument)[0]}")
        return [Reply("Đã nhận nút")]

    async def typed(ctx: Context, text: str) -> list[Reply]:
        heard.append(f"text {text}")
        ctx.reset()
        return [Reply("Đã nhận lời")]

    async def again(ctx: Context) -> Reply:
        return question(ctx)

    echo = Conversation(
        "echo",
        commands=(Command("vang", "echo", EVERYONE, begin),),
        buttons={button.prefix: pressed},
        owns=lambda state: state.state.startswith("echo."),
        on_text=typed,
        current_question=again,
        step_buttons=frozenset({button.prefix}),
    )
    router = Router(database, clock, conversations=[*CONVERSATIONS, echo])
    assert list(router.commands)[-3:] == ["vang", "trogiup", "huy"]
    user = MemoryChannel(router.handle, user_id="77", display_name="Lò Văn Tám")
    await user.send(f"/start {await invite(database, clock, 'sct', Role.OFFICER)}")

    [asked] = await user.send("/vang")
    assert asked.text == "Câu hỏi đang chờ"
    assert [r.text for r in await user.press(asked.flat_choices[0].payload)] == ["Đã nhận nút"]
    help_then_question = await user.send("/trogiup")  # an aside: answered, then asked again
    assert "/vang — echo" in help_then_question[0].text
    assert help_then_question[-1].text == "Câu hỏi đang chờ"
    assert [r.text for r in await user.send("xin chào")] == ["Đã nhận lời"]
    assert heard == ["button 1", "text xin chào"]
    idle = await user.send("xin chào")  # the conversation ended: plain text is not its own
    assert heard == ["button 1", "text xin chào"] and "/trogiup" in idle[0].text


async def test_the_router_takes_its_outbox_wake_up_at_construction(
    database: Database, clock: FrozenClock
) -> None:
    woken: list[str] = []
    router = Router(database, clock, on_outbox=lambda: woken.append("wake"))
    coordinator = MemoryChannel(router.handle, user_id="1", display_name="Điều phối")
    officer = MemoryChannel(router.handle, user_id="2", display_name="Cán bộ")
    await coordinator.send(f"/start {await invite(database, clock, 'stnmt', Role.COORDINATOR)}")
    await officer.send(f"/start {await invite(database, clock, 'sct', Role.OFFICER)}")
    assert woken == []
    [answer] = await coordinator.send("/thongbao Họp giao ban lúc 9 giờ sáng thứ Hai")
    assert "1" in answer.text
    assert woken == ["wake"]
