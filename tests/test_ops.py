"""The administrator's tools: status, the audit log (command line and /nhatky), unused
evidence files, a member's role and agency. Real databases; the command as a real process.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import Role
from bot.core.domain.submissions import AttachmentInfo, NewSubmission, ReportStatus
from handlers.router import Router
from storage import migrate
from storage.db import Database, create_engine
from storage.evidence_files import named_files, remove_files, unused_files
from storage.health import Problem, check_health
from storage.models import AuditEntry
from storage.uow import UnitOfWork
from tests.helpers import invite
from tests.test_backup import _officer
from tests.test_cli import Pgibot
from tests.test_conversations import text_of

# --- status ---------------------------------------------------------------------------------


async def test_status_is_healthy_then_names_each_problem(
    database_url: str, clock: FrozenClock
) -> None:
    database = Database(database_url)
    engine = database.engine
    try:
        health = await check_health(engine, clock.now())
        assert health.healthy, health.problems
        assert health.revision == health.head == migrate.head_revision()
        assert health.outbox == {"pending": 0, "sending": 0, "failed": 0, "blocked": 0}
        async with UnitOfWork(database) as uow:
            await uow.notifications.enqueue(  # due an hour ago, never sent
                channel="telegram",
                chat_id="1",
                member_id=None,
                kind="reminder",
                payload={},
                dedupe_key="stalled",
                now=clock.now() - timedelta(hours=1),
            )
            await uow.jobs.started("reminders", clock.now() - timedelta(hours=2))
            await uow.jobs.finished("reminders", clock.now() - timedelta(hours=2))
            await uow.jobs.started("backup", clock.now() - timedelta(hours=3))
            await uow.jobs.finished("backup", clock.now(), "pg_dump failed: disk full")
            await uow.commit()
        health = await check_health(engine, clock.now())
        assert health.problems == [Problem.OUTBOX_STALLED, Problem.SWEEP_LATE, Problem.JOB_FAILED]
        assert health.outbox["pending"] == 1
        assert [f.what for f in health.failures] == ["backup"]
    finally:
        await database.dispose()


async def test_status_of_an_unreachable_or_unmigrated_database(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    engine = create_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    try:
        health = await check_health(engine, now)
    finally:
        await engine.dispose()
    assert (health.reachable, health.problems) == (False, [Problem.UNREACHABLE])
    assert health.error
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        assert (await check_health(engine, now)).problems == [Problem.NOT_MIGRATED]
        await migrate.upgrade(engine, migrate.revisions()[-2])
        assert (await check_health(engine, now)).problems == [Problem.BEHIND]
    finally:
        await engine.dispose()


# --- unused evidence files ------------------------------------------------------------------


def _file(data_dir: Path, name: str, age: timedelta, now: datetime) -> Path:
    path = data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 " + name.encode())
    moment = (now - age).timestamp()
    os.utime(path, (moment, moment))
    return path


async def test_only_files_no_report_or_conversation_names_and_not_new_are_unused(
    database_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    day = timedelta(days=1, hours=1)
    names = {key: f"evidence/{key * 2}/{key * 64}.pdf" for key in "abcd"}
    database = Database(database_url)
    try:
        cycle_id, agency_id, member_id, tasks = await _officer(database)
        async with UnitOfWork(database) as uow:
            await uow.conversations.set(
                "telegram",
                "5",
                ConversationState(
                    "report.evidence", {"files": [{"path": names["b"], "name": "x.pdf"}]}
                ),
                now,
            )
            await uow.submissions.create(
                NewSubmission(
                    cycle_id,
                    tasks[0],
                    agency_id,
                    member_id,
                    ReportStatus.DONE,
                    100,
                    "Đã hoàn thành.",
                    None,
                    None,
                    None,
                    [AttachmentInfo("a.pdf", "application/pdf", 10, "a" * 64, names["a"])],
                ),
                now,
            )
            await uow.commit()
        for key in "abc":
            _file(tmp_path, names[key], day, now)
        _file(tmp_path, names["d"], timedelta(minutes=5), now)  # a report being confirmed
        stale = _file(tmp_path, "evidence/incoming/0123abcd.part", day, now)
        _file(tmp_path, "evidence/notes.txt", day, now)  # not the bot's: never touched
        named = await named_files(database)
        unused = unused_files(tmp_path, named, now)
        assert [f.name for f in unused] == [names["c"], "evidence/incoming/0123abcd.part"]
        os.utime(tmp_path / names["c"])  # stored again since it was listed
        removed = remove_files(tmp_path, unused, now)
        assert [f.name for f in removed] == ["evidence/incoming/0123abcd.part"]
        assert not stale.exists()
        assert all((tmp_path / names[key]).exists() for key in "abcd")
    finally:
        await database.dispose()


# --- /nhatky --------------------------------------------------------------------------------


async def _member(
    router: Router,
    database: Database,
    clock: FrozenClock,
    role: Role,
    user: str,
) -> MemoryChannel:
    agency = "stnmt" if role in (Role.COORDINATOR, Role.ADMIN) else "sct"
    channel = MemoryChannel(router.handle, user_id=user, display_name=f"Người {user}")
    await channel.send(f"/start {await invite(database, clock, agency, role)}")
    return channel


async def test_nhatky_pages_the_log_for_administrators_only(
    router: Router, database: Database, clock: FrozenClock
) -> None:
    async with database.session() as session:  # the shipped plan's reorganisations were audited
        await session.execute(delete(AuditEntry))
        await session.commit()
    admin = await _member(router, database, clock, Role.ADMIN, "admin")
    coordinator = await _member(router, database, clock, Role.COORDINATOR, "coord")
    for _ in range(12):
        clock.advance(timedelta(minutes=1))
        await coordinator.send("/nhatky")  # refused, and each refusal audited
    [first] = await admin.send("/nhatky")
    text = text_of([first])
    assert "trang 1/2" in text
    assert "từ chối lệnh hoặc nút bấm (không đủ quyền) (permission.refused)" in text
    assert "09:12" in text  # the newest first, in Hà Nội time (02:12 UTC)
    [older] = first.flat_choices
    assert older.label == "Cũ hơn ›"
    [second] = await admin.press(older.payload)
    assert second.edit
    assert "trang 2/2" in second.text
    assert "đăng ký (registration.done)" in second.text
    assert [c.label for c in second.flat_choices] == ["‹ Mới hơn"]
    [only] = await admin.send("/nhatky registration")
    assert "Chỉ hiển thị: registration" in only.text
    assert only.text.count("đăng ký (registration.done)") == 2
    assert not only.flat_choices
    refused = text_of(await coordinator.press(older.payload))
    assert "không dành cho vai trò" in refused


# --- the command line -----------------------------------------------------------------------


async def _seed_members(database: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{database}")
    try:
        async with UnitOfWork(db) as uow:
            now = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)
            for name, agency, role in (
                ("Nguyễn Văn An", "sct", Role.OFFICER),
                ("Phạm Thị Hoa", "stnmt", Role.ADMIN),
            ):
                await uow.members.create(
                    full_name=name,
                    agency_id=(await uow.agencies.by_code(agency)).id,
                    role=role,
                    invitation_id=None,
                    now=now,
                )
            await uow.commit()
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def admin_tool(tmp_path_factory: pytest.TempPathFactory) -> Pgibot:
    tool = Pgibot(tmp_path_factory.mktemp("ops"))
    result = tool("init")
    assert result.returncode == 0, result.stderr
    asyncio.run(_seed_members(tool.folder / "data" / "pgibot.sqlite3"))
    return tool


def test_member_set_moves_and_changes_role_and_audit_shows_it(admin_tool: Pgibot) -> None:
    result = admin_tool("member", "set", "Nguyễn Văn An", "--role", "lanhdao", "--agency", "sxd")
    assert result.returncode == 0, result.stderr
    assert "Nguyễn Văn An nay là lãnh đạo đơn vị tại Sở Xây dựng." in result.stdout, result.stdout
    refused = admin_tool("member", "set", "Nguyễn Văn An", "--role", "dieuphoi")
    assert refused.returncode == 1
    assert "Cán bộ điều phối thuộc cơ quan đầu mối" in refused.stderr
    last_admin = admin_tool("member", "set", "Phạm Thị Hoa", "--role", "canbo")
    assert last_admin.returncode == 1
    assert "quản trị viên cuối cùng" in last_admin.stderr
    nothing = admin_tool("member", "set", "Phạm Thị Hoa")
    assert nothing.returncode == 1
    assert "--role" in nothing.stderr
    log = admin_tool("audit", "--member", "Nguyễn Văn An")
    assert log.returncode == 0, log.stderr
    lines = log.stdout.splitlines()
    assert "từ chối thay đổi thành viên (member.refused)" in lines[0]
    assert "quản trị viên (dòng lệnh)" in lines[0]
    assert any("chuyển sang đơn vị khác (member.agency)" in line for line in lines)
    assert any("old=sct, new=sxd" in line for line in lines)
    family = admin_tool("audit", "--action", "member", "--limit", "1")
    assert len(family.stdout.splitlines()) == 2
    assert "mục cũ hơn chưa hiển thị" in family.stdout
    future = admin_tool("audit", "--since", "01/01/2999")
    assert "Không có mục nhật ký nào phù hợp." in future.stdout
    wrong_day = admin_tool("audit", "--since", "2024-12-01")
    assert wrong_day.returncode == 2
    assert "dd/mm/yyyy" in wrong_day.stderr


def test_status_evidence_prune_backup_and_restore_from_the_command_line(
    admin_tool: Pgibot, tmp_path: Path
) -> None:
    status = admin_tool("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Cơ sở dữ liệu: SQLite, kết nối được" in status.stdout
    assert "Rà soát nhắc nhở: chưa chạy lần nào" in status.stdout
    assert "Phiên bản đang chạy: không có" in status.stdout
    assert status.stdout.rstrip().endswith("Tình trạng: ổn định.")

    data = admin_tool.folder / "data"
    orphan = data / "evidence" / "ee" / f"{'e' * 64}.png"
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"\x89PNG orphan")
    old = time.time() - 2 * 86400
    os.utime(orphan, (old, old))
    dry = admin_tool("evidence", "prune")
    assert dry.returncode == 0, dry.stderr
    assert orphan.name in dry.stdout
    assert "Chưa xóa tệp nào" in dry.stdout
    assert orphan.exists()
    done = admin_tool("evidence", "prune", "--yes")
    assert "Đã xóa 1 tệp" in done.stdout, done.stdout
    assert not orphan.exists()
    assert "(evidence.prune)" in admin_tool("audit", "--action", "evidence.prune").stdout

    archive = tmp_path / "sao-luu.tar.gz"
    made = admin_tool("backup", "--out", str(archive))
    assert made.returncode == 0, made.stderr
    assert "Đã ghi bản sao lưu vào" in made.stdout
    fresh = tmp_path / "moi.sqlite3"
    restored = admin_tool("--database-url", str(fresh), "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert "Đã khôi phục" in restored.stdout
    again = admin_tool("--database-url", str(fresh), "restore", str(archive))
    assert again.returncode == 1
    assert "--force" in again.stderr
    members = admin_tool("--database-url", str(fresh), "member", "list")
    assert "Nguyễn Văn An" in members.stdout

    (tmp_path / "la.tar.gz").write_bytes(b"PK\x03\x04 not ours")
    foreign = admin_tool("--database-url", str(fresh), "restore", str(tmp_path / "la.tar.gz"))
    assert foreign.returncode == 1
    assert "không phải là bản sao lưu của pgibot" in foreign.stderr
    assert "Traceback" not in foreign.stderr

    stalled = admin_tool(
        "--database-url", "postgresql+asyncpg://postgres@127.0.0.1:9/none", "status"
    )
    assert stalled.returncode == 1
    assert "Tình trạng: KHÔNG ổn định" in stalled.stdout
    assert "không kết nối được cơ sở dữ liệu" in stalled.stdout
