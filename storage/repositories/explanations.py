"""Explanation requests: asked of an agency, answered once, reminded while unanswered.

The reminders of an unanswered request are decided like the deadline reminders: a row per
(request, step, member) with a unique key, written with its outbox message in one transaction,
so a sweep can run any number of times and a member is reminded once per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.core.domain.explanations import Explanation, ExplanationReason
from storage.models import (
    Agency,
    Cycle,
    ExplanationReminder,
    ExplanationRequest,
    Member,
    OutboxMessage,
)
from storage.notifications import PENDING, Notice

CODES_SEPARATOR = ","
_Row = Select[ExplanationRequest, int, str, str, str]


class ExplanationRepository:
    """Ask, answer, list and remind explanation requests."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def _query(self) -> _Row:
        asker, answerer = aliased(Member), aliased(Member)
        return (
            select(
                ExplanationRequest,
                Cycle.year,
                Agency.name,
                asker.full_name,
                answerer.full_name,
            )
            .join(Cycle, Cycle.id == ExplanationRequest.cycle_id)
            .join(Agency, Agency.id == ExplanationRequest.agency_id)
            .outerjoin(asker, asker.id == ExplanationRequest.asked_by)
            .outerjoin(answerer, answerer.id == ExplanationRequest.answered_by)
            .order_by(ExplanationRequest.asked_at, ExplanationRequest.id)
        )

    async def _list(self, query: _Row) -> list[Explanation]:
        return [
            Explanation(
                id=row.id,
                year=year,
                agency_id=row.agency_id,
                agency_name=agency,
                task_codes=tuple(c for c in row.task_codes.split(CODES_SEPARATOR) if c),
                task_id=row.task_id,
                reason=ExplanationReason(row.reason),
                asked_at=row.asked_at,
                asked_by=asked_by,
                due_date=row.due_date,
                answer=row.answer,
                answered_at=row.answered_at,
                answered_by=answered_by,
            )
            for row, year, agency, asked_by, answered_by in (
                await self._session.execute(query)
            ).all()
        ]

    async def ask(
        self,
        *,
        cycle_id: int,
        agency_id: int,
        task_id: int | None,
        task_codes: Sequence[str],
        reason: ExplanationReason,
        asked_by: int,
        now: datetime,
        due_date: date,
    ) -> Explanation:
        """Record a new request and return it."""
        row = ExplanationRequest(
            cycle_id=cycle_id,
            agency_id=agency_id,
            task_id=task_id,
            task_codes=CODES_SEPARATOR.join(task_codes),
            reason=reason.value,
            asked_by=asked_by,
            asked_at=now,
            due_date=due_date,
        )
        self._session.add(row)
        await self._session.flush()
        found = await self.get(row.id)
        assert found is not None
        return found

    async def cycle_of_year(self, year: int) -> int | None:
        """Return the id of a year's reporting cycle, None if the year has none."""
        return await self._session.scalar(
            select(Cycle.id).where(Cycle.year == year).order_by(Cycle.id).limit(1)
        )

    async def get(self, request_id: int) -> Explanation | None:
        """Return one request, None if there is no such request."""
        found = await self._list(self._query().where(ExplanationRequest.id == request_id))
        return found[0] if found else None

    async def open_request(
        self, cycle_id: int, agency_id: int, task_id: int | None
    ) -> Explanation | None:
        """Return the unanswered request about the same thing, if one is waiting."""
        query = self._query().where(
            ExplanationRequest.cycle_id == cycle_id,
            ExplanationRequest.agency_id == agency_id,
            ExplanationRequest.answer.is_(None),
            ExplanationRequest.task_id.is_(None)
            if task_id is None
            else ExplanationRequest.task_id == task_id,
        )
        found = await self._list(query)
        return found[-1] if found else None

    async def answer(self, request_id: int, member_id: int, text: str, now: datetime) -> bool:
        """Store the answer unless one was given meanwhile; return whether it was stored."""
        result = await self._session.execute(
            update(ExplanationRequest)
            .where(ExplanationRequest.id == request_id, ExplanationRequest.answer.is_(None))
            .values(answer=text, answered_by=member_id, answered_at=now)
            .returning(ExplanationRequest.id)
        )
        return result.scalar() is not None

    async def of_year(self, year: int, agency_ids: set[int] | None = None) -> list[Explanation]:
        """Return a year's requests, oldest first (only those to some agencies, if given)."""
        query = self._query().where(Cycle.year == year)
        if agency_ids is not None:
            query = query.where(ExplanationRequest.agency_id.in_(agency_ids))
        return await self._list(query)

    async def of_agency(self, agency_id: int, *, unanswered: bool = False) -> list[Explanation]:
        """Return an agency's requests, oldest first (only the unanswered ones, if asked)."""
        query = self._query().where(ExplanationRequest.agency_id == agency_id)
        if unanswered:
            query = query.where(ExplanationRequest.answer.is_(None))
        return await self._list(query)

    async def unanswered(self, due_before: date) -> list[Explanation]:
        """Return every unanswered request whose answer deadline is before a day."""
        return await self._list(
            self._query().where(
                ExplanationRequest.answer.is_(None), ExplanationRequest.due_date < due_before
            )
        )

    # --- reminders --------------------------------------------------------------------------

    async def reminded_members(self, request_id: int, step: str) -> set[int]:
        """Return the members already reminded of a request at a step."""
        rows = await self._session.scalars(
            select(ExplanationReminder.member_id).where(
                ExplanationReminder.request_id == request_id, ExplanationReminder.step == step
            )
        )
        return set(rows)

    async def remind(
        self, request_id: int, step: str, notices: Sequence[Notice], now: datetime
    ) -> int:
        """Record reminder decisions and their outbox messages together; return the new ones."""
        decided = 0
        for notice in notices:
            member_id = notice.recipient.member_id
            decision = await self._session.execute(
                self._insert(ExplanationReminder)
                .values(
                    request_id=request_id,
                    step=step,
                    member_id=member_id,
                    decided_at=now,
                )
                .on_conflict_do_nothing(index_elements=["request_id", "step", "member_id"])
                .returning(ExplanationReminder.id)
            )
            decision_id = decision.scalar()
            if decision_id is None:
                continue
            queued = await self._session.execute(
                self._insert(OutboxMessage)
                .values(
                    channel=notice.recipient.channel,
                    chat_id=notice.recipient.chat_id,
                    member_id=member_id,
                    kind=notice.kind,
                    payload=notice.payload,
                    dedupe_key=f"{notice.kind}:{request_id}:{step}:{member_id}",
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(OutboxMessage.id)
            )
            outbox_id = queued.scalar()
            if outbox_id is not None:
                await self._session.execute(
                    update(ExplanationReminder)
                    .where(ExplanationReminder.id == decision_id)
                    .values(outbox_id=outbox_id)
                )
            decided += 1
        return decided

    def _insert(self, model: Any) -> Any:
        dialect = self._session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)
