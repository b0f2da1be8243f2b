"""Registration, /nhiemvu, /trogiup and bad input, through the router on a real database."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select, update

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import FileRef, Reply
from handlers.router import MAX_TEXT, Router
from storage.db import Database
from storage.models import AuditEntry, Invitation, Member, MemberIdentity
from tests.helpers import dump, invite

VIETNAMESE = re.compile(
    r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I
)


with (Path(__file__).parents[1] / "locales" / "bot.pot").open("rb") as _pot:
    ENGLISH_PREFIXES = tuple(
        prefix
        for message in read_po(_pot)
        if message.id and len(prefix := str(message.id).split("%")[0].strip()) >= 3
    )


def _english(label: str) -> bool:
    """Tell whether a label starts with a catalog msgid's words ("The" is not "Theo")."""
    return any(
        label.startswith(prefix)
        and (len(label) == len(prefix) or not label[len(prefix)].isalpha())
        for prefix in ENGLISH_PREFIXES
    )


def text_of(replies: list[Reply]) -> str:
    """Join the replies, checking that each one (and each button) is in Vietnamese."""
    for reply in replies:
        assert VIETNAMESE.search(reply.text), f"untranslated reply: {reply.text!r}"
        for choice in reply.flat_choices:
            assert not _english(choice.label), f"untranslated: {choice.label}"
    return "\n".join(r.text for r in replies)


async def _audit(database: Database) -> list[str]:
    async with database.session() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def _registered(
    router: Router,
    database: Database,
    clock: FrozenClock,
    agency: str = "stnmt",
    role: Role = Role.OFFICER,
    user: str = "101",
) -> MemoryChannel:
    code = await invite(database, clock, agency, role)
    channel = MemoryChannel(router.handle, user_id=user, display_name="Hoàng Thị Lan")
    answer = text_of(await channel.send(f"/start {code}"))
    assert "Đăng ký thành công" in answer
    return channel


async def test_stranger_is_told_how_to_register_and_nothing_else(
    router: Router, database: Database
) -> None:
    before = await dump(database)
    stranger = MemoryChannel(router.handle, user_id="999")
    for message in ("xin chào", "/nhiemvu", "/tonghop", "/trogiup"):
        answer = text_of(await stranger.send(message))
        assert "chưa đăng ký" in answer
        assert "Sở Tài nguyên và Môi trường" in answer
        assert "/start" in answer
    welcome = text_of(await stranger.send("/start"))
    assert welcome.startswith("Chào mừng đồng chí")
    assert await dump(database) == before


async def test_register_with_start_code_then_see_tasks_and_help(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _registered(router, database, clock, "sxd")
    async with database.session() as session:
        member = await session.scalar(select(Member))
        assert member is not None and member.full_name == "Hoàng Thị Lan"
        assert member.role == "officer"
        identity = await session.scalar(select(MemberIdentity))
        assert identity is not None and (identity.channel, identity.user_id) == ("memory", "101")

    tasks = await officer.send("/nhiemvu")
    body = tasks[0].text
    assert body.startswith("Nhiệm vụ của Sở Xây dựng")
    assert "Chỉ số 1. Giảm thiểu ô nhiễm và thiên tai (năm 2023: 4,84, mục tiêu: 6,58)" in body
    assert "1.b.1" in body and "1.a.2" in body  # leads 1.b.1, supports 1.a.2
    assert "(chủ trì)" in body and "(phối hợp)" in body
    assert "Tổ chức thực hiện (mục III)" in body
    # 20/11/2024 -> the next deadline is the results report of thứ Ba, 10/12/2024
    assert "thứ Ba, 10/12/2024" in body and "còn 20 ngày" in body
    assert "1.k.1" not in body  # a district task is not the department's
    codes = [c.label for c in tasks[0].flat_choices]
    assert "Xem 1.b.1" in codes

    help_text = text_of(await officer.send("/trogiup"))
    assert "/nhiemvu" in help_text and "/huy" in help_text and "Hoàng Thị Lan" in help_text
    assert "cán bộ đầu mối" in help_text


async def test_a_typed_code_registers_and_numbers_answer_choices(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    code = await invite(database, clock, "UBND huyện Cao Lộc", Role.LEADER)
    user = MemoryChannel(router.handle, user_id="202")
    assert "lãnh đạo đơn vị" in text_of(await user.send(code.lower()))
    listing = await user.send("/nhiemvu")
    first = listing[0].flat_choices[0]
    detail = text_of(await user.send("1"))
    assert detail == text_of(await user.press(first.payload))
    assert detail.startswith("Nhiệm vụ 1.h.2:")  # the districts support the press on 1.h.2
    assert "Vai trò của đơn vị: phối hợp" in detail
    detail = text_of(await user.send("/nhiemvu 1.K.1"))
    assert "Vai trò của đơn vị: chủ trì" in detail
    assert "Kịp thời giải quyết hoặc đề xuất cơ quan có thẩm quyền" in detail
    detail = text_of(await user.send("/nhiemvu iii.1.3"))
    assert detail.startswith("Nhiệm vụ III.1.3:")
    assert "không có nhiệm vụ" in text_of(await user.send("/nhiemvu 1.a.1"))


@pytest.mark.parametrize("problem", ["unknown", "expired", "used", "revoked"])
async def test_bad_codes_are_refused_clearly(
    router: Router, database: Database, clock: FrozenClock, problem: str
) -> None:
    code = await invite(database, clock, "cat", days=14)
    if problem == "unknown":
        code = "ZZZZ9999"
    elif problem == "expired":
        clock.advance(timedelta(days=15))
    elif problem == "used":
        first = MemoryChannel(router.handle, user_id="1")
        assert "Đăng ký thành công" in text_of(await first.send(f"/start {code}"))
    else:
        async with database.session() as session:
            await session.execute(update(Invitation).values(revoked_at=clock.now()))
            await session.commit()
    members_before = (await dump(database))["member"]
    answer = text_of(await MemoryChannel(router.handle, user_id="2").send(f"/start {code}"))
    expected = {
        "unknown": "không hợp lệ",
        "expired": "đã hết hạn",
        "used": "đã được sử dụng hết",
        "revoked": "đã bị thu hồi",
    }[problem]
    assert expected in answer
    assert (await dump(database))["member"] == members_before
    assert (await _audit(database))[-1] == "registration.refused"


async def test_a_code_of_several_uses_serves_that_many_people(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    code = await invite(database, clock, "stnmt", uses=2)
    answers = [
        text_of(await MemoryChannel(router.handle, user_id=str(n)).send(f"/start {code}"))
        for n in range(3)
    ]
    assert ["Đăng ký thành công" in a for a in answers] == [True, True, False]


async def test_registered_user_with_another_code_keeps_the_code_unused(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _registered(router, database, clock)
    code = await invite(database, clock, "sxd")
    answer = text_of(await officer.send(f"/start {code}"))
    assert "đã đăng ký" in answer and "không bị tính lượt" in answer
    async with database.session() as session:
        used = await session.scalar(select(Invitation.used_count).where(Invitation.code == code))
    assert used == 0


async def test_bad_input_gets_a_polite_message_and_changes_nothing(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _registered(router, database, clock)
    before = await dump(database)
    cases = {
        "/lenhla": "không có lệnh /lenhla",
        "x" * (MAX_TEXT + 1): "quá dài",
        "   \u200b ": "không có nội dung",
        "Báo cáo đây ạ": "/nhiemvu",
        "/huy": "Không có thao tác nào",
    }
    for message, expected in cases.items():
        assert expected in text_of(await officer.send(message)), message
    assert "không còn hiệu lực" in text_of(await officer.press("xacnhan:123"))
    file = FileRef("abc", "bao-cao.pdf", "application/pdf", 1000)
    assert "không nhận tệp" in text_of(await officer.upload(file))
    assert await dump(database) == before


async def test_a_forged_task_button_is_refused_and_audited(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _registered(router, database, clock, "sxd")
    district_task = 0
    async with database.session() as session:
        from storage.models import Task

        district_task = await session.scalar(select(Task.id).where(Task.code == "1.k.1")) or 0
    answer = text_of(await officer.press(f"task:{district_task}"))
    assert "không được giao cho đơn vị" in answer
    assert (await _audit(database))[-1] == "choice.forged"


async def test_a_deactivated_member_is_told_so(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _registered(router, database, clock)
    async with database.session() as session:
        await session.execute(update(Member).values(active=False))
        await session.commit()
    assert "đã bị vô hiệu hóa" in text_of(await officer.send("/nhiemvu"))


async def test_the_coordinator_sees_the_consolidated_report_deadline(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _registered(router, database, clock, "stnmt", Role.COORDINATOR)
    clock.set(clock.now() + timedelta(days=21))  # 11/12/2024, after the agencies' deadline
    body = text_of(await coordinator.send("/nhiemvu"))
    assert "thứ Sáu, 20/12/2024" in body and "còn 9 ngày" in body
    help_text = text_of(await coordinator.send("/trogiup"))
    assert "cán bộ điều phối" in help_text
