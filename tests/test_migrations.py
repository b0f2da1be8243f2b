"""Alembic is the only way the schema is made: stairway on SQLite and PostgreSQL, no drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from storage import migrate
from storage.db import create_engine
from storage.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'stairway.sqlite3'}"
    return str(request.getfixturevalue("empty_postgres_url"))


async def test_stairway_upgrade_downgrade_upgrade_each_revision(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        previous = "base"
        for revision in migrate.revisions():
            await migrate.upgrade(engine, revision)
            await migrate.downgrade(engine, previous)
            await migrate.upgrade(engine, revision)
            assert await migrate.current_revision(engine) == revision
            previous = revision
        assert previous == migrate.head_revision()
    finally:
        await engine.dispose()


async def test_models_match_the_migrations(empty_url: str) -> None:
    engine = create_engine(empty_url)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
        assert diff == []
    finally:
        await engine.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_full_sync(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'db.sqlite3'}")
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
            # FULL: every commit reaches the disk before anyone is told (survives power loss)
            assert (await connection.execute(text("PRAGMA synchronous"))).scalar() == 2
    finally:
        await engine.dispose()
