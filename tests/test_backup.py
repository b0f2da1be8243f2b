"""Backups that restore: made while reports are written, restored into a fresh database.

Real SQLite (the online backup API) and real PostgreSQL (pg_dump and pg_restore); real
migrations; archives damaged or foreign in the ways a file goes wrong.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.submissions import AttachmentInfo, NewSubmission, ReportStatus
from bot.scheduler import BackupJob
from storage import migrate
from storage.backup import (
    BackupError,
    create_backup,
    holds_data,
    prune_backups,
    restore_backup,
    unpack,
)
from storage.db import Database, create_engine
from storage.models import Attachment, Member, Submission, Task
from storage.uow import UnitOfWork
from tests.conftest import START

REPORTS_BEFORE = 15
"""Reports confirmed before the backup begins (more keep coming while it runs)."""
REPORTS_DURING = 5
"""Reports the writer confirms after the backup has finished, at least."""


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of the same kind as ``database_url``, never migrated."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'pgibot.sqlite3'}"
    else:
        yield str(request.getfixturevalue("empty_postgres_url"))


async def _officer(database: Database) -> tuple[int, int, int, list[int]]:
    async with UnitOfWork(database) as uow:
        cycle = (await uow.submissions.open_cycles(START.date()))[-1]
        agency_id = (await uow.agencies.by_code("sxd")).id
        member_id = await uow.members.create(
            full_name="Trần Văn Nam",
            agency_id=agency_id,
            role=Role.OFFICER,
            invitation_id=None,
            now=START,
        )
        tasks = sorted(t.id for t in await uow.plans.tasks_of_agency(agency_id, START.date()))
        await uow.commit()
        return cycle.id, agency_id, member_id, tasks


def _store_evidence(data_dir: Path, content: bytes) -> AttachmentInfo:
    """Store a file the way the bot does: by its checksum, before the report names it."""
    sha = hashlib.sha256(content).hexdigest()
    relative = f"evidence/{sha[:2]}/{sha}.pdf"
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return AttachmentInfo("minh-chung.pdf", "application/pdf", len(content), sha, relative)


async def _write_reports(
    url: str,
    data_dir: Path,
    confirmed: list[int],
    enough: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Confirm reports one after another, as officers do, until told to stop."""
    database = Database(url)
    try:
        cycle_id, agency_id, member_id, tasks = await _officer(database)
        n = 0
        while not (stop.is_set() and len(confirmed) >= REPORTS_BEFORE + REPORTS_DURING):
            n += 1
            evidence = await asyncio.to_thread(
                _store_evidence, data_dir, b"%PDF-1.4 minh chung " + str(n).encode()
            )
            async with UnitOfWork(database) as uow:
                stored = await uow.submissions.create(
                    NewSubmission(
                        cycle_id,
                        tasks[n % len(tasks)],
                        agency_id,
                        member_id,
                        ReportStatus.IN_PROGRESS,
                        n % 100,
                        f"Báo cáo số {n}: đã triển khai.",
                        None,
                        None,
                        f"backup-test:{n}",
                        [evidence],
                    ),
                    START + timedelta(seconds=n),
                )
                await uow.commit()
            confirmed.append(stored.id)  # acknowledged only after the commit
            if len(confirmed) >= REPORTS_BEFORE:
                enough.set()
    finally:
        await database.dispose()


async def test_a_backup_made_while_reports_flow_restores_every_confirmed_report(
    database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    confirmed: list[int] = []
    enough, stop = asyncio.Event(), asyncio.Event()
    writer = asyncio.create_task(_write_reports(database_url, data_dir, confirmed, enough, stop))
    await enough.wait()
    before_backup = list(confirmed)
    archive = tmp_path / "backups" / "pgibot.tar.gz"
    manifest = await create_backup(database_url, data_dir, archive, START)
    stop.set()
    await writer
    assert len(confirmed) >= len(before_backup) + REPORTS_DURING  # traffic went on
    assert manifest.schema_revision == migrate.head_revision()
    assert len(manifest.evidence) >= len(before_backup)

    fresh_dir = tmp_path / "restored-data"
    engine = create_engine(fresh_url)
    try:
        restored = await restore_backup(engine, fresh_url, fresh_dir, archive)
        assert restored.migrated_to is None
        assert restored.missing_files == []
        async with engine.connect() as connection:
            rows = {
                row.id: (row.results, row.storage_path, row.sha256)
                for row in await connection.execute(
                    select(
                        Submission.id,
                        Submission.results,
                        Attachment.storage_path,
                        Attachment.sha256,
                    ).join(Attachment, Attachment.submission_id == Submission.id)
                )
            }
    finally:
        await engine.dispose()
    for number, submission_id in enumerate(before_backup, start=1):
        results, path, sha = rows[submission_id]
        assert results == f"Báo cáo số {number}: đã triển khai."
        assert hashlib.sha256((fresh_dir / path).read_bytes()).hexdigest() == sha


def _archive_with(tmp_path: Path, members: dict[str, bytes], name: str = "x.tar.gz") -> Path:
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as archive:
        for member, content in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return path


def _read_members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]


@pytest.fixture
async def sqlite_backup(sqlite_template: Path, tmp_path: Path) -> Path:
    """A genuine backup of a SQLite database holding the plan, with one evidence file."""
    database = tmp_path / "source.sqlite3"
    shutil.copy(sqlite_template, database)
    data_dir = tmp_path / "source-data"
    _store_evidence(data_dir, b"%PDF-1.4 a real file")
    archive = tmp_path / "good.tar.gz"
    await create_backup(f"sqlite+aiosqlite:///{database}", data_dir, archive, START)
    return archive


def _tampered(tmp_path: Path, good: Path, change: str) -> Path:
    members = _read_members(good)
    manifest = json.loads(members["manifest.json"])
    if change == "checksum":
        evidence = next(name for name in manifest["files"] if name.startswith("evidence/"))
        members[evidence] = members[evidence] + b"x"
        manifest["files"][evidence]["size"] += 1
    elif change == "newer format":
        manifest["format_version"] = 2
    elif change == "newer revision":
        manifest["schema_revision"] = "0099_from_the_future"
    elif change == "traversal":
        content = members.pop("database.sqlite3")
        members["../../database.sqlite3"] = content
        manifest["files"]["../../database.sqlite3"] = manifest["files"].pop("database.sqlite3")
    elif change == "missing file":
        members.pop("database.sqlite3")
    members["manifest.json"] = json.dumps(manifest).encode()
    ordered = {"manifest.json": members.pop("manifest.json"), **members}
    return _archive_with(tmp_path, ordered, f"{change}.tar.gz")


def _truncated(tmp_path: Path, good: Path) -> Path:
    data = good.read_bytes()
    path = tmp_path / "truncated.tar.gz"
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


def _flipped(tmp_path: Path, good: Path) -> Path:
    data = bytearray(good.read_bytes())
    middle = len(data) * 2 // 3
    data[middle : middle + 8] = bytes(b ^ 0xFF for b in data[middle : middle + 8])
    path = tmp_path / "flipped.tar.gz"
    path.write_bytes(bytes(data))
    return path


def _zip(tmp_path: Path, good: Path) -> Path:
    path = tmp_path / "backup.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", "{}")
    return path


FOREIGN = {
    "random bytes": lambda tmp, good: _write(tmp / "random.tar.gz", b"\x00\x01 not an archive"),
    "a zip file": _zip,
    "a tar.gz of other files": lambda tmp, good: _archive_with(
        tmp, {"notes.txt": b"hello", "manifest.json": b"{}"}
    ),
    "a manifest of another program": lambda tmp, good: _archive_with(
        tmp, {"manifest.json": json.dumps({"format": "other", "files": {}}).encode()}
    ),
    "a file name outside the archive": lambda tmp, good: _tampered(tmp, good, "traversal"),
}
DAMAGED = {
    "cut short": _truncated,
    "bytes flipped": _flipped,
    "a file changed": lambda tmp, good: _tampered(tmp, good, "checksum"),
    "a file missing": lambda tmp, good: _tampered(tmp, good, "missing file"),
}


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        *((name, "không phải là bản sao lưu của pgibot") for name in FOREIGN),
        *((name, "bị hỏng") for name in DAMAGED),
        ("newer format", "phiên bản pgibot mới hơn"),
        ("newer revision", "phiên bản pgibot mới hơn"),
    ],
)
async def test_foreign_damaged_and_newer_files_are_refused_and_change_nothing(
    sqlite_backup: Path, tmp_path: Path, case: str, message: str
) -> None:
    make = FOREIGN.get(case) or DAMAGED.get(case)
    bad = make(tmp_path, sqlite_backup) if make else _tampered(tmp_path, sqlite_backup, case)
    target = tmp_path / "target" / "pgibot.sqlite3"
    url = f"sqlite+aiosqlite:///{target}"
    data_dir = tmp_path / "target-data"
    engine = create_engine(url)
    try:
        with pytest.raises(BackupError) as refused:
            await restore_backup(engine, url, data_dir, bad)
        assert message in str(refused.value), str(refused.value)
        assert str(bad) in str(refused.value)
        assert not await holds_data(engine)
        assert await migrate.current_revision(engine) is None
    finally:
        await engine.dispose()
    assert not (data_dir / "evidence").exists()


async def test_a_database_with_data_is_replaced_only_with_force(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    archive = tmp_path / "before.tar.gz"
    await create_backup(database_url, data_dir, archive, START)
    database = Database(database_url)
    engine = database.engine
    try:
        await _officer(database)  # a member added after the backup
        with pytest.raises(BackupError, match="--force"):
            await restore_backup(engine, database_url, data_dir, archive)
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(Member)) == 1
        await restore_backup(engine, database_url, data_dir, archive, force=True)
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(Member)) == 0
            assert await connection.scalar(select(func.count()).select_from(Task)) > 50
    finally:
        await database.dispose()


async def test_a_restore_is_refused_while_an_instance_runs_on_the_database(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    archive = tmp_path / "before.tar.gz"
    await create_backup(database_url, data_dir, archive, START)
    database = Database(database_url)
    try:
        async with UnitOfWork(database) as uow:
            await uow.instances.beat("host-1-abc", START, leader=True)
            await uow.commit()
        with pytest.raises(BackupError, match=f":{os.getpid()}"):
            await restore_backup(
                database.engine, database_url, data_dir, archive, force=True, now=START
            )
        # Its heartbeat over 30 s old: the instance is gone, the restore goes ahead.
        later = START + timedelta(seconds=31)
        await restore_backup(
            database.engine, database_url, data_dir, archive, force=True, now=later
        )
    finally:
        await database.dispose()


async def test_an_older_backup_is_migrated_forward(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    engine = create_engine(f"sqlite+aiosqlite:///{old}")
    previous = migrate.revisions()[-2]
    try:
        await migrate.upgrade(engine, previous)
    finally:
        await engine.dispose()
    archive = tmp_path / "old.tar.gz"
    manifest = await create_backup(f"sqlite+aiosqlite:///{old}", tmp_path / "d", archive, START)
    assert manifest.schema_revision == previous
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.sqlite3'}"
    engine = create_engine(url)
    try:
        restored = await restore_backup(engine, url, tmp_path / "new-data", archive)
        assert restored.migrated_to == migrate.head_revision()
        assert await migrate.current_revision(engine) == migrate.head_revision()
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_backup_of_one_kind_is_not_restored_into_the_other(
    sqlite_backup: Path, empty_postgres_url: str, tmp_path: Path
) -> None:
    engine = create_engine(empty_postgres_url)
    try:
        with pytest.raises(BackupError, match="SQLite"):
            await restore_backup(engine, empty_postgres_url, tmp_path / "d", sqlite_backup)
        assert not await holds_data(engine)
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_without_pg_dump_postgresql_says_what_to_install(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(BackupError, match=r"pg_dump.*postgresql-client"):
        await create_backup(database_url, tmp_path / "d", tmp_path / "x.tar.gz", START)
    assert not (tmp_path / "x.tar.gz").exists()


async def test_the_daily_backup_keeps_the_newest_and_records_its_runs(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "pgibot.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    engine = database.engine
    clock = FrozenClock(START)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a backup: kept")
    job = BackupJob(
        database,
        clock,
        data_dir=tmp_path,
        folder=folder,
        keep=2,
        hour=1,
        zone=ZoneInfo("Asia/Ho_Chi_Minh"),
    )
    try:
        written = []
        for day in range(3):
            clock.set(START + timedelta(days=day))
            written.append(await job.run())
        assert sorted(p.name for p in folder.iterdir()) == [
            "notes.txt",
            "pgibot-20241121-0900.tar.gz",
            "pgibot-20241122-0900.tar.gz",
        ]
        assert written[-1] is not None
        assert unpack(written[-1], None).schema_revision == migrate.head_revision()
        async with UnitOfWork(database) as uow:
            [run] = await uow.jobs.all()
        assert (run.name, run.succeeded, run.last_success_at) == ("backup", True, clock.now())
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE alembic_version"))
        clock.set(START + timedelta(days=3))
        assert await job.run() is None  # a database that is not set up: logged and recorded
        async with UnitOfWork(database) as uow:
            [run] = await uow.jobs.all()
        assert run.succeeded is False
        assert run.last_success_at == START + timedelta(days=2)
        assert run.error and "pgibot init" in run.error
    finally:
        await database.dispose()
    assert prune_backups(folder, 1) == [folder / "pgibot-20241121-0900.tar.gz"]
