"""The audit log: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.audit import AuditFilter, AuditRecord
from storage.models import AuditEntry, Member

Q = TypeVar("Q", bound=Any)

_AUDIT = cast(Table, AuditEntry.__table__)


class AuditRepository:
    """The audit log."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def record(
        self,
        action: str,
        *,
        now: datetime,
        member_id: int | None = None,
        channel: str | None = None,
        user_id: str | None = None,
        **detail: Any,
    ) -> None:
        """Add an entry to the audit log."""
        self._session.add(
            AuditEntry(
                at=now,
                action=action,
                member_id=member_id,
                channel=channel,
                user_id=user_id,
                detail=detail,
            )
        )

    async def actions(self) -> list[str]:
        """Return the actions recorded, oldest first."""
        return list(await self._session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))

    async def entries(
        self, wanted: AuditFilter, *, limit: int = 50, offset: int = 0
    ) -> list[AuditRecord]:
        """Return entries matching a filter, newest first."""
        query = (
            self._filtered(select(AuditEntry, Member.full_name), wanted)
            .outerjoin(Member, Member.id == AuditEntry.member_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = await self._session.execute(query)
        return [
            AuditRecord(
                entry.id,
                entry.at,
                entry.action,
                entry.member_id,
                name,
                entry.channel,
                entry.user_id,
                dict(entry.detail or {}),
            )
            for entry, name in rows.all()
        ]

    async def count(self, wanted: AuditFilter) -> int:
        """Return how many entries match a filter."""
        query = self._filtered(select(func.count()).select_from(AuditEntry), wanted)
        return int(await self._session.scalar(query) or 0)

    @staticmethod
    def _filtered(query: Q, wanted: AuditFilter) -> Q:
        if wanted.since is not None:
            query = query.where(AuditEntry.at >= wanted.since)
        if wanted.member_id is not None:
            query = query.where(
                or_(
                    AuditEntry.member_id == wanted.member_id,
                    AuditEntry.detail["target"].as_integer() == wanted.member_id,
                )
            )
        if wanted.action:
            action = wanted.action.strip().lower()
            if "." in action:
                query = query.where(AuditEntry.action == action)
            else:
                query = query.where(
                    or_(AuditEntry.action == action, AuditEntry.action.startswith(action + "."))
                )
        return query

    async def purge(self, before: datetime, limit: int) -> int:
        """Delete at most ``limit`` entries older than a moment; return how many."""
        doomed = select(_AUDIT.c.id).where(_AUDIT.c.at < before).order_by(_AUDIT.c.id).limit(limit)
        result = await self._session.execute(delete(_AUDIT).where(_AUDIT.c.id.in_(doomed)))
        return int(result.rowcount)  # type: ignore[attr-defined]
