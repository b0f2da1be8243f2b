"""What every ``pgibot`` command shares: the App, usage errors, output, argument types."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.config.storage import check_database_url
from bot.core.clock import Clock, SystemClock
from bot.core.i18n import _
from bot.terminal import VietnameseHelpFormatter
from handlers.router import Router
from storage import migrate
from storage.db import Database

Action = Callable[["App", argparse.Namespace], Awaitable[int]]


class UsageError(Exception):
    """A command that cannot run as asked; the message is for the administrator."""


class App:
    """The wired application: settings, database, clock."""

    def __init__(
        self, settings: Settings, clock: Clock | None = None, database: str | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.database = database or settings.database
        """The database this command works on: the configured one, or --database-url."""
        self.db = Database(self.database)
        """The database itself: engine, sessions, writer turn, plan cache."""

    def today(self) -> date:
        """Return today's date in the plan's time zone."""
        return self.clock.now().astimezone(self.settings.timezone).date()

    def router(self) -> Router:
        """Build the conversation router (for the console; ``run`` has the runtime's)."""
        from bot.runtime import build_router  # the service's wiring, for the commands that chat

        return build_router(self.settings, self.db, self.clock)

    async def ensure_migrated(self) -> None:
        """Refuse to work on a database that is not at the newest revision."""
        if await migrate.current_revision(self.db.engine) != migrate.head_revision():
            raise UsageError(_("The database is not set up; run `pgibot init` first."))

    async def close(self) -> None:
        """Release the database."""
        await self.db.dispose()


def out(text: str = "") -> None:
    """Print a line of a command's output."""
    sys.stdout.write(text + "\n")


def parse_day(value: str) -> date:
    """Read a date written dd/mm/yyyy (an argparse type)."""
    try:
        return datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError as error:
        raise argparse.ArgumentTypeError(_("write the date as dd/mm/yyyy")) from error


def local_moment(text: str) -> datetime:
    """Read a local date and time as an administrator writes it (naive: no zone yet)."""
    for pattern in ("%d/%m/%Y %H:%M", "%d/%m/%Y", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(
        _("%(text)s is not a date and time like 03/12/2024 08:00") % {"text": text}
    )


def database_url(text: str) -> str:
    """Read a database URL; a plain path names a SQLite file."""
    if "://" not in text:
        return f"sqlite+aiosqlite:///{Path(text).expanduser().resolve()}"
    try:
        return check_database_url(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def command(
    parent: Any, name: str, help_text: str, action: Action | None = None
) -> argparse.ArgumentParser:
    """Add a (sub)command to ``parent``, with its help as description and its action."""
    p: argparse.ArgumentParser = parent.add_parser(
        name,
        help=help_text,
        description=help_text,
        formatter_class=VietnameseHelpFormatter,
    )
    if action is not None:
        p.set_defaults(action=action)
    return p
