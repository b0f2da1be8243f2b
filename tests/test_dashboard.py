"""The web dashboard over real HTTP: login by one-time link, sessions, CSRF, the security
headers, and every page and action for every role and a stranger (allowed, or refused and
audited)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.channels.memory import MemoryChannel
from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.models import AuditEntry, WebLogin, WebSession
from storage.uow import UnitOfWork
from tests.dashboard_world import World, build_world

ROLES = ("coordinator", "admin", "leader", "officer")
REFUSED_ROLE = "không dành cho vai trò"


@pytest.fixture
async def world(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(database, clock, tmp_path)
    yield built
    await built.server.cleanup()


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str, dict[str, str]]:
    async with session.get(url, allow_redirects=False) as answer:
        body = await answer.read()
        text = body.decode("utf-8", "replace")
        return answer.status, text, dict(answer.headers)


async def _audited(database: Database, action: str) -> int:
    async with database.session() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
            )
            or 0
        )


def _pages(world: World) -> dict[str, str]:
    sct, sxd = world.agencies["sct"], world.agencies["sxd"]
    return {
        "overview": "",
        "agencies": "agencies",
        "own_agency": f"agencies/{sct}",
        "other_agency": f"agencies/{sxd}",
        "tasks": "tasks",
        "reports": "reports?q=kinh",
        "xlsx": "files/2024/xlsx",
        "docx": "files/2024/docx",
        "png": "files/2024/png",
        "evidence": f"evidence/{world.evidence_id}",
    }


ALLOWED = {
    "coordinator": {
        "overview",
        "agencies",
        "own_agency",
        "other_agency",
        "tasks",
        "reports",
        "xlsx",
        "docx",
        "png",
        "evidence",
    },
    "leader": {"overview", "agencies", "own_agency", "tasks", "reports", "xlsx", "evidence"},
    "officer": {"overview", "agencies", "own_agency", "tasks", "reports", "evidence"},
}
ALLOWED["admin"] = ALLOWED["coordinator"]


@pytest.mark.parametrize("role", ROLES)
async def test_every_page_and_file_for_every_role(world: World, role: str) -> None:
    client = await world.client(role)
    refused = 0
    async with client:
        for name, path in _pages(world).items():
            status, text, headers = await _get(client, world.base + path)
            if name in ALLOWED[role]:
                assert status == 200, (role, name, text[:300])
            else:
                assert status == 403, (role, name, status)
                assert REFUSED_ROLE in text
                refused += 1
            assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert await _audited(world.database, "permission.refused") == refused


async def test_a_leader_sees_only_the_own_agency(world: World) -> None:
    async with await world.client("leader") as client:
        _status, agencies, _h = await _get(client, world.base + "agencies")
        _status, reports, _h = await _get(client, world.base + "reports")
        _status, tasks, _h = await _get(client, world.base + "tasks")
    assert "Sở Công Thương" in agencies
    assert "Sở Xây dựng" not in agencies
    assert "Sở Xây dựng" not in reports.split("</form>")[-1]
    assert "Sở Công Thương" in reports
    assert "kinh tế tuần hoàn" in reports
    assert tasks.count('class="task"') < 40  # its tasks, not the plan's


async def test_a_stranger_gets_the_login_help_everywhere(world: World) -> None:
    async with aiohttp.ClientSession() as stranger:
        for path in _pages(world).values():
            status, text, headers = await _get(stranger, world.base + path)
            assert status == 401
            assert "/web" in text and "chưa đăng nhập" in text
            assert "Content-Security-Policy" in headers
        async with stranger.post(world.base + "logout", data={"csrf": "x"}) as answer:
            assert answer.status == 401
        stranger.cookie_jar.update_cookies({"pgibot_session": "forged-cookie-value"})
        status, _text, _h = await _get(stranger, world.base)
        assert status == 401


async def test_login_sets_a_safe_cookie_and_a_link_works_once(world: World) -> None:
    link = await world.link("coordinator")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        status, text, _h = await _get(client, link)  # a preview (GET) uses nothing
        assert status == 200 and "Đăng nhập" in text
        status, text, _h = await _get(client, link)
        assert status == 200
        async with client.post(link, allow_redirects=False) as answer:
            assert answer.status == 303
            cookie = answer.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=28800" in cookie
        assert "Secure" not in cookie  # plain http here; https makes it Secure
        async with client.post(link, allow_redirects=False) as answer:
            assert answer.status == 410
            assert "đã được sử dụng hoặc đã hết hạn" in await answer.text()
        status, _text, _h = await _get(client, link)
        assert status == 410
    async with world.database.session() as session:
        stored = list(await session.scalars(select(WebLogin.token_hash)))
        sessions = list(await session.scalars(select(WebSession.token_hash)))
    token = link.rsplit("/", 1)[1]
    assert token not in stored and len(stored[0]) == 64  # only the hash is kept
    assert cookie.split("=", 1)[1].split(";")[0] not in sessions
    assert await _audited(world.database, "web.login") == 1
    assert await _audited(world.database, "web.login_refused") == 1


async def test_an_expired_link_is_refused(world: World) -> None:
    link = await world.link("officer")
    world.clock.advance(timedelta(minutes=10, seconds=1))
    async with (
        aiohttp.ClientSession() as client,
        client.post(link, allow_redirects=False) as answer,
    ):
        assert answer.status == 410


async def test_a_session_expires_and_logout_needs_the_csrf_token(world: World) -> None:
    async with await world.client("coordinator") as client:
        status, page, _h = await _get(client, world.base)
        assert status == 200
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        async with client.post(world.base + "logout", data={"csrf": "forged"}) as answer:
            assert answer.status == 403  # and the session goes on
        assert (await _get(client, world.base))[0] == 200
        async with client.post(world.base + "logout", data={"csrf": csrf}) as answer:
            assert answer.status == 200
            assert "đã đăng xuất" in (await answer.text()).lower()
        assert (await _get(client, world.base))[0] == 401
    async with await world.client("leader") as client:
        world.clock.advance(timedelta(hours=8, seconds=1))
        assert (await _get(client, world.base))[0] == 401
    assert await _audited(world.database, "web.logout") == 1


async def test_a_deactivated_member_loses_the_session(world: World) -> None:
    async with await world.client("leader") as client:
        async with world.database.session() as session:
            from storage.models import Member

            member = await session.get(Member, world.members["leader"])
            assert member is not None
            member.active = False
            await session.commit()
        assert (await _get(client, world.base))[0] == 401


async def test_bad_search_input_is_answered_politely(world: World) -> None:
    async with await world.client("coordinator") as client:
        for query, words in (
            ("from=31/13/2024", "dd/mm/yyyy"),
            ("from=10/12/2024&to=01/12/2024", "không được sau"),
            ("status=nope", "tình trạng"),
            ("task=9.z", "nhiệm vụ"),
            ("agency=999999", "cơ quan"),
            ("q=" + "x" * 300, "tối đa"),
        ):
            status, text, _h = await _get(client, world.base + "reports?" + query)
            assert status == 400 and words in text, query
        status, text, _h = await _get(client, world.base + "?year=1999")
        assert status == 404 and "Không có kỳ báo cáo năm 1999" in text


async def test_search_by_every_criterion(world: World) -> None:
    sct = world.agencies["sct"]
    async with await world.client("coordinator") as client:
        for query in (
            "q=KINH TẾ tuần hoàn",
            f"agency={sct}&status=blocked&q=tuần hoàn",
            "person=cán bộ&q=tuần hoàn",
            f"task={world.sct_task}&q=tuần hoàn",
            "from=2024-11-20&to=20/11/2024&q=tuần hoàn",
        ):
            status, text, _h = await _get(client, world.base + "reports?" + query)
            assert status == 200, query
            assert "Tìm thấy 1 báo cáo" in text, query
            assert "hoi-nghi.png" in text
        status, text, _h = await _get(client, world.base + "reports?from=21/11/2024&q=tuần hoàn")
        assert "Tìm thấy 0 báo cáo" in text


async def test_files_come_from_the_export_registry(world: World) -> None:
    async with await world.client("leader") as client:
        async with client.get(world.base + "files/2024/xlsx") as answer:
            assert answer.status == 200
            assert "tong-hop-pgi-2024-sct.xlsx" in answer.headers["Content-Disposition"]
            assert (await answer.read())[:2] == b"PK"
        async with client.get(world.base + f"evidence/{world.evidence_id}?view=1") as answer:
            assert answer.status == 200
            assert answer.headers["Content-Disposition"].startswith("inline")
            assert (await answer.read())[:4] == b"\x89PNG"
    assert await _audited(world.database, "web.file") == 1
    assert await _audited(world.database, "web.evidence") == 1


async def test_web_in_chat_gives_a_link(
    world: World, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    router = Router(database, clock, BotInfo(describe(), tmp_path, dashboard_url=world.base))
    officer = MemoryChannel(router.handle, user_id="u-officer")
    [reply] = await officer.send("/web")
    assert "10 phút" in reply.text
    link = next(word for word in reply.text.split() if word.startswith("http"))
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client,
        client.post(link) as answer,
    ):
        assert answer.status == 200
        assert "Phạm Thị Cán Bộ" in await answer.text()
    plain = Router(database, clock, BotInfo(describe(), tmp_path))
    [reply] = await MemoryChannel(plain.handle, user_id="u-officer").send("/web")
    assert "chưa được bật" in reply.text
    [reply] = await MemoryChannel(router.handle, user_id="stranger").send("/web")
    assert "chưa đăng ký" in reply.text


async def test_the_overview_and_tonghop_say_the_same_of_every_index(
    world: World, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    """Each index's colour and its four states' counts, on the page as in /tonghop."""
    import html

    from bot.core.domain.standing import Colour
    from handlers.exports.standing import MARKS

    router = Router(database, clock, BotInfo(describe(), tmp_path))
    replies = await MemoryChannel(router.handle, user_id="u-coordinator").send("/tonghop 2024")
    chat = "\n".join(r.text for r in replies)
    async with await world.client("coordinator") as client:
        status, page, _h = await _get(client, world.base + "?year=2024")
    assert status == 200
    page = html.unescape(page)
    cards = page.split('<div class="card index">')[1:]
    assert cards
    for card in cards:
        code = card.split("<h3>")[1].split(".")[0]
        mark = MARKS[Colour(card.split('<p class="risk c-')[1].split('"')[0])]
        counts = card.split('<p class="counts">')[2].split("</p>")[0]
        lines = chat.split("\n")
        at = next(
            i for i, line in enumerate(lines) if line.startswith(mark) and f" {code}." in line
        )
        assert counts in lines[at + 2], (code, counts, lines[at : at + 3])


async def test_an_agency_s_page_shows_its_extended_deadline(world: World) -> None:
    async with UnitOfWork(world.database) as uow:
        [milestone] = [
            m
            for m in await uow.notifications.milestones_between(
                date(2024, 12, 10), date(2024, 12, 10)
            )
            if m.recipients != "coordinator"
        ]
        await uow.extensions.record(
            milestone_id=milestone.id,
            agency_id=world.agencies["sct"],
            task_codes=[],
            reason="Chờ số liệu khảo sát của Trung ương.",
            member_id=world.members["coordinator"],
            now=world.clock.now(),
            granted_until=date(2024, 12, 20),
        )
        await uow.commit()
    async with await world.client("leader") as client:
        _status, page, _h = await _get(
            client, world.base + f"agencies/{world.agencies['sct']}?year=2024"
        )
    assert "Đã gia hạn từ thứ Ba, 10/12/2024 đến thứ Sáu, 20/12/2024" in page
    assert "Chờ số liệu khảo sát của Trung ương." in page
