"""Finding reports: what a search asks, what one found report and its evidence files are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """A search among a year's reports; every criterion left empty matches everything."""

    year: int
    text: str = ""
    """Words in the results, the difficulties or the proposals."""
    agency_ids: tuple[int, ...] = ()
    """The agencies whose reports are wanted (an agency and those merged into it)."""
    person: str = ""
    """Part of the reporting officer's name."""
    task_code: str = ""
    status: str = ""
    since: date | None = None
    until: date | None = None
    """Local days, both included."""
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    """An evidence file of a report, as a reader lists it."""

    id: int
    submission_id: int
    file_name: str
    mime_type: str | None
    size: int


@dataclass(frozen=True, slots=True)
class EvidenceFile:
    """An evidence file to deliver: where it is stored and whose report it belongs to."""

    info: EvidenceInfo
    storage_path: str
    agency_id: int


@dataclass(frozen=True, slots=True)
class ReportHit:
    """One version of a report, found."""

    id: int
    number: str
    """``2024/00042``: the number the spreadsheet gives it."""
    created_at: datetime
    task_code: str
    task_title: str
    agency_id: int
    agency_name: str
    member_name: str
    status: str
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    version: int
    evidence: tuple[EvidenceInfo, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class ReportPage:
    """A page of found reports, and how many were found in all."""

    hits: list[ReportHit]
    total: int
