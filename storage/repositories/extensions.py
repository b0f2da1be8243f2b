"""Deadline extensions: asked by an agency, decided once by the coordinator, or granted unasked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.domain.extensions import Extension, ExtensionState
from storage.models import Agency, Cycle, ExtensionRequest, Member, Milestone, MilestoneRule

CODES_SEPARATOR = ","


class ExtensionRepository:
    """Record, decide and list deadline extensions."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _list(self, *where: ColumnElement[bool]) -> list[Extension]:
        asker, decider = aliased(Member), aliased(Member)
        rows = await self._session.execute(
            select(
                ExtensionRequest,
                Cycle.year,
                Agency.name,
                asker.full_name,
                decider.full_name,
                MilestoneRule.title,
            )
            .join(Cycle, Cycle.id == ExtensionRequest.cycle_id)
            .join(Agency, Agency.id == ExtensionRequest.agency_id)
            .join(Milestone, Milestone.id == ExtensionRequest.milestone_id)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .outerjoin(asker, asker.id == ExtensionRequest.requested_by)
            .outerjoin(decider, decider.id == ExtensionRequest.decided_by)
            .where(*where)
            .order_by(ExtensionRequest.requested_at, ExtensionRequest.id)
        )
        return [
            Extension(
                id=row.id,
                year=year,
                milestone_id=row.milestone_id,
                agency_id=row.agency_id,
                agency_name=agency,
                task_codes=tuple(c for c in row.task_codes.split(CODES_SEPARATOR) if c),
                original_due=row.original_due,
                asked_until=row.asked_until,
                reason=row.reason,
                requested_by=asked_by,
                requested_at=row.requested_at,
                state=ExtensionState(row.state),
                granted_until=row.granted_until,
                decided_by=decided_by,
                decided_at=row.decided_at,
                decision_reason=row.decision_reason,
                title=title,
            )
            for row, year, agency, asked_by, decided_by, title in rows.all()
        ]

    async def record(
        self,
        *,
        milestone_id: int,
        agency_id: int,
        task_codes: Sequence[str],
        reason: str,
        member_id: int,
        now: datetime,
        asked_until: date | None = None,
        granted_until: date | None = None,
    ) -> Extension:
        """Record a request (``asked_until``), or an extension granted unasked (``granted_until``).

        ``member_id`` is the officer who asks, or the coordinator who grants unasked.
        """
        milestone = await self._session.get(Milestone, milestone_id)
        assert milestone is not None
        granted = granted_until is not None
        row = ExtensionRequest(
            cycle_id=milestone.cycle_id,
            milestone_id=milestone_id,
            agency_id=agency_id,
            task_codes=CODES_SEPARATOR.join(task_codes),
            original_due=milestone.due_date,
            asked_until=asked_until,
            reason=reason,
            requested_by=None if granted else member_id,
            requested_at=now,
            state=(ExtensionState.GRANTED if granted else ExtensionState.WAITING).value,
            granted_until=granted_until,
            decided_by=member_id if granted else None,
            decided_at=now if granted else None,
            decision_reason=reason if granted else None,
        )
        self._session.add(row)
        await self._session.flush()
        found = await self.get(row.id)
        assert found is not None
        return found

    async def get(self, extension_id: int) -> Extension | None:
        """Return one extension, None if there is no such one."""
        found = await self._list(ExtensionRequest.id == extension_id)
        return found[0] if found else None

    async def decide(
        self,
        extension_id: int,
        *,
        granted_until: date | None,
        decider_id: int,
        reason: str | None,
        now: datetime,
    ) -> bool:
        """Grant (until a day) or refuse (None) a waiting request; False if decided already."""
        state = ExtensionState.GRANTED if granted_until is not None else ExtensionState.REFUSED
        result: Any = await self._session.execute(
            update(ExtensionRequest)
            .where(
                ExtensionRequest.id == extension_id,
                ExtensionRequest.state == ExtensionState.WAITING.value,
            )
            .values(
                state=state.value,
                granted_until=granted_until,
                decided_by=decider_id,
                decided_at=now,
                decision_reason=reason,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)

    async def waiting_one(self, milestone_id: int, agency_id: int) -> Extension | None:
        """Return the request of an agency about a deadline still waiting, if any."""
        found = await self._list(
            ExtensionRequest.milestone_id == milestone_id,
            ExtensionRequest.agency_id == agency_id,
            ExtensionRequest.state == ExtensionState.WAITING.value,
        )
        return found[-1] if found else None

    async def waiting(self) -> list[Extension]:
        """Return every request waiting for the coordinator's answer, oldest first."""
        return await self._list(ExtensionRequest.state == ExtensionState.WAITING.value)

    async def granted(self, milestone_ids: Sequence[int] | None = None) -> list[Extension]:
        """Return the granted extensions (of some deadlines, if given), oldest first."""
        where = [ExtensionRequest.state == ExtensionState.GRANTED.value]
        if milestone_ids is not None:
            where.append(ExtensionRequest.milestone_id.in_(milestone_ids))
        return await self._list(*where)

    async def of_year(self, year: int, agency_ids: set[int] | None = None) -> list[Extension]:
        """Return a year's extensions, oldest first (only those of some agencies, if given)."""
        where = [Cycle.year == year]
        if agency_ids is not None:
            where.append(ExtensionRequest.agency_id.in_(agency_ids))
        return await self._list(*where)
