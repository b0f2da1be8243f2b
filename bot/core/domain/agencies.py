"""Agencies: the bodies that lead and support the plan's tasks, and what became of them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AgencyStatus(StrEnum):
    """Whether an agency still reports, or what became of it."""

    ACTIVE = "active"
    MERGED = "merged"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True)
class AgencyInfo:
    """An agency as the rest of the program sees it."""

    id: int
    code: str
    name: str
    short_name: str
    kind: str
    status: AgencyStatus
    successor_code: str | None = None
