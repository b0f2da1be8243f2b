"""A short-lived cache of what the plan says: tasks by agency, cycles, deadlines, mergers.

Officers' conversations read the same few facts about the plan at almost every step (which
tasks their agency has, which cycle is open and its deadline, which agencies were merged
into theirs). They change only when an administrator imports the plan or reorganises
agencies, so each :class:`storage.db.Database` keeps them in one :class:`PlanCache` for
:data:`CACHE_SECONDS`. The rule:

* the code that changes a plan table says so: :func:`mark_plan_changed` on the session of a
  unit of work (``uow.plan_changed()`` is the same); the cache is emptied when that unit of
  work commits, and left as it was when it rolls back;
* a unit of work that changed the plan reads the plan from the database, not from the cache,
  and what it reads is not kept (it may yet be rolled back);
* a value loaded while another unit of work's change was committed is not kept either;
* a change made through another :class:`~storage.db.Database` (another process:
  ``pgibot plan import`` while the bot runs) is seen within :data:`CACHE_SECONDS`, the same
  as if it had been committed a moment later.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

CACHE_SECONDS = 5.0
"""How long a process trusts what it read of the plan (changes by other processes)."""

PLAN_READS = "pgibot_plan_reads"
"""Session info key: the :class:`PlanReads` of the unit of work the session belongs to."""

T = TypeVar("T")


class PlanCache:
    """Values computed from the plan tables, each kept for a few seconds; one per database."""

    def __init__(
        self, seconds: float = CACHE_SECONDS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        """The clock values age by (a test may move it)."""
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self.generation = 0
        """Counts clears: a value loaded across a clear may be older than it and is not kept."""
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget everything (the plan changed)."""
        self._values.clear()
        self.generation += 1

    def fresh(self, key: Hashable) -> tuple[bool, Any]:
        """Return (True, value) for a key known and young enough, else (False, None)."""
        found = self._values.get(key)
        if found is not None and self.monotonic() - found[0] < self.seconds:
            self.hits += 1
            return True, found[1]
        self.misses += 1
        return False, None

    def keep(self, key: Hashable, value: Any, *, loaded_at: float) -> None:
        """Keep a value loaded at a moment of :attr:`monotonic`."""
        self._values[key] = (loaded_at, value)


class PlanReads:
    """One unit of work's view of the cache: whether it changed the plan, and since when."""

    def __init__(self, cache: PlanCache) -> None:
        self.cache = cache
        self._changed = False
        self._generation = cache.generation
        """The cache's generation when this transaction began."""

    @property
    def changed(self) -> bool:
        """Tell whether this transaction changed the plan (not yet committed)."""
        return self._changed

    def mark_changed(self) -> None:
        """Note that this transaction changed the plan."""
        self._changed = True

    async def get(self, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
        """Return the value for a key, loading it with ``load`` when unknown or too old.

        Values must be immutable (tuples, frozen dataclasses, frozensets): every caller shares
        them.
        """
        if self._changed:
            return await load()  # this transaction changed the plan: read what it wrote
        found, value = self.cache.fresh(key)
        if found:
            return cast(T, value)
        loaded_at = self.cache.monotonic()
        loaded = await load()
        # Kept only if the plan did not change meanwhile, here (a load may write: this year's
        # cycle, made on first use, may yet be rolled back) or in a commit since this
        # transaction began (what it reads may be from before that commit).
        if not self._changed and self._generation == self.cache.generation:
            self.cache.keep(key, loaded, loaded_at=loaded_at)
        return loaded

    def committed(self) -> None:
        """The transaction committed: if it changed the plan, empty the cache."""
        if self._changed:
            self.cache.clear()
        self._changed = False
        self._generation = self.cache.generation

    def rolled_back(self) -> None:
        """The transaction was rolled back: the cache stays as it was."""
        self._changed = False
        self._generation = self.cache.generation


def _reads(session: AsyncSession) -> PlanReads | None:
    found = session.info.get(PLAN_READS)
    return found if isinstance(found, PlanReads) else None


async def cached(session: AsyncSession, key: Hashable, load: Callable[[], Awaitable[T]]) -> T:
    """Return a fact about the plan through the cache of the session's unit of work.

    A session outside a unit of work (a test's seeding, a migration) reads the database.
    """
    reads = _reads(session)
    return await (reads.get(key, load) if reads is not None else load())


def mark_plan_changed(session: AsyncSession) -> None:
    """Say that the session's transaction changes a plan table (agencies, tasks, cycles…).

    Plan changes are made in a unit of work, whose commit empties the cache.
    """
    reads = _reads(session)
    if reads is None:
        raise RuntimeError("the plan is changed in a unit of work (storage.uow.UnitOfWork)")
    reads.mark_changed()
