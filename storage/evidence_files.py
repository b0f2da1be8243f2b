"""Evidence files on disk that no stored report names, for ``pgibot evidence prune``.

A file is stored (by its checksum) before the report that names it is committed, and a report
being written keeps its files in the conversation until the officer confirms. So a file is
unused only when no attachment and no conversation names it, and it was last written longer
ago than a grace period (a file written moments ago may belong to a report being confirmed).
Staging files of downloads that never finished are unused after the same grace period.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from storage.backup.archive import EVIDENCE, EVIDENCE_NAME
from storage.db import Database, read_only_session
from storage.models import Attachment, Conversation

GRACE = timedelta(days=1)
INCOMING = "incoming"
"""The staging folder of downloads (handlers.evidence)."""


@dataclass(frozen=True, slots=True)
class UnusedFile:
    """An evidence file that no report or conversation names."""

    name: str
    """Its path relative to the data folder."""
    size: int
    modified: datetime


async def named_files(database: Database) -> set[str]:
    """Return every evidence file an attachment or a conversation in progress names."""
    async with read_only_session(database.engine) as session:
        named = set(await session.scalars(select(Attachment.storage_path)))
        for data in await session.scalars(select(Conversation.data)):
            named.update(EVIDENCE_NAME.findall(json.dumps(data)))
    return named


def unused_files(
    data_dir: Path, named: set[str], now: datetime, grace: timedelta = GRACE
) -> list[UnusedFile]:
    """List the files of the evidence folder that are not named and older than ``grace``."""
    root = data_dir / EVIDENCE
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        name = path.relative_to(data_dir).as_posix()
        stored = EVIDENCE_NAME.fullmatch(name) is not None
        staging = path.parent == root / INCOMING
        if not (stored or staging) or name in named:
            continue
        stat = path.stat()
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        if modified <= now - grace:
            found.append(UnusedFile(name, stat.st_size, modified))
    return found


def remove_files(
    data_dir: Path, files: list[UnusedFile], now: datetime, grace: timedelta = GRACE
) -> list[UnusedFile]:
    """Delete the files, except any written again since they were listed; return the deleted."""
    removed = []
    for file in files:
        path = data_dir / file.name
        try:
            if datetime.fromtimestamp(path.stat().st_mtime, UTC) > now - grace:
                continue  # the same content was stored again meanwhile
            os.unlink(path)
        except FileNotFoundError:
            continue
        removed.append(file)
    return removed
