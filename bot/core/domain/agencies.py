"""Agencies: the bodies that lead and support the plan's tasks, and what became of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
    """What became of it (merged or retired from ``valid_to``), or active."""
    successor_code: str | None = None
    valid_from: date | None = None
    """The first day it exists (None: before the plan)."""
    valid_to: date | None = None
    """The first day it no longer exists (None: it still does)."""

    def exists_on(self, on: date) -> bool:
        """Tell whether the agency exists on a day."""
        return (self.valid_from is None or self.valid_from <= on) and (
            self.valid_to is None or on < self.valid_to
        )
