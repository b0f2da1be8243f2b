"""Download links: a file a platform cannot send (Zalo) handed over by a short-lived address.

Usage::

    links = DownloadLinks(database, clock, data_dir, "https://bot.example.gov.vn/files/",
                          valid_for=timedelta(minutes=30), once=False)
    url, expires_at = await links.create(outgoing_file)   # the sender puts it in the message
    found = await links.take(token)                       # the web server's GET /files/{token}

The file is written under ``downloads/`` of the data folder, named by its SHA-256 (two links
to the same bytes share it); the link is a random token whose SHA-256 is stored with the
file's name, type, expiry and whether it may be used once only. Expired links and the files
no live link names are removed when a new link is made.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.clock import Clock
from bot.core.domain.access import DownloadFile, LinkRefusal
from bot.core.messages import OutgoingFile
from storage.db import Database
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

FOLDER = "downloads"
"""The folder of the data folder where linked files are kept."""
KEEP_EXPIRED = timedelta(days=1)
"""How long an expired link is kept, so that it is refused as expired rather than unknown."""


@dataclass(frozen=True, slots=True)
class Found:
    """A link's file: its description and where its bytes are."""

    file: DownloadFile
    path: Path


class DownloadLinks:
    """Make links to files and give a link's file back while it is valid."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        data_dir: Path,
        base_url: str,
        *,
        valid_for: timedelta,
        once: bool,
    ) -> None:
        self._database = database
        self._clock = clock
        self._folder = data_dir / FOLDER
        self.base_url = base_url
        """What a link starts with: the web server's public address and ``/files/``."""
        self.valid_for = valid_for
        self.once = once

    async def create(self, file: OutgoingFile) -> tuple[str, datetime]:
        """Store a file and make a link to it; return the link and when it expires."""
        sha256 = hashlib.sha256(file.content).hexdigest()
        await asyncio.to_thread(self._write, sha256, file.content)
        now = self._clock.now()
        described = DownloadFile(file.file_name, file.mime_type, sha256, len(file.content))
        async with UnitOfWork(self._database) as uow:
            stale = await uow.downloads.purge(now - KEEP_EXPIRED)
            token = uow.downloads.create(
                described, now=now, valid_for=self.valid_for, once=self.once
            )
            await uow.commit()
        for name in stale - {sha256}:
            (self._folder / name).unlink(missing_ok=True)
        return self.base_url + token, now + self.valid_for

    async def take(self, token: str) -> Found | LinkRefusal:
        """Return a link's file (using a one-use link up), or why the link gives nothing."""
        async with UnitOfWork(self._database) as uow:
            taken = await uow.downloads.take(token, self._clock.now())
            await uow.commit()
        if isinstance(taken, LinkRefusal):
            return taken
        path = self._folder / taken.sha256
        if not path.is_file():  # removed by hand: the link can no longer give anything
            logger.warning("the file of a download link is missing: %s", path)
            return LinkRefusal.EXPIRED
        return Found(taken, path)

    def _write(self, sha256: str, content: bytes) -> None:
        """Write the bytes under their checksum, atomically (the same bytes: nothing to do)."""
        target = self._folder / sha256
        if target.is_file():
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        staging = self._folder / f".{sha256}.{secrets.token_hex(4)}"
        staging.write_bytes(content)
        os.replace(staging, target)
