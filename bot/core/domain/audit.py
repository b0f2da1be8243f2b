"""Entries of the audit log as readers see them: who did what, when, from where."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the audit log, with the acting member's name when there is one."""

    id: int
    at: datetime
    action: str
    member_id: int | None
    member_name: str | None
    channel: str | None
    user_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which entries to read: from a moment, by or about a member, of an action (or family).

    ``action`` matches an action exactly or, written without a dot, a family of actions
    (``member`` matches ``member.role``, ``member.remove``...).
    """

    since: datetime | None = None
    member_id: int | None = None
    action: str | None = None
