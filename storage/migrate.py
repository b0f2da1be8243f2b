"""Run Alembic migrations from code, sharing the application's async engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class Loss:
    """A table, or a column of a table, that a downgrade drops, with the rows it holds."""

    table: str
    column: str | None
    """None: the whole table."""
    rows: int
    """The table's rows, or the rows with a value in the column."""


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic configuration for the project's migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database to a revision (the newest by default)."""
    await _run(engine, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Downgrade the database to a revision."""
    await _run(engine, lambda config: command.downgrade(config, revision))


async def downgrade_losses(engine: AsyncEngine, revision: str) -> list[Loss]:
    """Tell what a downgrade to ``revision`` would drop, without changing anything.

    The downgrade runs in a transaction that is rolled back (both databases change their
    schema transactionally); the tables and columns it dropped are then counted.
    """

    def dropped(connection: Connection) -> dict[str, set[str] | None]:
        before = _schema(connection)
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
        after = _schema(connection)
        return {
            name: None if name not in after else columns - after[name]
            for name, columns in before.items()
            if name not in after or columns - after[name]
        }

    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            changes = await connection.run_sync(dropped)
        finally:
            await transaction.rollback()
        losses = []
        for name, columns in sorted(changes.items()):
            if columns is None:
                count = select(func.count()).select_from(table(name))
                losses.append(Loss(name, None, int(await connection.scalar(count) or 0)))
                continue
            for column_name in sorted(columns):
                count = (
                    select(func.count())
                    .select_from(table(name, column(column_name)))
                    .where(column(column_name).is_not(None))
                )
                losses.append(Loss(name, column_name, int(await connection.scalar(count) or 0)))
        await connection.rollback()
    return losses


def _schema(connection: Connection) -> dict[str, set[str]]:
    """Return every table of the database with its columns (Alembic's own table aside)."""
    inspector = inspect(connection)
    return {
        name: {c["name"] for c in inspector.get_columns(name)}
        for name in inspector.get_table_names()
        if name != "alembic_version"
    }


async def current_revision(engine: AsyncEngine) -> str | None:
    """Return the revision the database is at, or None when it was never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def head_revision() -> str:
    """Return the newest revision of the migration scripts."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration scripts found")
    return head


def revisions() -> list[str]:
    """Return every revision from the first to the newest."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def _run(engine: AsyncEngine, action: object) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config)  # type: ignore[operator]

    async with engine.begin() as connection:
        await connection.run_sync(run)
