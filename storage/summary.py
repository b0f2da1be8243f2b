"""The state of the whole plan for one year: what the coordinator's summary and files show.

A task's state in a year is decided by its lead agencies ("chủ trì"), from the latest version of
each one's report: blocked if any lead agency reports difficulties, done when every lead agency
reports it done, in progress when some work is reported, not started when every report says so,
and unreported when no lead agency has reported yet.

The reports of the other agencies (the supporting ones, "phối hợp", or any agency the bot took
a report from) are the task's contributions: shown under the task and counted apart, they never
change its state nor stand for a lead agency's report; a blocked contribution is listed with the
difficulties all the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.text import sort_key
from storage.agencies import coordinator_agency, current_agency
from storage.dto import MilestoneInfo
from storage.models import (
    Agency,
    Assignment,
    Attachment,
    Cycle,
    Member,
    Milestone,
    MilestoneRule,
    Plan,
    PlanIndex,
    Submission,
    Task,
)

STATES = ("done", "in_progress", "not_started", "blocked", "unreported")


@dataclass(frozen=True, slots=True)
class LatestReport:
    """The latest version of one agency's report on one task."""

    agency_id: int
    agency_name: str
    status: str
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    created_at: datetime
    supporting: bool = False
    """True for a contribution: the agency does not lead the task."""


@dataclass(frozen=True, slots=True)
class TaskState:
    """Where a task stands in the year, from its lead agencies' latest reports."""

    id: int
    code: str
    title: str
    index_code: str | None
    lead_agencies: list[str]
    state: str
    progress: int
    reports: list[LatestReport]
    """The lead agencies' latest reports."""
    supporting_agencies: list[str] = field(default_factory=list)
    contributions: list[LatestReport] = field(default_factory=list)
    """The latest reports of agencies that do not lead the task (supporting ones first)."""

    @property
    def reported(self) -> int:
        """Return how many lead agencies have reported."""
        return len(self.reports)

    @property
    def all_reports(self) -> list[LatestReport]:
        """Return the lead agencies' reports, then the contributions."""
        return self.reports + self.contributions


@dataclass(frozen=True, slots=True)
class IndexState:
    """A component index with its tasks and how many are in each state."""

    code: str
    name: str
    baseline_year: int
    baseline_score: float
    target_score: float
    tasks: list[TaskState]

    def count(self, state: str) -> int:
        """Return how many tasks are in a state."""
        return sum(1 for task in self.tasks if task.state == state)


@dataclass(frozen=True, slots=True)
class AgencyState:
    """An agency's part in the year: tasks it leads, what it reported, who reports for it."""

    id: int
    code: str
    name: str
    kind: str
    lead_tasks: list[str]
    reported_tasks: list[str]
    members: list[str]
    last_report_at: datetime | None
    support_tasks: list[str] = field(default_factory=list)
    contributed_tasks: list[str] = field(default_factory=list)
    """The tasks it does not lead on which it has reported."""

    @property
    def pending_tasks(self) -> list[str]:
        """Return the codes of the lead tasks not reported yet."""
        done = set(self.reported_tasks)
        return [code for code in self.lead_tasks if code not in done]


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """The whole plan in one year."""

    plan_title: str
    province: str
    issuer: str
    signer: str | None
    coordinator: str | None
    year: int
    today: date
    milestone: MilestoneInfo | None
    """The deadline the agencies are working towards now (or the last one of the year)."""
    indices: list[IndexState]
    organisational: list[TaskState]
    agencies: list[AgencyState]
    submission_count: int
    milestones: list[MilestoneInfo] = field(default_factory=list)

    @property
    def all_tasks(self) -> list[TaskState]:
        """Return every task, organisational ones last."""
        return [t for index in self.indices for t in index.tasks] + self.organisational

    @property
    def leading_agencies(self) -> list[AgencyState]:
        """Return the agencies that lead at least one task."""
        return [a for a in self.agencies if a.lead_tasks]

    @property
    def reported_agencies(self) -> list[AgencyState]:
        """Return the agencies that reported on every task they lead."""
        return [a for a in self.agencies if a.lead_tasks and not a.pending_tasks]

    @property
    def not_reported(self) -> list[AgencyState]:
        """Return the agencies with lead tasks still unreported."""
        return [a for a in self.agencies if a.pending_tasks]

    @property
    def late(self) -> bool:
        """Tell whether the current deadline has passed."""
        return self.milestone is not None and self.milestone.due_date < self.today

    @property
    def blocked(self) -> list[tuple[TaskState, LatestReport]]:
        """Return every (task, report) whose latest report says the work is blocked.

        Contributions count here: a supporting agency's difficulties are the task's too.
        """
        return [(t, r) for t in self.all_tasks for r in t.all_reports if r.status == "blocked"]


@dataclass(frozen=True, slots=True)
class SubmissionRow:
    """One submission, every version, for the spreadsheet and the report's sources."""

    number: str
    created_at: datetime
    task_code: str
    task_title: str
    index_code: str | None
    agency_name: str
    member_name: str
    status: str
    progress: int
    results: str
    difficulties: str | None
    proposals: str | None
    version: int
    attachments: int
    lead: bool = True
    """Whether the agency leads the task (False for a supporting agency's contribution)."""


class SummaryRepository:
    """Build the plan's state in a year, for everyone or for one agency."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def years(self) -> list[int]:
        """Return the years that have a cycle."""
        return list(await self._session.scalars(select(Cycle.year).order_by(Cycle.year)))

    async def summary(
        self, year: int, today: date, agency_id: int | None = None
    ) -> PlanSummary | None:
        """Return the plan's state in a year (limited to one agency's tasks if given)."""
        plan = await self._session.scalar(select(Plan).order_by(Plan.id).limit(1))
        cycle = await self._session.scalar(
            select(Cycle).where(Cycle.year == year, Cycle.plan_id == (plan.id if plan else 0))
        )
        if plan is None or cycle is None:
            return None
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        successor = {a.id: (await current_agency(self._session, a)).id for a in agencies.values()}
        tasks = list(
            await self._session.scalars(
                select(Task)
                .where(Task.plan_id == plan.id, Task.active.is_(True))
                .order_by(Task.position)
            )
        )
        leads: dict[int, list[int]] = {}
        supports: dict[int, list[int]] = {}
        for task_id, agency_id_, role in await self._session.execute(
            select(Assignment.task_id, Assignment.agency_id, Assignment.role).order_by(
                Assignment.id
            )
        ):
            (leads if role == "lead" else supports).setdefault(task_id, []).append(agency_id_)
        latest = await self._latest(cycle.id, successor, agencies)
        by_task: dict[int, list[LatestReport]] = {}
        for (task_id, _owner), report in latest.items():
            by_task.setdefault(task_id, []).append(report)
        if agency_id is not None:  # a leader: the tasks the agency leads, supports or reported on
            tasks = [
                t
                for t in tasks
                if agency_id in leads.get(t.id, [])
                or agency_id in supports.get(t.id, [])
                or (t.id, agency_id) in latest
            ]
        states = {
            t.id: self._task_state(t, leads, supports, latest, by_task, agencies) for t in tasks
        }
        index_rows = list(
            await self._session.scalars(
                select(PlanIndex).where(PlanIndex.plan_id == plan.id).order_by(PlanIndex.position)
            )
        )
        code_of_index = {i.id: i.code for i in index_rows}
        for task in tasks:
            states[task.id] = replace(
                states[task.id], index_code=code_of_index.get(task.index_id or 0)
            )
        indices = [
            IndexState(
                i.code,
                i.name,
                i.baseline_year,
                i.baseline_score,
                i.target_score,
                [states[t.id] for t in tasks if t.index_id == i.id],
            )
            for i in index_rows
        ]
        milestones = await self._milestones(cycle.id)
        coordinator = await coordinator_agency(self._session)
        return PlanSummary(
            plan_title=plan.title,
            province=plan.province,
            issuer=plan.issuer,
            signer=plan.signer,
            coordinator=coordinator.name if coordinator else None,
            year=year,
            today=today,
            milestone=_current_milestone(milestones, today),
            indices=indices,
            organisational=[states[t.id] for t in tasks if t.index_id is None],
            agencies=await self._agencies(tasks, leads, supports, latest, agencies, agency_id),
            submission_count=await self._count(cycle.id, agency_id),
            milestones=milestones,
        )

    async def _latest(
        self, cycle_id: int, successor: dict[int, int], agencies: dict[int, Agency]
    ) -> dict[tuple[int, int], LatestReport]:
        """Return the latest report per (task, current agency) in a cycle."""
        ranked = (
            select(
                Submission,
                func.row_number()
                .over(
                    partition_by=(Submission.task_id, Submission.agency_id),
                    order_by=(Submission.version.desc(), Submission.id.desc()),
                )
                .label("rank"),
            )
            .where(Submission.cycle_id == cycle_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                ranked.c.task_id,
                ranked.c.agency_id,
                ranked.c.status,
                ranked.c.progress,
                ranked.c.results,
                ranked.c.difficulties,
                ranked.c.proposals,
                ranked.c.created_at,
            ).where(ranked.c.rank == 1)
        )
        latest: dict[tuple[int, int], LatestReport] = {}
        for task_id, agency_id, status, progress, results, difficulties, proposals, at in rows:
            owner = successor.get(agency_id, agency_id)
            key = (task_id, owner)
            report = LatestReport(
                owner,
                agencies[owner].name,
                status,
                progress,
                results,
                difficulties,
                proposals,
                at,
            )
            if key not in latest or latest[key].created_at < report.created_at:
                latest[key] = report
        return latest

    @staticmethod
    def _task_state(
        task: Task,
        leads: dict[int, list[int]],
        supports: dict[int, list[int]],
        latest: dict[tuple[int, int], LatestReport],
        by_task: dict[int, list[LatestReport]],
        agencies: dict[int, Agency],
    ) -> TaskState:
        lead_ids = [a for a in leads.get(task.id, []) if agencies[a].status == "active"]
        support_ids = [
            a
            for a in supports.get(task.id, [])
            if agencies[a].status == "active" and a not in lead_ids
        ]
        reports = [latest[(task.id, a)] for a in lead_ids if (task.id, a) in latest]
        others = sorted(
            (r for r in by_task.get(task.id, []) if r.agency_id not in lead_ids),
            key=lambda r: (r.agency_id not in support_ids, sort_key(r.agency_name)),
        )
        contributions = [replace(report, supporting=True) for report in others]
        statuses = {r.status for r in reports}
        if not reports:
            state = "unreported"
        elif "blocked" in statuses:
            state = "blocked"
        elif statuses == {"done"} and len(reports) == len(lead_ids):
            state = "done"
        elif statuses == {"not_started"}:
            state = "not_started"
        else:
            state = "in_progress"
        progress = round(sum(r.progress for r in reports) / len(lead_ids)) if lead_ids else 0
        return TaskState(
            task.id,
            task.code,
            task.title,
            None,
            [agencies[a].name for a in lead_ids],
            state,
            progress,
            reports,
            [agencies[a].name for a in support_ids],
            contributions,
        )

    async def _agencies(
        self,
        tasks: list[Task],
        leads: dict[int, list[int]],
        supports: dict[int, list[int]],
        latest: dict[tuple[int, int], LatestReport],
        agencies: dict[int, Agency],
        only: int | None,
    ) -> list[AgencyState]:
        members: dict[int, list[str]] = {}
        for agency_id, name in await self._session.execute(
            select(Member.agency_id, Member.full_name).where(Member.active.is_(True))
        ):
            members.setdefault(agency_id, []).append(name)
        for names in members.values():
            names.sort(key=sort_key)  # Vietnamese order, not the database's byte order
        result = []
        for agency in sorted(agencies.values(), key=lambda a: sort_key(a.name)):
            if agency.status != "active" or (only is not None and agency.id != only):
                continue
            lead = [t for t in tasks if agency.id in leads.get(t.id, [])]
            support = [t for t in tasks if agency.id in supports.get(t.id, []) and t not in lead]
            contributed = [t for t in tasks if t not in lead and (t.id, agency.id) in latest]
            if not lead and not support and not contributed:
                continue
            reports = [latest[(t.id, agency.id)] for t in tasks if (t.id, agency.id) in latest]
            result.append(
                AgencyState(
                    id=agency.id,
                    code=agency.code,
                    name=agency.name,
                    kind=agency.kind,
                    lead_tasks=[t.code for t in lead],
                    reported_tasks=[t.code for t in lead if (t.id, agency.id) in latest],
                    members=members.get(agency.id, []),
                    last_report_at=max((r.created_at for r in reports), default=None),
                    support_tasks=[t.code for t in support],
                    contributed_tasks=[t.code for t in contributed],
                )
            )
        return result

    async def _milestones(self, cycle_id: int) -> list[MilestoneInfo]:
        rows = await self._session.execute(
            select(Milestone, MilestoneRule, Cycle)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .join(Cycle, Cycle.id == Milestone.cycle_id)
            .where(Milestone.cycle_id == cycle_id, MilestoneRule.active.is_(True))
            .order_by(Milestone.due_date)
        )
        return [
            MilestoneInfo(m.id, r.code, r.kind, r.title, c.year, m.due_date, r.recipients)
            for m, r, c in rows.all()
        ]

    async def _count(self, cycle_id: int, agency_id: int | None) -> int:
        query = select(func.count()).select_from(Submission).where(Submission.cycle_id == cycle_id)
        if agency_id is not None:
            query = query.where(Submission.agency_id == agency_id)
        return int(await self._session.scalar(query) or 0)

    async def submissions(
        self, year: int, agency_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[SubmissionRow]:
        """Yield every submission of a year (all versions), oldest first, in batches."""
        attachments = (
            select(Attachment.submission_id, func.count().label("n"))
            .group_by(Attachment.submission_id)
            .subquery()
        )
        query = (
            select(
                Submission.id,
                Submission.created_at,
                Task.code,
                Task.title,
                PlanIndex.code,
                Agency.name,
                Member.full_name,
                Submission.status,
                Submission.progress,
                Submission.results,
                Submission.difficulties,
                Submission.proposals,
                Submission.version,
                attachments.c.n,
                exists()
                .where(
                    Assignment.task_id == Submission.task_id,
                    Assignment.agency_id == Submission.agency_id,
                    Assignment.role == "lead",
                )
                .label("lead"),
            )
            .join(Cycle, Cycle.id == Submission.cycle_id)
            .join(Task, Task.id == Submission.task_id)
            .outerjoin(PlanIndex, PlanIndex.id == Task.index_id)
            .join(Agency, Agency.id == Submission.agency_id)
            .join(Member, Member.id == Submission.member_id)
            .outerjoin(attachments, attachments.c.submission_id == Submission.id)
            .where(Cycle.year == year)
            .order_by(Submission.id)
            .execution_options(yield_per=batch)
        )
        if agency_id is not None:
            query = query.where(Submission.agency_id == agency_id)
        result = await self._session.stream(query)
        async for rows in result.partitions(batch):  # one round trip per batch, not per row
            for sid, *fields, files, lead in rows:
                yield SubmissionRow(f"{year}/{sid:05d}", *fields, files or 0, bool(lead))  # type: ignore[call-arg]


def _current_milestone(milestones: list[MilestoneInfo], today: date) -> MilestoneInfo | None:
    assigned = [m for m in milestones if m.recipients == "assigned"]
    upcoming = [m for m in assigned if m.due_date >= today]
    if upcoming:
        return upcoming[0]
    return assigned[-1] if assigned else None
