"""The plan as the conversations and the command line see it, as domain types."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.agencies import AgencyInfo
from bot.core.domain.plan import (
    AssignmentRole,
    ImportResult,
    IndexInfo,
    MilestoneInfo,
    PlanIndexView,
    PlanTaskView,
    PlanView,
    TaskInfo,
    in_cycle,
)
from storage.agencies import coordinator_agency, to_info
from storage.models import (
    Agency,
    Assignment,
    Cycle,
    Milestone,
    MilestoneRule,
    Plan,
    PlanIndex,
    Task,
)
from storage.plan_cache import cached
from storage.plan_import import import_plan
from storage.plan_loader import LoadedPlan
from storage.structure import assignment_in_force


class PlanRepository:
    """The plan as the conversations and the command line see it."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def import_plan(self, loaded: LoadedPlan, *, today: date, now: datetime) -> ImportResult:
        """Import a plan file and say what changed (see :mod:`storage.plan_import`)."""
        return await import_plan(self._session, loaded, today=today, now=now)

    async def _current_plan(self) -> Plan | None:
        """Return the plan the bot serves (the first imported)."""
        return await self._session.scalar(select(Plan).order_by(Plan.id).limit(1))

    async def tasks_of_agency(self, agency_id: int, on: date) -> list[TaskInfo]:
        """Return the active tasks an agency leads or supports on a day, in plan order."""
        tasks = await cached(
            self._session,
            ("tasks", agency_id, on),
            lambda: self._tasks_of_agency(agency_id, on),
        )
        return list(tasks)

    async def _tasks_of_agency(self, agency_id: int, on: date) -> tuple[TaskInfo, ...]:
        plan = await self._current_plan()
        written = plan.first_year if plan else on.year
        rows = await self._session.execute(
            select(Task, Assignment.role, PlanIndex)
            .join(Assignment, Assignment.task_id == Task.id)
            .outerjoin(PlanIndex, PlanIndex.id == Task.index_id)
            .where(
                Assignment.agency_id == agency_id,
                Task.active.is_(True),
                assignment_in_force(on),
            )
            .order_by(Task.position)
        )
        return tuple(
            TaskInfo(
                id=task.id,
                code=task.code,
                title=in_cycle(task.title, on.year, written),
                text=in_cycle(task.text, on.year, written),
                index_code=index.code if index else None,
                index_name=index.name if index else None,
                role=AssignmentRole(role),
            )
            for task, role, index in rows.all()
        )

    async def milestones(self, year: int | None = None) -> list[MilestoneInfo]:
        """Return the dated milestones of active rules, by date (of one year if given)."""
        query = (
            select(Milestone, MilestoneRule, Cycle)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .join(Cycle, Cycle.id == Milestone.cycle_id)
            .where(MilestoneRule.active.is_(True))
            .order_by(Milestone.due_date, MilestoneRule.position)
        )
        if year is not None:
            query = query.where(Cycle.year == year)
        return [
            MilestoneInfo(
                id=m.id,
                code=rule.code,
                kind=rule.kind,
                title=rule.title,
                year=cycle.year,
                due_date=m.due_date,
                recipients=rule.recipients,
                period=rule.period or "year",
                cutoff=rule.cutoff,
            )
            for m, rule, cycle in (await self._session.execute(query)).all()
        ]

    async def next_milestone(self, today: date, *, for_coordinator: bool) -> MilestoneInfo | None:
        """Return the first deadline on or after today that concerns the member."""
        for milestone in await self.milestones():
            if milestone.due_date < today:
                continue
            if milestone.recipients == "assigned" or for_coordinator:
                return milestone
        return None

    async def agencies(self) -> list[AgencyInfo]:
        """Return every agency with what became of it."""
        rows = list(await self._session.scalars(select(Agency).order_by(Agency.id)))
        codes = {a.id: a.code for a in rows}
        return [to_info(a, codes.get(a.successor_id) if a.successor_id else None) for a in rows]

    async def assignment_counts(self, on: date) -> dict[int, tuple[int, int]]:
        """Return, per agency id, how many active tasks it leads and supports on a day."""
        rows = await self._session.execute(
            select(Assignment.agency_id, Assignment.role, func.count())
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.active.is_(True), assignment_in_force(on))
            .group_by(Assignment.agency_id, Assignment.role)
        )
        counts: dict[int, tuple[int, int]] = {}
        for agency_id, role, count in rows.all():
            lead, support = counts.get(agency_id, (0, 0))
            counts[agency_id] = (
                (lead + count, support) if role == "lead" else (lead, support + count)
            )
        return counts

    async def view(self, on: date) -> PlanView | None:
        """Return the whole plan on a day: indices, tasks with their agencies, milestones."""
        plan = await self._current_plan()
        if plan is None:
            return None
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        coordinator = await coordinator_agency(self._session, on)
        by_task: dict[int, dict[str, list[str]]] = {}
        for assignment in await self._session.scalars(
            select(Assignment).where(assignment_in_force(on)).order_by(Assignment.id)
        ):
            roles = by_task.setdefault(assignment.task_id, {"lead": [], "support": []})
            roles[assignment.role].append(agencies[assignment.agency_id].code)
        tasks = list(
            await self._session.scalars(
                select(Task)
                .where(Task.plan_id == plan.id, Task.active.is_(True))
                .order_by(Task.position)
            )
        )

        def task_view(task: Task) -> PlanTaskView:
            roles = by_task.get(task.id, {"lead": [], "support": []})
            return PlanTaskView(task.code, task.title, roles["lead"], roles["support"])

        indices = []
        for index in await self._session.scalars(
            select(PlanIndex).where(PlanIndex.plan_id == plan.id).order_by(PlanIndex.position)
        ):
            indices.append(
                PlanIndexView(
                    index_info(index), [task_view(t) for t in tasks if t.index_id == index.id]
                )
            )
        return PlanView(
            code=plan.code,
            title=plan.title,
            coordinator=coordinator.code if coordinator else None,
            indices=indices,
            organisational_tasks=[task_view(t) for t in tasks if t.index_id is None],
            agencies=await self.agencies(),
            milestones=await self.milestones(),
        )

    async def indices(self) -> list[IndexInfo]:
        """Return the component indices of the current plan, in order."""
        plan = await self._current_plan()
        if plan is None:
            return []
        rows = await self._session.scalars(
            select(PlanIndex).where(PlanIndex.plan_id == plan.id).order_by(PlanIndex.position)
        )
        return [index_info(index) for index in rows]

    async def coordinator_name(self, on: date) -> str | None:
        """Return the name of the plan's coordinating agency on a day."""
        coordinator = await coordinator_agency(self._session, on)
        return coordinator.name if coordinator else None


def index_info(index: PlanIndex) -> IndexInfo:
    """Turn an index row into its dataclass."""
    return IndexInfo(
        id=index.id,
        code=index.code,
        name=index.name,
        baseline_year=index.baseline_year,
        baseline_score=index.baseline_score,
        target_score=index.target_score,
        increase=index.increase,
    )
