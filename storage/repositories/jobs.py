"""Scheduled jobs' last runs: when each started and ended, and whether it succeeded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import JobRun

ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class JobRunInfo:
    """The last run of one job."""

    name: str
    started_at: datetime
    finished_at: datetime | None
    """None: running, or the process stopped during the run."""
    succeeded: bool | None
    last_success_at: datetime | None
    error: str | None


class JobRunRepository:
    """One row per job, rewritten at every run."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def started(self, name: str, now: datetime) -> None:
        """Record that a job starts."""
        row = await self._session.get(JobRun, name)
        if row is None:
            self._session.add(JobRun(name=name, started_at=now))
        else:
            row.started_at, row.finished_at, row.succeeded, row.error = now, None, None, None
        await self._session.flush()

    async def finished(self, name: str, now: datetime, error: str | None = None) -> None:
        """Record that a job ended, with the error that stopped it if any."""
        row = await self._session.get(JobRun, name)
        if row is None:
            row = JobRun(name=name, started_at=now)
            self._session.add(row)
        row.finished_at, row.succeeded = now, error is None
        row.error = error[:ERROR_LENGTH] if error else None
        if error is None:
            row.last_success_at = now
        await self._session.flush()

    async def all(self) -> list[JobRunInfo]:
        """Return every job's last run, by name."""
        rows = await self._session.scalars(select(JobRun).order_by(JobRun.name))
        return [
            JobRunInfo(
                r.name, r.started_at, r.finished_at, r.succeeded, r.last_success_at, r.error
            )
            for r in rows
        ]
