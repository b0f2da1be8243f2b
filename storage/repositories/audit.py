"""The audit log: who did what, when, from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


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
