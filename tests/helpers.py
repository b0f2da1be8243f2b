"""Small helpers shared by tests (not fixtures)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.core.clock import Clock
from bot.core.domain.members import Role
from storage.db import Database
from storage.models import Base
from storage.uow import UnitOfWork


async def dump(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Return every row of every table, in primary-key order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with database.session() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(row) for row in rows.all()]
    return out


async def invite(
    database: Database,
    clock: Clock,
    agency: str,
    role: Role = Role.OFFICER,
    *,
    uses: int = 1,
    days: int = 14,
) -> str:
    """Create an invitation and return its code."""
    async with UnitOfWork(database) as uow:
        invitation = await uow.invitations.create(
            agency_code=agency,
            role=role,
            max_uses=uses,
            valid_for=timedelta(days=days),
            created_by="test",
            now=clock.now(),
        )
        await uow.commit()
    return invitation.code
