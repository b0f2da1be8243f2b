"""Every command against every role: allowed or refused as design §3 says; refusals audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from handlers.router import Router
from storage.dto import Role
from storage.models import AuditEntry, Member
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
