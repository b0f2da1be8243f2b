"""The PGI's published results per year: recorded, corrected (never overwritten), read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.results import TOTAL, PgiResult
from storage.models import PgiResultEntry, Plan, PlanIndex


class ResultError(ValueError):
    """A result that cannot be recorded: no plan, or no such index."""

    def __init__(self, index_code: str, known: list[str]) -> None:
        self.index_code, self.known = index_code, known
        super().__init__(index_code)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording a figure did: the figure now in force, and the one it corrected."""

    result: PgiResult
    corrected: PgiResult | None
    changed: bool
    """False when the same figure was already recorded (nothing was written)."""


class ResultRepository:
    """Each year's published PGI figures, with their corrections."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def index_codes(self) -> list[str]:
        """Return the codes of the plan's component indices, in the plan's order."""
        plan_id = await self._plan_id()
        rows = await self._session.scalars(
            select(PlanIndex.code).where(PlanIndex.plan_id == plan_id).order_by(PlanIndex.position)
        )
        return list(rows)

    async def all(self) -> list[PgiResult]:
        """Return the figures in force (the latest of each year and index), each with its past.

        Ordered by year, then the total before the indices in the plan's order.
        """
        plan_id = await self._plan_id()
        if plan_id is None:
            return []
        rows = await self._session.scalars(
            select(PgiResultEntry)
            .where(PgiResultEntry.plan_id == plan_id)
            .order_by(PgiResultEntry.id)
        )
        current: dict[tuple[int, str], PgiResult] = {}
        for row in rows:
            key = (row.year, row.index_code)
            current[key] = PgiResult(
                row.year,
                row.index_code,
                row.score,
                row.rank,
                row.out_of,
                row.recorded_at,
                row.recorded_by,
                current.get(key),
            )
        order = {code: i for i, code in enumerate([TOTAL, *await self.index_codes()])}
        return sorted(
            current.values(), key=lambda r: (r.year, order.get(r.index_code, len(order)))
        )

    async def record(
        self,
        *,
        year: int,
        index_code: str,
        score: float,
        rank: int | None,
        out_of: int | None,
        recorded_by: str,
        member_id: int | None,
        now: datetime,
    ) -> Recorded:
        """Record a figure; a different figure for the same year and index is a correction.

        Raises ResultError for an index the plan does not have.
        """
        plan_id = await self._plan_id()
        known = await self.index_codes()
        if plan_id is None or (index_code != TOTAL and index_code not in known):
            raise ResultError(index_code, known)
        last = await self._session.scalar(
            select(PgiResultEntry)
            .where(
                PgiResultEntry.plan_id == plan_id,
                PgiResultEntry.year == year,
                PgiResultEntry.index_code == index_code,
            )
            .order_by(PgiResultEntry.id.desc())
            .limit(1)
        )
        previous = next(
            (r for r in await self.all() if (r.year, r.index_code) == (year, index_code)), None
        )
        if previous is not None and previous.same_as(score, rank, out_of):
            return Recorded(previous, previous.previous, changed=False)
        self._session.add(
            PgiResultEntry(
                plan_id=plan_id,
                year=year,
                index_code=index_code,
                score=round(score, 2),
                rank=rank,
                out_of=out_of,
                recorded_at=now,
                recorded_by=recorded_by,
                member_id=member_id,
                supersedes_id=last.id if last else None,
            )
        )
        await self._session.flush()
        result = PgiResult(
            year, index_code, round(score, 2), rank, out_of, now, recorded_by, previous
        )
        return Recorded(result, previous, changed=True)

    async def _plan_id(self) -> int | None:
        return await self._session.scalar(select(Plan.id).order_by(Plan.id).limit(1))


def result_detail(recorded: Recorded) -> dict[str, Any]:
    """Return what the audit log keeps of a recorded figure (and of the one it corrected)."""
    result, before = recorded.result, recorded.corrected
    detail: dict[str, Any] = {
        "year": result.year,
        "index": result.index_code or "PGI",
        "score": result.score,
        "rank": result.rank,
        "out_of": result.out_of,
    }
    if before is not None:
        detail |= {"was_score": before.score, "was_rank": before.rank, "was_out_of": before.out_of}
    return detail
