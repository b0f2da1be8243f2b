"""The service's health as ``pgibot status`` shows it: database, revision, backlogs, jobs.

Each check reads a little and changes nothing; :func:`check_health` gathers them and names the
problems that make the service unhealthy (the command then exits non-zero). Sections are
independent; one lists the running instances (their heartbeats) and which one leads.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import migrate
from storage.db import read_only_session
from storage.models import InboxUpdate, OutboxMessage
from storage.notifications import BLOCKED, FAILED, PENDING, SENDING
from storage.repositories.instances import InstanceInfo, InstanceRepository
from storage.repositories.jobs import JobRunInfo, JobRunRepository

REACH_TIMEOUT = 10.0
"""Seconds to wait for the database to answer."""
RECENT = timedelta(hours=24)
"""Failures of this last while are listed."""
OUTBOX_LATE = timedelta(minutes=15)
"""A notification due this long ago and not sent means delivery has stopped."""
INBOX_LATE = timedelta(minutes=5)
"""An update received this long ago and not handled means intake has stopped."""
SWEEP_LATE = timedelta(minutes=30)
"""The reminder sweep runs every 10 minutes while the bot runs (bot.scheduler)."""
SWEEP_JOB = "reminders"


class Problem(StrEnum):
    """What makes the service unhealthy."""

    UNREACHABLE = "unreachable"
    NOT_MIGRATED = "not_migrated"
    BEHIND = "behind"
    AHEAD = "ahead"
    OUTBOX_STALLED = "outbox_stalled"
    INBOX_STALLED = "inbox_stalled"
    SWEEP_LATE = "sweep_late"
    JOB_FAILED = "job_failed"
    NO_LEADER = "no_leader"


@dataclass(frozen=True, slots=True)
class Failure:
    """A recent failure: what failed, when, and the error."""

    what: str
    """``outbox``, ``inbox`` or a job's name."""
    at: datetime
    error: str


@dataclass(slots=True)
class Health:
    """What ``pgibot status`` reports."""

    kind: str
    reachable: bool
    error: str | None = None
    revision: str | None = None
    head: str = ""
    outbox: dict[str, int] = field(default_factory=dict)
    """Pending and sending messages; failed and blocked ones of the last 24 hours."""
    oldest_due: datetime | None = None
    inbox_waiting: int = 0
    oldest_waiting: datetime | None = None
    inbox_failed: int = 0
    jobs: list[JobRunInfo] = field(default_factory=list)
    instances: list[InstanceInfo] = field(default_factory=list)
    """The instances whose heartbeat is recent, the leader first."""
    failures: list[Failure] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Tell whether nothing is wrong."""
        return not self.problems


async def check_health(engine: AsyncEngine, now: datetime) -> Health:
    """Check the database the engine opens, and what the running bot left in it."""
    health = Health(
        kind="sqlite" if engine.dialect.name == "sqlite" else "postgresql",
        reachable=False,
        head=migrate.head_revision(),
    )
    try:
        async with asyncio.timeout(REACH_TIMEOUT), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        health.reachable = True
        health.revision = await migrate.current_revision(engine)
    except Exception as error:  # any way of not answering is the same answer
        health.error = str(error).splitlines()[0] if str(error) else type(error).__name__
        health.problems.append(Problem.UNREACHABLE)
        return health
    if health.revision is None:
        health.problems.append(Problem.NOT_MIGRATED)
        return health
    if health.revision != health.head:
        ahead = health.revision not in migrate.revisions()
        health.problems.append(Problem.AHEAD if ahead else Problem.BEHIND)
        return health
    await _backlogs(engine, now, health)
    return health


async def _backlogs(engine: AsyncEngine, now: datetime, health: Health) -> None:
    since = now - RECENT
    async with read_only_session(engine) as session:
        counts = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count())
                    .where(
                        OutboxMessage.status.in_((PENDING, SENDING))
                        | (
                            OutboxMessage.status.in_((FAILED, BLOCKED))
                            & (OutboxMessage.created_at >= since)
                        )
                    )
                    .group_by(OutboxMessage.status)
                )
            ).all()
        )
        health.outbox = {s: int(counts.get(s, 0)) for s in (PENDING, SENDING, FAILED, BLOCKED)}
        health.oldest_due = await session.scalar(
            select(func.min(OutboxMessage.next_attempt_at)).where(
                OutboxMessage.status.in_((PENDING, SENDING))
            )
        )
        waiting = InboxUpdate.processed_at.is_(None)
        health.inbox_waiting = int(
            await session.scalar(select(func.count()).select_from(InboxUpdate).where(waiting)) or 0
        )
        health.oldest_waiting = await session.scalar(
            select(func.min(InboxUpdate.received_at)).where(waiting)
        )
        failed_updates = (
            await session.execute(
                select(InboxUpdate.processed_at, InboxUpdate.last_error)
                .where(
                    InboxUpdate.processed_at >= since,
                    InboxUpdate.last_error.is_not(None),
                )
                .order_by(InboxUpdate.processed_at.desc())
            )
        ).all()
        health.inbox_failed = len(failed_updates)
        failed_messages = (
            await session.execute(
                select(OutboxMessage.created_at, OutboxMessage.last_error)
                .where(OutboxMessage.status == FAILED, OutboxMessage.created_at >= since)
                .order_by(OutboxMessage.created_at.desc())
                .limit(5)
            )
        ).all()
        health.jobs = await JobRunRepository(session).all()
        health.instances = await InstanceRepository(session).alive(now)
    health.failures = sorted(
        [Failure("inbox", at or now, error or "") for at, error in failed_updates[:5]]
        + [Failure("outbox", at, error or "") for at, error in failed_messages]
        + [
            Failure(job.name, job.finished_at or job.started_at, job.error or "")
            for job in health.jobs
            if job.succeeded is False
        ],
        key=lambda failure: failure.at,
        reverse=True,
    )
    if health.oldest_due is not None and health.oldest_due < now - OUTBOX_LATE:
        health.problems.append(Problem.OUTBOX_STALLED)
    if health.oldest_waiting is not None and health.oldest_waiting < now - INBOX_LATE:
        health.problems.append(Problem.INBOX_STALLED)
    sweep = next((job for job in health.jobs if job.name == SWEEP_JOB), None)
    if sweep is not None and sweep.started_at < now - SWEEP_LATE:
        health.problems.append(Problem.SWEEP_LATE)
    if any(job.succeeded is False for job in health.jobs):
        health.problems.append(Problem.JOB_FAILED)
    if health.instances and not any(instance.leader for instance in health.instances):
        health.problems.append(Problem.NO_LEADER)
