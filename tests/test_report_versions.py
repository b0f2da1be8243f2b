"""Report versions: numbered 1..N by constraint, even when confirmations arrive at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.clock import FrozenClock
from bot.core.domain.submissions import NewSubmission, ReportStatus
from storage import migrate
from storage.db import create_engine, create_sessionmaker
from storage.models import Agency, Assignment, Cycle, Member, Submission, Task
from storage.uow import UnitOfWork

CONFIRMATIONS = 6
"""Confirmations of the same task at the same moment, each by its own engine (process)."""

VERSIONS_MIGRATION = "0004_report_versions"
"""The revision that made versions unique; the one before it allowed duplicates."""


async def _officer_and_tasks(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock, count: int
) -> tuple[int, int, int, list[int]]:
    """Return (cycle, agency, member, tasks) for sxd's report on a few of its tasks."""
    async with UnitOfWork(sessions) as uow:
        cycle = (await uow.submissions.open_cycles(clock.now().date()))[-1]
        agency_id = await uow.session.scalar(select(Agency.id).where(Agency.code == "sxd"))
        assert agency_id is not None
        member = Member(
            full_name="Trần Văn Nam", agency_id=agency_id, role="officer", created_at=clock.now()
        )
        uow.session.add(member)
        await uow.session.flush()
        tasks = list(
            await uow.session.scalars(
                select(Task.id)
                .join(Assignment, Assignment.task_id == Task.id)
                .where(Assignment.agency_id == agency_id)
                .order_by(Task.id)
                .limit(count)
            )
        )
        await uow.commit()
        return cycle.id, agency_id, member.id, tasks


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
    sessions: async_sessionmaker[AsyncSession],
) -> dict[int, list[tuple[int, int, int | None]]]:
    """Return each task's submissions as (id, version, supersedes) in version order."""
    async with sessions() as session:
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
    database_url: str, sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    cycle_id, agency_id, member_id, tasks = await _officer_and_tasks(sessions, clock, 2)
    engines: list[AsyncEngine] = [create_engine(database_url) for _ in range(CONFIRMATIONS)]
    try:
        # Every engine first opens its connection, so that the confirmations really meet.
        for engine in engines:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

        async def confirm(engine: AsyncEngine, task_id: int, n: int) -> int:
            async with UnitOfWork(create_sessionmaker(engine)) as uow:
                stored = await uow.submissions.create(
                    _new(cycle_id, task_id, agency_id, member_id, n), clock.now()
                )
                await uow.commit()
                return stored.version

        versions = await asyncio.gather(
            *(
                confirm(engine, task_id, n)
                for task_id in tasks
                for n, engine in enumerate(engines, start=1)
            )
        )
    finally:
        for engine in engines:
            await engine.dispose()
    assert sorted(versions) == sorted(list(range(1, CONFIRMATIONS + 1)) * len(tasks))
    chains = await _chains(sessions)
    assert sorted(chains) == sorted(tasks)
    for task_id in tasks:
        _assert_linked(chains[task_id], CONFIRMATIONS)


async def test_the_migration_renumbers_duplicate_versions_and_forbids_new_ones(
    database_url: str, clock: FrozenClock
) -> None:
    engine = create_engine(database_url)
    try:
        sessions = create_sessionmaker(engine)
        cycle_id, agency_id, member_id, tasks = await _officer_and_tasks(sessions, clock, 2)
        before = migrate.revisions()[migrate.revisions().index(VERSIONS_MIGRATION) - 1]
        await migrate.downgrade(engine, before)
        # What four consoles confirming together left behind: four rows of version 1 (task
        # one), and on task two a proper chain 1, 2 followed by two rows of version 3.
        rows = [(tasks[0], 1, None)] * 4 + [(tasks[1], 1, None), (tasks[1], 2, "prev")]
        rows += [(tasks[1], 3, "prev"), (tasks[1], 3, "prev")]
        async with sessions() as session:
            previous: int | None = None
            for n, (task_id, version, link) in enumerate(rows):
                row = Submission(
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
                session.add(row)
                await session.flush()
                previous = row.id if task_id == tasks[1] and version < 3 else previous
            await session.commit()
        await migrate.upgrade(engine)
        chains = await _chains(sessions)
        _assert_linked(chains[tasks[0]], 4)
        _assert_linked(chains[tasks[1]], 4)
        # The order of arrival is kept: the earliest row is version 1.
        async with sessions() as session:
            progress = list(
                await session.scalars(
                    select(Submission.progress)
                    .where(Submission.task_id == tasks[0])
                    .order_by(Submission.version)
                )
            )
        assert progress == [0, 1, 2, 3]
        # A duplicate version can no longer be written.
        async with sessions() as session:
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
        async with sessions() as session:
            assert await session.scalar(select(Cycle.id).where(Cycle.id == cycle_id))
    finally:
        await engine.dispose()
