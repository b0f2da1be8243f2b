"""Repositories on both databases: members, their accounts and channels, link codes, agencies."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.core.clock import FrozenClock
from bot.core.domain.agencies import AgencyStatus
from bot.core.domain.members import Role
from bot.core.domain.reorganisation import Refusal
from handlers.refusals import agency_refusal
from storage.agencies import AgencyError
from storage.db import Database
from storage.uow import UnitOfWork


async def _agency_ids(uow: UnitOfWork) -> dict[str, int]:
    return {agency.code: agency.id for agency in await uow.plans.agencies()}


async def test_find_members_by_name_as_typed_or_by_id(
    database: Database, clock: FrozenClock
) -> None:
    async with UnitOfWork(database) as uow:
        agencies = await _agency_ids(uow)
        duc = await uow.members.create(
            full_name="Đặng Văn Đức",
            agency_id=agencies["sxd"],
            role=Role.OFFICER,
            invitation_id=None,
            now=clock.now(),
        )
        await uow.members.create(
            full_name="Đặng Văn Được",
            agency_id=agencies["sct"],
            role=Role.OFFICER,
            invitation_id=None,
            now=clock.now(),
        )
        await uow.commit()
    async with UnitOfWork(database) as uow:
        assert [m.id for m in await uow.members.find("  ĐẶNG văn   ĐỨC ")] == [duc]
        [found] = await uow.members.find(str(duc))
        assert (found.full_name, found.agency_code, found.role) == (
            "Đặng Văn Đức",
            "sxd",
            Role.OFFICER,
        )
        assert await uow.members.find("Đặng Văn") == []  # a whole name, not a part


async def test_accounts_channels_and_the_preferred_one(
    database: Database, clock: FrozenClock
) -> None:
    async with UnitOfWork(database) as uow:
        agencies = await _agency_ids(uow)
        member = await uow.members.create(
            full_name="Hà Thị Mai",
            agency_id=agencies["sct"],
            role=Role.OFFICER,
            invitation_id=None,
            now=clock.now(),
        )
        assert await uow.members.channels_of(member) == set()
        await uow.members.add_identity(member, "telegram", "t1", "t1", clock.now())
        await uow.members.add_identity(member, "zalo", "z1", "z1", clock.now())
        await uow.commit()
    async with UnitOfWork(database) as uow:
        assert await uow.members.channels_of(member) == {"telegram", "zalo"}
        [latest] = await uow.notifications.recipients(agencies["sct"])
        assert latest.channel == "zalo"  # none chosen: the account linked last
        await uow.members.set_preferred_channel(member, "telegram")
        await uow.commit()
    async with UnitOfWork(database) as uow:
        [chosen] = await uow.notifications.recipients(agencies["sct"])
        assert (chosen.member_id, chosen.channel, chosen.chat_id) == (member, "telegram", "t1")


async def test_a_link_code_is_used_once_and_expires(
    database: Database, clock: FrozenClock
) -> None:
    async with UnitOfWork(database) as uow:
        agencies = await _agency_ids(uow)
        member = await uow.members.create(
            full_name="Phạm Văn Đông",
            agency_id=agencies["sct"],
            role=Role.OFFICER,
            invitation_id=None,
            now=clock.now(),
        )
        code = uow.link_codes.create(member, "telegram", clock.now(), 15)
        other = uow.link_codes.create(member, "zalo", clock.now(), 15)
        await uow.commit()
    assert code != other
    later = clock.now() + timedelta(minutes=14)
    async with UnitOfWork(database) as uow:
        assert await uow.link_codes.find_usable(code, later) == (member, "telegram")
        assert await uow.link_codes.find_usable("NOCODE", later) is None
        assert await uow.link_codes.mark_used(code, later)
        assert not await uow.link_codes.mark_used(code, later)  # taken twice: the second fails
        assert await uow.link_codes.find_usable(code, later) is None
        await uow.commit()
    async with UnitOfWork(database) as uow:
        assert await uow.link_codes.find_usable(code, later) is None
        assert await uow.link_codes.find_usable(other, later) == (member, "zalo")
        expired = clock.now() + timedelta(minutes=15)
        assert await uow.link_codes.find_usable(other, expired) is None


async def test_notice_recipients_one_reachable_account_per_member_but_the_sender(
    database: Database, clock: FrozenClock
) -> None:
    async with UnitOfWork(database) as uow:
        agencies = await _agency_ids(uow)

        async def member(name: str, agency: str, *accounts: tuple[str, str]) -> int:
            member_id = await uow.members.create(
                full_name=name,
                agency_id=agencies[agency],
                role=Role.OFFICER,
                invitation_id=None,
                now=clock.now(),
            )
            for channel, user in accounts:
                await uow.members.add_identity(member_id, channel, user, user, clock.now())
            return member_id

        sender = await member("Người Gửi", "sct", ("telegram", "s"))
        two_apps = await member("Hai Ứng Dụng", "sct", ("telegram", "a1"), ("zalo", "a2"))
        console = await member("Chỉ Máy Chủ", "sct", ("console", "c"))
        blocked = await member("Đã Chặn", "sct", ("telegram", "b"))
        removed = await member("Đã Rời", "sct", ("telegram", "r"))
        elsewhere = await member("Sở Khác", "sxd", ("zalo", "e"))
        await uow.members.mark_unreachable("telegram", "b")
        await uow.members.set_active(removed, False)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        everyone = await uow.members.notice_recipients(sender, None)
        in_sct = await uow.members.notice_recipients(sender, agencies["sct"])
    assert [m for m, _channel, _chat in everyone] == [two_apps, elsewhere]
    assert [m for m, _channel, _chat in in_sct] == [two_apps]
    [(_member, channel, chat)] = in_sct
    assert (channel, chat) in {("telegram", "a1"), ("zalo", "a2")}
    assert everyone[1] == (elsewhere, "zalo", "e")
    assert not {console, blocked, removed, sender} & {m for m, _c, _ch in everyone}
    for preferred, chat in (("zalo", "a2"), ("telegram", "a1")):  # the channel chosen with /kenh
        async with UnitOfWork(database) as uow:
            await uow.members.set_preferred_channel(two_apps, preferred)
            await uow.commit()
        async with UnitOfWork(database) as uow:
            assert await uow.members.notice_recipients(sender, agencies["sct"]) == [
                (two_apps, preferred, chat)
            ]


async def test_an_agency_is_found_as_typed_and_answers_for_those_merged_into_it(
    database: Database, clock: FrozenClock
) -> None:
    async with UnitOfWork(database) as uow:
        assert (await uow.agencies.find("Sở Xây dựng")).code == "sxd"
        assert (await uow.agencies.find("so xay dung")).code == "sxd"
        coordinator = await uow.agencies.coordinator(clock.now().date())
        assert coordinator is not None and coordinator.code == "stnmt"
        later = await uow.agencies.coordinator(date(2025, 3, 1))
        assert later is not None and later.code == "snnmt"
        with pytest.raises(AgencyError) as unknown:
            await uow.agencies.find("Sở Vũ trụ")
        assert unknown.value.refusal is Refusal.UNKNOWN_NAME
        assert "Không có cơ quan, đơn vị nào tên là Sở Vũ trụ" in agency_refusal(unknown.value)
        await uow.agencies.merge("sxd", into="sct", on=clock.now().date(), now=clock.now())
        await uow.commit()
    async with UnitOfWork(database) as uow:
        today = await uow.agencies.find("sxd")
        assert (today.code, today.status) == ("sct", AgencyStatus.ACTIVE)
