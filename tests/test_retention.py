"""Retention: processed update payloads and old audit entries are purged by a daily job."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.core.clock import FrozenClock
from storage.db import Database
from storage.models import AuditEntry, InboxUpdate

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


async def _fill(database: Database, now: datetime) -> None:
    """Inbox rows and audit entries of various ages."""
    async with database.session() as session:
        for key, received_days, processed_days in (
            ("old-1", 40, 40),
            ("old-2", 40, 39),
            ("old-3", 35, 31),
            ("old-failed", 45, 44),  # set aside after its last attempt: processed too
            ("recent", 10, 10),
            ("edge", 30, 29),
            ("old-unprocessed", 60, None),  # never purged: it is still to be processed
        ):
            session.add(
                InboxUpdate(
                    channel="telegram",
                    update_key=key,
                    payload={"update_id": key, "message": {"text": "dữ liệu cá nhân"}},
                    received_at=now - timedelta(days=received_days),
                    processed_at=(
                        now - timedelta(days=processed_days)
                        if processed_days is not None
                        else None
                    ),
                    attempts=3 if key == "old-failed" else 0,
                )
            )
        for action, days in (
            ("member.register", 800),
            ("forged.button", 731),
            ("submission.create", 700),
            ("member.remove", 1),
        ):
            session.add(AuditEntry(at=now - timedelta(days=days), action=action, detail={}))
        await session.commit()


async def _kept(database: Database) -> tuple[list[str], list[str]]:
    async with database.session() as session:
        inbox = list(
            await session.scalars(select(InboxUpdate.update_key).order_by(InboxUpdate.id))
        )
        audit = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    return inbox, audit


async def test_the_purge_keeps_what_is_recent_or_unprocessed(
    database: Database, clock: FrozenClock
) -> None:
    from bot.scheduler import PurgeJob
    from storage.retention import RetentionPolicy

    await _fill(database, clock.now())
    _inbox, audit_before = await _kept(database)
    job = PurgeJob(database, clock, RetentionPolicy(inbox_days=30, audit_days=730), batch=2)
    purged = await job.run()
    inbox, audit = await _kept(database)
    assert inbox == ["recent", "edge", "old-unprocessed"]
    assert audit == [a for a in audit_before if a not in ("member.register", "forged.button")]
    assert (purged.inbox, purged.audit) == (4, 2)
    assert await job.run() == type(purged)(0, 0)  # nothing more: running again is harmless


def test_the_default_retention_and_the_daily_purge_job(
    database: Database, clock: FrozenClock
) -> None:
    from bot.config import Settings
    from bot.scheduler import PURGE_JOB, PurgeJob, ReminderJob, build_scheduler
    from handlers.reminders import Reminders
    from storage.retention import RetentionPolicy

    settings = Settings(_env_file=None)
    policy = RetentionPolicy.from_days(
        settings.pgibot_inbox_retention_days, settings.pgibot_audit_retention_days
    )
    assert policy == RetentionPolicy(inbox_days=30, audit_days=730)
    scheduler = build_scheduler(
        ReminderJob(database, Reminders(), clock, lambda: None),
        HANOI,
        purge=PurgeJob(database, clock, policy),
    )
    job = scheduler.get_job(PURGE_JOB)
    assert job is not None
    after = datetime(2024, 12, 9, 12, 0, tzinfo=HANOI)
    assert job.trigger.get_next_fire_time(None, after) == datetime(
        2024, 12, 10, 2, 30, tzinfo=HANOI
    )
