"""Retention: how long processed update payloads and audit entries are kept, and the purge.

The inbox keeps each platform update's payload (what a user wrote or sent: personal data)
only to process it exactly once and to recover after a crash; once processed it is needed
for a short while to look into a fault, then not at all. The audit log answers for who did
what (registrations, refusals, forged buttons, reports) and is kept long enough to cover the
current reporting year and the one before it. Both are purged in small batches, each in its
own short transaction, so a purge never holds the database for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

INBOX_DAYS = 30
"""Processed update payloads are kept 30 days: long enough to look into a fault reported by a
user or an administrator, far longer than the intake's window for recognising a redelivery
(the setting cannot go below a week, so a redelivered update is always recognised)."""
AUDIT_DAYS = 730
"""Audit entries are kept two years: a report filed for one year can be questioned until the
consolidated report of the next, and so can who registered, was refused or was removed."""
BATCH = 1000
"""Rows deleted per transaction."""


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How many days processed inbox payloads and audit entries are kept."""

    inbox_days: int = INBOX_DAYS
    audit_days: int = AUDIT_DAYS

    @classmethod
    def from_days(cls, inbox_days: int, audit_days: int) -> RetentionPolicy:
        """Build the policy from the settings."""
        return cls(inbox_days=inbox_days, audit_days=audit_days)

    def inbox_before(self, now: datetime) -> datetime:
        """Return the moment before which processed updates are purged."""
        return now - timedelta(days=self.inbox_days)

    def audit_before(self, now: datetime) -> datetime:
        """Return the moment before which audit entries are purged."""
        return now - timedelta(days=self.audit_days)


@dataclass(frozen=True, slots=True)
class Purged:
    """How many rows a purge deleted, per table."""

    inbox: int = 0
    audit: int = 0


__all__ = [
    "AUDIT_DAYS",
    "BATCH",
    "INBOX_DAYS",
    "Purged",
    "RetentionPolicy",
]
