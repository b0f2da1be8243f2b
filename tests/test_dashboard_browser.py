"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Logging in by link, every page as the coordinator, a leader and an officer, a search, a
download and logging out; a used link refused; another agency's page refused to a leader.
The README's screenshots are taken here: ``make screenshots`` writes them to
``docs/screenshots/`` (otherwise they go to the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.clock import FrozenClock
from storage.db import Database
from tests.conftest import ROOT
from tests.dashboard_world import World, build_world

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and os.environ.get("CI") != "true",
    reason="Chromium is not installed (apt-get install chromium)",
)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only: the pages are the same on PostgreSQL (tests/test_dashboard.py)."""
    path = tmp_path / "pgibot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def world(database: Database, clock: FrozenClock, tmp_path: Path) -> AsyncIterator[World]:
    built = await build_world(database, clock, tmp_path)
    yield built
    await built.server.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    async with playwright.async_playwright() as driver:
        chromium = await driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield chromium
        finally:
            await chromium.close()


def _shots(tmp_path: Path) -> Path:
    folder = ROOT / "docs" / "screenshots" if os.environ.get("PGIBOT_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _login(browser: object, world: World, who: str, **context: object) -> object:
    page = await browser.new_page(**context)  # type: ignore[attr-defined]
    await page.goto(await world.link(who))
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(world.base)
    return page


async def test_the_coordinator_works_through_every_page(
    browser: object, world: World, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    link = await world.link("coordinator")
    page = await browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    await page.goto(link)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(world.base)
    heading = page.get_by_role("heading", level=1)
    assert await heading.inner_text() == "Tổng quan, năm 2024"
    assert await page.locator("svg.bar rect").count() > 0  # the charts are drawn
    await page.screenshot(path=shots / "tong-quan.png")

    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Bảng tính (.xlsx)").click()
    download = await waiting.value
    assert download.suggested_filename == "tong-hop-pgi-2024.xlsx"
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"

    await page.get_by_role("link", name="Cơ quan", exact=True).click()
    assert await heading.inner_text() == "Cơ quan, năm 2024"
    await page.get_by_role("link", name="Vướng mắc").click()  # sort by blocked reports
    assert "sort=blocked" in page.url
    await page.screenshot(path=shots / "co-quan.png")
    await page.get_by_role("link", name="Sở Công Thương", exact=True).click()
    assert await heading.inner_text() == "Sở Công Thương — 2024"
    assert await page.get_by_text("Phạm Thị Cán Bộ").count() > 0  # members and reports

    await page.get_by_role("link", name="Nhiệm vụ", exact=True).click()
    assert await heading.inner_text() == "Nhiệm vụ, năm 2024"

    await page.get_by_role("link", name="Báo cáo", exact=True).click()
    await page.get_by_label("Từ khóa").fill("tuần hoàn")
    await page.get_by_label("Tình trạng").select_option("blocked")
    await page.get_by_role("button", name="Tìm kiếm").click()
    await page.get_by_text("Tìm thấy 1 báo cáo.").wait_for()
    await page.screenshot(path=shots / "bao-cao.png")
    async with page.expect_download() as waiting:
        await page.get_by_role("link", name="Tải về").click()
    assert (await waiting.value).suggested_filename == "hoi-nghi.png"

    await page.get_by_role("button", name="Đăng xuất").click()
    await page.get_by_role("heading", name="Đã đăng xuất").wait_for()
    await page.goto(world.base)
    await page.get_by_text("chưa đăng nhập", exact=False).first.wait_for()

    await page.goto(link)  # the link was used: refused, politely
    await page.get_by_text("đã được sử dụng hoặc đã hết hạn").first.wait_for()


async def test_a_leader_and_an_officer_see_their_agency(
    browser: object, world: World, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True}
    leader = await _login(browser, world, "leader", **phone)
    await leader.screenshot(path=shots / "lanh-dao-dien-thoai.png")  # type: ignore[attr-defined]
    for name in ("Cơ quan", "Nhiệm vụ", "Báo cáo", "Tổng quan"):
        await leader.get_by_role("link", name=name, exact=True).click()  # type: ignore[attr-defined]
        assert "Không thể truy cập" not in await leader.content()  # type: ignore[attr-defined]
    assert await leader.get_by_role("link", name="Bảng tính (.xlsx)").count() == 1  # type: ignore[attr-defined]
    assert await leader.get_by_role("link", name="Dự thảo báo cáo (.docx)").count() == 0  # type: ignore[attr-defined]
    answer = await leader.goto(f"{world.base}agencies/{world.agencies['sxd']}")  # type: ignore[attr-defined]
    assert answer.status == 403
    await leader.get_by_text("không dành cho vai trò").first.wait_for()  # type: ignore[attr-defined]

    officer = await _login(browser, world, "officer")
    for name in ("Cơ quan", "Nhiệm vụ", "Báo cáo"):
        await officer.get_by_role("link", name=name, exact=True).click()  # type: ignore[attr-defined]
        assert "Không thể truy cập" not in await officer.content()  # type: ignore[attr-defined]
    assert await officer.get_by_text("Sở Xây dựng").count() == 0  # type: ignore[attr-defined]
    answer = await officer.goto(f"{world.base}files/2024/xlsx")  # type: ignore[attr-defined]
    assert answer.status == 403


async def _waiting_on_the_agency_page(world: World) -> int:
    """Return a waiting report, other than the officer's, that the agency's first page shows."""
    from bot.core.domain.review import ReviewState
    from bot.core.domain.search import ReportQuery
    from storage.uow import UnitOfWork

    async with UnitOfWork(world.database).reading() as reads:
        page = await reads.reports.search(ReportQuery(2024, agency_ids=(world.agencies["sct"],)))
        decisions = await reads.reviews.decisions([hit.id for hit in page.hits])
    return next(
        hit.id
        for hit in page.hits
        if hit.id != world.submission_id and decisions[hit.id].state is ReviewState.WAITING
    )


async def test_the_coordinator_returns_a_report_and_accepts_another(
    browser: object, world: World, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from bot.core.messages import reply_from_payload
    from storage.models import OutboxMessage

    other = await _waiting_on_the_agency_page(world)
    page = await _login(browser, world, "coordinator", viewport={"width": 1280, "height": 900})
    await page.goto(f"{world.base}agencies/{world.agencies['sct']}")  # type: ignore[attr-defined]
    card = page.locator("article.report", has_text="kinh tế tuần hoàn")  # type: ignore[attr-defined]
    assert await card.get_by_text("Chờ xem xét").count() == 1
    await card.get_by_role("button", name="Trả lại").click()  # no reason: refused politely
    await page.locator(".flash.error").get_by_text("Xin ghi lý do trả lại").wait_for()  # type: ignore[attr-defined]
    await card.get_by_label("Lý do trả lại").fill("Đề nghị bổ sung biên bản hội nghị tập huấn")
    await card.get_by_role("button", name="Trả lại").click()
    await page.locator(".flash.ok").get_by_text("Đã trả lại báo cáo của Sở Công Thương").wait_for()  # type: ignore[attr-defined]
    assert await card.get_by_text("Trả lại để bổ sung").count() == 1
    assert await card.get_by_text("Đề nghị bổ sung biên bản hội nghị tập huấn").count() == 1
    assert await card.get_by_role("button", name="Tiếp nhận").count() == 0

    waiting = page.locator("article.report", has=page.locator(f'form[action$="/{other}/accept"]'))  # type: ignore[attr-defined]
    await waiting.screenshot(path=_shots(tmp_path) / "duyet-bao-cao.png")
    accept = waiting.get_by_role("button", name="Tiếp nhận")
    await accept.click()
    await (
        page.locator(".flash.ok").get_by_text("Đã tiếp nhận báo cáo của Sở Công Thương").wait_for()
    )  # type: ignore[attr-defined]
    assert await page.locator(f'form[action="/web/reports/{other}/accept"]').count() == 0  # type: ignore[attr-defined]

    async with world.database.session() as session:
        rows = (
            await session.execute(
                select(OutboxMessage.member_id, OutboxMessage.payload)
                .where(OutboxMessage.kind == "review")
                .order_by(OutboxMessage.id)
            )
        ).all()
    told = [reply_from_payload(p) for m, p in rows if m == world.members["officer"]]
    assert len(told) == 2
    assert "Đề nghị bổ sung biên bản hội nghị tập huấn" in told[0].text
    assert [c.label for row in told[0].choices for c in row] == ["Bổ sung ngay"]
    assert "đã tiếp nhận" in told[1].text

    officer = await _login(browser, world, "officer")
    await officer.goto(f"{world.base}agencies/{world.agencies['sct']}")  # type: ignore[attr-defined]
    assert await officer.get_by_role("button", name="Tiếp nhận").count() == 0  # type: ignore[attr-defined]
    assert await officer.get_by_text("Trả lại để bổ sung").count() >= 1  # type: ignore[attr-defined]
    csrf = await officer.locator('input[name="csrf"]').first.get_attribute("value")  # type: ignore[attr-defined]
    answer = await officer.request.post(  # type: ignore[attr-defined]
        f"{world.base}reports/{world.submission_id}/accept", form={"csrf": csrf}
    )
    assert answer.status == 403
    assert "không dành cho vai trò" in await answer.text()
