"""What the API and the download route read from, and where they are served."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.core.clock import Clock
from handlers.downloads import DownloadLinks
from storage.db import Database

API_PREFIX = "/api/v1"
FILES_PREFIX = "/files/"
"""Where download links point: the public base URL, then this, then the token."""


@dataclass(frozen=True, slots=True)
class ApiServices:
    """The database and clock the API reads with, and the download links if any."""

    database: Database
    clock: Clock
    links: DownloadLinks | None = None
    """Download links (None: no public address is configured, so none are made)."""


SERVICES: web.AppKey[ApiServices] = web.AppKey("api_services", ApiServices)
