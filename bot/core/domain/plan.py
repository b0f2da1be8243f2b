"""The plan as stored: indices, tasks and who is assigned to them, cycles and their deadlines."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from bot.core.domain.agencies import AgencyInfo


class AssignmentRole(StrEnum):
    """Whether an agency leads (chủ trì) or supports (phối hợp) a task."""

    LEAD = "lead"
    SUPPORT = "support"


RESULT_KINDS = ("progress_report", "final_report")
"""Milestones at which the agencies report on their tasks of section II."""


def asks_for(kind: str, *, section_ii: bool, linked: bool) -> bool:
    """Tell whether a milestone asks the lead agencies of a task for a report on it.

    From section III of the plan: the implementation plan (20/7, task III.1.2) and the
    consolidated report (20/12, task III.5) are the deliverable of the task tied to them,
    asked of that task's leads; the results report (10/12), like a periodic progress report,
    is each agency's report on every task of section II it leads (and on a task tied to it).
    A task of section III tied to no milestone is asked at none.
    """
    return linked or (kind in RESULT_KINDS and section_ii)


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
    period: str = "year"
    """``year``, ``half_year`` or ``quarter``: what its figures cover (``domain.periods``)."""
    cutoff: str | None = None
    """The last day its figures count, ``dd/mm``, if the plan file fixes one."""


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
class CycleInfo:
    """A yearly cycle and when reports on it may still be corrected."""

    id: int
    year: int
    correction_deadline: date | None


@dataclass(slots=True)
class ImportResult:
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


def in_cycle(text: str, year: int, written: int) -> str:
    """Return a task's words as they read in a cycle: the plan's own year is the cycle's.

    The plan was written for its first year ("chỉ số PGI năm 2024", "trước ngày 20/7/2024");
    in a later cycle those read with the cycle's year. Other years (the results of 2023) and
    the plan's title ("năm 2024 và những năm tiếp theo") stay as written.
    """
    if year <= written:
        return text
    text = re.sub(rf"(?<=năm ){written}\b(?! và những năm tiếp theo)", str(year), text)
    return re.sub(rf"(?<=\d/){written}\b", str(year), text)
