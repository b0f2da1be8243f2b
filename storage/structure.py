"""The assignments of a plan through time, rebuilt from the plan as written and the agencies.

The plan keeps what its file wrote (``plan.structure``: each task's leads and supports by code,
the groups, the successions); the agencies keep when they exist and who succeeds them. From
both, :func:`rebuild_assignments` writes one assignment row per period during which an agency
leads or supports a task (:func:`bot.core.domain.structure.assignment_periods`). An import and
every reorganisation rebuild them, so a change dated 2026 never alters who was assigned in
2024: only the rows that hold after its date change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.plan import ImportResult
from bot.core.domain.structure import (
    Group,
    Span,
    Succession,
    TaskRule,
    assignment_periods,
)
from storage.models import Agency, Assignment, Plan, Task

logger = logging.getLogger(__name__)


def assignment_in_force(on: date) -> ColumnElement[bool]:
    """Return the condition for an assignment that holds on a day."""
    return and_(
        or_(Assignment.valid_from.is_(None), Assignment.valid_from <= on),
        or_(Assignment.valid_to.is_(None), Assignment.valid_to > on),
    )


def agency_exists(on: date) -> ColumnElement[bool]:
    """Return the condition for an agency that exists on a day."""
    return and_(
        or_(Agency.valid_from.is_(None), Agency.valid_from <= on),
        or_(Agency.valid_to.is_(None), Agency.valid_to > on),
    )


def spans_of(agencies: Mapping[int, Agency]) -> dict[str, Span]:
    """Return, per agency code, when it exists and who succeeds it."""
    codes = {a.id: a.code for a in agencies.values()}
    return {
        a.code: Span(
            a.valid_from, a.valid_to, codes.get(a.successor_id) if a.successor_id else None
        )
        for a in agencies.values()
    }


def _rules(
    structure: Mapping[str, Any],
) -> tuple[list[TaskRule], dict[str, Group], list[Succession]]:
    """Read the plan as written (``plan.structure``) into the domain's types."""
    listed: list[list[str]] = structure.get("agencies", [])
    groups = {}
    for code, group in structure.get("groups", {}).items():
        members = list(group["members"])
        members += [agency for agency, kind in listed if kind in group["kinds"]]
        groups[code] = Group(
            tuple(dict.fromkeys(members)),
            bool(group["exclude"]),
            bool(group.get("section_ii_leads", False)),
        )
    tasks = [
        TaskRule(code, index, tuple(leads), tuple(supports))
        for code, index, leads, supports in structure.get("tasks", [])
    ]
    successions = [
        Succession(date.fromisoformat(since), old, new, task)
        for since, old, new, task in structure.get("successions", [])
    ]
    return tasks, groups, successions


async def rebuild_assignments(
    session: AsyncSession, plan: Plan, report: ImportResult | None = None
) -> None:
    """Write the plan's assignments through time; count what changed in ``report``."""
    if plan.structure is None:
        return
    tasks, groups, successions = _rules(plan.structure)
    agencies = {a.id: a for a in await session.scalars(select(Agency))}
    agency_ids = {a.code: a.id for a in agencies.values()}
    task_ids = {
        t.code: t.id for t in await session.scalars(select(Task).where(Task.plan_id == plan.id))
    }
    wanted: dict[tuple[int, int, date | None], tuple[str, str | None, date | None]] = {}
    for period in assignment_periods(tasks, groups, spans_of(agencies), successions):
        key = (task_ids[period.task], agency_ids[period.agency], period.valid_from)
        wanted[key] = (period.role, period.via_group, period.valid_to)
    existing: dict[tuple[int, int, date | None], Assignment] = {}
    for row in await session.scalars(
        select(Assignment)
        .where(Assignment.task_id.in_(list(task_ids.values())))
        .order_by(Assignment.id)
    ):
        key = (row.task_id, row.agency_id, row.valid_from)
        if key in existing:  # one row per task, agency and role before periods: keep one
            await session.delete(row)
            if report:
                report.count(report.removed, "assignment")
        else:
            existing[key] = row
    for key, row in existing.items():
        if key not in wanted:
            await session.delete(row)
            if report:
                report.count(report.removed, "assignment")
        elif (row.role, row.via_group, row.valid_to) != wanted[key]:
            row.role, row.via_group, row.valid_to = wanted[key]
            if report:
                report.count(report.updated, "assignment")
    for (task_id, agency_id, since), (role, via, until) in wanted.items():
        if (task_id, agency_id, since) not in existing:
            session.add(
                Assignment(
                    task_id=task_id,
                    agency_id=agency_id,
                    role=role,
                    via_group=via,
                    valid_from=since,
                    valid_to=until,
                )
            )
            if report:
                report.count(report.created, "assignment")
    await session.flush()


async def rebuild_all(session: AsyncSession) -> None:
    """Rebuild the assignments of every plan (after a reorganisation)."""
    for plan in await session.scalars(select(Plan).order_by(Plan.id)):
        await rebuild_assignments(session, plan)
