"""/thanhvien: a member's role or agency changed with buttons, confirmed, audited, told once."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.messages import Reply
from handlers.member_changes import ChangeButton
from handlers.router import Router
from storage.db import Database
from storage.models import Agency, AuditEntry, Member, OutboxMessage
from storage.uow import UnitOfWork
from tests.helpers import invite


async def _member(
    router: Router, database: Database, clock: FrozenClock, agency: str, role: Role, name: str
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=f"u-{name}", display_name=name)
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


async def _id(database: Database, name: str) -> int:
    async with database.session() as session:
        found = await session.scalar(select(Member.id).where(Member.full_name == name))
        assert found is not None
        return found


async def _state(database: Database, member_id: int) -> tuple[str, str]:
    async with database.session() as session:
        row = (
            await session.execute(
                select(Member.role, Agency.code)
                .join(Agency, Agency.id == Member.agency_id)
                .where(Member.id == member_id)
            )
        ).one()
        return row.role, row.code


async def _audited(database: Database, action: str) -> list[dict[str, object]]:
    async with database.session() as session:
        return list(
            await session.scalars(
                select(AuditEntry.detail)
                .where(AuditEntry.action == action)
                .order_by(AuditEntry.id)
            )
        )


async def _notices(database: Database) -> list[str]:
    async with database.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "member"))
        return [row.payload["text"] for row in rows]


def _choice(reply: Reply, label: str) -> str:
    return next(c.payload for c in reply.flat_choices if label in c.label)


async def test_a_coordinator_gives_another_role_after_confirming_and_the_member_is_told_once(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, "stnmt", Role.COORDINATOR, "Điều Phối")
    await _member(router, database, clock, "sct", Role.OFFICER, "Cán Bộ")
    officer = await _id(database, "Cán Bộ")
    [listing] = await coordinator.send("/thanhvien")
    assert ChangeButton(officer, "menu").encode() in [c.payload for c in listing.flat_choices]
    [menu] = await coordinator.press(ChangeButton(officer, "menu").encode())
    labels = [c.label for c in menu.flat_choices]
    assert not any("quản trị viên" in label for label in labels)  # above a coordinator
    assert not any("cán bộ đầu mối" in label for label in labels)  # the role they have
    [confirm] = await coordinator.press(_choice(menu, "lãnh đạo đơn vị"))
    assert "cán bộ đầu mối" in confirm.text and "lãnh đạo đơn vị" in confirm.text
    assert await _state(database, officer) == ("officer", "sct")  # nothing before confirming
    payload = confirm.flat_choices[0].payload
    [done] = await coordinator.press(payload)
    assert "lãnh đạo đơn vị" in done.text
    assert await _state(database, officer) == ("leader", "sct")
    [again] = await coordinator.press(payload)  # the same confirmation pressed twice
    assert "Không có thay đổi" in again.text or "đã là" in again.text
    notices = await _notices(database)
    assert len(notices) == 1 and "lãnh đạo đơn vị" in notices[0]
    assert await _audited(database, "member.role") == [
        {"target": officer, "old": "officer", "new": "leader"}
    ]


async def test_a_member_is_moved_by_a_page_button_or_a_typed_name(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, "stnmt", Role.COORDINATOR, "Điều Phối")
    await _member(router, database, clock, "sct", Role.OFFICER, "Cán Bộ")
    officer = await _id(database, "Cán Bộ")
    [page] = await coordinator.press(ChangeButton(officer, "p", "0").encode())
    names = [c.label for c in page.flat_choices if c.payload.startswith(f"mc:{officer}:a:")]
    assert names and len(names) <= 8
    [later] = await coordinator.press(_choice(page, "›"))
    assert "2" in later.text
    [confirm] = await coordinator.send("so xay dung")  # typed, without diacritics
    assert "Sở Xây dựng" in confirm.text
    [done] = await coordinator.press(_choice(confirm, "Xác nhận"))
    assert await _state(database, officer) == ("officer", "sxd")
    assert "Sở Xây dựng" in done.text
    assert [d["new"] for d in await _audited(database, "member.agency")] == ["sxd"]
    assert len(await _notices(database)) == 1


async def test_refusals_forged_and_stale_buttons_change_nothing(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, "stnmt", Role.COORDINATOR, "Điều Phối")
    officer_chat = await _member(router, database, clock, "sct", Role.OFFICER, "Cán Bộ")
    await _member(router, database, clock, "stnmt", Role.ADMIN, "Quản Trị")
    officer, admin = await _id(database, "Cán Bộ"), await _id(database, "Quản Trị")
    me = await _id(database, "Điều Phối")
    refused = {
        ChangeButton(officer, "okr", "admin"): "cao hơn",  # a role above the caller's
        ChangeButton(admin, "okr", "officer"): "cao hơn",  # a member above the caller
        ChangeButton(me, "okr", "officer"): "vai trò của mình",  # oneself
        ChangeButton(officer, "okr", "coordinator"): "thuộc cơ quan đầu mối",  # not at stnmt
    }
    for button, words in refused.items():
        [answer] = await coordinator.press(button.encode())
        assert words in answer.text, (button, answer.text)
    for forged in (
        "mc:x:menu:",
        f"mc:{officer}:okr:boss",
        f"mc:{officer}:oka:nope",
        "mc:999:menu:",
    ):
        [answer] = await coordinator.press(forged)
        assert "không còn hiệu lực" in answer.text, forged
    [answer] = await officer_chat.press(ChangeButton(officer, "okr", "leader").encode())
    assert "không dành cho vai trò" in answer.text
    assert await _state(database, officer) == ("officer", "sct")
    assert await _state(database, admin) == ("admin", "stnmt")
    assert await _notices(database) == []
    assert len(await _audited(database, "member.refused")) == len(refused)


async def test_moves_the_rules_refuse_and_cancelling_change_nothing(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, "stnmt", Role.COORDINATOR, "Điều Phối")
    await _member(router, database, clock, "stnmt", Role.COORDINATOR, "Phối Hợp")
    await _member(router, database, clock, "sct", Role.OFFICER, "Cán Bộ")
    colleague, officer = await _id(database, "Phối Hợp"), await _id(database, "Cán Bộ")
    async with UnitOfWork(database) as uow:
        await uow.agencies.retire("syt", on=clock.now().date(), now=clock.now())
        await uow.commit()
    [page] = await coordinator.press(ChangeButton(officer, "p", "0").encode())
    shown = [c.payload for c in page.flat_choices]
    assert f"mc:{officer}:a:sct" not in shown  # their own agency is not offered
    everything = list(shown)
    while turn := [c for c in page.flat_choices if "›" in c.label and "‹" not in c.label]:
        [page] = await coordinator.press(turn[0].payload)
        everything += [c.payload for c in page.flat_choices]
    assert f"mc:{officer}:a:syt" not in everything  # a retired agency is not offered
    labels = [c.label for c in page.flat_choices]
    assert any("‹" in label for label in labels)
    refusal, again = await coordinator.send("Sở Không Có")  # a polite answer, then the list
    assert "Sở Không Có" in refusal.text and "Chuyển Cán Bộ" in again.text
    [cancel] = await coordinator.send("/huy")
    assert "Đã hủy" in cancel.text
    assert "/trogiup" in "\n".join(r.text for r in await coordinator.send("Sở Y tế"))
    cases = {
        ChangeButton(officer, "oka", "syt"): "không còn báo cáo",  # retired (forged button)
        ChangeButton(officer, "a", "sct"): "Không có thay đổi",  # already there
        ChangeButton(colleague, "oka", "sct"): "thuộc cơ quan đầu mối",  # a coordinator moved
    }
    for button, words in cases.items():
        [answer] = await coordinator.press(button.encode())
        assert words in answer.text, (button, answer.text)
    [menu] = await coordinator.press(ChangeButton(officer, "menu").encode())
    [cancelled] = await coordinator.press(_choice(menu, "Hủy"))
    assert "Không có gì được thay đổi" in cancelled.text
    assert await _state(database, officer) == ("officer", "sct")
    assert await _state(database, colleague) == ("coordinator", "stnmt")
    assert await _notices(database) == []
    assert [d["reason"] for d in await _audited(database, "member.refused")] == [
        "agency_retired",
        "nothing_to_do",
        "coordinator_elsewhere",
    ]


async def test_a_coordinator_who_lost_the_role_cannot_confirm_a_change_shown_earlier(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, "stnmt", Role.COORDINATOR, "Điều Phối")
    await _member(router, database, clock, "sct", Role.OFFICER, "Cán Bộ")
    officer, me = await _id(database, "Cán Bộ"), await _id(database, "Điều Phối")
    [confirm] = await coordinator.press(ChangeButton(officer, "r", "leader").encode())
    async with database.session() as session:
        await session.execute(update(Member).where(Member.id == me).values(role="officer"))
        await session.commit()
    [answer] = await coordinator.press(_choice(confirm, "Xác nhận"))
    assert "không dành cho vai trò" in answer.text
    assert await _state(database, officer) == ("officer", "sct")
    assert await _notices(database) == []
