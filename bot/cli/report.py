"""``pgibot report`` and ``pgibot demo generate``: a year's summary as a file, demo data."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.cli.app import App, UsageError, command, database_url, out
from bot.cli.plan import import_plan_file
from bot.config import Settings
from bot.core.i18n import _
from handlers.exports.registry import EXPORTS, ExportScope, export
from storage import migrate
from storage.db import shown_url
from storage.plan_loader import default_plan_path
from storage.synthetic import RealDataPresent
from storage.uow import UnitOfWork


async def cmd_report(app: App, args: argparse.Namespace) -> int:
    """Write the summary of a year as a file, in one of the export formats."""
    await app.ensure_migrated()
    year = args.cycle or app.today().year
    async with UnitOfWork(app.db).reading() as reads:
        with tqdm(
            desc=_("Writing %(name)s") % {"name": args.format},
            unit=_("reports"),
            disable=None,
            file=sys.stderr,
        ) as bar:

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            file = await export(
                reads.summaries, args.format, ExportScope(year), app.today(), advance
            )
    if file is None:
        raise UsageError(_("There is no reporting year %(year)s.") % {"year": year})
    target = Path(args.out) if args.out else Path(file.name)
    target.write_bytes(file.content)
    out(
        _("Written: %(path)s (%(size)s KB)")
        % {"path": target, "size": max(1, len(file.content) // 1024)}
    )
    return 0


def demo_database(settings: Settings) -> str:
    """Return the demonstration database: a SQLite file of its own in the data folder."""
    return f"sqlite+aiosqlite:///{(settings.pgibot_data_dir / 'demo.sqlite3').resolve()}"


async def cmd_demo(app: App, args: argparse.Namespace) -> int:
    """Fill a year of a demonstration database with synthetic reports.

    Never the configured database, nor one with real members or reports: invented reports
    under a real agency's name would be read as its own.
    """
    demo = demo_database(app.settings)
    if app.database == app.settings.database:
        raise UsageError(
            _(
                "Synthetic reports are never written to the configured database. Without "
                "--database-url they go to the demonstration database %(demo)s."
            )
            % {"demo": shown_url(demo)}
        )
    if await migrate.current_revision(app.db.engine) != migrate.head_revision():
        await migrate.upgrade(app.db.engine)
    async with UnitOfWork(app.db) as uow:
        has_plan = await uow.plans.view(app.today()) is not None
    if not has_plan:
        await import_plan_file(app, default_plan_path())
    async with UnitOfWork(app.db) as uow:
        await uow.submissions.open_cycles(date(args.cycle, 6, 1))
        with tqdm(
            total=args.submissions,
            desc=_("Generating"),
            unit=_("reports"),
            disable=None,
            file=sys.stderr,
        ) as bar:
            done = 0

            def advance(count: int) -> None:
                nonlocal done
                bar.update(count - done)
                done = count

            try:
                added = await uow.synthetic.generate(
                    year=args.cycle, submissions=args.submissions, progress=advance
                )
            except RealDataPresent as error:
                raise UsageError(
                    _(
                        "The database %(url)s holds real data (%(members)s registered members, "
                        "%(reports)s reports): synthetic reports are never added to it. Use a "
                        "demonstration database of its own (by default %(demo)s)."
                    )
                    % {
                        "url": shown_url(app.database),
                        "members": error.members,
                        "reports": error.reports,
                        "demo": shown_url(demo),
                    }
                ) from None
        await uow.commit()
    out(
        _("Added %(count)s synthetic reports to %(year)s in the demonstration database %(url)s.")
        % {"count": added, "year": args.cycle, "url": shown_url(app.database)}
    )
    out(
        _("To see them: pgibot --database-url %(url)s report --cycle %(year)s")
        % {"url": shown_url(app.database), "year": args.cycle}
    )
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot report`` and ``pgibot demo generate`` to the parser."""
    p = command(sub, "report", _("write the summary of a year as a file"), cmd_report)
    p.add_argument("--format", choices=list(EXPORTS), default="xlsx")
    p.add_argument("--cycle", type=int, help=_("the year (default: this year)"))
    p.add_argument("--out", help=_("the file to write (default: a name in this folder)"))

    demo = command(sub, "demo", _("demonstration data"))
    demo_sub = demo.add_subparsers(dest="demo_command", required=True, metavar=_("ACTION"))
    p = command(
        demo_sub,
        "generate",
        _(
            "fill a year of the demonstration database (data/demo.sqlite3, or --database-url) "
            "with synthetic reports"
        ),
        cmd_demo,
    )
    p.add_argument("--cycle", type=int, required=True, help=_("the year"))
    p.add_argument("--submissions", type=int, default=1000, help=_("how many reports"))
    p.add_argument(
        "--database-url",
        type=database_url,
        metavar="URL",
        default=argparse.SUPPRESS,  # the global option's value stands when this one is absent
        help=_("the demonstration database (a URL or a SQLite file)"),
    )
