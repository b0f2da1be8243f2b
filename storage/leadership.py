"""Leadership: which instance runs what must run once (polling, the sweep, the digest, backups).

On PostgreSQL the leader is the instance holding a session-level advisory lock
(``pg_try_advisory_lock``) on a connection of its own, outside any transaction. The lock
lives exactly as long as that connection: when the leader's process dies, PostgreSQL ends
its session and releases the lock, and another instance, trying every ``check_every``
seconds, takes it over. TCP keepalives on that connection make the server notice a leader
that vanished without closing its socket (a lost host, a cut network) within about 11
seconds.

The leader checks its connection every ``check_every`` seconds; a check that fails or takes
longer than that ends its leadership at once (the connection is discarded, which releases the
lock if the server can still hear it): a lost connection is lost leadership, and the leader's
jobs stop before another instance can take the lock.

SQLite serves one process: there the instance is the leader from the start, and stays so.

Each instance also writes a heartbeat row (:class:`Heartbeat`, table ``instance``): its id,
host, pid, when it started, when it was last seen and whether it leads, which ``pgibot
status`` lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.clock import Clock
from storage.db import Database
from storage.repositories.instances import BEAT_EVERY, InstanceInfo, new_instance_id
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)

LOCK_KEY = 7_310_982_046_171_521_601
"""The advisory lock's key (a bigint): the same for every instance of the bot on a database."""
CHECK_EVERY = 2.0
"""Seconds between attempts to take the lock, and between checks of the leader's connection."""
KEEPALIVE = (
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
)
"""The server drops a leader's session that stopped answering within about 11 seconds."""


class Leadership:
    """Whether this instance leads, kept up to date while :meth:`run` runs."""

    def __init__(
        self, database: Database, *, key: int = LOCK_KEY, check_every: float = CHECK_EVERY
    ) -> None:
        self._engine: AsyncEngine = database.engine
        self.single_process = self._engine.dialect.name == "sqlite"
        """SQLite: one process, always the leader."""
        self._key = key
        self._check_every = check_every
        self._leading = asyncio.Event()
        self._following = asyncio.Event()
        self._following.set()
        self._listeners: list[Callable[[bool], None]] = []

    @property
    def is_leader(self) -> bool:
        """Tell whether this instance leads now."""
        return self._leading.is_set()

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(leading)`` whenever this instance gains or loses the leadership."""
        self._listeners.append(listener)

    async def wait_leading(self) -> None:
        """Return once this instance leads."""
        await self._leading.wait()

    async def wait_following(self) -> None:
        """Return once this instance does not lead."""
        await self._following.wait()

    def _set(self, leading: bool) -> None:
        if leading == self.is_leader:
            return
        if leading:
            self._following.clear()
            self._leading.set()
        else:
            self._leading.clear()
            self._following.set()
        logger.debug("leadership %s", "gained" if leading else "lost")
        for listener in self._listeners:
            listener(leading)

    async def run(self, stop: asyncio.Event) -> None:
        """Take the leadership when it is free and keep it until ``stop`` or a lost connection."""
        if self.single_process:
            self._set(True)
            await stop.wait()
            self._set(False)
            return
        while not stop.is_set():
            try:
                await self._hold(stop)
            except Exception:  # the database away, or a check too slow: said in _hold
                logger.debug("no leadership for now", exc_info=True)
            self._set(False)
            await _wait_or_stop(stop, self._check_every)

    async def _hold(self, stop: asyncio.Event) -> None:
        connection = await self._engine.connect()
        healthy = False
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            for statement in KEEPALIVE:
                await connection.execute(text(statement))
            while not stop.is_set():
                async with asyncio.timeout(self._check_every):
                    if self.is_leader:
                        await connection.execute(text("SELECT 1"))
                    elif await self._try(connection):
                        self._set(True)
                await _wait_or_stop(stop, self._check_every)
            healthy = True
        except Exception as error:
            if self.is_leader:
                logger.warning(
                    "leadership lost: the connection holding it failed (%s)",
                    type(error).__name__,
                )
            raise
        finally:
            await self._let_go(connection, healthy)

    async def _try(self, connection: AsyncConnection) -> bool:
        taken = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
        )
        return bool(taken)

    async def _let_go(self, connection: AsyncConnection, healthy: bool) -> None:
        """Release the lock and the connection; a doubtful connection is discarded."""
        leading = self.is_leader
        self._set(False)
        if healthy and leading:
            try:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
            except Exception:
                healthy = False
        if not healthy:
            with contextlib.suppress(Exception):
                await connection.invalidate()  # closing the socket releases the lock
        with contextlib.suppress(Exception):
            await connection.close()


class Heartbeat:
    """This instance's row in ``instance``, rewritten every ``every`` seconds while it runs."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        leadership: Leadership,
        *,
        instance_id: str | None = None,
        every: float = BEAT_EVERY,
    ) -> None:
        self._database, self._clock, self._leadership = database, clock, leadership
        self.instance_id = instance_id or new_instance_id()
        self._every = every
        self._changed = asyncio.Event()
        leadership.on_change(lambda _leading: self._changed.set())

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until ``stop`` (and at once when the leadership changes); then remove the row."""
        while not stop.is_set():
            self._changed.clear()
            await self.beat()
            waiters = [
                asyncio.ensure_future(self._changed.wait()),
                asyncio.ensure_future(stop.wait()),
            ]
            await asyncio.wait(waiters, timeout=self._every, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        try:
            async with UnitOfWork(self._database) as uow:
                await uow.instances.gone(self.instance_id)
                await uow.commit()
        except Exception:
            logger.debug("could not remove the heartbeat of %s", self.instance_id, exc_info=True)

    async def others(self) -> list[InstanceInfo]:
        """Return the other instances whose heartbeat is recent."""
        async with UnitOfWork(self._database) as uow:
            alive = await uow.instances.alive(self._clock.now())
        return [instance for instance in alive if instance.id != self.instance_id]

    async def beat(self) -> None:
        """Write the heartbeat once (a database away is tried again at the next beat)."""
        try:
            async with UnitOfWork(self._database) as uow:
                await uow.instances.beat(
                    self.instance_id, self._clock.now(), leader=self._leadership.is_leader
                )
                await uow.commit()
        except Exception:
            logger.debug("could not write the heartbeat of %s", self.instance_id, exc_info=True)


async def _wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
