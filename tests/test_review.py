"""Review and reopening through the router: queue, accept, return, supplement, reopen, expire."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.review import ReviewState
from bot.core.messages import Reply, reply_from_payload
from handlers.router import Router
from storage.db import Database
from storage.models import AuditEntry, OutboxMessage, Submission
from storage.uow import UnitOfWork
from tests.helpers import invite

AFTER_DEADLINE = datetime(2024, 12, 16, 2, 0, tzinfo=UTC)  # Monday 16/12/2024, 09:00


async def _join(
    router: Router, database: Database, clock: FrozenClock, user: str, agency: str, role: Role
) -> MemoryChannel:
    channel = MemoryChannel(router.handle, user_id=user, display_name=user)
    [welcome, *_] = await channel.send(f"/start {await invite(database, clock, agency, role)}")
    assert "Đăng ký thành công" in welcome.text, welcome.text
    return channel


def _text(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)


def _choice(replies: list[Reply], label: str) -> str:
    for reply in replies:
        for choice in reply.flat_choices:
            if choice.label.startswith(label):
                return choice.payload
    raise AssertionError(f"no choice {label!r} in {[r.text[:60] for r in replies]}")


async def _report(officer: MemoryChannel, results: str = "Đã rà soát 12 công trình.") -> None:
    status = await officer.send("/baocao 1.b.1")
    progress = await officer.press(_choice(status, "Đang triển khai"))
    assert "phần trăm" in _text(progress)
    await officer.send("60")
    evidence = await officer.send(results)
    summary = await officer.press(_choice(evidence, "Bỏ qua"))
    receipt = await officer.press(_choice(summary, "Xác nhận"))
    assert "Đã ghi nhận" in _text(receipt), _text(receipt)


async def _outbox(database: Database, kind: str) -> list[tuple[int | None, Reply]]:
    async with database.session() as session:
        rows = await session.execute(
            select(OutboxMessage.member_id, OutboxMessage.payload)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        return [(member, reply_from_payload(payload)) for member, payload in rows.all()]


async def _reviews(database: Database) -> list[tuple[int, str, str | None]]:
    async with database.session() as session:
        rows = await session.execute(
            select(Submission.version, Submission.review_state, Submission.review_reason).order_by(
                Submission.id
            )
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def _draft(database: Database, clock: FrozenClock) -> str:
    """Return the text of the year's draft report."""
    import io

    import docx

    from handlers.exports.registry import ExportScope, export

    async with UnitOfWork(database) as uow:
        made = await export(uow.summaries, "docx", ExportScope(2024), clock.now().date())
    assert made is not None
    document = docx.Document(io.BytesIO(made.content))
    return "\n".join(p.text for p in document.paragraphs)


async def test_return_supplement_after_the_deadline_and_accept(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _join(router, database, clock, "lan", "sxd", Role.OFFICER)
    coordinator = await _join(router, database, clock, "hoa", "stnmt", Role.COORDINATOR)
    await _report(officer)
    queue = await coordinator.send("/duyet")
    assert "chờ xem xét (1)" in queue[0].text and "Sở Xây dựng" in queue[0].text
    assert "1.b.1" in queue[0].text and "Đang triển khai, 60%" in queue[0].text
    asked = await coordinator.press(_choice(queue, "Trả lại 1"))
    assert "lý do" in _text(asked)
    assert "chưa nói gì" in _text(await coordinator.send("..."))  # no content: asked again
    returned = await coordinator.send("Bổ sung số liệu kinh phí và biên bản nghiệm thu.")
    assert "Đã trả lại" in _text(returned) and "Không có báo cáo nào" in _text(returned)
    assert await _reviews(database) == [
        (1, "returned", "Bổ sung số liệu kinh phí và biên bản nghiệm thu.")
    ]
    draft = await _draft(database, clock)
    assert "đã tiếp nhận 0 · trả lại 1 · chờ xem xét 0" in draft
    assert "(đang triển khai, 60%; đã trả lại để bổ sung)" in draft
    [(_, notice)] = await _outbox(database, "review")
    assert "Bổ sung số liệu kinh phí" in notice.text and "Đã rà soát 12 công trình" in notice.text
    # after the deadline, the return is the permission
    clock.set(AFTER_DEADLINE)
    opened = await officer.press(_choice([notice], "Bổ sung ngay"))
    assert "Lý do: Bổ sung số liệu kinh phí" in _text(opened)
    results = await officer.press(_choice(opened, "Kết quả"))
    assert "Đã rà soát 12 công trình" in _text(results)  # the previous answer shown
    summary = await officer.send("Đã rà soát 12 công trình, kinh phí 2,4 tỷ đồng.")
    assert "Trạng thái: Đang triển khai" in _text(summary)  # the other answers kept
    receipt = await officer.press(_choice(summary, "Xác nhận"))
    assert "phiên bản 2" in _text(receipt)
    told = [
        reply for member, reply in await _outbox(database, "review") if "đã bổ sung" in reply.text
    ]
    assert len(told) == 1 and "đang chờ xem xét" in told[0].text
    queue = await coordinator.press(_choice(told, "Xem xét ngay"))
    assert "chờ xem xét (1)" in queue[0].text and "phiên bản 2" in queue[0].text
    accepted = await coordinator.press(_choice(queue, "Tiếp nhận 1"))
    assert "Đã tiếp nhận" in _text(accepted)
    assert [r[:2] for r in await _reviews(database)] == [(1, "returned"), (2, "accepted")]
    draft = await _draft(database, clock)
    assert "đã tiếp nhận 1 · trả lại 0 · chờ xem xét 0" in draft
    assert "(đang triển khai, 60%):" in draft  # accepted: no mark
    # a stale press on the accepted one changes nothing
    again = await coordinator.press(_choice(queue, "Trả lại 1"))
    assert "đã được" in _text(again) and "tiếp nhận" in _text(again)
    history = _text(await officer.send("/lichsu"))
    assert "Đã tiếp nhận" in history and "Trả lại" in history
    async with database.session() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("review.return") == 1 and actions.count("review.accept") == 1


async def test_after_the_deadline_a_report_not_returned_stays_closed(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _join(router, database, clock, "lan", "sxd", Role.OFFICER)
    await _report(officer)
    clock.set(AFTER_DEADLINE)
    assert "không thể sửa được nữa" in _text(await officer.send("/baocao 1.b.1"))


async def test_a_reopening_granted_used_and_expired(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    officer = await _join(router, database, clock, "lan", "sxd", Role.OFFICER)
    coordinator = await _join(router, database, clock, "hoa", "stnmt", Role.COORDINATOR)
    await _report(officer)
    clock.set(AFTER_DEADLINE)
    assert "không phải là ngày" in _text(await coordinator.send("/mohan sxd 1.b.1 32/12/2024"))
    assert "không có nhiệm vụ" in _text(await coordinator.send("/mohan sxd 9.z 20/12/2024"))
    granted = _text(await coordinator.send("/mohan sxd 1.b.1 20/12/2024"))
    assert "Đã mở lại" in granted and "20/12/2024" in granted
    [(_, notice)] = await _outbox(database, "reopening")
    assert "20/12/2024" in notice.text and "muộn" in notice.text
    await _report(officer, "Đã rà soát 14 công trình cấp nước.")  # used
    clock.set(datetime(2024, 12, 21, 2, 0, tzinfo=UTC))  # expired
    assert "không thể sửa được nữa" in _text(await officer.send("/baocao 1.b.1"))
    assert [r[0] for r in await _reviews(database)] == [1, 2]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_leaders_review_their_own_agency_only_when_the_setting_is_on(
    database: Database, clock: FrozenClock
) -> None:
    from bot.channels.registry import describe
    from handlers.context import BotInfo

    off = Router(database, clock, BotInfo(describe()))
    on = Router(database, clock, BotInfo(describe(), leader_review=True))
    officer = await _join(off, database, clock, "lan", "sxd", Role.OFFICER)
    await _report(officer)
    leader_off = await _join(off, database, clock, "minh", "sxd", Role.LEADER)
    assert "không dành cho vai trò" in _text(await leader_off.send("/duyet"))
    leader = MemoryChannel(on.handle, user_id="minh", display_name="minh")
    queue = await leader.send("/duyet")
    assert "chờ xem xét (1)" in queue[0].text
    other = await _join(on, database, clock, "tuan", "sct", Role.LEADER)
    assert "Không có báo cáo nào" in _text(await other.send("/duyet"))
    refused = await other.press(_choice(queue, "Tiếp nhận 1"))  # another agency's: refused
    assert "không dành cho vai trò" in _text(refused)
    forwarded = _text(await leader.press(_choice(queue, "Tiếp nhận 1")))
    assert "Đã tiếp nhận và chuyển cơ quan điều phối" in forwarded  # the leader's step only
    assert [r[1] for r in await _reviews(database)] == [ReviewState.WAITING.value]


async def test_the_review_migration_keeps_every_report_both_ways(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    """Down and up again with reports, versions and decisions: the rows stay, reviews reset."""
    from storage import migrate

    officer = await _join(router, database, clock, "lan", "sxd", Role.OFFICER)
    coordinator = await _join(router, database, clock, "hoa", "stnmt", Role.COORDINATOR)
    await _report(officer)
    await _report(officer, "Đã rà soát 14 công trình cấp nước.")
    queue = await coordinator.send("/duyet")
    await coordinator.press(_choice(queue, "Tiếp nhận 1"))
    await coordinator.send("/mohan sxd tatca 20/12/2024")
    before = [r[0] for r in await _reviews(database)]
    await migrate.downgrade(database.engine, "0013_inbox_chat")
    await migrate.upgrade(database.engine)
    assert [r[:2] for r in await _reviews(database)] == [(v, "waiting") for v in before]
