"""A running dashboard over a database with a year of reports, members of every role and an
evidence file: what the dashboard's HTTP and browser tests share (not fixtures)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import aiohttp

from bot.channels.memory import MemoryChannel
from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.search import ReportQuery
from bot.core.domain.submissions import AttachmentInfo, NewSubmission, ReportStatus
from bot.dashboard import Dashboard
from bot.web import WebhookServer, create_app
from handlers.context import BotInfo
from handlers.router import Router
from storage.db import Database
from storage.uow import UnitOfWork
from tests.helpers import invite

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2a3ab"
    "c40000000049454e44ae426082"
)
PEOPLE = {
    "coordinator": ("stnmt", Role.COORDINATOR, "Nguyễn Thị Điều Phối"),
    "admin": ("stnmt", Role.ADMIN, "Lê Văn Quản Trị"),
    "leader": ("sct", Role.LEADER, "Trần Văn Lãnh Đạo"),
    "officer": ("sct", Role.OFFICER, "Phạm Thị Cán Bộ"),
    "other_leader": ("sxd", Role.LEADER, "Hoàng Văn Khác"),
}


@dataclass
class World:
    """The dashboard running on 127.0.0.1, and what the tests need to know of its data."""

    database: Database
    clock: FrozenClock
    data_dir: Path
    server: WebhookServer
    members: dict[str, int] = field(default_factory=dict)
    agencies: dict[str, int] = field(default_factory=dict)
    evidence_id: int = 0
    submission_id: int = 0
    """The officer's blocked report for the Department of Industry and Trade (waiting)."""
    sct_task: str = ""
    leader_review: bool = False

    @property
    def base(self) -> str:
        """Return the dashboard's address, ending in /web/."""
        return f"http://127.0.0.1:{self.server.port}/web/"

    async def link(self, who: str) -> str:
        """Make a login link for a member, as /web does."""
        async with UnitOfWork(self.database) as uow:
            token = uow.web_logins.create_link(
                self.members[who], self.clock.now(), timedelta(minutes=10)
            )
            await uow.commit()
        return f"{self.base}login/{token}"

    async def client(self, who: str | None) -> aiohttp.ClientSession:
        """Return an HTTP client logged in as a member (None: a stranger)."""
        session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        if who is not None:
            async with session.post(await self.link(who), allow_redirects=False) as answer:
                assert answer.status == 303, await answer.text()
        return session


async def build_world(
    database: Database, clock: FrozenClock, tmp_path: Path, *, leader_review: bool = False
) -> World:
    """Fill the database, register everyone, store an evidence file, start the dashboard."""
    async with UnitOfWork(database) as uow:
        await uow.synthetic.generate(year=2024, submissions=150)
        await uow.commit()
    data_dir = tmp_path / "data"
    router = Router(database, clock, BotInfo(describe(), data_dir))
    world = World(database, clock, data_dir, server=None)  # type: ignore[arg-type]
    for who, (agency, role, name) in PEOPLE.items():
        channel = MemoryChannel(router.handle, user_id=f"u-{who}", display_name=name)
        await channel.send(f"/start {await invite(database, clock, agency, role)}")
        await channel.send(name)  # the name question
        async with UnitOfWork(database) as uow:
            member = await uow.members.by_identity("memory", f"u-{who}")
            assert member is not None, who
            world.members[who] = member.id
            world.agencies[agency] = member.agency_id
    async with UnitOfWork(database) as uow:
        summary = await uow.summaries.summary(2024, clock.now().date(), world.agencies["sct"])
        assert summary is not None
        [sct] = [a for a in summary.agencies if a.code == "sct"]
        task = next(t for t in summary.all_tasks if t.code == sct.lead_tasks[0])
        world.sct_task = task.code
        [cycle] = [
            c for c in await uow.submissions.open_cycles(clock.now().date()) if c.year == 2024
        ]
        digest = hashlib.sha256(PNG).hexdigest()
        relative = f"evidence/{digest[:2]}/{digest}.png"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / relative).write_bytes(PNG)
        info = await uow.submissions.create(
            NewSubmission(
                cycle_id=cycle.id,
                task_id=task.id,
                agency_id=world.agencies["sct"],
                member_id=world.members["officer"],
                status=ReportStatus.BLOCKED,
                progress=40,
                results="Đã tổ chức hội nghị tập huấn về kinh tế tuần hoàn cho doanh nghiệp",
                difficulties="Thiếu kinh phí triển khai",
                proposals="Đề nghị bổ sung kinh phí",
                idempotency_key=None,
                attachments=[
                    AttachmentInfo("hoi-nghi.png", "image/png", len(PNG), digest, relative)
                ],
            ),
            clock.now(),
        )
        await uow.commit()
    async with UnitOfWork(database).reading() as reads:
        page = await reads.reports.search(
            ReportQuery(2024, agency_ids=(world.agencies["sct"],), text="kinh tế tuần hoàn")
        )
        world.evidence_id = page.hits[0].evidence[0].id
        assert page.hits[0].id == info.id
    world.submission_id = info.id
    world.leader_review = leader_review
    dashboard = Dashboard(
        database, clock, data_dir, "http://127.0.0.1/web/", leader_review=leader_review
    )
    world.server = WebhookServer(create_app((), dashboard=dashboard), "127.0.0.1", 0)
    await world.server.start()
    return world
