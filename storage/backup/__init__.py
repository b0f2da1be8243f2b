"""Backups that restore: the database and the evidence files in one checked archive.

A backup is a gzip-compressed tar archive whose first member is ``manifest.json``::

    {"format": "pgibot-backup", "format_version": 1,
     "created_at": "2026-12-06T01:00:00+00:00", "database": "sqlite",
     "schema_revision": "20261206_report_versions",
     "files": {"database.sqlite3": {"size": 1234, "sha256": "..."},
               "evidence/ab/ab12….pdf": {"size": 5678, "sha256": "..."}}}

followed by the database (``database.sqlite3``: a copy made with SQLite's online backup API,
consistent while the bot writes; or ``database.pgdump``: ``pg_dump --format=custom``) and the
evidence files under their place in the data folder. The database is copied first and the
evidence folder listed afterwards: a file is stored before the report that names it is
committed, so every attachment of the copy has its file in the archive.

Restoring checks everything before it changes anything: the archive's form, every file's
checksum, the database kind, the schema revision (a backup newer than the code is refused, an
older one is migrated forward after it is restored) and, without ``force``, that the target
database holds no data.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.i18n import _
from storage import migrate
from storage.backup.archive import (
    POSTGRES_FILE,
    SQLITE_FILE,
    BackupError,
    Manifest,
    damaged,
    database_kind,
    evidence_files,
    kind_name,
    sqlite_path,
    unpack,
    write_archive,
)
from storage.backup.pgtools import pg_dump, pg_restore
from storage.db import create_engine
from storage.repositories.instances import ALIVE_FOR

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000

__all__ = [
    "BackupError",
    "Manifest",
    "Restored",
    "create_backup",
    "daily_name",
    "database_kind",
    "holds_data",
    "kind_name",
    "prune_backups",
    "restore_backup",
    "unpack",
]


@dataclass(frozen=True, slots=True)
class Restored:
    """What a restore did."""

    manifest: Manifest
    migrated_to: str | None
    """The revision the restored database was migrated forward to; None when it was current."""
    evidence_files: int
    missing_files: list[str]
    """Evidence files the restored reports name that are neither in the archive nor on disk."""


# --- making a backup ------------------------------------------------------------------------


async def create_backup(url: str, data_dir: Path, out: Path, now: datetime) -> Manifest:
    """Write a backup of the database and the evidence files to ``out``.

    The archive is written beside ``out`` under a temporary name and renamed when complete,
    so ``out`` is never a half-written backup.
    """
    kind = database_kind(url)
    await asyncio.to_thread(out.parent.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pgibot-backup-", dir=out.parent) as work:
        dump = Path(work) / (SQLITE_FILE if kind == "sqlite" else POSTGRES_FILE)
        if kind == "sqlite":
            await asyncio.to_thread(_sqlite_copy, sqlite_path(url), dump)
            revision = await asyncio.to_thread(_revision_of_copy, dump)
        else:
            revision = await _current_revision(url)  # before the dump: never newer than it
            await pg_dump(url, dump)
        if revision is None:
            raise BackupError(_("The database is not set up; run `pgibot init` first."))
        evidence = await asyncio.to_thread(evidence_files, data_dir)  # after the database
        sources = {dump.name: dump, **evidence}
        manifest = await asyncio.to_thread(write_archive, sources, out, kind, revision, now)
    logger.info(
        "backup written to %(file)s (%(count)s evidence files)",
        {"file": out, "count": len(manifest.evidence)},
    )
    return manifest


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite database with the online backup API (one consistent snapshot)."""
    if not source.is_file():
        raise BackupError(_("There is no database at %(path)s.") % {"path": source})
    src = sqlite3.connect(source)
    try:
        src.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, writers go on (WAL)
        finally:
            dst.close()
    finally:
        src.close()


def _revision_of_copy(path: Path) -> str | None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        connection.close()
    return str(row[0]) if row else None


async def _current_revision(url: str) -> str | None:
    engine = create_engine(url)
    try:
        return await migrate.current_revision(engine)
    finally:
        await engine.dispose()


# --- restoring -----------------------------------------------------------------------------


async def holds_data(engine: AsyncEngine) -> bool:
    """Tell whether a database has a row in any table (Alembic's own aside)."""

    def tables(connection: Connection) -> list[str]:
        return [
            name for name in inspect(connection).get_table_names() if name != "alembic_version"
        ]

    async with engine.connect() as connection:
        for name in await connection.run_sync(tables):
            quoted = connection.dialect.identifier_preparer.quote(name)
            if await connection.scalar(text(f"SELECT 1 FROM {quoted} LIMIT 1")) is not None:
                return True
    return False


async def _running_instances(engine: AsyncEngine, now: datetime) -> list[str]:
    """Name the bot instances whose heartbeat is recent (host and process id)."""

    def read(connection: Connection) -> list[str]:
        if not inspect(connection).has_table("instance"):
            return []  # a database before heartbeats, or an empty one
        rows = connection.execute(
            text("SELECT host, pid FROM instance WHERE seen_at >= :since ORDER BY host, pid"),
            {"since": now - ALIVE_FOR},
        )
        return [f"{host}:{pid}" for host, pid in rows]

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def restore_backup(
    engine: AsyncEngine,
    url: str,
    data_dir: Path,
    archive: Path,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> Restored:
    """Restore a backup into the database at ``url`` (``engine`` opens it) and the data folder.

    The bot must not be running on that database meanwhile: a restore is refused, ``force``
    or not, while an instance's heartbeat is recent (as of ``now``, by default the system's
    time). Nothing is changed until the archive has been checked in full and the database
    found empty (or ``force`` given).
    """
    kind = database_kind(url)
    running = await _running_instances(engine, now or datetime.now(UTC))
    if running:
        raise BackupError(
            _(
                "The bot is running on this database (%(instances)s). Stop every instance "
                "before restoring: a restore replaces what they are writing."
            )
            % {"instances": ", ".join(running)}
        )
    manifest = await asyncio.to_thread(unpack, archive, None)
    if manifest.database != kind:
        raise BackupError(
            _(
                "%(file)s holds a %(kind)s database; the database to restore into is "
                "%(target)s. Restore it into a database of the same kind."
            )
            % {
                "file": archive,
                "kind": kind_name(manifest.database),
                "target": kind_name(kind),
            }
        )
    known = migrate.revisions()
    if manifest.schema_revision not in known:
        raise BackupError(
            _(
                "%(file)s was made by a newer version of pgibot (database revision %(rev)s, "
                "which this version does not know); update pgibot to restore it."
            )
            % {"file": archive, "rev": manifest.schema_revision}
        )
    if not force and await holds_data(engine):
        raise BackupError(
            _(
                "The database to restore into already holds data. Restoring replaces all of it "
                "with the backup's; to do so, add --force."
            )
        )
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pgibot-restore-", dir=data_dir) as work:
        staged = Path(work)
        await asyncio.to_thread(unpack, archive, staged)
        dump = staged / manifest.database_file
        await engine.dispose()
        if kind == "sqlite":
            await asyncio.to_thread(_sqlite_restore, dump, sqlite_path(url), manifest, archive)
        else:
            await pg_restore(engine, url, dump)
        moved = await asyncio.to_thread(_place_evidence, staged, data_dir, manifest)
    revision = await migrate.current_revision(engine)
    migrated_to = None
    if revision != migrate.head_revision():
        await migrate.upgrade(engine)
        migrated_to = migrate.head_revision()
    missing = await _missing_evidence(engine, data_dir)
    logger.info(
        "backup %(file)s restored (%(count)s evidence files)", {"file": archive, "count": moved}
    )
    return Restored(manifest, migrated_to, len(manifest.evidence), missing)


def _sqlite_restore(copy: Path, target: Path, manifest: Manifest, archive: Path) -> None:
    """Check the unpacked copy, then write it over the target with the backup API."""
    source = sqlite3.connect(copy)
    try:
        check = source.execute("PRAGMA integrity_check").fetchone()
        if not check or check[0] != "ok":
            raise damaged(archive, _("the database fails SQLite's integrity check"))
        if _revision_of_copy(copy) != manifest.schema_revision:
            raise damaged(archive, _("the database's revision is not the manifest's"))
        target.parent.mkdir(parents=True, exist_ok=True)
        destination = sqlite3.connect(target)
        try:
            destination.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            source.backup(destination)
        finally:
            destination.close()
    except sqlite3.DatabaseError as error:
        raise damaged(archive, str(error)) from None
    finally:
        source.close()


def _place_evidence(staged: Path, data_dir: Path, manifest: Manifest) -> int:
    """Move the unpacked evidence files to their place (files already there are kept)."""
    for name in manifest.evidence:
        target = data_dir / name
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged / name, target)
    return len(manifest.evidence)


async def _missing_evidence(engine: AsyncEngine, data_dir: Path) -> list[str]:
    async with engine.connect() as connection:
        paths = (await connection.execute(text("SELECT storage_path FROM attachment"))).scalars()
        return sorted({p for p in paths if p and not (data_dir / p).is_file()})


# --- the daily backup's files ---------------------------------------------------------------

DAILY_PREFIX = "pgibot-"
DAILY_SUFFIX = ".tar.gz"


def daily_name(local: datetime) -> str:
    """Return the file name of a scheduled backup made at a local moment."""
    return f"{DAILY_PREFIX}{local:%Y%m%d-%H%M}{DAILY_SUFFIX}"


def prune_backups(folder: Path, keep: int) -> list[Path]:
    """Delete the oldest scheduled backups beyond the newest ``keep``; return those deleted."""
    pattern = re.compile(re.escape(DAILY_PREFIX) + r"\d{8}-\d{4}" + re.escape(DAILY_SUFFIX))
    found = sorted(p for p in folder.glob(f"{DAILY_PREFIX}*") if pattern.fullmatch(p.name))
    old = found[: max(len(found) - keep, 0)]
    for path in old:
        path.unlink(missing_ok=True)
    return old
