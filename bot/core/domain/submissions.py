"""The reports officers submit on tasks: what they say, their evidence files, their versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from bot.core.domain.review import Review, ReviewState


class ReportStatus(StrEnum):
    """Where a task stands, as an officer reports it."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    """An evidence file stored with a submission."""

    file_name: str
    mime_type: str | None
    size: int
    sha256: str
    storage_path: str
    platform_file_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewSubmission:
    """What an officer confirmed, ready to be stored."""

    cycle_id: int
    task_id: int
    agency_id: int
    member_id: int
    status: ReportStatus
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    idempotency_key: str | None
    attachments: list[AttachmentInfo] = field(default_factory=list)
    period_start: date | None = None
    period_end: date | None = None
    """The days its figures count from and to (``bot.core.domain.periods``)."""


@dataclass(frozen=True, slots=True)
class SubmissionInfo:
    """A stored submission with what a reader needs to see."""

    id: int
    cycle_year: int
    task_id: int
    task_code: str
    task_title: str
    agency_name: str
    member_name: str
    status: ReportStatus
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    version: int
    created_at: datetime
    attachment_count: int
    review: Review = field(default_factory=lambda: Review(ReviewState.WAITING))
    """Where this version stands in review."""
    period_start: date | None = None
    period_end: date | None = None
    """The days its figures count from and to (None: stored before periods were kept)."""
