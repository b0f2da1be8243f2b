"""Every command against every role: allowed or refused as design §3 says; refusals audited."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from handlers.router import Router
from storage.db import Database
from storage.models import Agency, AuditEntry, ExplanationRequest, Member, SnoozeRow, Task
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_explanations import at
from tests.test_explanations import join as join_as
from tests.test_explanations import outbox as outbox_of

COORDINATOR_ONLY = {
    "chuabaocao",
    "moi",
    "thanhvien",
    "thongbao",
    "nhacnho",
    "mohan",
    "duyet",
    "pgi",
}
"""``/duyet`` is offered to leaders too, and refused to them unless PGIBOT_LEADER_REVIEW is on."""
LEADERS_TOO = {"tonghop"}
ADMIN_ONLY = {"nhatky"}
EVERYONE = {
    "baocao",
    "nhiemvu",
    "lichsu",
    "trogiup",
    "huy",
    "lienket",
    "kenh",
    "start",
    "web",
    "vangmat",
    "giaitrinh",
    "giahan",
}
REFUSED = "không dành cho vai trò"


async def _member(
    router: Router, database: Database, clock: FrozenClock, role: Role
) -> MemoryChannel:
    agency = "stnmt" if role in (Role.COORDINATOR, Role.ADMIN) else "sct"
    channel = MemoryChannel(router.handle, user_id=f"u-{role.value}", display_name=role.value)
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


def test_the_table_covers_every_command(router: Router) -> None:
    assert set(router.commands) == COORDINATOR_ONLY | LEADERS_TOO | EVERYONE | ADMIN_ONLY


@pytest.mark.parametrize("role", list(Role))
async def test_every_command_for_every_role(
    router: Router, database: Database, clock: FrozenClock, role: Role
) -> None:
    channel = await _member(router, database, clock, role)
    refused = 0
    for command in sorted(router.commands):
        answer = "\n".join(r.text for r in await channel.send(f"/{command}"))
        allowed = (
            command in EVERYONE
            or (command in LEADERS_TOO and role in (Role.LEADER, Role.COORDINATOR, Role.ADMIN))
            or (command in COORDINATOR_ONLY and role in (Role.COORDINATOR, Role.ADMIN))
            or (command in ADMIN_ONLY and role is Role.ADMIN)
        )
        assert (REFUSED not in answer) == allowed, (role, command, answer[:80])
        refused += not allowed
        await channel.send("/huy")  # leave any conversation the command opened
    async with database.session() as session:
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
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _member(router, database, clock, Role.OFFICER)
    [status] = await officer.send("/baocao 2.dd")
    async with database.session() as session:
        await session.execute(update(Member).values(active=False))
        await session.commit()
    payload = status.flat_choices[0].payload
    answer = "\n".join(r.text for r in await officer.press(payload))
    assert "đã bị vô hiệu hóa" in answer


@pytest.mark.parametrize("role", list(Role))
async def test_every_coordinator_button_for_every_role(
    router: Router, database: Database, clock: FrozenClock, role: Role
) -> None:
    """Buttons are checked at the press, not only when offered: a forged one is refused."""
    channel = await _member(router, database, clock, role)
    await _member(router, database, clock, Role.OFFICER)  # the one a coordinator removes
    async with database.session() as session:
        victim_id = await session.scalar(select(Member.id).where(Member.full_name == "officer"))
        sct = await session.scalar(select(Agency.id).where(Agency.code == "sct"))
    summary = ["th:2024:ov:", "th:2024:ag:0", "th:2024:ix:I", "th:2024:f:xlsx", "th:2024:f:png"]
    summary.append("th:2024:rk:")  # the PGI risk view (to a leader: a stale button)
    members = [f"mb:{victim_id}:off", f"mb:{victim_id}:on", f"mc:{victim_id}:menu:"]
    explanations = ["gm:2024", f"gx:2024:{sct}::", f"gx:2024:{sct}::ok", f"gx:2024:{sct}::x"]
    refused = 0
    results = ["pg:ok:2023:1:4.90::", "pg:no:2023:1:4.90::"]  # a correction of a PGI result
    extensions = ["xd:999999:ok", "xd:999999:other", "xd:999999:no"]  # a request's answers
    for payload in summary + members + explanations + results + extensions:
        answer = "\n".join(r.text for r in await channel.press(payload))
        leader_may = payload.startswith("th:") and not payload.startswith("th:2024:f:png")
        allowed = role in (Role.COORDINATOR, Role.ADMIN) or (role is Role.LEADER and leader_may)
        assert (REFUSED not in answer) == allowed, (role, payload, answer[:80])
        refused += not allowed
    async with database.session() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "permission.refused")
        )
        active = await session.scalar(select(Member.active).where(Member.id == victim_id))
    assert audited == refused
    assert active is True  # removed and reinstated by a coordinator; untouched by the others


async def test_an_officer_cannot_report_on_another_agencys_task_by_any_button(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _member(router, database, clock, Role.OFFICER)  # agency sct
    async with database.session() as session:
        foreign = await session.scalar(select(Task.id).where(Task.code == "1.b.1"))  # sxd's
    [tasks] = await officer.send("/baocao")
    nonce = tasks.flat_choices[0].payload.split(":")[1]
    for payload in (f"rp:1:{foreign}", f"bc:{nonce}:tk:{foreign}"):
        answer = "\n".join(r.text for r in await officer.press(payload))
        assert "không được giao cho đơn vị" in answer, payload
    async with database.session() as session:
        forged = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "choice.forged")
        )
    assert forged == 2


async def test_only_the_coordinator_asks_and_only_the_agency_answers(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await join_as(router, database, clock, "stnmt", Role.COORDINATOR, "dieuphoi")
    officer = await join_as(router, database, clock, "sct", Role.OFFICER, "canbo")
    stranger = await join_as(router, database, clock, "sxd", Role.LEADER, "khac")
    clock.set(at(16))
    async with database.session() as session:
        sct = await session.scalar(select(Agency.id).where(Agency.code == "sct"))
    for payload in ("gm:2024", f"gx:2024:{sct}::", f"gx:2024:{sct}::ok"):
        for member in (officer, stranger):
            [refused] = await member.press(payload)
            assert "không dành cho vai trò" in refused.text, payload
    assert await outbox_of(database, "explanation") == []
    [sent] = await coordinator.press(f"gx:2024:{sct}::ok")
    assert "Đã gửi yêu cầu giải trình" in sent.text
    [[_chat, payload]] = await outbox_of(database, "explanation")
    answer = payload["choices"][0][0]["payload"]
    for member in (stranger, coordinator):
        [refused] = await member.press(answer)
        assert "chỉ thành viên của đơn vị đó mới trả lời được" in refused.text
    [stale] = await officer.press("ga:999999")
    assert "không còn hiệu lực" in stale.text
    async with database.session() as session:
        audited = list(
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.action.in_(("permission.refused", "explanation.refused"))
                )
            )
        )
        answered = await session.scalar(select(ExplanationRequest.answer))
    assert sorted(audited) == ["explanation.refused"] * 2 + ["permission.refused"] * 6
    assert answered is None


# --- the hierarchy of roles: officer < leader < coordinator < admin ---------------------------


async def _ids(database: Database) -> dict[str, int]:
    async with database.session() as session:
        rows = await session.execute(select(Member.full_name, Member.id))
        return {name: member_id for name, member_id in rows.all()}


async def _state(database: Database, member_id: int) -> tuple[str, bool]:
    async with database.session() as session:
        row = (
            await session.execute(select(Member.role, Member.active).where(Member.id == member_id))
        ).one()
        return row.role, row.active


async def test_a_coordinator_cannot_remove_the_admin_even_with_a_forged_button(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, Role.COORDINATOR)
    await _member(router, database, clock, Role.ADMIN)
    ids = await _ids(database)
    [listing] = await coordinator.send("/thanhvien")
    assert "admin" in listing.text and "vai trò cao hơn" in listing.text
    assert not any(str(ids["admin"]) in c.payload for c in listing.flat_choices)
    for action in ("off", "on"):
        [answer] = await coordinator.press(f"mb:{ids['admin']}:{action}")
        assert "vai trò cao hơn" in answer.text, answer.text
    assert await _state(database, ids["admin"]) == ("admin", True)
    async with database.session() as session:
        refused = list(
            await session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "member.refused")
            )
        )
    assert [d["reason"] for d in refused] == ["higher_role", "higher_role"]


async def test_members_list_offers_a_choice_for_each_member_it_can_change_and_shows_no_ids(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    coordinator = await _member(router, database, clock, Role.COORDINATOR)
    await _member(router, database, clock, Role.ADMIN)
    await _member(router, database, clock, Role.OFFICER)
    await _member(router, database, clock, Role.LEADER)
    ids = await _ids(database)
    [listing] = await coordinator.send("/thanhvien")
    members = [line for line in listing.text.splitlines() if line.startswith("• ")]
    without = [line for line in members if "không có lựa chọn" in line]
    assert "(4)" in listing.text.splitlines()[0]
    assert len(members) == 4 and len(without) == 2  # oneself, and the admin
    assert len(listing.choices) == len(members) - len(without) == 2  # a row each
    for remove, change in listing.choices:  # remove (mb:ID:off) and change (mc:ID:menu:)
        member_id = remove.payload.split(":")[1]
        assert remove.payload == f"mb:{member_id}:off"
        assert change.payload == f"mc:{member_id}:menu:"
    assert "2 thành viên" in listing.text  # says how many it offers
    for member_id in ids.values():  # no raw id beside the numbered choices
        assert f"• {member_id}." not in listing.text and f" {member_id}. " not in listing.text


async def test_the_command_line_reinstates_changes_roles_and_keeps_the_last_admin(
    database_url: str,
    router: Router,
    database: Database,
    clock: FrozenClock,
) -> None:
    from bot.cli import App, UsageError, build_parser
    from bot.config import Settings

    await _member(router, database, clock, Role.ADMIN)
    officer = await _member(router, database, clock, Role.OFFICER)
    ids = await _ids(database)
    app = App(Settings(database_url=database_url), clock)

    async def pgibot(*argv: str) -> int:
        args = build_parser().parse_args(argv)
        return int(await args.action(app, args))

    try:
        async with database.session() as session:
            await session.execute(
                update(Member).where(Member.id == ids["officer"]).values(active=False)
            )
            await session.commit()
        assert "vô hiệu hóa" in "\n".join(r.text for r in await officer.send("/nhiemvu"))
        assert await pgibot("member", "reinstate", "OFFICER") == 0  # by name, any case
        assert await _state(database, ids["officer"]) == ("officer", True)
        assert "Nhiệm vụ của" in "\n".join(r.text for r in await officer.send("/nhiemvu"))
        assert await pgibot("member", "set-role", str(ids["officer"]), "lanhdao") == 0
        assert await _state(database, ids["officer"]) == ("leader", True)
        with pytest.raises(UsageError, match="quản trị viên cuối cùng"):
            await pgibot("member", "set-role", "admin", "dieuphoi")
        with pytest.raises(UsageError, match="quản trị viên cuối cùng"):
            await pgibot("member", "deactivate", "admin")
        assert await _state(database, ids["admin"]) == ("admin", True)
        assert await pgibot("member", "set-role", "officer", "quantri") == 0  # a second admin
        assert await pgibot("member", "set-role", "admin", "coordinator") == 0  # now allowed
        with pytest.raises(UsageError, match="Không có thành viên"):
            await pgibot("member", "reinstate", "Không Ai Cả")
        with pytest.raises(SystemExit):
            build_parser().parse_args(["member", "set-role", "admin", "giamdoc"])
    finally:
        await app.close()
    async with database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.channel == "cli", AuditEntry.action.like("member.%"))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == [
        "member.reinstate",
        "member.role",
        "member.refused",
        "member.refused",
        "member.role",
        "member.role",
    ]


# --- review and reopening: every button for every role and agency ----------------------------


@pytest.mark.parametrize("leader_review", [False, True])
@pytest.mark.parametrize("role", list(Role))
async def test_every_review_button_for_every_role_and_agency(
    database: Database, clock: FrozenClock, role: Role, leader_review: bool
) -> None:
    """The review buttons check the role, the setting and a leader's agency at every press."""
    from bot.channels.registry import describe
    from handlers.context import BotInfo
    from storage.models import Submission
    from tests.test_review import _report

    router = Router(database, clock, BotInfo(describe(), leader_review=leader_review))
    author = MemoryChannel(router.handle, user_id="author", display_name="author")
    await author.send(f"/start {await invite(database, clock, 'sxd')}")
    await _report(author)
    async with database.session() as session:
        submission = await session.scalar(select(Submission.id))
    refused = 0
    for agency in ("sxd", "sct", "stnmt"):
        channel = MemoryChannel(router.handle, user_id=f"u-{agency}", display_name=agency)
        await channel.send(f"/start {await invite(database, clock, agency, role)}")
        for payload in ("dy:p:0:", f"dy:rt:{submission}:", "dy:x::", f"dy:ok:{submission}:"):
            answer = "\n".join(r.text for r in await channel.press(payload))
            reviewer = role in (Role.COORDINATOR, Role.ADMIN) or (
                role is Role.LEADER and leader_review
            )
            own = role is not Role.LEADER or agency == "sxd" or payload in ("dy:p:0:", "dy:x::")
            allowed = reviewer and own
            assert (REFUSED not in answer) == allowed, (role, agency, payload, answer[:80])
            refused += not allowed
        answer = "\n".join(r.text for r in await channel.press(f"bs:{submission}"))
        assert ("không được giao cho đơn vị" in answer) == (agency != "sxd"), (agency, answer)
    async with database.session() as session:
        audited = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "permission.refused")
        )
        state, forwarded = (
            await session.execute(
                select(Submission.review_state, Submission.leader_reviewed_by_id)
            )
        ).one()
    assert audited == refused
    accepted = role in (Role.COORDINATOR, Role.ADMIN) or (role is Role.LEADER and leader_review)
    leader_step = role is Role.LEADER and leader_review  # forwarded to the coordinator
    assert state == ("accepted" if accepted and not leader_step else "waiting")
    assert (forwarded is not None) == leader_step


@pytest.mark.parametrize("role", [*Role, None])
async def test_remind_me_later_is_only_ever_the_pressers_own(
    router: Router, database: Database, clock: FrozenClock, role: Role | None
) -> None:
    """ "Nhắc lại sau" names a deadline, never a member: whoever presses it snoozes their own."""
    clock.set(datetime(2024, 12, 3, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")))
    if role is None:
        channel = MemoryChannel(router.handle, user_id="nobody")
    else:
        channel = await _member(router, database, clock, role)
    async with UnitOfWork(database) as uow:
        [milestone] = [
            m
            for m in await uow.notifications.milestones_between(
                date(2024, 12, 10), date(2024, 12, 10)
            )
            if m.year == 2024
        ]
    offered = "\n".join(r.text for r in await channel.press(f"sn:{milestone.id}:"))
    chosen = "\n".join(r.text for r in await channel.press(f"sn:{milestone.id}:m"))
    async with database.session() as session:
        snoozed = {
            name
            for (name,) in await session.execute(
                select(Member.full_name).join(SnoozeRow, SnoozeRow.member_id == Member.id)
            )
        }
    if role is None:
        assert "chưa đăng ký" in offered and "chưa đăng ký" in chosen
        assert snoozed == set()
    else:
        assert "nhắc lại" in chosen.lower(), (role, chosen)
        assert snoozed == {role.value}, snoozed  # the presser's own, never another's
