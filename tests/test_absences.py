"""Absences and stand-ins: the routing rule, /vangmat, and reminders walked day by day."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.absences import Absence, Route, route
from bot.core.domain.members import Role
from bot.core.messages import Reply
from handlers.router import Router
from storage.db import Database
from storage.models import AbsenceRow, AuditEntry, OutboxMessage
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_channels_e2e import Driver, officer
from tests.test_conversations import text_of
from tests.test_reminders import HANOI, Recorder, _member, _seen, _walk, d, days

__all__ = ["officer"]  # the platform drivers' fixture, used here too


def away(member: int, stand_in: int | None = None) -> Absence:
    return Absence(member, member, f"M{member}", 1, d("01/12/2024"), d("31/12/2024"), stand_in)


@pytest.mark.parametrize(
    ("intended", "officers", "leaders", "absences", "routes", "unreached"),
    [
        # nobody away: everyone receives their own
        ([1, 2], [1, 2], [9], [], [Route(1), Route(2)], []),
        # 1 away with 2 standing in: 2 receives it once, marked for 1
        ([1, 2], [1, 2], [9], [away(1, 2)], [Route(2, (1,))], []),
        # 1 away with a stand-in who is not reachable: the other officers
        ([1, 2, 3], [1, 2, 3], [9], [away(1, 7)], [Route(2, (1,)), Route(3, (1,))], []),
        # the only officer away, no stand-in: the leader
        ([1], [1], [9], [away(1)], [Route(9, (1,))], []),
        # the stand-in is away too: the others, then the leader
        ([1, 2], [1, 2], [9], [away(1, 2), away(2)], [Route(9, (1, 2))], []),
        # everyone away: nobody
        ([1, 9], [1], [9], [away(1), away(9)], [], [1, 9]),
        # an escalation to an absent leader goes to the stand-in they named
        ([1, 9], [1], [9], [away(9, 1)], [Route(1, (9,))], []),
    ],
)
def test_who_receives_a_reminder_meant_for_someone_away(
    intended: list[int],
    officers: list[int],
    leaders: list[int],
    absences: list[Absence],
    routes: list[Route],
    unreached: list[int],
) -> None:
    assert route(intended, officers, leaders, {a.member_id: a for a in absences}) == (
        routes,
        unreached,
    )


# --- /vangmat --------------------------------------------------------------------------------


async def _join(
    router: Router, database: Database, clock: FrozenClock, who: str, agency: str, role: Role
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=who, display_name=who)
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


def _choice(replies: list[Reply], label: str) -> str:
    for reply in replies:
        for choice in reply.flat_choices:
            if choice.label.startswith(label):
                return choice.payload
    raise AssertionError(f"no choice {label!r}")


async def test_an_officer_declares_an_absence_with_a_stand_in_and_cancels_it(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=HANOI))
    officer = await _join(router, database, clock, "an", "sct", Role.OFFICER)
    await _join(router, database, clock, "binh", "sct", Role.OFFICER)
    await _join(router, database, clock, "other", "sxd", Role.OFFICER)
    asked = await officer.send("/vangmat")
    assert "vắng mặt từ ngày nào đến ngày nào" in text_of(asked)
    for bad, says in (
        ("tuần sau", "dd/mm/yyyy - dd/mm/yyyy"),
        ("31/02/2026 - 04/03/2026", "dd/mm/yyyy - dd/mm/yyyy"),
        ("10/12/2026 - 08/12/2026", "Ngày cuối trước ngày đầu"),
        ("01/12/2026 - 04/12/2026", "đã qua"),
        ("10/12/2026 - 11/12/2027", "tối đa một năm"),
    ):
        assert says in text_of(await officer.send(bad)), bad
    stand_in = await officer.send("09/12/2026 - 11/12/2026")
    labels = [c.label for r in stand_in for c in r.flat_choices]
    assert "binh" in labels and "other" not in labels  # only colleagues of the same agency
    confirm = await officer.press(_choice(stand_in, "binh"))
    assert "từ thứ Tư, 09/12/2026 đến thứ Sáu, 11/12/2026" in text_of(confirm)
    done = await officer.press(_choice(confirm, "Xác nhận"))
    assert "Đã ghi nhận" in text_of(done)
    async with database.session() as session:
        [row] = (await session.scalars(select(AbsenceRow))).all()
        assert (row.starts_on, row.ends_on) == (date(2026, 12, 9), date(2026, 12, 11))
        told = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "absence"))
        ).all()
        assert [m.chat_id for m in told] == ["binh"]
        assert (
            "nhận thay" in told[0].payload["text"] or "người nhận thay" in told[0].payload["text"]
        )
    again = await officer.send("/vangmat")
    assert "10/12/2026 - 12/12/2026" not in text_of(again)
    overlapping = await officer.send("10/12/2026 - 14/12/2026")
    assert "đã có lịch vắng mặt" in text_of(overlapping)
    await officer.send("/huy")
    listed = await officer.send("/vangmat")
    cancelled = await officer.press(_choice(listed, "Hủy lịch vắng mặt từ 09/12"))
    assert "đã được hủy" in text_of(cancelled)
    async with database.session() as session:
        actions = [a for a in (await session.scalars(select(AuditEntry.action))).all()]
    assert actions.count("absence.declare") == 1 and actions.count("absence.cancel") == 1


@pytest.mark.parametrize(
    ("actor_agency", "actor_role", "allowed"),
    [
        ("sct", Role.OFFICER, False),
        ("sct", Role.LEADER, True),
        ("sxd", Role.LEADER, False),
        ("snnmt", Role.COORDINATOR, True),
        ("snnmt", Role.ADMIN, True),
    ],
)
async def test_who_may_declare_an_absence_for_someone_else(
    router: Router,
    database: Database,
    clock: FrozenClock,
    actor_agency: str,
    actor_role: Role,
    allowed: bool,
) -> None:
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=HANOI))
    await _join(router, database, clock, "Trần Văn Ba", "sct", Role.OFFICER)
    actor = await _join(router, database, clock, "actor", actor_agency, actor_role)
    answer = text_of(await actor.send("/vangmat Trần Văn Ba"))
    assert ("không dành cho vai trò" not in answer) is allowed, answer
    # a forged button for someone else's absence is refused the same way
    async with UnitOfWork(database) as uow:
        [target] = await uow.members.find("Trần Văn Ba")
    forged = text_of(await actor.press(f"vm:{target.id}:del:1"))
    assert ("không dành cho vai trò" in forged) is not allowed
    assert "đã được hủy" not in forged


# --- reminders, day by day ---------------------------------------------------------------------


async def test_reminders_go_to_the_stand_in_and_come_back_with_one_summary(
    database: Database, clock: FrozenClock
) -> None:
    for agency, role, chat in (
        ("sct", Role.OFFICER, "sct-officer"),
        ("sct", Role.OFFICER, "sct-colleague"),
        ("sct", Role.LEADER, "sct-leader"),
        ("sxd", Role.OFFICER, "sxd-officer"),
        ("stnmt", Role.COORDINATOR, "coordinator"),
    ):
        await _member(database, agency, role, chat, clock)
    async with UnitOfWork(database) as uow:
        members = {m.full_name: m.id for m in await uow.members.list_all()}
        await uow.absences.add(
            members["Cán bộ sct-officer"],
            d("05/12/2024"),
            d("10/12/2024"),
            members["Cán bộ sct-colleague"],
            None,
            clock.now(),
        )
        await uow.commit()
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("01/12/2024"), d("12/12/2024"))
    results = "chưa gửi Báo cáo kết quả"  # a reminder, not the summary
    # away 05/12–10/12: no reminders; before and after, as usual
    assert _seen(recorder, "sct-officer", results) == days(
        "03/12/2024", "11/12/2024", "12/12/2024"
    )
    # the colleague receives their own every step, marked as standing in while the officer is away
    marked = [
        w.date()
        for w, r in recorder.received["sct-colleague"]
        if "thay đồng chí Cán bộ sct-officer" in r.text
    ]
    assert marked == days("06/12/2024", "09/12/2024", "10/12/2024")
    # one summary on the first working day back
    back = [(w.date(), r.text) for w, r in recorder.received["sct-officer"] if "trở lại" in r.text]
    assert [day for day, _text in back] == days("11/12/2024")
    assert "Cán bộ sct-colleague" in back[0][1] and "Báo cáo kết quả" in back[0][1]


async def test_an_agency_with_everyone_away_is_named_in_the_digest(
    database: Database, clock: FrozenClock
) -> None:
    await _member(database, "sct", Role.OFFICER, "sct-officer", clock)
    await _member(database, "sxd", Role.OFFICER, "sxd-officer", clock)
    await _member(database, "stnmt", Role.COORDINATOR, "coordinator", clock)
    async with UnitOfWork(database) as uow:
        [officer] = [
            m for m in await uow.members.list_all() if m.full_name == "Cán bộ sct-officer"
        ]
        await uow.absences.add(
            officer.id, d("11/12/2024"), d("20/12/2024"), None, None, clock.now()
        )
        await uow.commit()
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("13/12/2024"), d("13/12/2024"))
    assert _seen(recorder, "sct-officer") == []
    [digest] = [
        r.text for _w, r in recorder.received["coordinator"] if r.text.startswith("Tổng hợp")
    ]
    assert "không có ai để nhắc" in digest
    assert "Cán bộ sct-officer đến 20/12/2024" in digest


# --- over Telegram and Zalo ---------------------------------------------------------------------


async def test_vangmat_over_telegram_and_zalo(
    officer: Driver, database: Database, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=HANOI))
    await officer.say(f"/start {await invite(database, clock, 'sct')}", "Đăng ký thành công")
    await officer.say("/vangmat", "vắng mặt từ ngày nào")
    await officer.say("hôm nay", "dd/mm/yyyy - dd/mm/yyyy")
    await officer.say("14/12/2026 - 18/12/2026", "nhận thay")
    await officer.choose("Không cử", "Xác nhận?")
    await officer.choose("Xác nhận", "Đã ghi nhận")
    async with database.session() as session:
        [row] = (await session.scalars(select(AbsenceRow))).all()
    assert (row.starts_on, row.ends_on, row.stand_in_id) == (
        date(2026, 12, 14),
        date(2026, 12, 18),
        None,
    )


async def test_a_sweep_and_a_digest_read_each_deadlines_agencies_behind_once(
    database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import Counter

    from handlers.reminders import Reminders
    from storage.notifications import DueMilestone, NotificationRepository, PendingTask
    from tests.test_reminders import CALENDAR, POLICY

    for agency, role, chat in (
        ("sct", Role.OFFICER, "sct-officer"),
        ("sct", Role.OFFICER, "sct-colleague"),
        ("stnmt", Role.COORDINATOR, "coordinator"),
    ):
        await _member(database, agency, role, chat, clock)
    async with UnitOfWork(database) as uow:
        members = {m.full_name: m.id for m in await uow.members.list_all()}
        officer, colleague = members["Cán bộ sct-officer"], members["Cán bộ sct-colleague"]
        await uow.absences.add(
            officer, d("02/12/2024"), d("10/12/2024"), colleague, None, clock.now()
        )
        await uow.commit()
    read: Counter[int] = Counter()
    original = NotificationRepository.pending_by_agency

    async def counted(
        self: NotificationRepository, milestone: DueMilestone
    ) -> dict[int, list[PendingTask]]:
        read[milestone.id] += 1
        return await original(self, milestone)

    monkeypatch.setattr(NotificationRepository, "pending_by_agency", counted)
    reminders = Reminders(POLICY, CALENDAR)
    clock.set(datetime(2024, 12, 12, 8, 40, tzinfo=HANOI))  # back from the absence, and late
    async with UnitOfWork(database) as uow:
        swept = await reminders.sweep(uow, clock.now())
    assert swept.decided >= 2  # the welcome back and the reminders
    assert read and set(read.values()) == {1}
    read.clear()
    async with UnitOfWork(database) as uow:
        assert await reminders.digest(uow, clock.now()) == 1
    assert read and set(read.values()) == {1}
