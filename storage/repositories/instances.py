"""Running instances: each writes a heartbeat row while it runs; ``pgibot status`` lists them."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Instance

BEAT_EVERY = 10.0
"""Seconds between heartbeats."""
ALIVE_FOR = timedelta(seconds=30)
"""An instance whose last heartbeat is older than this is taken for stopped."""


def new_instance_id() -> str:
    """Name this process: its host, its pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """One running instance as its last heartbeat describes it."""

    id: str
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    leader: bool


class InstanceRepository:
    """Heartbeats of the running instances."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def beat(self, instance_id: str, now: datetime, *, leader: bool) -> None:
        """Record that the instance is alive (and whether it leads)."""
        updated = await self._session.execute(
            update(Instance).where(Instance.id == instance_id).values(seen_at=now, leader=leader)
        )
        if getattr(updated, "rowcount", 0) == 0:
            self._session.add(
                Instance(
                    id=instance_id,
                    host=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=now,
                    seen_at=now,
                    leader=leader,
                )
            )
        await self._session.flush()

    async def gone(self, instance_id: str) -> None:
        """Remove the instance's row (it stops)."""
        await self._session.execute(delete(Instance).where(Instance.id == instance_id))

    async def alive(self, now: datetime) -> list[InstanceInfo]:
        """Return the instances seen lately, the leader first, then by start."""
        rows = await self._session.scalars(
            select(Instance)
            .where(Instance.seen_at >= now - ALIVE_FOR)
            .order_by(Instance.leader.desc(), Instance.started_at, Instance.id)
        )
        return [InstanceInfo(r.id, r.host, r.pid, r.started_at, r.seen_at, r.leader) for r in rows]

    async def forget_stale(self, now: datetime) -> int:
        """Delete the rows of instances not seen for a day (stopped without saying so)."""
        result = await self._session.execute(
            delete(Instance).where(Instance.seen_at < now - timedelta(days=1))
        )
        return int(getattr(result, "rowcount", 0) or 0)
