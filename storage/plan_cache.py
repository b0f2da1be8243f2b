"""A short-lived cache of what the plan says: tasks by agency, cycles, deadlines, mergers.

Officers' conversations read the same few facts about the plan at almost every step (which
tasks their agency has, which cycle is open and its deadline, which agencies were merged
into theirs). They change only when an administrator imports the plan or reorganises
agencies, so each process keeps them for :data:`CACHE_SECONDS`:

* a change committed through this process's engine empties its cache at once (the engine's
  statements are watched: an INSERT, UPDATE or DELETE on a plan table marks the
  transaction, its commit clears the cache);
* a transaction that changed the plan reads the plan from the database, not from the cache;
* a change made by another process (``pgibot plan import`` while the bot runs) is seen
  within :data:`CACHE_SECONDS`, the same as if it had been committed a moment later.

One cache per engine, so tests that make a database each never share one.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncSession

CACHE_SECONDS = 5.0
"""How long a process trusts what it read of the plan (changes by other processes)."""

PLAN_TABLES = frozenset(
    {"plan", "plan_index", "task", "assignment", "agency", "cycle", "milestone", "milestone_rule"}
)
"""The tables whose rows the cache holds facts from."""

_CHANGED = "pgibot_plan_changed"
"""Connection info key: this transaction wrote to a plan table."""

_READ_ONLY_PREFIXES = ("SELECT", "BEGIN", "PRAGMA", "SAVEPOINT", "RELEASE", "WITH", "SHOW")

T = TypeVar("T")


class PlanCache:
    """Values computed from the plan tables, each kept for a few seconds."""

    def __init__(
        self, seconds: float = CACHE_SECONDS, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.monotonic = monotonic
        """The clock values age by (a test may move it)."""
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        """Counts clears: a value loaded across a clear may be older than it and is not kept."""
        self.hits = 0
        self.misses = 0

    def clear(self) -> None:
        """Forget everything (the plan changed)."""
        self._values.clear()
        self._generation += 1

    async def get(
        self, session: AsyncSession, key: Hashable, load: Callable[[], Awaitable[T]]
    ) -> T:
        """Return the value for a key, loading it with ``load`` when unknown or too old.

        Values must be immutable (tuples, frozen dataclasses, frozensets): every caller shares
        them.
        """
        connection = (await session.connection()).sync_connection
        if connection is not None and connection.info.get(_CHANGED):
            return await load()  # this transaction changed the plan: read what it wrote
        now = self.monotonic()
        found = self._values.get(key)
        if found is not None and now - found[0] < self.seconds:
            self.hits += 1
            return cast(T, found[1])
        self.misses += 1
        generation = self._generation
        value = await load()
        # Kept only if nothing changed meanwhile and the load wrote nothing: a load that
        # writes (this year's cycle, made on first use) may yet be rolled back.
        wrote = connection is not None and connection.info.get(_CHANGED, False)
        if generation == self._generation and not wrote:
            self._values[key] = (now, value)
        return value


_caches: weakref.WeakKeyDictionary[Engine, PlanCache] = weakref.WeakKeyDictionary()


def plan_cache(session: AsyncSession) -> PlanCache:
    """Return the cache of the database a session works on (made at first use)."""
    bind = session.sync_session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches[engine] = PlanCache()
        _watch(engine, cache)
    return cache


def _watch(engine: Engine, cache: PlanCache) -> None:
    """Mark transactions that write to plan tables; clear the cache when one commits."""

    def after_execute(
        connection: Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        if _writes_plan(statement, context):
            connection.info[_CHANGED] = True
            cache.clear()  # also for readers of other connections, until the commit

    def after_commit(connection: Connection) -> None:
        if connection.info.pop(_CHANGED, False):
            cache.clear()

    def after_rollback(connection: Connection) -> None:
        if connection.info.pop(_CHANGED, False):
            cache.clear()  # what was read while the change was pending is of no use

    event.listen(engine, "after_cursor_execute", after_execute)
    event.listen(engine, "commit", after_commit)
    event.listen(engine, "rollback", after_rollback)


def _writes_plan(statement: str, context: Any) -> bool:
    """Tell whether a statement may change a plan table (in doubt, yes)."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and (context.isinsert or context.isupdate or context.isdelete):
        table = getattr(compiled.statement, "table", None)
        name = getattr(table, "name", None)
        return name is None or name in PLAN_TABLES
    if compiled is not None and getattr(compiled.statement, "is_select", False):
        return False
    return not statement.lstrip().upper().startswith(_READ_ONLY_PREFIXES)  # text, DDL
