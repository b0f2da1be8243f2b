"""The dashboard's actions over real HTTP: accepting and returning a report, for every role
and agency, a stranger, a deactivated member and a forged form; the agency told through the
outbox as in chat; a second press and an empty reason refused politely, changing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.core.clock import FrozenClock
from bot.core.messages import reply_from_payload
from bot.dashboard.actions import ACTIONS
from storage.db import Database
from storage.models import AuditEntry, ExtensionRequest, Member, OutboxMessage, Submission
from storage.uow import UnitOfWork
from tests.dashboard_world import World, build_world

WHO = ("coordinator", "admin", "leader", "other_leader", "officer", None)
REFUSED_ACTION = "không dành cho vai trò của đồng chí, hoặc không dành cho cơ quan này"


@pytest.fixture(params=[False, True], ids=["leaders-do-not-review", "leaders-review"])
async def world(
    request: pytest.FixtureRequest, database: Database, clock: FrozenClock, tmp_path: Path
) -> AsyncIterator[World]:
    built = await build_world(database, clock, tmp_path, leader_review=request.param)
    yield built
    await built.server.cleanup()


async def _csrf(client: aiohttp.ClientSession, world: World) -> str:
    async with client.get(world.base + "tasks") as answer:
        page = await answer.text()
    return page.split('name="csrf" value="')[1].split('"')[0]


async def _state(database: Database, submission_id: int) -> tuple[str, str | None]:
    async with database.session() as session:
        row = (
            await session.execute(
                select(Submission.review_state, Submission.review_reason).where(
                    Submission.id == submission_id
                )
            )
        ).one()
    return row[0], row[1]


async def _wait_again(database: Database, submission_id: int) -> None:
    async with database.session() as session:
        await session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(
                review_state="waiting",
                reviewed_by_id=None,
                reviewed_at=None,
                leader_reviewed_by_id=None,
                leader_reviewed_at=None,
            )
        )
        await session.commit()


async def _count(database: Database, action: str) -> int:
    async with database.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


async def _post(
    client: aiohttp.ClientSession, url: str, data: dict[str, str]
) -> tuple[int, str, str]:
    async with client.post(url, data=data, allow_redirects=False) as answer:
        return answer.status, answer.headers.get("Location", ""), await answer.text()


def test_every_action_is_covered_here() -> None:
    assert set(ACTIONS) == {
        "accept_report",
        "return_report",
        "ask_explanation",
        "reopen_reporting",
        "answer_extension",
    }


async def test_every_review_action_for_every_role_and_agency(world: World) -> None:
    leader_review = world.leader_review
    submission = world.submission_id
    back = f"/web/agencies/{world.agencies['sct']}?year=2024"
    refused = 0
    for who in WHO:
        client = await world.client(who) if who else aiohttp.ClientSession()
        async with client:
            csrf = await _csrf(client, world) if who else "x"
            for name, reason, state in (
                ("accept", "", "accepted"),
                ("return", "Bổ sung số liệu quý IV", "returned"),
            ):
                url = f"{world.base}reports/{submission}/{name}"
                status, location, text = await _post(
                    client, url, {"csrf": csrf, "back": back, "reason": reason}
                )
                allowed = who in ("coordinator", "admin") or (who == "leader" and leader_review)
                if who == "leader" and name == "accept":
                    state = "waiting"  # the leader's step: forwarded to the coordinator
                if who is None:
                    assert status == 401, (who, name, status)
                elif allowed:
                    assert status == 303, (who, name, status, text[:300])
                    assert location == back
                    assert (await _state(world.database, submission))[0] == state, (who, name)
                    await _wait_again(world.database, submission)
                else:
                    assert status == 403, (who, name, status)
                    assert REFUSED_ACTION in text
                    assert (await _state(world.database, submission))[0] == "waiting"
                    refused += 1
    assert await _count(world.database, "permission.refused") == refused
    reviewers = 2 + leader_review
    assert await _count(world.database, "review.accept") == 2
    assert await _count(world.database, "review.forward") == leader_review
    assert await _count(world.database, "review.return") == reviewers


async def test_a_forged_form_a_deactivated_member_and_bad_input_change_nothing(
    world: World,
) -> None:
    submission = world.submission_id
    async with await world.client("coordinator") as client:
        csrf = await _csrf(client, world)
        status, _l, _t = await _post(
            client, f"{world.base}reports/{submission}/accept", {"csrf": "forged"}
        )
        assert status == 403
        status, _l, _t = await _post(client, f"{world.base}reports/{submission}/accept", {})
        assert status == 403
        for reason, words in (
            ("   ", "Xin ghi lý do trả lại"),
            ("x" * 1001, "tối đa 1000 ký tự"),
            ("...", "chưa nói gì cụ thể"),
        ):
            status, location, _t = await _post(
                client,
                f"{world.base}reports/{submission}/return",
                {"csrf": csrf, "reason": reason, "back": "https://example.org/"},
            )
            assert status == 303 and location == "/web/"  # never to another site
            async with client.get(world.base) as answer:
                page = await answer.text()
            assert 'class="flash error"' in page and words in page, reason
            assert "Báo cáo chưa được trả lại" in page
        async with client.get(world.base) as answer:  # the flash is shown once
            assert "flash" not in await answer.text()
        status, _l, _t = await _post(
            client, f"{world.base}reports/99999999/accept", {"csrf": csrf}
        )
        assert status == 404
        async with world.database.session() as session:
            member = await session.get(Member, world.members["coordinator"])
            assert member is not None
            member.active = False
            await session.commit()
        status, _l, _t = await _post(
            client, f"{world.base}reports/{submission}/accept", {"csrf": csrf}
        )
        assert status == 401
    assert await _state(world.database, submission) == ("waiting", None)
    assert await _count(world.database, "review.return") == 0


async def test_a_return_tells_the_agency_and_a_second_press_changes_nothing(
    world: World,
) -> None:
    submission = world.submission_id
    back = "/web/reports?q=tu%E1%BA%A7n+ho%C3%A0n&year=2024"
    async with await world.client("coordinator") as client:
        csrf = await _csrf(client, world)
        form = {"csrf": csrf, "back": back, "reason": "  Bổ sung   số liệu quý IV  "}
        status, location, _t = await _post(
            client, f"{world.base}reports/{submission}/return", form
        )
        assert status == 303 and location == back
        async with client.get(world.base + back.removeprefix("/web/")) as answer:
            page = await answer.text()
        assert 'class="flash ok"' in page
        assert "Đã trả lại báo cáo của Sở Công Thương" in page
        assert "Trả lại để bổ sung" in page and "Bổ sung số liệu quý IV" in page
        assert f'action="/web/reports/{submission}/accept"' not in page
        for name in ("return", "accept"):  # a second press, or a press on a stale page
            status, _l, _t = await _post(client, f"{world.base}reports/{submission}/{name}", form)
            assert status == 303
            async with client.get(world.base + back.removeprefix("/web/")) as answer:
                page = await answer.text()
            assert 'class="flash warning"' in page
            assert "đã được trả lại trước đó" in page
    assert await _state(world.database, submission) == ("returned", "Bổ sung số liệu quý IV")
    assert await _count(world.database, "review.return") == 1
    async with world.database.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.member_id, OutboxMessage.payload).where(
                    OutboxMessage.kind == "review"
                )
            )
        ).all()
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "review.return")
        )
    assert entry is not None and entry.channel == "web"
    assert {member for member, _p in rows} == {world.members["leader"], world.members["officer"]}
    notice = reply_from_payload(rows[0][1])
    assert "Bổ sung số liệu quý IV" in notice.text
    assert [c.label for row in notice.choices for c in row] == ["Bổ sung ngay"]


async def _ask_form(client: aiohttp.ClientSession, world: World) -> dict[str, str]:
    """Return the first "ask to explain" form of the agency's page, as the browser sends it."""
    async with client.get(f"{world.base}agencies/{world.agencies['sct']}") as answer:
        page = await answer.text()
    form = page.split('/explanations">')[1].split("</form>")[0]
    fields = {}
    for part in form.split("<input")[1:]:
        name = part.split('name="')[1].split('"')[0]
        fields[name] = part.split('value="')[1].split('"')[0]
    return fields


async def test_asking_for_an_explanation_for_every_role(world: World) -> None:
    url = f"{world.base}agencies/{world.agencies['sct']}/explanations"
    async with await world.client("coordinator") as client:
        form = await _ask_form(client, world)
    assert form["year"] == "2024" and form["task"].isdigit()  # the blocked task
    refused = 0
    for who in WHO:
        client = await world.client(who) if who else aiohttp.ClientSession()
        async with client:
            csrf = await _csrf(client, world) if who else "x"
            if who == "leader":  # a leader's page has no such button
                async with client.get(f"{world.base}agencies/{world.agencies['sct']}") as answer:
                    assert "/explanations" not in await answer.text()
            status, _l, text = await _post(client, url, {**form, "csrf": csrf})
            if who is None:
                assert status == 401
            elif who in ("coordinator", "admin"):
                assert status == 303, (who, text[:300])
                async with client.get(world.base + "tasks") as answer:
                    page = await answer.text()
                kind = "ok" if who == "coordinator" else "warning"  # asked once, then refused
                assert f'class="flash {kind}"' in page, (who, page[:2000])
                words = "Đã gửi yêu cầu giải trình" if kind == "ok" else "chưa trả lời"
                assert words in page
            else:
                assert status == 403, who
                assert REFUSED_ACTION in text
                refused += 1
    assert await _count(world.database, "permission.refused") == refused
    assert await _count(world.database, "explanation.ask") == 1
    async with world.database.session() as session:
        told = set(
            await session.scalars(
                select(OutboxMessage.member_id).where(OutboxMessage.kind == "explanation")
            )
        )
    assert told == {world.members["leader"], world.members["officer"]}
    async with (
        await world.client("leader") as client,
        client.get(f"{world.base}agencies/{world.agencies['sct']}") as answer,
    ):
        page = await answer.text()
    assert "Yêu cầu giải trình (" in page  # the request is listed


async def test_reopening_for_every_role(world: World) -> None:
    url = f"{world.base}agencies/{world.agencies['sct']}/reopen"
    form = {"task": world.sct_task, "until": "2024-12-20"}
    async with await world.client("coordinator") as client:  # before the deadline
        csrf = await _csrf(client, world)
        status, _l, _t = await _post(client, url, {**form, "csrf": csrf})
        assert status == 303
        async with client.get(world.base + "tasks") as answer:
            page = await answer.text()
        assert (
            'class="flash error"' in page and "Chưa có năm báo cáo nào đang mở đã quá hạn" in page
        )
    world.clock.set(datetime(2024, 12, 16, 2, 0, tzinfo=UTC))  # Monday 16/12/2024, 09:00
    refused = 0
    for who in WHO:
        client = await world.client(who) if who else aiohttp.ClientSession()
        async with client:
            csrf = await _csrf(client, world) if who else "x"
            if who in ("leader", "officer"):
                async with client.get(f"{world.base}agencies/{world.agencies['sct']}") as answer:
                    assert "/reopen" not in await answer.text()
            status, _l, text = await _post(client, url, {**form, "csrf": csrf})
            if who is None:
                assert status == 401
            elif who in ("coordinator", "admin"):
                assert status == 303, (who, text[:300])
                async with client.get(world.base + "tasks") as answer:
                    page = await answer.text()
                assert 'class="flash ok"' in page and "20/12/2024" in page
            else:
                assert status == 403, who
                assert REFUSED_ACTION in text
                refused += 1
    async with await world.client("coordinator") as client:
        csrf = await _csrf(client, world)
        for bad in ({"until": "31/13/2024"}, {"until": "2025-12-31"}, {"task": "9.z"}):
            status, _l, _t = await _post(client, url, {**form, **bad, "csrf": csrf})
            assert status == 303
            async with client.get(world.base + "tasks") as answer:
                assert 'class="flash error"' in await answer.text(), bad
    assert await _count(world.database, "permission.refused") == refused
    assert await _count(world.database, "reopening.grant") == 2
    async with world.database.session() as session:
        told = list(
            await session.scalars(
                select(OutboxMessage.member_id).where(OutboxMessage.kind == "reopening")
            )
        )
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "reopening.grant")
        )
    assert sorted(told) == sorted([world.members["leader"], world.members["officer"]] * 2)
    assert entry is not None and entry.channel == "web"


async def _extension_requests(world: World, count: int) -> list[int]:
    """Record ``count`` requests of the agency, waiting: the whole report until 17/12/2024."""
    async with UnitOfWork(world.database) as uow:
        [milestone] = [
            m
            for m in await uow.notifications.milestones_between(
                date(2024, 12, 10), date(2024, 12, 10)
            )
            if m.recipients != "coordinator"
        ]
        found = [
            await uow.extensions.record(
                milestone_id=milestone.id,
                agency_id=world.agencies["sct"],
                task_codes=[],
                reason="Chờ số liệu quan trắc của Trung ương gửi về.",
                member_id=world.members["officer"],
                now=world.clock.now(),
                asked_until=date(2024, 12, 17),
            )
            for _ in range(count)
        ]
        await uow.commit()
    return [e.id for e in found]


async def _extension(world: World, request_id: int) -> tuple[str, date | None, str | None]:
    async with world.database.session() as session:
        row = await session.get(ExtensionRequest, request_id)
        assert row is not None
        await session.refresh(row)
        return row.state, row.granted_until, row.decision_reason


async def test_answering_an_extension_request_for_every_role(world: World) -> None:
    world.clock.set(datetime(2024, 12, 5, 2, 0, tzinfo=UTC))  # Thursday 05/12/2024, 09:00
    granted, other, refused_one = await _extension_requests(world, 3)
    page_url = f"{world.base}agencies/{world.agencies['sct']}?year=2024"
    answers = {
        granted: {"decision": "grant"},
        other: {"decision": "other", "until": "2024-12-19"},
        refused_one: {"decision": "refuse", "reason": "Số liệu đã có từ tháng 11."},
    }
    refused = 0
    for who in ("leader", "other_leader", "officer", None, "coordinator", "admin"):
        client = await world.client(who) if who else aiohttp.ClientSession()
        async with client:
            csrf = await _csrf(client, world) if who else "x"
            if who in ("leader", "officer"):
                async with client.get(page_url) as answer:
                    seen = await answer.text()
                assert "/answer" not in seen and "Chờ số liệu quan trắc" in seen
            for request_id, form in answers.items():
                url = f"{world.base}extensions/{request_id}/answer"
                status, _l, text = await _post(client, url, {**form, "csrf": csrf})
                if who is None:
                    assert status == 401
                elif who == "coordinator":
                    assert status == 303, (who, text[:300])
                    async with client.get(world.base + "tasks") as answer:
                        assert 'class="flash ok"' in await answer.text(), form
                elif who == "admin":  # answered already: refused politely, nothing changes
                    assert status == 303
                    async with client.get(world.base + "tasks") as answer:
                        shown = await answer.text()
                    assert 'class="flash warning"' in shown and "đã được" in shown
                else:
                    assert status == 403, who
                    assert REFUSED_ACTION in text
                    refused += 1
    assert await _extension(world, granted) == ("granted", date(2024, 12, 17), None)
    assert await _extension(world, other) == ("granted", date(2024, 12, 19), None)
    assert await _extension(world, refused_one) == (
        "refused",
        None,
        "Số liệu đã có từ tháng 11.",
    )
    assert await _count(world.database, "permission.refused") == refused
    assert await _count(world.database, "extension.grant") == 2
    assert await _count(world.database, "extension.refuse") == 1
    async with world.database.session() as session:
        told = [
            reply_from_payload(payload).text
            for payload in await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.kind == "extension-decision")
            )
        ]
    assert len(told) == 3 * 2  # each decision to the agency's leader and officer
    assert sum("19/12/2024" in text for text in told) == 2
    async with await world.client("coordinator") as client, client.get(page_url) as answer:
        page = await answer.text()
    assert "Số liệu đã có từ tháng 11." in page and "/answer" not in page


async def test_a_bad_extension_answer_changes_nothing(world: World) -> None:
    world.clock.set(datetime(2024, 12, 5, 2, 0, tzinfo=UTC))
    [request_id] = await _extension_requests(world, 1)
    url = f"{world.base}extensions/{request_id}/answer"
    async with await world.client("coordinator") as client:
        csrf = await _csrf(client, world)
        async with client.get(f"{world.base}agencies/{world.agencies['sct']}") as answer:
            assert f"/extensions/{request_id}/answer" in await answer.text()
        for bad in (
            {"decision": "other", "until": "31/13/2024"},
            {"decision": "other", "until": "2024-12-14"},  # a Saturday
            {"decision": "other", "until": "2024-12-06"},  # before the deadline
            {"decision": "refuse", "reason": "   "},
            {"decision": "maybe"},
        ):
            status, _l, _t = await _post(client, url, {**bad, "csrf": csrf})
            assert status == 303
            async with client.get(world.base + "tasks") as answer:
                assert 'class="flash error"' in await answer.text(), bad
        status, _l, _t = await _post(client, url, {"decision": "grant", "csrf": "forged"})
        assert status == 403
    assert await _extension(world, request_id) == ("waiting", None, None)
    assert await _count(world.database, "extension.grant") == 0


async def test_the_buttons_follow_the_leaders_step(world: World) -> None:
    """With leaders reviewing first, each sees "Tiếp nhận" only on the versions at its step."""
    submission = world.submission_id
    back = "/web/reports?q=kinh+t%E1%BA%BF+tu%E1%BA%A7n+ho%C3%A0n&year=2024"
    page_url = world.base + back.removeprefix("/web/")
    form = f'action="/web/reports/{submission}/accept"'

    async def page(who: str) -> str:
        async with await world.client(who) as client, client.get(page_url) as answer:
            return await answer.text()

    coordinator, leader = await page("coordinator"), await page("leader")
    if not world.leader_review:
        assert form in coordinator and "Chờ lãnh đạo xem xét" not in coordinator
        return
    assert form not in coordinator and "Chờ lãnh đạo xem xét" in coordinator
    assert form in leader
    async with await world.client("leader") as client:
        csrf = await _csrf(client, world)
        status, _l, _t = await _post(
            client, f"{world.base}reports/{submission}/accept", {"csrf": csrf, "back": back}
        )
        assert status == 303
    coordinator, leader = await page("coordinator"), await page("leader")
    assert form in coordinator and form not in leader
    assert "Lãnh đạo đơn vị Trần Văn Lãnh Đạo đã tiếp nhận" in coordinator
    assert await _state(world.database, submission) == ("waiting", None)
