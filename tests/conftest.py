"""Fixtures: one per real resource (database, catalog, clock)."""

from __future__ import annotations

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB's RetryAfter warns without the opt-in

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.channels.registry import describe
from bot.core.clock import FrozenClock
from bot.core.i18n import check_catalog, set_language
from handlers.context import BotInfo
from handlers.router import Router
from storage import migrate
from storage.db import Database
from storage.plan_loader import default_plan_path, read_plan
from storage.uow import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ADMIN_URL = os.environ.get(
    "PGIBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
START = datetime(2024, 11, 20, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, Wednesday 20/11/2024


def pytest_configure(config: pytest.Config) -> None:
    set_language("vi")
    check_catalog()  # fails early, with a clear message, when the catalog is not compiled


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


# --- PostgreSQL -----------------------------------------------------------------------------


async def _pg_execute(statement: str) -> None:
    import asyncpg

    url = make_url(POSTGRES_ADMIN_URL)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=5,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _postgres_reachable() -> bool:
    try:
        asyncio.run(_pg_execute("SELECT 1"))
    except (TimeoutError, OSError, Exception):
        return False
    return True


@pytest.fixture(scope="session")
def postgres_available() -> bool:
    reachable = _postgres_reachable()
    if not reachable and os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI but {POSTGRES_ADMIN_URL} is not reachable")
    return reachable


def _pg_url(database: str) -> str:
    return make_url(POSTGRES_ADMIN_URL).set(database=database).render_as_string(False)


@pytest.fixture
def empty_postgres_url(postgres_available: bool) -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    if not postgres_available:
        pytest.skip("PostgreSQL is not reachable")
    name = f"pgibot_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    yield _pg_url(name)
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- databases with the plan ----------------------------------------------------------------


async def _prepare(url: str) -> None:
    database = Database(url)
    try:
        await migrate.upgrade(database.engine)
        async with UnitOfWork(database) as uow:
            await uow.plans.import_plan(
                read_plan(default_plan_path()), today=START.date(), now=START
            )
            await uow.commit()
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and loaded with the shipped plan, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    asyncio.run(_prepare(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_available: bool) -> Iterator[str | None]:
    if not postgres_available:
        yield None
        return
    name = f"pgibot_template_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    asyncio.run(_prepare(_pg_url(name)))
    yield name
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    """A database holding the shipped plan: a SQLite file, and PostgreSQL when reachable."""
    if request.param == "sqlite":
        path = tmp_path / "pgibot.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    if template is None:
        pytest.skip("PostgreSQL is not reachable")
    name = f"pgibot_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def fuzz_database(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite copy of the template, for the fuzz suites (what they fuzz is the same on both)."""
    path = tmp_path / "fuzz.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The database of a test: its engine, sessions, writer turn and plan cache."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def engine(database: Database) -> AsyncEngine:
    return database.engine


@pytest.fixture
def router(database: Database, clock: FrozenClock) -> Router:
    return Router(database, clock, BotInfo(describe()))
