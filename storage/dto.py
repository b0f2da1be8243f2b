"""Plain dataclasses the repositories return; nothing outside storage sees a model."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.core.domain.members import InvitationInfo as InvitationInfo  # bridge: sweep
from bot.core.domain.members import MemberInfo as MemberInfo  # bridge: sweep
from bot.core.domain.members import Role as Role  # bridge: sweep


class AgencyStatus(StrEnum):
    """Whether an agency still reports, or what became of it."""

    ACTIVE = "active"
    MERGED = "merged"
    RETIRED = "retired"


class AssignmentRole(StrEnum):
    """Whether an agency leads (chủ trì) or supports (phối hợp) a task."""

    LEAD = "lead"
    SUPPORT = "support"


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


@dataclass(frozen=True, slots=True)
class MilestoneInfo:
    """A dated deadline of a cycle."""

    id: int
    code: str
    kind: str
    title: str
    year: int
    due_date: date
    recipients: str


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as one agency sees it."""

    id: int
    code: str
    title: str
    text: str
    index_code: str | None
    index_name: str | None
    role: AssignmentRole


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """A component index with its scores."""

    id: int
    code: str
    name: str
    baseline_year: int
    baseline_score: float
    target_score: float
    increase: float


@dataclass(frozen=True, slots=True)
class PlanTaskView:
    """A task with every agency assigned to it, for `plan show`."""

    code: str
    title: str
    leads: list[str]
    supports: list[str]


@dataclass(frozen=True, slots=True)
class PlanIndexView:
    """An index with its tasks, for `plan show`."""

    index: IndexInfo
    tasks: list[PlanTaskView]


@dataclass(frozen=True, slots=True)
class PlanView:
    """The whole plan as stored: indices, tasks, agencies and milestones."""

    code: str
    title: str
    coordinator: str | None
    indices: list[PlanIndexView]
    organisational_tasks: list[PlanTaskView]
    agencies: list[AgencyInfo]
    milestones: list[MilestoneInfo]


@dataclass(frozen=True, slots=True)
class ConversationState:
    """Where a chat stands in a conversation."""

    state: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ImportReport:
    """What importing a plan file changed."""

    plan_code: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], kind: str, amount: int = 1) -> None:
        """Add to one of the counters."""
        bucket[kind] = bucket.get(kind, 0) + amount

    @property
    def changed(self) -> bool:
        """Tell whether the import changed anything."""
        return bool(self.created or self.updated or self.removed)


class ReportStatus(StrEnum):
    """Where a task stands, as an officer reports it."""

    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class CycleInfo:
    """A yearly cycle and when reports on it may still be corrected."""

    id: int
    year: int
    correction_deadline: date | None


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
