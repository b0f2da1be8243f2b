"""Reorganisation of agencies: add, rename, merge and retire, with their history kept.

A renamed agency keeps its id, so its reports stay its own, and its former name is recorded.
A merged agency stays in the database with status ``merged`` and a successor: its tasks and
members move to the successor, its reports stay where they were and show in the successor's
history. A retired agency keeps its reports; its assignments end and its members are
deactivated.

The rules (what is refused, which assignments move) are
:mod:`bot.core.domain.reorganisation`; this module reads the agencies, applies the rules and
writes what they decide, and raises :class:`AgencyError` with the rule's refusal when a
change is refused. Each change marks the plan changed
(:func:`storage.plan_cache.mark_plan_changed`): changes are made in a unit of work.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from types import MappingProxyType

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.agencies import AgencyInfo, AgencyStatus
from bot.core.domain.members import NamedThing, match_name
from bot.core.domain.reorganisation import (
    Refusal,
    Standing,
    add_conflict,
    already_merged,
    assignments_after_merger,
    lineage,
    merge_refusal,
    retire_refusal,
)
from storage.models import Agency, AgencyName, Assignment, AuditEntry, Member, Plan
from storage.plan_cache import cached, mark_plan_changed

logger = logging.getLogger(__name__)


class AgencyError(ValueError):
    """A reorganisation or a look-up that cannot be done, and why.

    It carries the rule's :class:`~bot.core.domain.reorganisation.Refusal` and the facts a
    message needs; whoever shows it to a person words it (see :mod:`handlers.refusals`).

    Attributes:
        refusal: why.
        code: the code asked for (``UNKNOWN_CODE``, ``CODE_TAKEN``).
        name: the name typed (``AMBIGUOUS``, ``UNKNOWN_NAME``), or the agency's name
            (``CODE_TAKEN``: who has the code; ``NOT_ACTIVE``, ``TARGET_NOT_ACTIVE``).
        agencies: (name, code) of the agencies meant (``AMBIGUOUS``) or of the closest names
            (``UNKNOWN_NAME``; none: nothing came close).
        change: what was asked, for ``NOT_ACTIVE``: "merge" or "retire".
    """

    def __init__(
        self,
        refusal: Refusal,
        *,
        code: str = "",
        name: str = "",
        agencies: tuple[tuple[str, str], ...] = (),
        change: str = "",
    ) -> None:
        super().__init__(f"{refusal.value}: code={code!r} name={name!r} change={change!r}")
        self.refusal = refusal
        self.code = code
        self.name = name
        self.agencies = agencies
        self.change = change


async def get_agency(session: AsyncSession, code: str) -> Agency:
    """Return the agency with a code, or raise AgencyError."""
    agency = await session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise AgencyError(Refusal.UNKNOWN_CODE, code=code)
    return agency


async def find_agency(session: AsyncSession, code_or_name: str) -> Agency:
    """Return the agency a person means by what they typed, or raise AgencyError.

    Its code, name, short name or a former name, with or without diacritics, or a part of a
    name ("Tràng Định"): see :func:`bot.core.domain.members.match_name`. Several agencies that are
    one today (merged into the same one) count as one. The error names the agencies that
    were meant, or the closest names.
    """
    agencies = {a.id: a for a in await session.scalars(select(Agency).order_by(Agency.id))}
    former: dict[int, list[str]] = {}
    for agency_id, name, short_name in await session.execute(
        select(AgencyName.agency_id, AgencyName.name, AgencyName.short_name)
    ):
        former.setdefault(agency_id, []).extend((name, short_name))
    match = match_name(
        code_or_name,
        [
            NamedThing(
                a.id,
                a.code,
                a.name,
                a.short_name,
                tuple(former.get(a.id, ())),
                a.status == AgencyStatus.ACTIVE,
            )
            for a in agencies.values()
        ],
    )
    found = [agencies[t.id] for t in match.found]
    today = {(await current_agency(session, a)).id for a in found}
    if len(today) == 1:
        return found[0]
    typed = code_or_name.strip()[:100]
    if found:
        raise AgencyError(Refusal.AMBIGUOUS, name=typed, agencies=_named(found))
    raise AgencyError(
        Refusal.UNKNOWN_NAME,
        name=typed,
        agencies=_named([agencies[t.id] for t in match.suggestions]),
    )


def _named(agencies: list[Agency]) -> tuple[tuple[str, str], ...]:
    return tuple((a.name, a.code) for a in agencies)


async def current_agency(session: AsyncSession, agency: Agency) -> Agency:
    """Follow the chain of merges from an agency to the one that reports today."""
    seen = {agency.id}
    while agency.successor_id is not None:
        successor = await session.get(Agency, agency.successor_id)
        if successor is None or successor.id in seen:
            break
        seen.add(successor.id)
        agency = successor
    return agency


async def coordinator_agency(session: AsyncSession) -> Agency | None:
    """Return the agency that coordinates the plan today (following merges), if any."""
    plan = await session.scalar(select(Plan).order_by(Plan.id).limit(1))
    if plan is None or plan.coordinator_id is None:
        return None
    coordinator = await session.get(Agency, plan.coordinator_id)
    return await current_agency(session, coordinator) if coordinator else None


async def lineage_ids(session: AsyncSession, agency_id: int) -> list[int]:
    """Return an agency's id and the ids of every agency merged into it, directly or not."""
    children = await cached(session, "mergers", lambda: _mergers(session))
    return lineage(children, agency_id)


async def _mergers(session: AsyncSession) -> Mapping[int, tuple[int, ...]]:
    """Return, per agency id, the ids of the agencies merged directly into it."""
    rows = (await session.execute(select(Agency.id, Agency.successor_id))).all()
    children: dict[int, list[int]] = {}
    for child, parent in rows:
        if parent is not None:
            children.setdefault(parent, []).append(child)
    return MappingProxyType({parent: tuple(ids) for parent, ids in children.items()})


def to_info(agency: Agency, successor_code: str | None = None) -> AgencyInfo:
    """Turn an agency row into its dataclass."""
    return AgencyInfo(
        id=agency.id,
        code=agency.code,
        name=agency.name,
        short_name=agency.short_name,
        kind=agency.kind,
        status=AgencyStatus(agency.status),
        successor_code=successor_code,
    )


async def add_agency(
    session: AsyncSession, *, code: str, name: str, short_name: str, kind: str, now: datetime
) -> Agency:
    """Add an agency; adding one that exists with the same name changes nothing."""
    existing = await session.scalar(select(Agency).where(Agency.code == code))
    if existing is not None:
        if add_conflict(existing.name, name) is Refusal.CODE_TAKEN:
            raise AgencyError(Refusal.CODE_TAKEN, code=code, name=existing.name)
        return existing
    mark_plan_changed(session)
    agency = Agency(
        code=code, name=name, short_name=short_name, kind=kind, status="active", created_at=now
    )
    session.add(agency)
    await session.flush()
    _audit(session, now, "agency.add", code=code, name=name)
    return agency


async def rename_agency(
    session: AsyncSession,
    code: str,
    *,
    name: str,
    short_name: str | None,
    on: date,
    now: datetime,
) -> Agency:
    """Rename an agency, keeping its former name; renaming to the same name changes nothing."""
    agency = await get_agency(session, code)
    short_name = short_name or agency.short_name
    if agency.name == name and agency.short_name == short_name:
        return agency
    mark_plan_changed(session)
    session.add(
        AgencyName(
            agency_id=agency.id, name=agency.name, short_name=agency.short_name, used_until=on
        )
    )
    _audit(session, now, "agency.rename", code=code, old=agency.name, new=name)
    agency.name, agency.short_name, agency.changed_on = name, short_name, on
    await session.flush()
    return agency


async def merge_agency(
    session: AsyncSession, code: str, *, into: str, on: date, now: datetime
) -> Agency:
    """Merge an agency into another: its tasks and members move, its reports stay its own."""
    agency = await get_agency(session, code)
    target = await current_agency(session, await get_agency(session, into))
    refusal = merge_refusal(_standing(agency), _standing(target))
    if refusal is not None:
        named = target if refusal is Refusal.TARGET_NOT_ACTIVE else agency
        raise AgencyError(refusal, code=named.code, name=named.name, change="merge")
    if already_merged(_standing(agency), _standing(target)):
        return agency
    mark_plan_changed(session)
    moved = await _move_assignments(session, agency.id, target.id)
    members = await session.execute(
        update(Member).where(Member.agency_id == agency.id).values(agency_id=target.id)
    )
    agency.status, agency.successor_id, agency.changed_on = "merged", target.id, on
    _audit(
        session,
        now,
        "agency.merge",
        code=code,
        into=target.code,
        assignments=moved,
        members=members.rowcount,  # type: ignore[attr-defined]
    )
    await session.flush()
    return agency


async def retire_agency(session: AsyncSession, code: str, *, on: date, now: datetime) -> Agency:
    """Retire an agency: it stops reporting, its members are deactivated, its reports stay."""
    agency = await get_agency(session, code)
    refusal = retire_refusal(_standing(agency))
    if refusal is not None:
        raise AgencyError(refusal, code=agency.code, name=agency.name, change="retire")
    if agency.status == AgencyStatus.RETIRED:
        return agency
    mark_plan_changed(session)
    await session.execute(delete(Assignment).where(Assignment.agency_id == agency.id))
    await session.execute(update(Member).where(Member.agency_id == agency.id).values(active=False))
    agency.status, agency.changed_on = "retired", on
    _audit(session, now, "agency.retire", code=code)
    await session.flush()
    return agency


def _standing(agency: Agency) -> Standing:
    return Standing(agency.id, AgencyStatus(agency.status), agency.successor_id)


async def _move_assignments(session: AsyncSession, source_id: int, target_id: int) -> int:
    """Give a merged agency's assignments to its successor, as the rule says; return how many."""
    rows = list(await session.scalars(select(Assignment).where(Assignment.agency_id == source_id)))
    target = await session.scalars(select(Assignment).where(Assignment.agency_id == target_id))
    _move, drop = assignments_after_merger(
        [(a.task_id, a.role) for a in rows], [(a.task_id, a.role) for a in target]
    )
    for row in rows:
        if (row.task_id, row.role) in drop:
            await session.delete(row)
        else:
            row.agency_id = target_id
    return len(rows)


def _audit(session: AsyncSession, now: datetime, action: str, **detail: object) -> None:
    logger.info("agency change %s %s", action, detail)
    session.add(AuditEntry(at=now, action=action, detail=detail, channel="cli"))
