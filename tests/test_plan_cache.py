"""The plan cache: changes in this process are seen at once, others' within CACHE_SECONDS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from handlers.router import Router
from storage.agencies import get_agency, lineage_ids, merge_agency
from storage.db import create_engine, create_sessionmaker
from storage.models import Cycle, Task
from storage.plan_cache import CACHE_SECONDS, PlanCache, plan_cache
from storage.uow import UnitOfWork
from tests.helpers import invite


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _task_codes(sessions: async_sessionmaker[AsyncSession], agency: str) -> list[str]:
    async with UnitOfWork(sessions) as uow:
        found = await get_agency(uow.session, agency)
        return [t.code for t in await uow.plans.tasks_of_agency(found.id)]


async def _cache(sessions: async_sessionmaker[AsyncSession]) -> PlanCache:
    async with sessions() as session:
        return plan_cache(session)


@pytest.fixture
async def other_process(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a second engine: what `pgibot plan import` in another process would use."""
    engine = create_engine(database_url)
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_a_change_by_another_process_is_seen_within_the_cache_time(
    sessions: async_sessionmaker[AsyncSession],
    other_process: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    (await _cache(sessions)).monotonic = clock
    before = await _task_codes(sessions, "sxd")
    assert "1.b.1" in before
    async with other_process() as session:
        await session.execute(update(Task).where(Task.code == "1.b.1").values(active=False))
        await session.commit()
    clock.now += CACHE_SECONDS / 2
    assert await _task_codes(sessions, "sxd") == before  # trusted for a few seconds
    clock.now += CACHE_SECONDS
    assert "1.b.1" not in await _task_codes(sessions, "sxd")
    cache = await _cache(sessions)
    assert cache.hits >= 1 and cache.misses >= 2


async def test_a_change_committed_in_this_process_is_seen_at_once(
    sessions: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    (await _cache(sessions)).monotonic = Clock()  # time stands still: only a commit clears
    async with UnitOfWork(sessions) as uow:
        sxd = (await get_agency(uow.session, "sxd")).id
        stnmt = (await get_agency(uow.session, "stnmt")).id
        assert await lineage_ids(uow.session, stnmt) == [stnmt]
    sxd_tasks = await _task_codes(sessions, "sxd")
    async with sessions() as session:
        await merge_agency(session, "sxd", into="stnmt", on=date(2024, 12, 1), now=clock.now())
        await session.commit()
    async with UnitOfWork(sessions) as uow:
        assert await lineage_ids(uow.session, stnmt) == [stnmt, sxd]
    assert set(sxd_tasks) <= set(await _task_codes(sessions, "stnmt"))  # the tasks moved


async def test_a_transaction_that_changes_the_plan_reads_its_own_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    (await _cache(sessions)).monotonic = Clock()
    assert "1.b.1" in await _task_codes(sessions, "sxd")
    async with UnitOfWork(sessions) as uow:
        await uow.session.execute(update(Task).where(Task.code == "1.b.1").values(active=False))
        sxd = await get_agency(uow.session, "sxd")
        assert "1.b.1" not in [t.code for t in await uow.plans.tasks_of_agency(sxd.id)]
        # not committed: the others keep reading what is committed
    assert "1.b.1" in await _task_codes(sessions, "sxd")


async def test_an_officer_sees_a_task_the_administrator_removed_at_once(
    router: Router,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    engine: AsyncEngine,
) -> None:
    """Through the router: /baocao of a task deactivated a moment ago is refused."""
    (await _cache(sessions)).monotonic = Clock()
    officer = MemoryChannel(router.handle, user_id="77", display_name="Lan")
    await officer.send(f"/start {await invite(sessions, clock, 'sxd')}")
    assert "tình trạng thực hiện" in (await officer.send("/baocao 1.b.1"))[-1].text
    await officer.send("/huy")
    async with sessions() as session:
        await session.execute(update(Task).where(Task.code == "1.b.1").values(active=False))
        await session.commit()
    refused = (await officer.send("/baocao 1.b.1"))[-1].text
    assert "không có nhiệm vụ mã 1.b.1" in refused


async def test_a_cycle_made_in_a_transaction_rolled_back_is_not_served(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The first /baocao of a year makes its cycle; if its batch rolls back, so does the cache."""
    (await _cache(sessions)).monotonic = Clock()
    today = date(2031, 1, 10)  # no cycle for 2031 yet: open_cycles makes it
    async with UnitOfWork(sessions) as uow:
        made = [c for c in await uow.submissions.open_cycles(today) if c.year == 2031]
        assert made  # ... and another update of the batch fails: rolled back
    async with UnitOfWork(sessions) as uow:
        served = [c for c in await uow.submissions.open_cycles(today) if c.year == 2031]
        assert served and await uow.session.get(Cycle, served[0].id) is not None
        await uow.commit()
    async with UnitOfWork(sessions) as uow:  # committed: now it may come from the cache
        assert [c for c in await uow.submissions.open_cycles(today) if c.year == 2031] == served
