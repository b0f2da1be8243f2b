"""The state of the whole plan for one year: what the coordinator's summary and files show.

:class:`SummaryRepository` reads the plan, its assignments, its deadlines and the latest version
of each agency's report on each task, and builds a
:class:`~bot.core.domain.progress.PlanSummary`. The rules (a task's state decided by its lead
agencies, the other agencies' reports counted apart as contributions, the day whose structure
a year is read in) are pure functions in :mod:`bot.core.domain.progress`. Every view and file
of a year comes from here, so they all read the year the same way, and no later change to the
agencies alters them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.domain.explanations import Explanation
from bot.core.domain.extensions import Extension
from bot.core.domain.plan import MilestoneInfo, asks_for, in_cycle
from bot.core.domain.progress import (
    AgencyState,
    IndexState,
    LatestReport,
    PlanSummary,
    SubmissionRow,
    TaskState,
    current_milestone,
    reference_day,
    task_state,
)
from bot.core.domain.review import Reopening, ReviewState
from bot.core.i18n import _
from bot.core.text import sort_key
from storage.agencies import coordinator_agency, current_agency
from storage.models import (
    Agency,
    AgencyName,
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
from storage.repositories.explanations import ExplanationRepository
from storage.repositories.extensions import ExtensionRepository
from storage.repositories.results import ResultRepository
from storage.repositories.reviews import ReviewRepository
from storage.structure import assignment_in_force


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
        """Return the plan's state in a year (limited to one agency's part if given).

        The year is read in the structure in force on its reference day
        (:func:`bot.core.domain.progress.reference_day`): who leads and supports what, which
        agency a report counts for, the names. A report by an agency that had since become
        another counts for that one and is shown under the name of its author with its
        successor's. Members are listed for the current year only: people move with their
        agency, and a past year must read the same whatever became of them.
        """
        plan = await self._session.scalar(select(Plan).order_by(Plan.id).limit(1))
        cycle = await self._session.scalar(
            select(Cycle).where(Cycle.year == year, Cycle.plan_id == (plan.id if plan else 0))
        )
        if plan is None or cycle is None:
            return None
        milestones = await self.milestones_of(cycle.id)
        on = reference_day(milestones, year)
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        owner = {a.id: (await current_agency(self._session, a, on)).id for a in agencies.values()}
        names = await self.names_on(agencies, owner, on)
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
            select(Assignment.task_id, Assignment.agency_id, Assignment.role)
            .where(assignment_in_force(on))
            .order_by(Assignment.id)
        ):
            (leads if role == "lead" else supports).setdefault(task_id, []).append(agency_id_)
        latest = await self._latest(cycle.id, owner, names)
        by_task: dict[int, list[LatestReport]] = {}
        for (task_id, _owner), report in latest.items():
            by_task.setdefault(task_id, []).append(report)
        scope: set[int] | None = None
        if agency_id is not None:  # a leader: the tasks the agency leads, supports or reported on
            scope = {a for a in agencies if owner[a] == agency_id or a == agency_id}
            tasks = [
                t
                for t in tasks
                if scope & {*leads.get(t.id, []), *supports.get(t.id, [])}
                or any((t.id, a) in latest for a in scope)
            ]
        states = {
            t.id: self._task_state(t, leads, supports, latest, by_task, names) for t in tasks
        }
        index_rows = list(
            await self._session.scalars(
                select(PlanIndex).where(PlanIndex.plan_id == plan.id).order_by(PlanIndex.position)
            )
        )
        code_of_index = {i.id: i.code for i in index_rows}
        due_of_rule = await self._due_dates(cycle.id)
        for task in tasks:
            states[task.id] = replace(
                states[task.id],
                index_code=code_of_index.get(task.index_id or 0),
                title=in_cycle(task.title, year, plan.first_year),
                due=due_of_rule.get(task.milestone_rule_id or 0),
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
        coordinator = await coordinator_agency(self._session, on)
        asked = await self._asked(plan.id, tasks)
        return PlanSummary(
            plan_title=plan.title,
            province=plan.province,
            issuer=plan.issuer,
            signer=plan.signer,
            coordinator=names[coordinator.id] if coordinator else None,
            year=year,
            today=today,
            milestone=current_milestone(milestones, today),
            indices=indices,
            organisational=[states[t.id] for t in tasks if t.index_id is None],
            agencies=await self._agencies(
                tasks,
                asked,
                leads,
                supports,
                latest,
                agencies,
                names,
                scope,
                on,
                with_members=year >= today.year,
            ),
            submission_count=await self._count(cycle.id, scope),
            milestones=milestones,
            explanations=await self._explanations(year, owner, names, scope),
            reopenings=await self._reopenings(cycle.id, owner, scope),
            extensions=await self._extensions(year, owner, names, scope),
            results=[r for r in await ResultRepository(self._session).all() if r.year <= year],
            period_reports=await self._period_reports(cycle.id, milestones, owner, scope),
        )

    async def _period_reports(
        self,
        cycle_id: int,
        milestones: list[MilestoneInfo],
        owner: dict[int, int],
        scope: set[int] | None,
    ) -> dict[int, tuple[int, int]]:
        """Count, per periodic deadline, the agencies that reported towards it and the reports."""
        periodic = {m.id for m in milestones if m.period != "year"}
        if not periodic:
            return {}
        query = (
            select(Submission.milestone_id, Submission.agency_id, func.count())
            .where(Submission.cycle_id == cycle_id, Submission.milestone_id.in_(periodic))
            .group_by(Submission.milestone_id, Submission.agency_id)
        )
        if scope is not None:
            query = query.where(Submission.agency_id.in_(scope))
        agencies: dict[int, set[int]] = {}
        reports: dict[int, int] = {}
        for milestone_id, agency_id, count in await self._session.execute(query):
            if milestone_id is None:
                continue
            agencies.setdefault(milestone_id, set()).add(owner.get(agency_id, agency_id))
            reports[milestone_id] = reports.get(milestone_id, 0) + count
        return {m: (len(agencies[m]), reports[m]) for m in agencies}

    async def agency_names(self, year: int) -> dict[int, str]:
        """Return every agency's name as the year reads it (with its successor's, if merged)."""
        cycle = await self._session.scalar(
            select(Cycle).where(Cycle.year == year).order_by(Cycle.id).limit(1)
        )
        milestones = await self.milestones_of(cycle.id) if cycle else []
        on = reference_day(milestones, year)
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        owner = {a.id: (await current_agency(self._session, a, on)).id for a in agencies.values()}
        return await self.names_on(agencies, owner, on)

    async def _explanations(
        self, year: int, owner: dict[int, int], names: dict[int, str], scope: set[int] | None
    ) -> list[Explanation]:
        """Return the year's explanation requests, each under the agency it counts for."""
        return [
            replace(
                e, agency_id=owner.get(e.agency_id, e.agency_id), agency_name=names[e.agency_id]
            )
            for e in await ExplanationRepository(self._session).of_year(year, scope)
        ]

    async def _reopenings(
        self, cycle_id: int, owner: dict[int, int], scope: set[int] | None
    ) -> list[Reopening]:
        """Return the year's reopenings, each under the agency it counts for."""
        reviews = ReviewRepository(self._session)
        found = await reviews.of_cycle(cycle_id)
        return [
            replace(r, agency_id=owner.get(r.agency_id, r.agency_id))
            for r in found
            if scope is None or r.agency_id in scope
        ]

    async def _extensions(
        self, year: int, owner: dict[int, int], names: dict[int, str], scope: set[int] | None
    ) -> list[Extension]:
        """Return the year's extensions, each under the agency it counts for."""
        return [
            replace(
                e, agency_id=owner.get(e.agency_id, e.agency_id), agency_name=names[e.agency_id]
            )
            for e in await ExtensionRepository(self._session).of_year(year, scope)
        ]

    async def names_on(
        self, agencies: dict[int, Agency], owner: dict[int, int], on: date
    ) -> dict[int, str]:
        """Return each agency's name on a day, with its successor's if it had become another."""
        former: dict[int, list[tuple[date, str]]] = {}
        for agency_id, name, until in await self._session.execute(
            select(AgencyName.agency_id, AgencyName.name, AgencyName.used_until)
        ):
            former.setdefault(agency_id, []).append((until, name))
        plain = {
            a.id: min(
                ((until, name) for until, name in former.get(a.id, []) if until > on),
                default=(on, a.name),
            )[1]
            for a in agencies.values()
        }
        return {
            agency_id: name
            if owner[agency_id] == agency_id
            else _("%(name)s (now %(successor)s)")
            % {"name": name, "successor": plain[owner[agency_id]]}
            for agency_id, name in plain.items()
        }

    async def _latest(
        self, cycle_id: int, owner: dict[int, int], names: dict[int, str]
    ) -> dict[tuple[int, int], LatestReport]:
        """Return the latest report per (task, agency it counts for) in a cycle.

        The latest version of each (task, agency) is found on the unique index of versions
        alone (a covering scan, however many reports the year holds), and only those rows
        are read whole.
        """
        newest = (
            select(
                Submission.task_id,
                Submission.agency_id,
                func.max(Submission.version).label("version"),
            )
            .where(Submission.cycle_id == cycle_id)
            .group_by(Submission.task_id, Submission.agency_id)
            .subquery()
        )
        rows = await self._session.execute(
            select(
                Submission.task_id,
                Submission.agency_id,
                Submission.status,
                Submission.progress,
                Submission.results,
                Submission.difficulties,
                Submission.proposals,
                Submission.created_at,
                Submission.review_state,
                Submission.leader_reviewed_at,
            ).join(
                newest,
                (Submission.cycle_id == cycle_id)
                & (Submission.task_id == newest.c.task_id)
                & (Submission.agency_id == newest.c.agency_id)
                & (Submission.version == newest.c.version),
            )
        )
        latest: dict[tuple[int, int], LatestReport] = {}
        for (
            task_id,
            agency_id,
            status,
            progress,
            results,
            difficulties,
            proposals,
            at,
            review,
            forwarded_at,
        ) in rows:
            counts_for = owner.get(agency_id, agency_id)
            key = (task_id, counts_for)
            report = LatestReport(
                counts_for,
                names[agency_id],
                status,
                progress,
                results,
                difficulties,
                proposals,
                at,
                review=ReviewState(review),
                forwarded=forwarded_at is not None,
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
        names: dict[int, str],
    ) -> TaskState:
        lead_ids = list(dict.fromkeys(leads.get(task.id, [])))
        support_ids = [a for a in dict.fromkeys(supports.get(task.id, [])) if a not in lead_ids]
        reports = [latest[(task.id, a)] for a in lead_ids if (task.id, a) in latest]
        others = sorted(
            (r for r in by_task.get(task.id, []) if r.agency_id not in lead_ids),
            key=lambda r: (r.agency_id not in support_ids, sort_key(r.agency_name)),
        )
        contributions = [replace(report, supporting=True) for report in others]
        state, progress = task_state(reports, len(lead_ids))
        return TaskState(
            task.id,
            task.code,
            task.title,
            None,
            [names[a] for a in lead_ids],
            state,
            progress,
            reports,
            [names[a] for a in support_ids],
            contributions,
        )

    async def _asked(self, plan_id: int, tasks: list[Task]) -> set[int]:
        """Return the tasks whose lead agencies a milestone of the year asks for a report.

        Only those are chased (:func:`bot.core.domain.plan.asks_for`): an agency's tasks of
        section II, its implementation plan, the coordinator's consolidated report.
        """
        rules = list(
            (
                await self._session.execute(
                    select(MilestoneRule.id, MilestoneRule.kind).where(
                        MilestoneRule.plan_id == plan_id, MilestoneRule.active.is_(True)
                    )
                )
            ).all()
        )
        return {
            t.id
            for t in tasks
            if any(
                asks_for(
                    kind, section_ii=t.index_id is not None, linked=t.milestone_rule_id == rule
                )
                for rule, kind in rules
            )
        }

    async def _agencies(
        self,
        tasks: list[Task],
        asked: set[int],
        leads: dict[int, list[int]],
        supports: dict[int, list[int]],
        latest: dict[tuple[int, int], LatestReport],
        agencies: dict[int, Agency],
        names: dict[int, str],
        only: set[int] | None,
        on: date,
        *,
        with_members: bool,
    ) -> list[AgencyState]:
        members: dict[int, list[str]] = {}
        if with_members:
            for agency_id, name in await self._session.execute(
                select(Member.agency_id, Member.full_name).where(Member.active.is_(True))
            ):
                members.setdefault(agency_id, []).append(name)
            for people in members.values():
                people.sort(key=sort_key)  # Vietnamese order, not the database's byte order
        result = []
        for agency in sorted(agencies.values(), key=lambda a: sort_key(names[a.id])):
            if only is not None and agency.id not in only:
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
                    name=names[agency.id],
                    kind=agency.kind,
                    lead_tasks=[t.code for t in lead],
                    reported_tasks=[t.code for t in lead if (t.id, agency.id) in latest],
                    members=members.get(agency.id, []),
                    last_report_at=max((r.created_at for r in reports), default=None),
                    support_tasks=[t.code for t in support],
                    contributed_tasks=[t.code for t in contributed],
                    unasked_tasks=[t.code for t in lead if t.id not in asked],
                )
            )
        return result

    async def milestones_of(self, cycle_id: int) -> list[MilestoneInfo]:
        """Return the dated deadlines of a cycle, in date order."""
        rows = await self._session.execute(
            select(Milestone, MilestoneRule, Cycle)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .join(Cycle, Cycle.id == Milestone.cycle_id)
            .where(Milestone.cycle_id == cycle_id, MilestoneRule.active.is_(True))
            .order_by(Milestone.due_date)
        )
        return [
            MilestoneInfo(
                m.id,
                r.code,
                r.kind,
                r.title,
                c.year,
                m.due_date,
                r.recipients,
                r.period or "year",
                r.cutoff,
            )
            for m, r, c in rows.all()
        ]

    async def _due_dates(self, cycle_id: int) -> dict[int, date]:
        """Return each deadline's date in a cycle by its rule (a linked task's own deadline)."""
        rows = await self._session.execute(
            select(Milestone.rule_id, Milestone.due_date).where(Milestone.cycle_id == cycle_id)
        )
        return {rule_id: due for rule_id, due in rows.all()}

    async def _count(self, cycle_id: int, agencies: set[int] | None) -> int:
        query = select(func.count()).select_from(Submission).where(Submission.cycle_id == cycle_id)
        if agencies is not None:
            query = query.where(Submission.agency_id.in_(agencies))
        return int(await self._session.scalar(query) or 0)

    async def submissions(
        self, year: int, agency_id: int | None = None, batch: int = 2000
    ) -> AsyncIterator[SubmissionRow]:
        """Yield every submission of a year (all versions), oldest first, in batches.

        Read in the year's structure, as :meth:`summary` reads it: the author's name of the
        time, and whether the agency it counts for led the task.
        """
        found = (
            await self._session.execute(
                select(Cycle, Plan.first_year)
                .join(Plan, Plan.id == Cycle.plan_id)
                .where(Cycle.year == year)
                .order_by(Plan.id)
                .limit(1)
            )
        ).first()
        if found is None:
            return
        cycle, first_year = found
        on = reference_day(await self.milestones_of(cycle.id), year)
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        owner = {a.id: (await current_agency(self._session, a, on)).id for a in agencies.values()}
        names = await self.names_on(agencies, owner, on)
        leading: set[tuple[int, int]] = {
            (task_id, agency_id_)
            for task_id, agency_id_ in await self._session.execute(
                select(Assignment.task_id, Assignment.agency_id).where(
                    Assignment.role == "lead", assignment_in_force(on)
                )
            )
        }
        reviewer = aliased(Member)
        leader = aliased(Member)
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
                Submission.agency_id,
                Member.full_name,
                Submission.status,
                Submission.progress,
                Submission.results,
                Submission.difficulties,
                Submission.proposals,
                Submission.version,
                attachments.c.n,
                Submission.task_id,
                Submission.review_state,
                reviewer.full_name,
                Submission.reviewed_at,
                Submission.review_reason,
                Submission.period_start,
                Submission.period_end,
                leader.full_name,
                Submission.leader_reviewed_at,
            )
            .join(Task, Task.id == Submission.task_id)
            .outerjoin(reviewer, reviewer.id == Submission.reviewed_by_id)
            .outerjoin(leader, leader.id == Submission.leader_reviewed_by_id)
            .outerjoin(PlanIndex, PlanIndex.id == Task.index_id)
            .join(Member, Member.id == Submission.member_id)
            .outerjoin(attachments, attachments.c.submission_id == Submission.id)
            .where(Submission.cycle_id == cycle.id)
            .order_by(Submission.id)
            .execution_options(yield_per=batch)
        )
        if agency_id is not None:
            scope = [a for a in agencies if owner[a] == agency_id or a == agency_id]
            query = query.where(Submission.agency_id.in_(scope))
        titles: dict[str, str] = {}  # a task's words in this cycle, worked out once per task
        states = {state.value: state for state in ReviewState}
        # Core rows straight from the connection: the ORM's row loading is not needed for
        # plain columns and costs as much again as the driver for a large year.
        connection = await self._session.connection()
        result = await connection.stream(query)
        async for rows in result.partitions(batch):  # one round trip per batch, not per row
            for row in rows:
                values: tuple[Any, ...] = tuple(row)
                sid, at, code, title, index, author, *fields, files, task_id = values[:15]
                review = values[15:]
                shown = titles.get(code)
                if shown is None:
                    shown = titles[code] = in_cycle(title, year, first_year)
                yield SubmissionRow(
                    f"{year}/{sid:05d}",
                    at,
                    code,
                    shown,
                    index,
                    names[author],
                    *fields,
                    files or 0,
                    (task_id, owner[author]) in leading,
                    states[review[0]],
                    *review[1:],
                )  # type: ignore[call-arg]
