"""Report versions: numbered 1..N by constraint, even when confirmations arrive at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import column, insert, select, table, text
from sqlalchemy.exc import IntegrityError

from bot.core.clock import FrozenClock
from bot.core.domain.members import Role
from bot.core.domain.submissions import NewSubmission, ReportStatus
from storage import migrate
from storage.db import Database
from storage.models import Cycle, Submission, UTCDateTime
from storage.uow import UnitOfWork

CONFIRMATIONS = 6
"""Confirmations of the same task at the same moment, each by its own engine (process)."""

_OLD_SUBMISSION = table(
    "submission",
    *(
        column(name)
        for name in (
            "id", "cycle_id", "task_id", "agency_id", "member_id", "status", "progress",
            "results", "version", "supersedes_id",
        )
    ),
    column("created_at", UTCDateTime()),
)  # fmt: skip
"""The submission table before the review columns (what revision 0003 inserts into)."""

VERSIONS_MIGRATION = "0004_report_versions"
"""The revision that made versions unique; the one before it allowed duplicates."""


async def _officer_and_tasks(
    database: Database, clock: FrozenClock, count: int
) -> tuple[int, int, int, list[int]]:
    """Return (cycle, agency, member, tasks) for sxd's report on a few of its tasks."""
    async with UnitOfWork(database) as uow:
        cycle = (await uow.submissions.open_cycles(clock.now().date()))[-1]
        agency_id = (await uow.agencies.by_code("sxd")).id
        member_id = await uow.members.create(
            full_name="Trần Văn Nam",
            agency_id=agency_id,
            role=Role.OFFICER,
            invitation_id=None,
            now=clock.now(),
        )
        tasks = sorted(
            t.id for t in await uow.plans.tasks_of_agency(agency_id, clock.now().date())
        )[:count]
        await uow.commit()
        return cycle.id, agency_id, member_id, tasks


def _new(cycle_id: int, task_id: int, agency_id: int, member_id: int, n: int) -> NewSubmission:
    return NewSubmission(
        cycle_id,
        task_id,
        agency_id,
        member_id,
        ReportStatus.IN_PROGRESS,
        10 * n,
        f"Báo cáo lần {n}.",
        None,
        None,
        None,
    )


async def _chains(
    database: Database,
) -> dict[int, list[tuple[int, int, int | None]]]:
    """Return each task's submissions as (id, version, supersedes) in version order."""
    async with database.session() as session:
        rows = await session.execute(
            select(
                Submission.task_id, Submission.id, Submission.version, Submission.supersedes_id
            ).order_by(Submission.task_id, Submission.version, Submission.id)
        )
        chains: dict[int, list[tuple[int, int, int | None]]] = {}
        for task_id, row_id, version, supersedes in rows.all():
            chains.setdefault(task_id, []).append((row_id, version, supersedes))
        return chains


def _assert_linked(chain: list[tuple[int, int, int | None]], count: int) -> None:
    assert [version for _id, version, _s in chain] == list(range(1, count + 1)), chain
    previous: int | None = None
    for row_id, _version, supersedes in chain:
        assert supersedes == previous, chain
        previous = row_id


async def test_simultaneous_confirmations_are_numbered_one_to_n_and_linked(
    database_url: str, database: Database, clock: FrozenClock
) -> None:
    cycle_id, agency_id, member_id, tasks = await _officer_and_tasks(database, clock, 2)
    processes = [Database(database_url) for _ in range(CONFIRMATIONS)]
    try:
        # Every process first opens its connection, so that the confirmations really meet.
        for process in processes:
            async with process.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def confirm(process: Database, task_id: int, n: int) -> int:
            async with UnitOfWork(process) as uow:
                stored = await uow.submissions.create(
                    _new(cycle_id, task_id, agency_id, member_id, n), clock.now()
                )
                await uow.commit()
                return stored.version

        versions = await asyncio.gather(
            *(
                confirm(process, task_id, n)
                for task_id in tasks
                for n, process in enumerate(processes, start=1)
            )
        )
    finally:
        for process in processes:
            await process.dispose()
    assert sorted(versions) == sorted(list(range(1, CONFIRMATIONS + 1)) * len(tasks))
    chains = await _chains(database)
    assert sorted(chains) == sorted(tasks)
    for task_id in tasks:
        _assert_linked(chains[task_id], CONFIRMATIONS)


async def test_the_migration_renumbers_duplicate_versions_and_forbids_new_ones(
    database_url: str, clock: FrozenClock
) -> None:
    database = Database(database_url)
    engine = database.engine
    try:
        cycle_id, agency_id, member_id, tasks = await _officer_and_tasks(database, clock, 2)
        before = migrate.revisions()[migrate.revisions().index(VERSIONS_MIGRATION) - 1]
        await migrate.downgrade(engine, before)
        # What four consoles confirming together left behind: four rows of version 1 (task
        # one), and on task two a proper chain 1, 2 followed by two rows of version 3.
        rows = [(tasks[0], 1, None)] * 4 + [(tasks[1], 1, None), (tasks[1], 2, "prev")]
        rows += [(tasks[1], 3, "prev"), (tasks[1], 3, "prev")]
        async with database.session() as session:
            previous: int | None = None
            for n, (task_id, version, link) in enumerate(rows):
                row_id = (
                    await session.execute(
                        insert(_OLD_SUBMISSION)  # the table as that revision has it
                        .values(
                            cycle_id=cycle_id,
                            task_id=task_id,
                            agency_id=agency_id,
                            member_id=member_id,
                            status="in_progress",
                            progress=n,
                            results=f"Báo cáo {n}",
                            version=version,
                            supersedes_id=previous if link else None,
                            created_at=clock.now() + timedelta(seconds=n),
                        )
                        .returning(_OLD_SUBMISSION.c.id)
                    )
                ).scalar_one()
                previous = row_id if task_id == tasks[1] and version < 3 else previous
            await session.commit()
        await migrate.upgrade(engine)
        chains = await _chains(database)
        _assert_linked(chains[tasks[0]], 4)
        _assert_linked(chains[tasks[1]], 4)
        # The order of arrival is kept: the earliest row is version 1.
        async with database.session() as session:
            progress = list(
                await session.scalars(
                    select(Submission.progress)
                    .where(Submission.task_id == tasks[0])
                    .order_by(Submission.version)
                )
            )
        assert progress == [0, 1, 2, 3]
        # A duplicate version can no longer be written.
        async with database.session() as session:
            session.add(
                Submission(
                    cycle_id=cycle_id,
                    task_id=tasks[0],
                    agency_id=agency_id,
                    member_id=member_id,
                    status="done",
                    progress=100,
                    results="Trùng phiên bản",
                    version=2,
                    created_at=clock.now(),
                )
            )
            with pytest.raises(IntegrityError):
                await session.commit()
        async with database.session() as session:
            assert await session.scalar(select(Cycle.id).where(Cycle.id == cycle_id))
    finally:
        await engine.dispose()
