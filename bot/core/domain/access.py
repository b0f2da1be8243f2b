"""Access from outside the chats: the API's keys, and the links to files a platform cannot send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """An API key as the administrator sees it (never the key itself, which is not kept)."""

    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Whether the key still opens the API."""
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class DownloadFile:
    """A file behind a download link: where it is stored, and how to hand it over."""

    file_name: str
    media_type: str
    sha256: str
    size: int


class LinkRefusal(Enum):
    """Why a download link does not give its file."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


def link_refusal(
    expires_at: datetime, used_at: datetime | None, once: bool, now: datetime
) -> LinkRefusal | None:
    """Say why a link no longer gives its file (None: it does)."""
    if once and used_at is not None:
        return LinkRefusal.USED
    if expires_at <= now:
        return LinkRefusal.EXPIRED
    return None


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """One version of an agency's report, as the API hands it to another system.

    Versions are never changed once made: a correction is a new version, so a record's
    ``created_at`` is also when it last changed.
    """

    id: int
    year: int
    task_code: str
    agency_code: str
    agency_name: str
    """The agency's name on the day of the report."""
    member_name: str
    status: str
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    version: int
    created_at: datetime
    attachments: int
