"""The scheduler: APScheduler 3 in the plan's time zone, its jobs rebuilt at every start.

The reminder sweep and the coordinator's digest run at the reminder hour itself (a cron trigger
in the plan's time zone, so the 08:00 reminders leave at 08:00), and also every few minutes and
once at start, so a bot that was down at the reminder hour catches up when it comes back. Both
are idempotent (decisions and digests have unique keys), so running often costs nothing. The
jobs live in memory: everything they decide is in the database, nothing is lost with them.

A daily job at night purges what the retention settings say is no longer kept: processed
update payloads and old audit entries (see :mod:`storage.retention`). Another, at the backup
hour, writes a backup of the database and the evidence files and keeps the newest few (see
:mod:`storage.backup`). Every job records its runs (``job_run``), which ``pgibot status`` reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.clock import Clock
from handlers.reminders import Reminders
from storage.backup import create_backup, daily_name, prune_backups
from storage.db import Database
from storage.retention import BATCH, Purged, RetentionPolicy
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

SWEEP_EVERY_MINUTES = 10
REMINDER_JOB = "reminders"
REMINDER_HOUR_JOB = "reminders-at-hour"
PURGE_JOB = "purge"
PURGE_HOUR, PURGE_MINUTE = 2, 30
"""When the daily purge runs (plan's time zone): at night, far from the reminder hour."""
BACKUP_JOB = "backup"


async def recorded(
    database: Database,
    clock: Clock,
    name: str,
    work: Callable[[], Awaitable[str | None]],
) -> str | None:
    """Run a job's work, recording its start and end in ``job_run``; return its error.

    ``work`` returns None when it succeeded, else what went wrong. A database that cannot
    take the record does not stop the work (the work says so itself when it needs it).
    """
    try:
        async with UnitOfWork(database) as uow:
            await uow.jobs.started(name, clock.now())
            await uow.commit()
    except Exception:
        logger.debug("could not record the start of job %s", name, exc_info=True)
    error = await work()
    try:
        async with UnitOfWork(database) as uow:
            await uow.jobs.finished(name, clock.now(), error)
            await uow.commit()
    except Exception:
        logger.debug("could not record the end of job %s", name, exc_info=True)
    return error


async def run_reminders(
    database: Database,
    reminders: Reminders,
    clock: Clock,
    wake_outbox: Callable[[], None],
) -> str | None:
    """Decide due reminders and the digest, then wake the outbox worker; return the error."""
    now = clock.now()
    try:
        async with UnitOfWork(database) as uow:
            swept = await reminders.sweep(uow, now)
        async with UnitOfWork(database) as uow:
            digests = await reminders.digest(uow, now)
    except Exception as error:
        logger.exception("reminder sweep failed; it runs again in %s minutes", SWEEP_EVERY_MINUTES)
        return str(error) or type(error).__name__
    if swept.decided or digests:
        wake_outbox()
    return None


class ReminderJob:
    """The scheduled job; at shutdown, :meth:`drain` waits for a run in progress to finish.

    A run cancelled in the middle of a database call would leave a connection (and, with
    aiosqlite, its thread) behind, and the process would not exit.
    """

    def __init__(
        self,
        database: Database,
        reminders: Reminders,
        clock: Clock,
        wake_outbox: Callable[[], None],
    ) -> None:
        self._args = (database, reminders, clock, wake_outbox)
        self._lock = asyncio.Lock()
        self.send_hour = reminders.policy.send_hour
        """The hour (plan's time zone) from which reminders may be sent each day."""

    async def run(self) -> None:
        """Run once.

        The scheduler is given this bound coroutine method, not the object: APScheduler awaits
        only what ``inspect.iscoroutinefunction`` recognises, and would call an object with an
        async ``__call__`` in a thread, leaving its coroutine never awaited.
        """
        async with self._lock:
            database, _reminders, clock, _wake = self._args
            await recorded(database, clock, REMINDER_JOB, lambda: run_reminders(*self._args))

    async def drain(self) -> None:
        """Wait until no run is in progress."""
        async with self._lock:
            pass


class PurgeJob:
    """The daily purge of processed update payloads and old audit entries.

    Each table is purged in batches, each batch in its own short transaction, until none
    is left; a failure is logged and the purge tried again the next night.
    """

    def __init__(
        self,
        database: Database,
        clock: Clock,
        policy: RetentionPolicy,
        batch: int = BATCH,
    ) -> None:
        self._database = database
        self._clock = clock
        self.policy = policy
        self._batch = batch
        self._lock = asyncio.Lock()

    async def run(self) -> Purged:
        """Purge once; return how many rows went from each table."""
        async with self._lock:
            purged = Purged()

            async def work() -> str | None:
                nonlocal purged
                now = self._clock.now()
                try:
                    inbox = await self._purge(
                        lambda uow, before, limit: uow.inbox.purge_processed(before, limit),
                        self.policy.inbox_before(now),
                    )
                    audit = await self._purge(
                        lambda uow, before, limit: uow.audit.purge(before, limit),
                        self.policy.audit_before(now),
                    )
                except Exception as error:
                    logger.exception("the purge failed; it runs again tomorrow")
                    return str(error) or type(error).__name__
                if inbox or audit:
                    logger.info(
                        "purged %d processed update(s) and %d audit entr(ies)", inbox, audit
                    )
                purged = Purged(inbox, audit)
                return None

            await recorded(self._database, self._clock, PURGE_JOB, work)
            return purged

    async def _purge(
        self,
        purge: Callable[[UnitOfWork, datetime, int], Awaitable[int]],
        before: datetime,
    ) -> int:
        total = 0
        while True:
            async with UnitOfWork(self._database) as uow:
                deleted = await purge(uow, before, self._batch)
                await uow.commit()
            total += deleted
            if deleted < self._batch:
                return total

    async def drain(self) -> None:
        """Wait until no purge is in progress."""
        async with self._lock:
            pass


class BackupJob:
    """The daily backup: an archive in the backup folder, the oldest beyond ``keep`` deleted."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        data_dir: Path,
        folder: Path,
        keep: int,
        hour: int,
        zone: ZoneInfo,
    ) -> None:
        self._database = database
        self._clock = clock
        self._data_dir, self.folder = data_dir, folder
        self.keep, self.hour, self._zone = keep, hour, zone
        self._lock = asyncio.Lock()

    async def run(self) -> Path | None:
        """Back up once; return the archive written, or None when the backup failed."""
        async with self._lock:
            written: Path | None = None

            async def work() -> str | None:
                nonlocal written
                now = self._clock.now()
                target = self.folder / daily_name(now.astimezone(self._zone))
                try:
                    await create_backup(self._database.url, self._data_dir, target, now)
                    removed = await asyncio.to_thread(prune_backups, self.folder, self.keep)
                except Exception as error:
                    logger.exception("the daily backup failed; it is tried again tomorrow")
                    return str(error) or type(error).__name__
                if removed:
                    logger.info("deleted %d old backup(s)", len(removed))
                written = target
                return None

            await recorded(self._database, self._clock, BACKUP_JOB, work)
            return written

    async def drain(self) -> None:
        """Wait until no backup is in progress."""
        async with self._lock:
            pass


def build_scheduler(
    job: ReminderJob,
    zone: ZoneInfo,
    purge: PurgeJob | None = None,
    backup: BackupJob | None = None,
) -> AsyncIOScheduler:
    """Create the scheduler with its jobs (not started)."""
    scheduler = AsyncIOScheduler(timezone=zone)
    scheduler.add_job(
        job.run,
        IntervalTrigger(minutes=SWEEP_EVERY_MINUTES, timezone=zone),
        id=REMINDER_JOB,
        name="reminder sweep and coordinator digest",
        replace_existing=True,
        next_run_time=datetime.now(zone),  # once at start: catch up after downtime
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    scheduler.add_job(
        job.run,
        CronTrigger(hour=job.send_hour, minute=0, timezone=zone),
        id=REMINDER_HOUR_JOB,
        name="reminder sweep at the reminder hour",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
    )
    if purge is not None:
        scheduler.add_job(
            purge.run,
            CronTrigger(hour=PURGE_HOUR, minute=PURGE_MINUTE, timezone=zone),
            id=PURGE_JOB,
            name="purge of processed updates and old audit entries",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
    if backup is not None and backup.keep > 0:
        scheduler.add_job(
            backup.run,
            CronTrigger(hour=backup.hour, minute=0, timezone=zone),
            id=BACKUP_JOB,
            name="daily backup of the database and the evidence files",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
    return scheduler
