"""Deadline extensions: the year walked day by day, /giahan in chat, and who may do what."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.calendar import steps_for
from bot.core.domain.members import MemberInfo, Role
from bot.core.domain.standing import Standing, year_standing
from handlers.extensions.service import Outcome, decide_extension, grant_extension
from handlers.router import Router
from storage.db import Database
from storage.models import AuditEntry, ExtensionRequest, OutboxMessage
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_absences import _choice
from tests.test_conversations import text_of
from tests.test_reminders import (
    CALENDAR,
    DECEMBER_LATE,
    DECEMBER_STEPS,
    HANOI,
    POLICY,
    Recorder,
    _member,
    _seen,
    _walk,
    d,
    days,
)

RESULTS = "chưa gửi Báo cáo kết quả"
EXTENDED = d("20/12/2024")
NEW_STEPS = [s.day for s in steps_for(EXTENDED, POLICY, CALENDAR) if s.day <= d("31/12/2024")]
NEW_LATE = [
    s.day
    for s in steps_for(EXTENDED, POLICY, CALENDAR)
    if s.late_day > 0 and s.day <= d("31/12/2024")
]


@pytest.fixture
async def people(database: Database, clock: FrozenClock) -> None:
    await _member(database, "sxd", Role.OFFICER, "sxd-officer", clock)
    await _member(database, "sct", Role.OFFICER, "sct-officer", clock)
    await _member(database, "sct", Role.LEADER, "sct-leader", clock)
    await _member(database, "stnmt", Role.COORDINATOR, "coordinator", clock)


async def _coordinator(uow: UnitOfWork) -> MemberInfo:
    found = [m for m in await uow.members.list_all() if m.full_name == "Cán bộ coordinator"]
    info = await uow.members.by_identity("telegram", "coordinator")
    assert found and info is not None
    return info


async def _results_deadline(uow: UnitOfWork) -> int:
    [milestone] = [
        m
        for m in await uow.notifications.milestones_between(d("10/12/2024"), d("10/12/2024"))
        if m.recipients != "coordinator"
    ]
    return milestone.id


async def _grant(
    database: Database, clock: FrozenClock, until: date, codes: list[str] | None = None
) -> int:
    async with UnitOfWork(database) as uow:
        sct = await uow.agencies.by_code("sct")
        decision = await grant_extension(
            uow,
            decider=await _coordinator(uow),
            milestone_id=await _results_deadline(uow),
            agency_id=sct.id,
            task_codes=codes or [],
            until=until,
            due=d("10/12/2024"),
            year=2024,
            reason="Chờ số liệu khảo sát của Trung ương.",
            now=clock.now(),
            today=clock.now().astimezone(HANOI).date(),
            calendar=CALENDAR,
        )
        assert decision.outcome is Outcome.DONE, decision
        await uow.commit()
        assert decision.extension is not None
        return decision.extension.id


# --- the year, day by day ------------------------------------------------------------------------


async def test_an_extension_moves_one_agency_s_reminders_lateness_and_escalation(
    database: Database, clock: FrozenClock, people: None
) -> None:
    clock.set(datetime(2024, 11, 28, 9, 0, tzinfo=HANOI))
    await _grant(database, clock, EXTENDED)
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("01/12/2024"), d("31/12/2024"))
    # sct: the results reminders follow 20/12, none on the plan's days; its leader only when
    # late on the new day
    assert _seen(recorder, "sct-officer", RESULTS) == NEW_STEPS
    assert _seen(recorder, "sct-leader", RESULTS) == NEW_LATE
    assert NEW_LATE[0] == d("23/12/2024")
    first = next(r for w, r in recorder.received["sct-officer"] if w.date() == NEW_STEPS[0])
    assert "Hạn báo cáo: thứ Sáu, 20/12/2024" in first.text
    assert "Đã gia hạn từ thứ Ba, 10/12/2024 đến thứ Sáu, 20/12/2024" in first.text
    assert "Chờ số liệu khảo sát" in first.text
    labels = [c.label for c in first.flat_choices]
    assert "Nhắc lại sau" in labels and "Xin gia hạn" in labels
    # sxd keeps the plan's deadline (it reported on 05/12): unaffected
    assert _seen(recorder, "sxd-officer", RESULTS) == days("03/12/2024")
    # the digest names sct only from its 3rd working day late on the new day
    digests = [
        (w.date(), r.text)
        for w, r in recorder.received["coordinator"]
        if r.text.startswith("Tổng hợp tình hình")
    ]
    naming = [day for day, text in digests if "Sở Công Thương" in text]
    assert naming and naming[0] == NEW_LATE[2]
    # every message once
    for _chat, received in recorder.received.items():
        texts = [(w.date(), r.text) for w, r in received]
        assert len(texts) == len(set(texts))


async def test_an_extension_granted_midway_moves_only_the_tasks_it_names(
    database: Database, clock: FrozenClock, people: None
) -> None:
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("01/12/2024"), d("08/12/2024"))
    async with UnitOfWork(database) as uow:
        tasks = [
            t
            for t in (
                await uow.notifications.pending_by_agency(
                    next(
                        m
                        for m in await uow.notifications.milestones_between(
                            d("10/12/2024"), d("10/12/2024")
                        )
                        if m.recipients != "coordinator"
                    )
                )
            )[(await uow.agencies.by_code("sct")).id]
        ]
    assert len(tasks) > 1
    moved = tasks[0].code
    clock.set(datetime(2024, 12, 8, 12, 0, tzinfo=HANOI))
    await _grant(database, clock, EXTENDED, [moved])
    await _walk(database, clock, recorder, d("09/12/2024"), d("31/12/2024"))
    reminders = [
        (w.date(), r.text) for w, r in recorder.received["sct-officer"] if RESULTS in r.text
    ]
    # the other tasks keep the plan's schedule; the moved one follows 20/12, on its own steps
    plain = [day for day, text in reminders if "Đã gia hạn" not in text]
    extended = [day for day, text in reminders if "Đã gia hạn" in text]
    assert plain == DECEMBER_STEPS + DECEMBER_LATE
    assert extended == [day for day in NEW_STEPS if day >= d("09/12/2024")]
    assert all(f"• {moved} " in text for day, text in reminders if "Đã gia hạn" in text)
    assert not any(
        f"• {moved} " in text
        for day, text in reminders
        if day >= d("09/12/2024") and "Đã gia hạn" not in text
    )


# --- the four states -----------------------------------------------------------------------------


async def test_the_four_states_follow_the_extended_day_for_that_agency_only(
    database: Database, clock: FrozenClock, people: None
) -> None:
    clock.set(datetime(2024, 12, 2, 9, 0, tzinfo=HANOI))
    await _grant(database, clock, EXTENDED)
    async with UnitOfWork(database) as uow:
        sct = (await uow.agencies.by_code("sct")).id
        for today, expected in (
            (d("16/12/2024"), Standing.NOT_DUE),
            (d("27/12/2024"), Standing.OVERDUE),
        ):
            summary = await uow.summaries.summary(2024, today)
            assert summary is not None
            standing = year_standing(summary, HANOI)
            mine = [a for a in standing.of_agency(sct) if a.due == EXTENDED]
            assert mine and all(a.assessment.standing == expected for a in mine)
            assert all(a.extension is not None and a.extension.decided_by for a in mine)
            others = [a for a in standing.assignments if a.agency_id != sct]
            assert all(a.extension is None for a in others)
            if today == d("16/12/2024"):
                assert any(a.assessment.standing == Standing.OVERDUE for a in others)


# --- the decision service ---------------------------------------------------------------------


async def test_the_decision_is_checked_once_and_audited(
    database: Database, clock: FrozenClock, people: None
) -> None:
    clock.set(datetime(2024, 12, 9, 9, 0, tzinfo=HANOI))
    async with UnitOfWork(database) as uow:
        sct = await uow.agencies.by_code("sct")
        officer = await uow.members.by_identity("telegram", "sct-officer")
        assert officer is not None
        asked = await uow.extensions.record(
            milestone_id=await _results_deadline(uow),
            agency_id=sct.id,
            task_codes=[],
            reason="Thiếu số liệu của các huyện.",
            member_id=officer.id,
            now=clock.now(),
            asked_until=d("17/12/2024"),
        )
        coordinator = await _coordinator(uow)
        common = {"now": clock.now(), "today": d("09/12/2024"), "calendar": CALENDAR}
        # an officer may not decide; a day off, or a refusal without reason, changes nothing
        assert (
            await decide_extension(
                uow, extension_id=asked.id, decider=officer, grant=True, **common
            )
        ).outcome is Outcome.NOT_ALLOWED
        bad = await decide_extension(
            uow,
            extension_id=asked.id,
            decider=coordinator,
            grant=True,
            until=d("14/12/2024"),
            **common,
        )
        assert bad.outcome is Outcome.BAD_DAY
        assert (
            await decide_extension(
                uow, extension_id=asked.id, decider=coordinator, grant=False, **common
            )
        ).outcome is Outcome.NO_REASON
        done = await decide_extension(
            uow,
            extension_id=asked.id,
            decider=coordinator,
            grant=True,
            until=d("18/12/2024"),
            **common,
        )
        assert done.outcome is Outcome.DONE and done.told == 2
        again = await decide_extension(
            uow, extension_id=asked.id, decider=coordinator, grant=False, reason="x" * 20, **common
        )
        assert again.outcome is Outcome.ALREADY
        await uow.commit()
    async with database.session() as session:
        [row] = (await session.scalars(select(ExtensionRequest))).all()
        assert (row.state, row.granted_until) == ("granted", d("18/12/2024"))
        actions = [a.action for a in (await session.scalars(select(AuditEntry))).all()]
        assert "extension.grant" in actions and "permission.refused" in actions


# --- who may do what -----------------------------------------------------------------------------


async def _join(
    router: Router, database: Database, clock: FrozenClock, agency: str, role: Role, name: str
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=name, display_name=name)
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


async def test_only_the_agency_asks_and_only_the_coordinator_decides(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _join(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    officer = await _join(router, database, clock, "sct", Role.OFFICER, "canbo")
    leader = await _join(router, database, clock, "sct", Role.LEADER, "lanhdao")
    stranger = await _join(router, database, clock, "sxd", Role.LEADER, "khac")
    clock.set(datetime(2024, 12, 5, 9, 0, tzinfo=HANOI))
    which = await officer.send("/giahan")
    tasks = await officer.press(_choice(which, "Báo cáo kết quả"))
    whole = _choice(tasks, "Toàn bộ báo cáo")
    # another agency's member pressing sct's button gets nothing of sct's
    assert "không còn hiệu lực" in text_of(await stranger.press(whole.replace(":*", ":999999")))
    await officer.press(whole)
    assert "lý do" in text_of(await officer.send("20/12/2024"))
    assert "quá ngắn" in text_of(await officer.send("ngắn"))
    assert "đã được gửi" in text_of(await officer.send("Chờ số liệu khảo sát của Trung ương."))
    [request] = [m for m in await _outbox(database, "extension-request")]
    answers = [c["payload"] for row in request["choices"] for c in row]
    for member in (officer, leader, stranger):
        for payload in answers:
            assert "không dành cho vai trò" in text_of(await member.press(payload)), payload
    assert "đã được gửi" not in text_of(await officer.send("/giahan"))  # nothing sent twice
    await officer.send("/huy")
    granted = await coordinator.press(answers[0])
    assert "Đã đồng ý gia hạn" in text_of(granted)
    assert "đã được đồng chí" in text_of(await coordinator.press(answers[2]))
    # the coordinator grants unasked; a bad day or a short reason changes nothing
    assert "không phải ngày làm việc" in text_of(
        await coordinator.send("/giahan sxd tatca 21/12/2024 Chờ số liệu của huyện.")
    )
    assert "/giahan MÃ_ĐƠN_VỊ" in text_of(await coordinator.send("/giahan sxd tatca"))
    assert "Đã đồng ý gia hạn" in text_of(
        await coordinator.send("/giahan sxd tatca 20/12/2024 Chờ số liệu của huyện.")
    )
    assert "không dành cho vai trò" not in text_of(
        await officer.send("/giahan sxd tatca 20/12/2024 abcdefghijkl")
    )
    async with database.session() as session:
        rows = (
            await session.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id))
        ).all()
        actions = [a.action for a in (await session.scalars(select(AuditEntry))).all()]
    assert [(r.state, r.requested_by is None) for r in rows] == [
        ("granted", False),
        ("granted", True),
    ]
    assert actions.count("permission.refused") == 9
    assert actions.count("extension.grant") == 2 and actions.count("extension.request") == 1


async def _outbox(database: Database, kind: str) -> list[dict[str, object]]:
    async with database.session() as session:
        return list(
            await session.scalars(
                select(OutboxMessage.payload)
                .where(OutboxMessage.kind == kind)
                .order_by(OutboxMessage.id)
            )
        )


async def test_a_request_left_unanswered_is_reminded_to_the_coordinator_once_a_step(
    database: Database, clock: FrozenClock, people: None
) -> None:
    clock.set(datetime(2024, 12, 2, 9, 0, tzinfo=HANOI))  # Monday
    async with UnitOfWork(database) as uow:
        officer = await uow.members.by_identity("telegram", "sct-officer")
        assert officer is not None
        await uow.extensions.record(
            milestone_id=await _results_deadline(uow),
            agency_id=(await uow.agencies.by_code("sct")).id,
            task_codes=[],
            reason="Thiếu số liệu của các huyện.",
            member_id=officer.id,
            now=clock.now(),
            asked_until=d("17/12/2024"),
        )
        await uow.commit()
    recorder = Recorder(clock)
    await _walk(database, clock, recorder, d("02/12/2024"), d("12/12/2024"))
    coordinator = recorder.received["coordinator"]
    reminded = [w.date() for w, r in coordinator if r.text.startswith("Nhắc: đề nghị gia hạn")]
    # answer due two working days after 02/12 (04/12); then one a working day, three in all
    assert reminded == days("05/12/2024", "06/12/2024", "09/12/2024")
    reminder = next(r for _w, r in coordinator if r.text.startswith("Nhắc: đề nghị gia hạn"))
    assert [c.label for c in reminder.flat_choices] == [
        "Đồng ý",
        "Đồng ý đến ngày khác",
        "Không đồng ý",
    ]
    digests = [r.text for _w, r in coordinator if r.text.startswith("Tổng hợp tình hình")]
    assert digests and all("Đề nghị gia hạn đang chờ trả lời" in t for t in digests)
