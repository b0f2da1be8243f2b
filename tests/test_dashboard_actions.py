"""The dashboard's actions over real HTTP: accepting and returning a report, for every role
and agency, a stranger, a deactivated member and a forged form; the agency told through the
outbox as in chat; a second press and an empty reason refused politely, changing nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select, update

from bot.core.clock import FrozenClock
from bot.core.messages import reply_from_payload
from bot.dashboard.actions import ACTIONS
from storage.db import Database
from storage.models import AuditEntry, Member, OutboxMessage, Submission
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
            .values(review_state="waiting", reviewed_by_id=None, reviewed_at=None)
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
    assert await _count(world.database, "review.accept") == reviewers
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
