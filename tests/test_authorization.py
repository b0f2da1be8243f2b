"""Every command against every role: allowed or refused as design §3 says; refusals audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from handlers.router import Router
from storage.dto import Role
from storage.models import AuditEntry, Member, Task
from tests.helpers import invite

COORDINATOR_ONLY = {"chuabaocao", "moi", "thanhvien", "thongbao", "nhacnho"}
LEADERS_TOO = {"tonghop"}
EVERYONE = {"baocao", "nhiemvu", "lichsu", "trogiup", "huy", "lienket", "kenh", "start"}
REFUSED = "không dành cho vai trò"


async def _member(
    router: Router, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, role: Role
) -> MemoryChannel:
    agency = "stnmt" if role in (Role.COORDINATOR, Role.ADMIN) else "sct"
    channel = MemoryChannel(router.handle, user_id=f"u-{role.value}", display_name=role.value)
    await channel.send(f"/start {await invite(sessions, clock, agency, role)}")
    return channel


def test_the_table_covers_every_command(router: Router) -> None:
    assert set(router.commands) == COORDINATOR_ONLY | LEADERS_TOO | EVERYONE


@pytest.mark.parametrize("role", list(Role))
async def test_every_command_for_every_role(
    router: Router, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, role: Role
) -> None:
    channel = await _member(router, sessions, clock, role)
    refused = 0
    for command in sorted(router.commands):
        answer = "\n".join(r.text for r in await channel.send(f"/{command}"))
        allowed = (
            command in EVERYONE
            or (command in LEADERS_TOO and role in (Role.LEADER, Role.COORDINATOR, Role.ADMIN))
            or (command in COORDINATOR_ONLY and role in (Role.COORDINATOR, Role.ADMIN))
        )
        assert (REFUSED not in answer) == allowed, (role, command, answer[:80])
        refused += not allowed
        await channel.send("/huy")  # leave any conversation the command opened
    async with sessions() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "permission.refused")
        )
    assert audited == refused


async def test_a_stranger_sees_nothing(router: Router) -> None:
    stranger = MemoryChannel(router.handle, user_id="nobody")
    for command in sorted(set(router.commands) - {"start"}):  # /start alone welcomes
        answer = "\n".join(r.text for r in await stranger.send(f"/{command}"))
        assert "chưa đăng ký" in answer, command


async def test_a_member_removed_mid_conversation_is_stopped_at_the_next_step(
    router: Router, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    officer = await _member(router, sessions, clock, Role.OFFICER)
    [status] = await officer.send("/baocao 2.dd")
    async with sessions() as session:
        await session.execute(update(Member).values(active=False))
        await session.commit()
    payload = status.flat_choices[0].payload
    answer = "\n".join(r.text for r in await officer.press(payload))
    assert "đã bị vô hiệu hóa" in answer


@pytest.mark.parametrize("role", list(Role))
async def test_every_coordinator_button_for_every_role(
    router: Router, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, role: Role
) -> None:
    """Buttons are checked at the press, not only when offered: a forged one is refused."""
    channel = await _member(router, sessions, clock, role)
    await _member(router, sessions, clock, Role.OFFICER)  # the one a coordinator removes
    async with sessions() as session:
        victim_id = await session.scalar(select(Member.id).where(Member.full_name == "officer"))
    summary = ["th:2024:ov:", "th:2024:ag:0", "th:2024:ix:I", "th:2024:f:xlsx", "th:2024:f:png"]
    members = [f"mb:{victim_id}:off", f"mb:{victim_id}:on"]
    refused = 0
    for payload in summary + members:
        answer = "\n".join(r.text for r in await channel.press(payload))
        leader_may = payload.startswith("th:") and not payload.startswith("th:2024:f:png")
        allowed = role in (Role.COORDINATOR, Role.ADMIN) or (role is Role.LEADER and leader_may)
        assert (REFUSED not in answer) == allowed, (role, payload, answer[:80])
        refused += not allowed
    async with sessions() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "permission.refused")
        )
        active = await session.scalar(select(Member.active).where(Member.id == victim_id))
    assert audited == refused
    assert active is True  # removed and reinstated by a coordinator; untouched by the others


async def test_an_officer_cannot_report_on_another_agencys_task_by_any_button(
    router: Router, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    officer = await _member(router, sessions, clock, Role.OFFICER)  # agency sct
    async with sessions() as session:
        foreign = await session.scalar(select(Task.id).where(Task.code == "1.b.1"))  # sxd's
    [tasks] = await officer.send("/baocao")
    nonce = tasks.flat_choices[0].payload.split(":")[1]
    for payload in (f"rp:1:{foreign}", f"bc:{nonce}:tk:{foreign}"):
        answer = "\n".join(r.text for r in await officer.press(payload))
        assert "không được giao cho đơn vị" in answer, payload
    async with sessions() as session:
        forged = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "choice.forged")
        )
    assert forged == 2
