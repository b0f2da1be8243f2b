"""The plan cache: changes in this process are seen at once, others' within CACHE_SECONDS.

A change to the plan is made in a unit of work that says so (``uow.plan_changed()``, or a
repository that changes the plan); its commit empties the cache of its Database, its rollback
leaves the cache as it was. Another Database on the same database (another process) has a
cache of its own and sees the change within CACHE_SECONDS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from bot.channels.memory import MemoryChannel
from bot.core.clock import FrozenClock
from handlers.router import Router
from storage.agencies import merge_agency
from storage.db import Database
from storage.models import Cycle, Task
from storage.plan_cache import CACHE_SECONDS, PlanCache
from storage.plan_loader import default_plan_path, read_plan
from storage.uow import UnitOfWork
from tests.helpers import invite


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RESULTS_2024 = date(2024, 12, 10)


def _still(database: Database) -> PlanCache:
    """Stop the cache's clock: only a commit that changed the plan empties it now."""
    database.plan_cache.monotonic = Clock()
    return database.plan_cache


async def _task_codes(database: Database, agency: str) -> list[str]:
    async with UnitOfWork(database) as uow:
        found = await uow.agencies.by_code(agency)
        return [t.code for t in await uow.plans.tasks_of_agency(found.id, RESULTS_2024)]


async def _lineage(database: Database, agency: str) -> list[int]:
    async with UnitOfWork(database) as uow:
        return await uow.agencies.lineage((await uow.agencies.by_code(agency)).id)


async def _merge_sxd(uow: UnitOfWork, clock: FrozenClock) -> None:
    await uow.agencies.merge("sxd", into="sct", on=date(2024, 11, 1), now=clock.now())


def _plan_without(tmp_path: Path, task_code: str) -> Path:
    """The shipped plan less one task, as an administrator's edited file."""
    data = yaml.safe_load(default_plan_path().read_text(encoding="utf-8"))

    def keep(tasks: list[dict[str, object]]) -> list[dict[str, object]]:
        return [t for t in tasks if t.get("code") != task_code]

    for index in data["indices"]:
        index["tasks"] = keep(index["tasks"])
    data["organisational_tasks"] = keep(data["organisational_tasks"])
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
async def other_process(database_url: str) -> AsyncIterator[Database]:
    """A second Database on the same database: what `pgibot plan import` in another process
    would use."""
    database = Database(database_url)
    yield database
    await database.dispose()


async def test_a_change_by_another_process_is_seen_within_the_cache_time(
    database: Database, other_process: Database
) -> None:
    clock = Clock()
    database.plan_cache.monotonic = clock
    before = await _task_codes(database, "sxd")
    assert "1.b.1" in before
    async with other_process.session() as session:  # as another program would write it
        await session.execute(update(Task).where(Task.code == "1.b.1").values(active=False))
        await session.commit()
    clock.now += CACHE_SECONDS / 2
    assert await _task_codes(database, "sxd") == before  # trusted for a few seconds
    clock.now += CACHE_SECONDS
    assert "1.b.1" not in await _task_codes(database, "sxd")
    cache = database.plan_cache
    assert cache.hits >= 1 and cache.misses >= 2
    assert other_process.plan_cache is not cache  # one cache per Database


async def test_a_change_committed_in_this_process_is_seen_at_once(
    database: Database, clock: FrozenClock
) -> None:
    _still(database)
    async with UnitOfWork(database) as uow:
        sxd = (await uow.agencies.by_code("sxd")).id
        sct = (await uow.agencies.by_code("sct")).id
    assert await _lineage(database, "sct") == [sct]
    sxd_tasks = await _task_codes(database, "sxd")
    async with UnitOfWork(database) as uow:
        await uow.agencies.merge("sxd", into="sct", on=date(2024, 11, 1), now=clock.now())
        await uow.commit()
    assert (await _lineage(database, "sct"))[:2] == [sct, sxd]  # with sxd's own
    # The tasks moved (but 3.i.1, "the other departments" of an index that names sct).
    assert set(sxd_tasks) - {"3.i.1"} <= set(await _task_codes(database, "sct"))


async def test_a_transaction_that_changes_the_plan_reads_its_own_change(
    database: Database, clock: FrozenClock
) -> None:
    _still(database)
    sxd_tasks = await _task_codes(database, "sxd")
    sct_tasks = await _task_codes(database, "sct")
    async with UnitOfWork(database) as uow:
        sct = await uow.agencies.by_code("sct")
        await _merge_sxd(uow, clock)
        moved = {t.code for t in await uow.plans.tasks_of_agency(sct.id, RESULTS_2024)}
        assert set(sxd_tasks) - {"3.i.1"} <= moved
        # not committed: the others keep reading what is committed
        async with UnitOfWork(database).reading() as other:
            assert [
                t.code for t in await other.plans.tasks_of_agency(sct.id, RESULTS_2024)
            ] == sct_tasks
    assert await _task_codes(database, "sct") == sct_tasks  # rolled back


async def test_a_rollback_leaves_the_cache_as_it_was(
    database: Database, clock: FrozenClock
) -> None:
    cache = _still(database)
    sct_tasks = await _task_codes(database, "sct")
    generation = cache.generation
    async with UnitOfWork(database) as uow:
        await _merge_sxd(uow, clock)
        # ... and something fails: rolled back
    assert cache.generation == generation
    hits = cache.hits
    assert await _task_codes(database, "sct") == sct_tasks
    assert cache.hits > hits  # served from the cache, which was right all along


async def test_a_change_said_through_the_unit_of_work_empties_the_cache_on_commit(
    database: Database,
) -> None:
    cache = _still(database)
    await _task_codes(database, "sxd")
    generation = cache.generation
    async with UnitOfWork(database) as uow:
        uow.plan_changed()
        await uow.commit()
    assert cache.generation == generation + 1
    misses = cache.misses
    await _task_codes(database, "sxd")
    assert cache.misses > misses


async def test_a_plan_change_outside_a_unit_of_work_is_refused(
    database: Database, clock: FrozenClock
) -> None:
    """Nobody changes the plan where no commit would empty the cache."""
    async with database.session() as session:
        with pytest.raises(RuntimeError, match="unit of work"):
            await merge_agency(session, "sxd", into="stnmt", on=date(2024, 12, 1), now=clock.now())


async def test_an_officer_sees_a_task_the_administrator_removed_at_once(
    router: Router, database: Database, clock: FrozenClock, tmp_path: Path
) -> None:
    """Through the router: /baocao of a task removed from the plan a moment ago is refused."""
    _still(database)
    officer = MemoryChannel(router.handle, user_id="77", display_name="Lan")
    await officer.send(f"/start {await invite(database, clock, 'sxd')}")
    assert "tình trạng thực hiện" in (await officer.send("/baocao 1.b.1"))[-1].text
    await officer.send("/huy")
    async with UnitOfWork(database) as uow:  # `pgibot plan import` of the edited file
        result = await uow.plans.import_plan(
            read_plan(_plan_without(tmp_path, "1.b.1")),
            today=clock.now().date(),
            now=clock.now(),
        )
        await uow.commit()
    assert result.removed.get("task") == 1
    refused = (await officer.send("/baocao 1.b.1"))[-1].text
    assert "không có nhiệm vụ mã 1.b.1" in refused


async def test_a_cycle_made_in_a_transaction_rolled_back_is_not_served(
    database: Database,
) -> None:
    """The first /baocao of a year makes its cycle; if its batch rolls back, so does the cache."""
    _still(database)
    today = date(2031, 1, 10)  # no cycle for 2031 yet: open_cycles makes it
    async with UnitOfWork(database) as uow:
        made = [c for c in await uow.submissions.open_cycles(today) if c.year == 2031]
        assert made  # ... and another update of the batch fails: rolled back
    async with UnitOfWork(database) as uow:
        served = [c for c in await uow.submissions.open_cycles(today) if c.year == 2031]
        assert served
        await uow.commit()
    async with database.session() as session:
        assert await session.get(Cycle, served[0].id) is not None
    async with UnitOfWork(database) as uow:  # committed: now it may come from the cache
        assert [c for c in await uow.submissions.open_cycles(today) if c.year == 2031] == served
