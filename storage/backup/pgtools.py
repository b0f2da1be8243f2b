"""PostgreSQL's own tools, pg_dump and pg_restore, pointed at a database by its URL."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.core.i18n import _
from storage.backup.archive import BackupError


def _pg_environment(url: str) -> dict[str, str]:
    """Return the environment that points libpq's tools at a database (no password in argv)."""
    parsed = make_url(url)
    env = dict(os.environ)
    for variable, value in (
        ("PGHOST", parsed.host),
        ("PGPORT", str(parsed.port) if parsed.port else None),
        ("PGUSER", parsed.username),
        ("PGPASSWORD", parsed.password),
        ("PGDATABASE", parsed.database),
    ):
        if value:
            env[variable] = str(value)
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _(
                "%(tool)s is not installed on this server, so a PostgreSQL database cannot be "
                "backed up or restored. Install PostgreSQL's client tools (on Debian or Ubuntu: "
                "apt install postgresql-client) and try again."
            )
            % {"tool": name}
        )
    return found


async def _run_tool(tool: str, args: list[str], url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        _pg_tool(tool),
        *args,
        env=_pg_environment(url),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await process.communicate()
    if process.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(error)s")
            % {"tool": tool, "error": err.decode(errors="replace").strip()[-2000:]}
        )


async def pg_dump(url: str, target: Path) -> None:
    """Dump a PostgreSQL database to a file in pg_dump's custom format."""
    await _run_tool(
        "pg_dump",
        ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
        url,
    )


async def pg_restore(engine: AsyncEngine, url: str, dump: Path) -> None:
    """Empty the PostgreSQL database, then load the dump into it in one transaction."""

    def drop_all(connection: Connection) -> None:
        preparer = connection.dialect.identifier_preparer
        for name in inspect(connection).get_table_names():
            connection.execute(text(f"DROP TABLE IF EXISTS {preparer.quote(name)} CASCADE"))

    async with engine.begin() as connection:
        await connection.run_sync(drop_all)
    await engine.dispose()
    await _run_tool(
        "pg_restore",
        [
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={make_url(url).database}",
            str(dump),
        ],
        url,
    )
