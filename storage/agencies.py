"""Reorganisation of agencies: add, rename, merge and retire, each from a day, history kept.

A renamed agency keeps its id, so its reports stay its own, and its former name is recorded.
A merged agency stays in the database with status ``merged``, a successor and the day it
ended (``valid_to``): from that day its tasks belong to the successor (the assignments are
rebuilt through time, :mod:`storage.structure`, so the years before keep theirs), and its
members continue under the successor once the day has come (:func:`settle_members`). Its
reports stay its own and show in the successor's history. A retired agency keeps its reports;
its assignments end on the day and its members are deactivated.

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

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.agencies import AgencyInfo, AgencyStatus
from bot.core.domain.members import NamedThing, match_name
from bot.core.domain.reorganisation import (
    Followed,
    Refusal,
    Standing,
    add_conflict,
    already_merged,
    lineage,
    merge_refusal,
    retire_refusal,
)
from bot.core.i18n import current_timezone
from storage.models import (
    Agency,
    AgencyGroup,
    AgencyName,
    AuditEntry,
    Member,
    MemberIdentity,
    Plan,
)
from storage.plan_cache import cached, mark_plan_changed
from storage.structure import rebuild_all

logger = logging.getLogger(__name__)

FOLLOWED = "pgibot.followed"
"""Where a session keeps the members who followed their agency until they are told."""


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
        on: the day the agency ended (``ENDED``).
        successors: the names of who took over its tasks (``ENDED``; none: nobody).
    """

    def __init__(
        self,
        refusal: Refusal,
        *,
        code: str = "",
        name: str = "",
        agencies: tuple[tuple[str, str], ...] = (),
        change: str = "",
        on: date | None = None,
        successors: tuple[str, ...] = (),
    ) -> None:
        super().__init__(f"{refusal.value}: code={code!r} name={name!r} change={change!r}")
        self.refusal = refusal
        self.code = code
        self.name = name
        self.agencies = agencies
        self.change = change
        self.on = on
        self.successors = successors


async def get_agency(session: AsyncSession, code: str) -> Agency:
    """Return the agency with a code, or raise AgencyError."""
    agency = await session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        raise AgencyError(Refusal.UNKNOWN_CODE, code=code)
    return agency


async def find_agency(session: AsyncSession, code_or_name: str, on: date | None = None) -> Agency:
    """Return the agency a person means by what they typed, or raise AgencyError.

    Its code, name, short name or a former name, with or without diacritics, or a part of a
    name ("Tràng Định"): see :func:`bot.core.domain.members.match_name`. Several agencies that are
    one today (merged into the same one) count as one. Of several agencies matched, those that
    still exist win: on a given day, those that exist that day ("Tràng Định" is the district
    until 30/06/2025, the commune from 01/07/2025). The error says which agencies were meant,
    or suggests the closest names.
    """
    agencies = {
        a.id: a
        for a in await session.scalars(select(Agency).order_by(Agency.id))
        if on is None or a.valid_from is None or a.valid_from <= on  # none meant before it is
    }
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
                _exists(a, on) if on is not None else a.status == AgencyStatus.ACTIVE,
            )
            for a in agencies.values()
        ],
    )
    found = [agencies[t.id] for t in match.found]
    today = {(await current_agency(session, a)).id for a in found}
    if len(today) == 1:  # the one that still exists, if the name is also a former one's
        return next((a for a in found if a.valid_to is None), found[0])
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


async def current_agency(session: AsyncSession, agency: Agency, on: date | None = None) -> Agency:
    """Follow the chain of merges from an agency to the one that answers for it on a day.

    Without a day, every merger recorded is followed (the latest structure).
    """
    seen = {agency.id}
    while agency.successor_id is not None and (
        on is None or agency.valid_to is None or agency.valid_to <= on
    ):
        successor = await session.get(Agency, agency.successor_id)
        if successor is None or successor.id in seen:
            break
        seen.add(successor.id)
        agency = successor
    return agency


async def coordinator_agency(session: AsyncSession, on: date | None = None) -> Agency | None:
    """Return the agency that coordinates the plan on a day (following merges), if any."""
    plan = await session.scalar(select(Plan).order_by(Plan.id).limit(1))
    if plan is None or plan.coordinator_id is None:
        return None
    coordinator = await session.get(Agency, plan.coordinator_id)
    return await current_agency(session, coordinator, on) if coordinator else None


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
        valid_from=agency.valid_from,
        valid_to=agency.valid_to,
    )


async def add_agency(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    short_name: str,
    kind: str,
    now: datetime,
    valid_from: date | None = None,
) -> Agency:
    """Add an agency existing from a day (None: always); adding it again changes nothing."""
    existing = await session.scalar(select(Agency).where(Agency.code == code))
    if existing is not None:
        if add_conflict(existing.name, name) is Refusal.CODE_TAKEN:
            raise AgencyError(Refusal.CODE_TAKEN, code=code, name=existing.name)
        return existing
    mark_plan_changed(session)
    agency = Agency(
        code=code,
        name=name,
        short_name=short_name,
        kind=kind,
        status="active",
        created_at=now,
        valid_from=valid_from,
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
    session: AsyncSession,
    code: str,
    *,
    into: str,
    on: date,
    now: datetime,
    rebuild: bool = True,
) -> Agency:
    """Merge an agency into another from a day: its tasks and members go to the other then.

    Its reports stay its own; the assignments before the day stay as they were. ``rebuild``
    False leaves the assignments to the caller (an import rebuilds them once at its end).
    """
    agency = await get_agency(session, code)
    target = await current_agency(session, await get_agency(session, into))
    refusal = merge_refusal(_standing(agency), _standing(target))
    if refusal is not None:
        named = target if refusal is Refusal.TARGET_NOT_ACTIVE else agency
        raise AgencyError(refusal, code=named.code, name=named.name, change="merge")
    if already_merged(_standing(agency), _standing(target)):
        return agency
    mark_plan_changed(session)
    agency.status, agency.successor_id, agency.changed_on = "merged", target.id, on
    agency.valid_to = on
    _audit(session, now, "agency.merge", code=code, into=target.code)
    await session.flush()
    await _settle(session, now, rebuild)
    return agency


async def retire_agency(
    session: AsyncSession, code: str, *, on: date, now: datetime, rebuild: bool = True
) -> Agency:
    """Retire an agency from a day: it stops reporting then; its reports stay."""
    agency = await get_agency(session, code)
    refusal = retire_refusal(_standing(agency))
    if refusal is not None:
        raise AgencyError(refusal, code=agency.code, name=agency.name, change="retire")
    if agency.status == AgencyStatus.RETIRED:
        return agency
    mark_plan_changed(session)
    agency.status, agency.changed_on, agency.valid_to = "retired", on, on
    _audit(session, now, "agency.retire", code=code)
    await session.flush()
    await _settle(session, now, rebuild)
    return agency


async def _settle(session: AsyncSession, now: datetime, rebuild: bool) -> None:
    if rebuild:
        if await session.scalar(select(Plan.id).where(Plan.structure.is_(None)).limit(1)):
            raise AgencyError(Refusal.PLAN_OUTDATED)
        await rebuild_all(session)
    await settle_members(session, now=now)


async def settle_members(session: AsyncSession, *, now: datetime) -> list[Followed]:
    """Let people follow their agency once its end has come, and return who must be told.

    The members of an agency merged by today continue under the agency that answers for it
    today; those of a retired one are deactivated. Each of them with a reachable chat is
    returned, and kept for :func:`followed`, so that the caller words the one message they
    receive through the outbox (:mod:`handlers.agency_notices`). Doing it again changes
    nothing.
    """
    today = now.astimezone(current_timezone()).date()
    has_people = exists().where(Member.agency_id == Agency.id, Member.active.is_(True))
    ended = list(
        await session.scalars(
            select(Agency).where(
                Agency.valid_to.is_not(None), Agency.valid_to <= today, has_people
            )
        )
    )
    found: list[Followed] = []
    for agency in ended:
        target = await current_agency(session, agency, today)
        closed = target.valid_to is not None and target.valid_to <= today
        people = list(
            await session.scalars(
                select(Member).where(Member.agency_id == agency.id).order_by(Member.id)
            )
        )
        gone = target if closed else agency
        active = sum(1 for person in people if person.active)
        takers = tuple(await taking_over(session, target)) if closed else ()
        for person in people:
            chat = await _chat_of(session, person) if person.active else None
            if chat is not None:
                found.append(
                    Followed(
                        member_id=person.id,
                        channel=chat[0],
                        chat_id=chat[1],
                        agency_id=gone.id,
                        agency=gone.name,
                        ended_on=gone.valid_to or today,
                        continues_under=None if closed else target.name,
                        takers=takers,
                    )
                )
            if closed:
                person.active = False
            person.agency_id = target.id
        if target.id != agency.id:
            _audit(
                session,
                now,
                "agency.members_moved",
                code=agency.code,
                into=target.code,
                members=len(people),
            )
        if closed:
            _audit(session, now, "agency.members_closed", code=target.code, members=active)
    await session.flush()
    session.info.setdefault(FOLLOWED, []).extend(found)
    return found


def followed(session: AsyncSession) -> list[Followed]:
    """Return (and forget) the members who followed their agency in this transaction."""
    found: list[Followed] = session.info.pop(FOLLOWED, [])
    return found


async def _chat_of(session: AsyncSession, person: Member) -> tuple[str, str] | None:
    """Return the chat where a member is told: the chosen channel, else the latest one."""
    identity = await session.scalar(
        select(MemberIdentity)
        .where(
            MemberIdentity.member_id == person.id,
            MemberIdentity.reachable.is_(True),
            MemberIdentity.channel != "console",
        )
        .order_by(
            (MemberIdentity.channel == (person.preferred_channel or "")).desc(),
            MemberIdentity.id.desc(),
        )
        .limit(1)
    )
    return (identity.channel, identity.chat_id) if identity else None


async def ended_error(session: AsyncSession, agency: Agency) -> AgencyError:
    """The refusal of an agency that no longer exists, naming who took over its tasks."""
    takers = await taking_over(session, agency)
    return AgencyError(
        Refusal.ENDED, name=agency.name, on=agency.valid_to, successors=tuple(takers)
    )


async def taking_over(session: AsyncSession, agency: Agency) -> list[str]:
    """Return who took over an ended agency's tasks.

    Its successor, or the groups that succeed the groups it belonged to (the communes and
    wards for a district).
    """
    if agency.successor_id is not None:
        successor = await session.get(Agency, agency.successor_id)
        return [successor.name] if successor else []
    found: list[str] = []
    for plan in await session.scalars(select(Plan).order_by(Plan.id)):
        structure = plan.structure or {}
        kinds = dict(structure.get("agencies", []))
        groups = structure.get("groups", {})
        mine = {
            code
            for code, group in groups.items()
            if agency.code in group["members"] or kinds.get(agency.code) in group["kinds"]
        }
        for since, old, new, task in structure.get("successions", []):
            if task is None and old in mine and agency.valid_to and since <= str(agency.valid_to):
                name = await session.scalar(
                    select(AgencyGroup.name).where(
                        AgencyGroup.plan_id == plan.id, AgencyGroup.code == new
                    )
                )
                successor = await session.scalar(select(Agency.name).where(Agency.code == new))
                found.append(name or successor or new)
    return list(dict.fromkeys(found))


def _exists(agency: Agency, on: date) -> bool:
    return (agency.valid_from is None or agency.valid_from <= on) and (
        agency.valid_to is None or on < agency.valid_to
    )


def _standing(agency: Agency) -> Standing:
    return Standing(agency.id, AgencyStatus(agency.status), agency.successor_id)


def _audit(session: AsyncSession, now: datetime, action: str, **detail: object) -> None:
    logger.info("agency change %s %s", action, detail)
    session.add(AuditEntry(at=now, action=action, detail=detail, channel="cli"))
