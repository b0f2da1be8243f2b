"""Import a validated plan into the database: insert what is new, update what changed.

Importing the same file twice changes nothing. A changed version updates rows in place
(matched by their codes); tasks and deadlines that disappeared are deactivated, never deleted,
so every submission keeps its task. The plan as written is kept with the plan, and the
assignments are rebuilt from it through time (:mod:`storage.structure`): a task the file gives
to an agency that was merged goes to the agency it was merged into from the day of the merger,
and to the agency itself before.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.calendar import DeclaredDay
from bot.core.domain.plan import ImportResult
from bot.core.domain.results import TOTAL
from storage.agencies import (
    add_agency,
    merge_agency,
    rename_agency,
    retire_agency,
    settle_members,
)
from storage.models import (
    Agency,
    AgencyGroup,
    AgencyGroupMember,
    Cycle,
    Milestone,
    MilestoneRule,
    Plan,
    PlanIndex,
    Task,
)
from storage.plan_cache import mark_plan_changed
from storage.plan_loader import LoadedPlan
from storage.plan_schema import GroupSpec, PlanDocument, parse_due
from storage.repositories.audit import AuditRepository
from storage.repositories.calendar import PLAN, sync_plan_days
from storage.repositories.results import ResultRepository, result_detail
from storage.structure import rebuild_assignments


def _apply(row: Any, values: dict[str, Any], report: ImportResult, kind: str) -> None:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        report.count(report.updated, kind)


async def import_plan(
    session: AsyncSession, loaded: LoadedPlan, *, today: date, now: datetime
) -> ImportResult:
    """Import a plan file in the caller's unit of work and say what changed."""
    mark_plan_changed(session)
    doc = loaded.document
    report = ImportResult(doc.plan.code)
    agencies = await _sync_agencies(session, doc, report, now)
    await _apply_reorganisations(session, doc, agencies, report, now)
    plan = await _sync_plan(session, loaded, agencies, report, now)
    await _sync_groups(session, plan, doc.groups, agencies, report)
    indices = await _sync_indices(session, plan, doc, report)
    rules = await _sync_rules(session, plan, doc, report)
    await _sync_tasks(session, plan, loaded, indices, rules, report)
    await rebuild_assignments(session, plan, report)
    await settle_members(session, now=now)
    await _sync_cycles(session, plan, rules, doc.cycles.first_year, today, report)
    days = [DeclaredDay(d.date, False, d.reason, PLAN) for d in doc.calendar.days_off]
    days += [DeclaredDay(d.date, True, d.reason, PLAN) for d in doc.calendar.working_days]
    await sync_plan_days(session, days, now, report)
    await session.flush()
    await _sync_results(session, loaded, report, now)
    return report


PLAN_FILE = "@plan"
"""Who recorded a figure that comes from the plan file's ``results``."""


async def _sync_results(
    session: AsyncSession, loaded: LoadedPlan, report: ImportResult, now: datetime
) -> None:
    """Record the file's published results; a changed figure is a correction, audited."""
    results = ResultRepository(session)
    for spec in loaded.document.results:
        recorded = await results.record(
            year=spec.year,
            index_code=spec.index or TOTAL,
            score=spec.score,
            rank=spec.rank,
            out_of=spec.out_of,
            recorded_by=PLAN_FILE,
            member_id=None,
            now=now,
        )
        if not recorded.changed:
            continue
        report.count(report.updated if recorded.corrected else report.created, "result")
        AuditRepository(session).record(
            "pgi.correct" if recorded.corrected else "pgi.record",
            now=now,
            channel="cli",
            **result_detail(recorded),
        )


def written_structure(loaded: LoadedPlan) -> dict[str, Any]:
    """Return the plan as its file writes it, as kept in ``plan.structure``."""
    doc = loaded.document
    return {
        "agencies": [[a.code, a.kind] for a in doc.agencies],
        "groups": {
            g.code: {
                "members": list(g.members),
                "kinds": list(g.kinds),
                "exclude": g.exclude_named_in_index,
                "section_ii_leads": g.section_ii_leads,
            }
            for g in doc.groups
        },
        "tasks": [
            [task.code, index, list(task.leads), list(task.supports)]
            for index, task in loaded.all_tasks()
        ],
        "successions": [[s.since.isoformat(), s.succeeded, s.by, s.task] for s in doc.successions],
    }


async def _sync_agencies(
    session: AsyncSession, doc: PlanDocument, report: ImportResult, now: datetime
) -> dict[str, Agency]:
    rows = {a.code: a for a in await session.scalars(select(Agency))}
    for spec in doc.agencies:
        row = rows.get(spec.code)
        if row is None:
            row = Agency(
                code=spec.code,
                name=spec.name,
                short_name=spec.short_name,
                kind=spec.kind,
                status="active",
                created_at=now,
                valid_from=spec.valid_from,
            )
            session.add(row)
            rows[spec.code] = row
            report.count(report.created, "agency")
        elif row.changed_on is None:
            # The plan's names count until a reorganisation renames or merges the agency.
            values = {"name": spec.name, "short_name": spec.short_name, "kind": spec.kind}
            _apply(row, values, report, "agency")
        if row.valid_from != spec.valid_from:
            row.valid_from = spec.valid_from
            if row.id is not None:
                report.count(report.updated, "agency")
    await session.flush()
    return rows


async def _apply_reorganisations(
    session: AsyncSession,
    doc: PlanDocument,
    agencies: dict[str, Agency],
    report: ImportResult,
    now: datetime,
) -> None:
    for change in doc.reorganisations:
        before = await session.scalar(select(Agency).where(Agency.code == change.agency))
        state = (
            (before.name, before.status, before.successor_id, before.valid_from)
            if before
            else None
        )
        if change.action == "add":
            agencies[change.agency] = await add_agency(
                session,
                code=change.agency,
                name=change.name or "",
                short_name=change.short_name or change.name or "",
                kind=change.kind or "other",
                now=now,
                valid_from=change.since,
            )
        elif change.action == "rename":
            await rename_agency(
                session,
                change.agency,
                name=change.name or "",
                short_name=change.short_name,
                on=change.since,
                now=now,
            )
        elif change.action == "merge":
            await merge_agency(
                session,
                change.agency,
                into=change.into or "",
                on=change.since,
                now=now,
                rebuild=False,
            )
        else:
            await retire_agency(session, change.agency, on=change.since, now=now, rebuild=False)
        after = await session.scalar(select(Agency).where(Agency.code == change.agency))
        if after is not None and state != (
            after.name,
            after.status,
            after.successor_id,
            after.valid_from,
        ):
            report.count(report.updated, "reorganisation")


async def _sync_plan(
    session: AsyncSession,
    loaded: LoadedPlan,
    agencies: dict[str, Agency],
    report: ImportResult,
    now: datetime,
) -> Plan:
    header = loaded.document.plan
    values: dict[str, Any] = {
        "title": header.title,
        "short_title": header.short_title,
        "province": header.province,
        "issuer": header.issuer,
        "signer": header.signer,
        "goal": header.goal,
        "first_year": loaded.document.cycles.first_year,
        "coordinator_id": agencies[header.coordinator].id,
        "baseline": header.baseline.model_dump(mode="json") if header.baseline else {},
        "structure": written_structure(loaded),
    }
    plan = await session.scalar(select(Plan).where(Plan.code == header.code))
    if plan is None:
        plan = Plan(code=header.code, source_sha256=loaded.sha256, imported_at=now, **values)
        session.add(plan)
        await session.flush()
        report.count(report.created, "plan")
        return plan
    _apply(plan, values, report, "plan")
    if plan.source_sha256 != loaded.sha256:
        plan.source_sha256, plan.imported_at = loaded.sha256, now
    return plan


async def _sync_groups(
    session: AsyncSession,
    plan: Plan,
    specs: list[GroupSpec],
    agencies: dict[str, Agency],
    report: ImportResult,
) -> None:
    rows = {
        g.code: g
        for g in await session.scalars(select(AgencyGroup).where(AgencyGroup.plan_id == plan.id))
    }
    for spec in specs:
        values = {
            "name": spec.name,
            "kinds": list(spec.kinds),
            "exclude_named_in_index": spec.exclude_named_in_index,
        }
        row = rows.get(spec.code)
        if row is None:
            row = AgencyGroup(plan_id=plan.id, code=spec.code, **values)
            session.add(row)
            await session.flush()
            report.count(report.created, "group")
        else:
            _apply(row, values, report, "group")
        wanted = {agencies[code].id for code in spec.members}
        have = set(
            await session.scalars(
                select(AgencyGroupMember.agency_id).where(AgencyGroupMember.group_id == row.id)
            )
        )
        for agency_id in wanted - have:
            session.add(AgencyGroupMember(group_id=row.id, agency_id=agency_id))
        if have - wanted:
            await session.execute(
                delete(AgencyGroupMember).where(
                    AgencyGroupMember.group_id == row.id,
                    AgencyGroupMember.agency_id.in_(have - wanted),
                )
            )
        if wanted != have and spec.code in rows:
            report.count(report.updated, "group")


async def _sync_indices(
    session: AsyncSession, plan: Plan, doc: PlanDocument, report: ImportResult
) -> dict[str, PlanIndex]:
    rows = {
        i.code: i
        for i in await session.scalars(select(PlanIndex).where(PlanIndex.plan_id == plan.id))
    }
    for position, spec in enumerate(doc.indices, start=1):
        values = {
            "position": position,
            "name": spec.name,
            "baseline_year": spec.baseline_year,
            "baseline_score": spec.baseline_score,
            "target_score": spec.target_score,
            "increase": spec.increase,
            "change_from_previous_year": spec.change_from_previous_year,
            "note": spec.note,
        }
        row = rows.get(spec.code)
        if row is None:
            rows[spec.code] = row = PlanIndex(plan_id=plan.id, code=spec.code, **values)
            session.add(row)
            report.count(report.created, "index")
        else:
            _apply(row, values, report, "index")
    await session.flush()
    return rows


async def _sync_rules(
    session: AsyncSession, plan: Plan, doc: PlanDocument, report: ImportResult
) -> dict[str, MilestoneRule]:
    rows = {
        r.code: r
        for r in await session.scalars(
            select(MilestoneRule).where(MilestoneRule.plan_id == plan.id)
        )
    }
    specs: list[tuple[str, str, str, str, str, str, str | None]] = [
        (m.code, str(m.kind), m.title, m.due, str(m.recipients), m.period, m.cutoff)
        for m in doc.milestones
    ]
    specs += [
        (p.code, "progress_report", p.title, p.due, "assigned", p.period, p.cutoff)
        for p in doc.cycles.progress_reports
    ]
    for position, (code, kind, title, due, recipients, period, cutoff) in enumerate(
        specs, start=1
    ):
        month, day = parse_due(due)
        values = {
            "kind": kind,
            "title": title,
            "due_month": month,
            "due_day": day,
            "recipients": recipients,
            "period": None if period == "year" else period,
            "cutoff": cutoff,
            "position": position,
            "active": True,
        }
        row = rows.get(code)
        if row is None:
            rows[code] = row = MilestoneRule(plan_id=plan.id, code=code, **values)
            session.add(row)
            report.count(report.created, "milestone_rule")
        else:
            _apply(row, values, report, "milestone_rule")
    for code in set(rows) - {spec[0] for spec in specs}:
        if rows[code].active:
            rows[code].active = False
            report.count(report.removed, "milestone_rule")
    await session.flush()
    return rows


async def _sync_tasks(
    session: AsyncSession,
    plan: Plan,
    loaded: LoadedPlan,
    indices: dict[str, PlanIndex],
    rules: dict[str, MilestoneRule],
    report: ImportResult,
) -> dict[str, Task]:
    rows = {t.code: t for t in await session.scalars(select(Task).where(Task.plan_id == plan.id))}
    seen = set()
    for position, (index_code, spec) in enumerate(loaded.all_tasks(), start=1):
        seen.add(spec.code)
        values = {
            "index_id": indices[index_code].id if index_code else None,
            "position": position,
            "section": "II" if index_code else "III",
            "title": spec.title,
            "text": spec.text,
            "note": spec.note,
            "milestone_rule_id": rules[spec.milestone].id if spec.milestone else None,
            "active": True,
        }
        row = rows.get(spec.code)
        if row is None:
            rows[spec.code] = row = Task(plan_id=plan.id, code=spec.code, **values)
            session.add(row)
            report.count(report.created, "task")
        else:
            _apply(row, values, report, "task")
    for code in set(rows) - seen:
        if rows[code].active:
            rows[code].active = False
            report.count(report.removed, "task")
    await session.flush()
    return rows


async def _sync_cycles(
    session: AsyncSession,
    plan: Plan,
    rules: dict[str, MilestoneRule],
    first_year: int,
    today: date,
    report: ImportResult,
) -> None:
    cycles = {
        c.year: c for c in await session.scalars(select(Cycle).where(Cycle.plan_id == plan.id))
    }
    for year in range(first_year, max(first_year, today.year) + 1):
        if year not in cycles:
            cycles[year] = Cycle(plan_id=plan.id, year=year)
            session.add(cycles[year])
            report.count(report.created, "cycle")
    await session.flush()
    for cycle in cycles.values():
        await ensure_milestones(session, cycle, rules.values(), report)


async def ensure_milestones(
    session: AsyncSession,
    cycle: Cycle,
    rules: Iterable[MilestoneRule],
    report: ImportResult | None = None,
) -> None:
    """Give a cycle one dated milestone per active rule, updating dates that moved."""
    existing = {
        m.rule_id: m
        for m in await session.scalars(select(Milestone).where(Milestone.cycle_id == cycle.id))
    }
    for rule in rules:
        if not rule.active:
            continue
        due = date(cycle.year, rule.due_month, rule.due_day)
        row = existing.get(rule.id)
        if row is None:
            session.add(Milestone(cycle_id=cycle.id, rule_id=rule.id, due_date=due))
            if report:
                report.count(report.created, "milestone")
        elif row.due_date != due:
            row.due_date = due
            if report:
                report.count(report.updated, "milestone")
