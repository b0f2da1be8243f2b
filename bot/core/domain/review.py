"""The coordinator's review of a report: every submitted version waits until someone acts on it."""

from __future__ import annotations

from enum import StrEnum


class ReviewState(StrEnum):
    """Where one version of a report stands in review."""

    WAITING = "waiting"
    """Submitted, not yet accepted or returned ("chờ xem xét")."""
    ACCEPTED = "accepted"
    """Accepted by the coordinator (or, when that step is on, by the agency's leader)."""
    RETURNED = "returned"
    """Sent back for correction with a reason; the correction is a new version."""
