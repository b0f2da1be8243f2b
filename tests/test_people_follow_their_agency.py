"""People follow their agency through the 2025 reorganisation, and two walk-throughs."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from handlers.agency_notices import tell_followers
from handlers.context import BotInfo
from handlers.refusals import agency_refusal
from handlers.reminders import Reminders
from handlers.router import Router
from storage.agencies import AgencyError
from storage.db import Database
from storage.models import Invitation, Member, OutboxMessage, Submission
from storage.plan_loader import default_plan_path, read_plan
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_conversations import text_of
from tests.test_report_flow import choice, not_started_summary
from tests.test_summary import member

JUNE_2025 = datetime(2025, 6, 20, 2, 0, tzinfo=UTC)  # Friday 20/06/2025, 09:00 in Hà Nội
JULY_2025 = datetime(2025, 7, 2, 2, 0, tzinfo=UTC)  # Wednesday 02/07/2025
NOVEMBER_2026 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # Friday 20/11/2026


@pytest.fixture
def bot(database: Database, clock: FrozenClock, tmp_path: Path) -> Router:
    return Router(database, clock, BotInfo("pgi_test_bot", tmp_path / "data"))


async def _move(database: Database, clock: FrozenClock, to: datetime) -> None:
    """Move the clock and import the plan as the administrator would (this year's cycle)."""
    clock.advance(to - clock.now())
    async with UnitOfWork(database) as uow:
        await uow.plans.import_plan(read_plan(default_plan_path()), today=to.date(), now=to)
        await tell_followers(uow, to)
        await uow.commit()


async def _notices(database: Database, member_id: int) -> list[str]:
    async with database.session() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.member_id == member_id, OutboxMessage.kind == "notice"
            )
        )
        return [row.payload["text"] for row in rows]


async def test_a_district_officer_is_told_once_and_reminded_no_more(
    bot: Router, database: Database, clock: FrozenClock
) -> None:
    await _move(database, clock, JUNE_2025)
    officer = MemoryChannel(bot.handle, user_id="501", display_name="Hoàng Văn Sơn")
    assert "Đăng ký thành công" in text_of(
        await officer.send(f"/start {await invite(database, clock, 'h-van-lang')}")
    )
    assert "1.k.1" in text_of(await officer.send("/nhiemvu"))
    async with database.session() as session:
        person = await session.scalar(select(Member).where(Member.full_name == "Hoàng Văn Sơn"))
        assert person is not None
    clock.advance(JULY_2025 - clock.now())
    reminders = Reminders()
    for _ in range(2):  # the sweep settles people; a second sweep changes nothing
        async with UnitOfWork(database) as uow:
            await reminders.sweep(uow, clock.now())
    [notice] = await _notices(database, person.id)
    assert notice.startswith("Từ thứ Ba, 01/07/2025, UBND huyện Văn Lãng đã kết thúc hoạt động")
    assert "do UBND các xã, phường thực hiện" in notice
    assert "không nhận nhắc hạn nữa" in notice
    async with database.session() as session:
        person = await session.get(Member, person.id)
        assert person is not None and person.active is False
    # Gone from reminders: the implementation plan due 20/07/2025 chases the communes.
    async with UnitOfWork(database) as uow:
        due = await uow.notifications.milestones_between(
            JULY_2025.date(), JULY_2025.date().replace(month=8)
        )
        [plan_due] = [m for m in due if m.code == "implementation-plan"]
        pending = await uow.notifications.pending_by_agency(plan_due)
        names = await uow.notifications.agency_names()
    assert "UBND xã Thất Khê" in {names[a] for a in pending}
    assert not {names[a] for a in pending} & {"UBND huyện Văn Lãng", "Sở Tài nguyên và Môi trường"}


async def test_invitations_and_reinstatement_into_an_ended_unit_are_refused(
    bot: Router, database: Database, clock: FrozenClock
) -> None:
    await _move(database, clock, JUNE_2025)
    district = MemoryChannel(bot.handle, user_id="502", display_name="Lê Thị Hoa")
    await district.send(f"/start {await invite(database, clock, 'h-cao-loc')}")
    await _move(database, clock, JULY_2025)
    async with UnitOfWork(database) as uow:
        for typed, successor in (
            ("h-cao-loc", "UBND các xã, phường"),
            ("Sở Tài nguyên và Môi trường", "Sở Nông nghiệp và Môi trường"),
        ):
            with pytest.raises(AgencyError) as refused:
                await uow.invitations.create(
                    agency_code=typed,
                    role=Role.OFFICER,
                    max_uses=1,
                    valid_for=JULY_2025 - JUNE_2025,
                    created_by="test",
                    now=clock.now(),
                )
            assert "không còn hoạt động" in agency_refusal(refused.value)
            assert successor in agency_refusal(refused.value)
    coordinator = await member(bot, database, clock, "snnmt", Role.COORDINATOR, "1", "Điều Phối")
    [moi] = await coordinator.send("/moi h-cao-loc canbo")
    assert "không còn hoạt động" in moi.text and "UBND các xã, phường" in moi.text
    [listing] = await coordinator.send("/thanhvien h-cao-loc")
    assert "Lê Thị Hoa" in listing.text and "đơn vị không còn hoạt động" in listing.text
    assert not [c for c in listing.flat_choices if "Lê Thị Hoa" in c.label]


async def test_a_commune_officer_registered_in_2026_reports_on_1k1(
    bot: Router, database: Database, clock: FrozenClock
) -> None:
    await _move(database, clock, NOVEMBER_2026)
    officer = MemoryChannel(bot.handle, user_id="601", display_name="Nông Thị Lan")
    welcome = text_of(await officer.send(f"/start {await invite(database, clock, 'Thất Khê')}"))
    assert "Đăng ký thành công" in welcome and "UBND xã Thất Khê" in welcome
    tasks = text_of(await officer.send("/nhiemvu"))
    assert "1.k.1" in tasks and "2.e.1" in tasks
    summary = await not_started_summary(officer, "1.k.1", "Đã rà soát các điểm hạ tầng hư hỏng.")
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2026/")
    history = text_of(await officer.send("/lichsu 2026"))
    assert history.startswith("Các báo cáo của UBND xã Thất Khê năm 2026 (theo thứ tự mới nhất):")
    assert "Nhiệm vụ 1.k.1:" in history and "Báo cáo của:" not in history
    assert text_of(await officer.send("/lichsu 2019")).startswith("Không có kỳ báo cáo năm 2019.")
    async with UnitOfWork(database) as uow:
        state = await uow.summaries.summary(2026, clock.now().date())
    assert state is not None
    k1 = next(t for t in state.all_tasks if t.code == "1.k.1")
    assert len(k1.lead_agencies) == 65 and k1.reported == 1
    assert k1.reports[0].agency_name == "UBND xã Thất Khê"
    thatkhe = next(a for a in state.agencies if a.code == "x-that-khe")
    assert "1.k.1" in thatkhe.reported_tasks and thatkhe.members == ["Nông Thị Lan"]


async def test_a_district_officer_of_2024_in_2026(
    bot: Router, database: Database, clock: FrozenClock
) -> None:
    """Registered in 2024, reported then; in 2026 the account is closed, the report kept."""
    officer = MemoryChannel(bot.handle, user_id="701", display_name="Vi Văn Đức")
    await officer.send(f"/start {await invite(database, clock, 'h-trang-dinh')}")
    summary = await not_started_summary(officer, "1.k.1", "Đang khảo sát hiện trạng.")
    [receipt] = await officer.press(choice(summary, "Xác nhận"))
    assert receipt.text.startswith("Đã ghi nhận báo cáo số 2024/")
    await _move(database, clock, NOVEMBER_2026)
    async with database.session() as session:
        person = await session.scalar(select(Member).where(Member.full_name == "Vi Văn Đức"))
        assert person is not None and person.active is False
        assert await session.scalar(select(Submission.id).where(Submission.member_id == person.id))
    [notice] = await _notices(database, person.id)
    assert "UBND huyện Tràng Định đã kết thúc hoạt động" in notice
    answer = text_of(await officer.send("/nhiemvu"))
    assert "1.k.1" not in answer  # no longer a member who reports
    async with UnitOfWork(database) as uow:
        y2024 = await uow.summaries.summary(2024, clock.now().date())
        y2026 = await uow.summaries.summary(2026, clock.now().date())
    assert y2024 is not None and y2026 is not None
    k1 = next(t for t in y2024.all_tasks if t.code == "1.k.1")
    assert [r.agency_name for r in k1.reports] == ["UBND huyện Tràng Định"]
    assert "UBND huyện Tràng Định" not in {a.name for a in y2026.agencies}


FEBRUARY_2025 = datetime(2025, 2, 20, 2, 0, tzinfo=UTC)  # Thursday 20/02/2025
MARCH_2025 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)  # Saturday 01/03/2025, 10:00


async def test_members_of_a_merged_agency_continue_under_its_successor_told_once(
    bot: Router, database: Database, clock: FrozenClock
) -> None:
    await _move(database, clock, FEBRUARY_2025)
    officer = MemoryChannel(bot.handle, user_id="801", display_name="Trần Minh Tâm")
    await officer.send(f"/start {await invite(database, clock, 'stnmt')}")
    assert "1.a.1" in text_of(await officer.send("/nhiemvu"))
    clock.advance(MARCH_2025 - clock.now())
    reminders = Reminders()
    for _ in range(2):  # a Saturday's sweep settles people too; the second changes nothing
        async with UnitOfWork(database) as uow:
            await reminders.sweep(uow, clock.now())
    await _move(database, clock, MARCH_2025)  # and so does an import on the same day
    async with database.session() as session:
        person = await session.scalar(select(Member).where(Member.full_name == "Trần Minh Tâm"))
        assert person is not None and person.active is True
    [notice] = await _notices(database, person.id)
    assert notice == (
        "Từ thứ Bảy, 01/03/2025, Sở Tài nguyên và Môi trường đã hợp nhất vào Sở Nông nghiệp và "
        "Môi trường. Tài khoản của đồng chí tiếp tục thuộc Sở Nông nghiệp và Môi trường: từ nay "
        "đồng chí báo cáo các nhiệm vụ và nhận nhắc hạn của Sở Nông nghiệp và Môi trường. Các "
        "báo cáo trước đây của đồng chí vẫn được giữ nguyên."
    )
    tasks = text_of(await officer.send("/nhiemvu"))
    assert "Sở Nông nghiệp và Môi trường" in tasks and "1.c.5" in tasks  # the merged tasks


async def test_moving_people_in_silence_is_refused(database: Database, clock: FrozenClock) -> None:
    """A unit of work that moved members must word their message before it commits."""
    await _move(database, clock, JUNE_2025)
    async with UnitOfWork(database) as uow:
        member_id = await uow.members.create(
            full_name="Nguyễn Văn An",
            agency_id=(await uow.agencies.by_code("h-van-lang")).id,
            role=Role.OFFICER,
            invitation_id=None,
            now=clock.now(),
        )
        await uow.members.add_identity(member_id, "telegram", "901", "901", clock.now())
        await uow.commit()
    async with UnitOfWork(database) as uow:
        await uow.agencies.settle(JULY_2025)
        with pytest.raises(RuntimeError, match="not told"):
            await uow.commit()
    async with UnitOfWork(database) as uow:
        await uow.agencies.settle(JULY_2025)
        assert await tell_followers(uow, JULY_2025) == 1
        await uow.commit()


async def test_a_code_made_before_its_agency_ended_does_not_register(
    bot: Router, database: Database, clock: FrozenClock
) -> None:
    await _move(database, clock, FEBRUARY_2025)
    department = await invite(database, clock, "stnmt", days=30)  # merged on 01/03/2025
    await _move(database, clock, MARCH_2025.replace(day=5))
    stranger = MemoryChannel(bot.handle, user_id="902", display_name="Hà Văn Bình")
    [refused] = await stranger.send(f"/start {department}")
    assert refused.text == (
        "Mã mời này được tạo cho Sở Tài nguyên và Môi trường, đơn vị đã không còn hoạt động từ "
        "thứ Bảy, 01/03/2025; các nhiệm vụ của đơn vị do Sở Nông nghiệp và Môi trường thực "
        "hiện. Đề nghị đồng chí liên hệ cơ quan đầu mối để nhận mã mời của Sở Nông nghiệp và "
        "Môi trường."
    )
    await _move(database, clock, JUNE_2025)
    district = await invite(database, clock, "h-cao-loc")  # retired on 01/07/2025
    await _move(database, clock, JULY_2025)
    [refused] = await stranger.send(f"/start {district}")
    assert "UBND huyện Cao Lộc" in refused.text and "UBND các xã, phường" in refused.text
    async with database.session() as session:
        assert not await session.scalar(select(Member.id).where(Member.full_name == "Hà Văn Bình"))
        used = await session.scalars(select(Invitation.used_count))
        assert set(used) == {0}  # neither code was spent
    commune = await invite(database, clock, "x-that-khe")
    assert "Đăng ký thành công" in text_of(await stranger.send(f"/start {commune}"))
