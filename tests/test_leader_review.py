"""The agency leader's first step of the review (PGIBOT_LEADER_REVIEW on), through the router."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.models import AuditEntry, Member, Submission
from tests.test_review import _choice, _join, _outbox, _report, _text

REFUSED = "không dành cho vai trò"
WAITS_FOR_LEADER = "Chờ lãnh đạo xem xét"


@pytest.fixture
def on(database: Database, clock: FrozenClock) -> Router:
    """The router with the leader's step on."""
    return Router(database, clock, BotInfo(describe(), leader_review=True))


async def _steps(database: Database) -> list[tuple[int, str, int | None, datetime | None]]:
    async with database.session() as session:
        rows = await session.execute(
            select(
                Submission.version,
                Submission.review_state,
                Submission.leader_reviewed_by_id,
                Submission.leader_reviewed_at,
            ).order_by(Submission.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def _member_id(database: Database, user: str) -> int:
    async with database.session() as session:
        found = await session.scalar(select(Member.id).where(Member.full_name == user))
    assert found is not None, user
    return found


async def _audited(database: Database, action: str) -> int:
    async with database.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


async def test_the_leader_reviews_first_then_the_coordinator(
    on: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _join(on, database, clock, "lan", "sxd", Role.OFFICER)
    coordinator = await _join(on, database, clock, "hoa", "stnmt", Role.COORDINATOR)
    # an agency without a leader: straight to the coordinator
    await _report(officer)
    queue = await coordinator.send("/duyet")
    assert "chờ xem xét (1)" in queue[0].text and "Sở Xây dựng" in queue[0].text
    assert "Đã tiếp nhận" in _text(await coordinator.press(_choice(queue, "Tiếp nhận 1")))
    # with a leader: the new version waits for the leader first
    leader = await _join(on, database, clock, "minh", "sxd", Role.LEADER)
    other = await _join(on, database, clock, "tuan", "sct", Role.LEADER)
    await _report(officer, "Đã rà soát 14 công trình cấp nước.")
    waiting = _text(await coordinator.send("/duyet"))
    assert "Không có báo cáo nào" in waiting and "chờ lãnh đạo đơn vị" in waiting, waiting
    assert "chờ lãnh đạo xem xét 1" in _text(await coordinator.send("/tonghop"))
    assert WAITS_FOR_LEADER in _text(await officer.send("/lichsu"))
    assert "Không có báo cáo nào" in _text(await other.send("/duyet"))
    mine = await leader.send("/duyet")
    assert "chờ xem xét (1)" in mine[0].text and "phiên bản 2" in mine[0].text
    # another agency's leader: a forged press is refused and audited, nothing changes
    assert REFUSED in _text(await other.press(_choice(mine, "Tiếp nhận 1")))
    assert REFUSED in _text(await other.press(_choice(mine, "Trả lại 1")))
    assert await _audited(database, "permission.refused") == 2
    assert [s[1:3] for s in await _steps(database)] == [("accepted", None), ("waiting", None)]
    # the leader accepts: forwarded to the coordinator, who is told
    forwarded = _text(await leader.press(_choice(mine, "Tiếp nhận 1")))
    assert "chuyển cơ quan điều phối" in forwarded and "Không có báo cáo nào" in forwarded
    minh = await _member_id(database, "minh")
    [_v1, (version, state, by, at)] = await _steps(database)
    assert (version, state, by) == (2, "waiting", minh)
    assert at is not None and (at if at.tzinfo else at.replace(tzinfo=UTC)) == clock.now()
    again = _text(await leader.press(_choice(mine, "Trả lại 1")))  # forwarded already
    assert "đã được lãnh đạo đơn vị tiếp nhận" in again
    hoa = await _member_id(database, "hoa")
    told = [(m, r) for m, r in await _outbox(database, "review") if "chuyển tới" in r.text]
    assert [m for m, _r in told] == [hoa] and "minh" in told[0][1].text
    counts = _text(await coordinator.send("/tonghop"))
    assert "lãnh đạo đã tiếp nhận, chờ cơ quan điều phối 1" in counts, counts
    queue = await coordinator.press(_choice([told[0][1]], "Xem xét ngay"))
    assert "chờ xem xét (1)" in queue[0].text and "phiên bản 2" in queue[0].text
    assert "Đã tiếp nhận" in _text(await coordinator.press(_choice(queue, "Tiếp nhận 1")))
    assert [s[:2] for s in await _steps(database)] == [(1, "accepted"), (2, "accepted")]
    assert await _audited(database, "review.forward") == 1
    assert await _audited(database, "review.accept") == 2
    # the leader returns a version: it reaches the officers with the reason and "Bổ sung ngay"
    await _report(officer, "Đã rà soát 16 công trình cấp nước.")
    assert "Không có báo cáo nào" in _text(await coordinator.send("/duyet"))
    mine = await leader.send("/duyet")
    assert "phiên bản 3" in mine[0].text
    assert "lý do" in _text(await leader.press(_choice(mine, "Trả lại 1")))
    returned = _text(await leader.send("Bổ sung biên bản nghiệm thu công trình."))
    assert "Đã trả lại" in returned
    lan = await _member_id(database, "lan")
    [(member, notice)] = [
        (m, r) for m, r in await _outbox(database, "review") if "Bổ sung biên bản" in r.text
    ]
    assert member == lan and "minh" in notice.text
    opened = await officer.press(_choice([notice], "Bổ sung ngay"))
    assert "Lý do: Bổ sung biên bản nghiệm thu" in _text(opened)
    results = await officer.press(_choice(opened, "Kết quả"))
    summary = await officer.send("Đã rà soát 16 công trình, có biên bản nghiệm thu.")
    assert "phiên bản 4" in _text(await officer.press(_choice(summary, "Xác nhận"))), results
    # the correction waits for the leader again, and the leader is told it arrived
    supplemented = [(m, r) for m, r in await _outbox(database, "review") if "đã bổ sung" in r.text]
    assert [m for m, _r in supplemented] == [minh]
    assert "phiên bản 4" in (await leader.send("/duyet"))[0].text
    assert "Không có báo cáo nào" in _text(await coordinator.send("/duyet"))
    # the leader leaves: what waited for the leader goes to the coordinator's queue at once
    async with database.session() as session:
        await session.execute(update(Member).where(Member.id == minh).values(active=False))
        await session.commit()
    queue = await coordinator.send("/duyet")
    assert "chờ xem xét (1)" in queue[0].text and "phiên bản 4" in queue[0].text


async def test_the_coordinator_may_decide_a_version_waiting_for_the_leader(
    on: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _join(on, database, clock, "lan", "sxd", Role.OFFICER)
    leader = await _join(on, database, clock, "minh", "sxd", Role.LEADER)
    coordinator = await _join(on, database, clock, "hoa", "stnmt", Role.COORDINATOR)
    await _report(officer)
    mine = await leader.send("/duyet")
    payload = _choice(mine, "Tiếp nhận 1")
    assert "Đã tiếp nhận" in _text(await coordinator.press(payload))  # the coordinator decides
    assert [s[1:3] for s in await _steps(database)] == [("accepted", None)]
    late = _text(await leader.press(payload))  # the leader's press comes too late
    assert "đã được tiếp nhận trước đó" in late
    assert await _audited(database, "review.forward") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_with_the_setting_off_a_leader_does_not_review(
    database: Database, clock: FrozenClock, router: Router
) -> None:
    officer = await _join(router, database, clock, "lan", "sxd", Role.OFFICER)
    leader = await _join(router, database, clock, "minh", "sxd", Role.LEADER)
    coordinator = await _join(router, database, clock, "hoa", "stnmt", Role.COORDINATOR)
    await _report(officer)
    assert REFUSED in _text(await leader.send("/duyet"))
    queue = await coordinator.send("/duyet")
    assert "chờ xem xét (1)" in queue[0].text and "lãnh đạo" not in queue[0].text
    assert WAITS_FOR_LEADER not in _text(await officer.send("/lichsu"))
