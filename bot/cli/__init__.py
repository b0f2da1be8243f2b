"""The ``pgibot`` command: the parser, assembled from one module per subject, and ``main``.

Usage::

    pgibot init                       # migrate the database and import the shipped plan
    pgibot plan import FILE           # import (or update from) another plan file
    pgibot plan show [--json]         # index -> tasks -> agencies, with counts
    pgibot agency list                # agencies, their status and their tasks
    pgibot invite create --agency snnmt --role dieuphoi
    pgibot member reinstate ID-OR-NAME  # also: member deactivate, member set-role ID-OR-NAME ROLE
    pgibot console --as CODE-OR-MEMBER
    pgibot run                        # run the bot on the configured channels
    pgibot web                        # serve the web dashboard alone
    pgibot web link --member ID-OR-NAME  # a one-time login link to the dashboard
    pgibot pgi set --year 2024 --index 1 --score 5,12 [--rank 45/63] [--correct]
    pgibot backup [--out FILE]        # the database and the evidence files in one archive
    pgibot restore FILE [--force]     # checked first; an older backup is migrated forward
    pgibot status                     # database, revision, backlogs, jobs; non-zero if unhealthy
    pgibot audit [--since DD/MM/YYYY] [--member ID-OR-NAME] [--action ACTION]
    pgibot evidence prune [--yes]     # the evidence files no stored report names
    pgibot calendar add DD/MM/YYYY --off|--working --reason TEXT  # also: list, remove
    pgibot api-key create --name NAME # a key of the read-only API (also: list, revoke N)

Each subject module (``plan``, ``agency``, ``invite``, ``member``, ``run``, ``web``, ``report``,
``db``, ``backup``, ``ops``, ``workdays``, ``api_key``, ``pgi``)
has its commands and an ``add_parsers(sub)`` that adds them; ``app`` holds what they share.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.channels.connect import TokenRefused
from bot.cli import (
    agency,
    api_key,
    backup,
    db,
    invite,
    member,
    ops,
    pgi,
    plan,
    report,
    run,
    web,
    workdays,
)
from bot.cli.app import Action, App, UsageError, database_url
from bot.cli.report import cmd_demo, demo_database
from bot.cli.run import cmd_run
from bot.cli.web import cmd_web
from bot.config import Settings, SettingsError, default_env_file, load_settings
from bot.core.clock import OffsetClock
from bot.core.domain.periods import set_period_start
from bot.core.i18n import CatalogError, _, check_catalog, set_language, set_timezone
from bot.terminal import (
    VietnameseFormatter,
    VietnameseHelpFormatter,
    check_argparse_catalog,
    make_private,
    vietnamese_argparse,
)
from handlers.refusals import agency_refusal
from storage.agencies import AgencyError
from storage.backup import BackupError
from storage.plan_loader import PlanFileError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """Build the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="pgibot",
        description=_("Reporting bot for the PGI plan of Lạng Sơn province."),
        formatter_class=VietnameseHelpFormatter,
    )
    parser.add_argument(
        "--env-file",
        metavar=_("FILE"),
        help=_(
            "the configuration file (default: $PGIBOT_ENV_FILE, else pgibot.env in the data "
            "folder; never a .env of the current folder)"
        ),
    )
    parser.add_argument(
        "--database-url",
        type=database_url,
        metavar="URL",
        help=_("the database to work on instead of the configured one (a URL or a SQLite file)"),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar=_("COMMAND"))
    # the order of the help
    subjects = (
        plan,
        agency,
        invite,
        member,
        run,
        web,
        report,
        pgi,
        db,
        backup,
        ops,
        workdays,
        api_key,
    )
    for subject in subjects:
        subject.add_parsers(sub)
    return parser


def _run_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it is installed (a quarter less CPU per update), else on asyncio."""
    try:
        import uvloop
    except ImportError:  # not on Windows
        return asyncio.run(main)
    return uvloop.run(main)


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    as_of: datetime | None = getattr(args, "as_of", None)
    clock = OffsetClock(as_of.replace(tzinfo=settings.timezone)) if as_of else None
    if as_of is not None:
        logger.warning(
            _("Rehearsal clock: the bot starts at %(moment)s."),
            {"moment": as_of.strftime("%d/%m/%Y %H:%M")},
        )
    database = args.database_url
    if database is None and args.action is cmd_demo:
        database = demo_database(settings)
    app = App(settings, clock, database)
    try:
        action: Action = args.action
        return await action(app, args)
    finally:
        await app.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pgibot command."""
    set_language("vi")
    try:
        check_catalog()
        check_argparse_catalog()
    except CatalogError as error:
        sys.stderr.write(f"pgibot: {error}\n")
        return 2
    with vietnamese_argparse():
        args = build_parser().parse_args(argv)
    env_file = Path(args.env_file).expanduser() if args.env_file else default_env_file()
    if args.env_file and not env_file.is_file():
        sys.stderr.write(
            _("pgibot: the configuration file %(path)s does not exist.") % {"path": env_file}
            + "\n"
        )
        return 2
    try:
        settings = load_settings(env_file)
    except SettingsError as error:
        sys.stderr.write(_("pgibot: configuration error: %(error)s") % {"error": error} + "\n")
        return 2
    set_timezone(settings.timezone)
    set_period_start(*settings.period_start)
    _configure_logging(settings, running=args.action in (cmd_run, cmd_web))
    make_private(settings.pgibot_data_dir)
    _warn_about_configuration(settings, env_file)
    try:
        return _run_loop(_main(args, settings))
    except TokenRefused as error:  # a configuration error, like a malformed setting
        sys.stderr.write(f"pgibot: {error}\n")
        return 2
    except AgencyError as error:
        sys.stderr.write(f"pgibot: {agency_refusal(error)}\n")
        return 1
    except (UsageError, PlanFileError, BackupError) as error:
        sys.stderr.write(f"pgibot: {error}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        sys.stderr.write(
            _("pgibot: cannot reach the database or a file: %(error)s") % {"error": error} + "\n"
        )
        return 1


def _configure_logging(settings: Settings, *, running: bool) -> None:
    """Log to stderr in Vietnamese: at the configured level for `run`, warnings otherwise.

    A command's own output is what the administrator reads; its progress lines (an export's
    size, a sweep's count) are for the running bot's journal. DEBUG applies to every command.
    """
    configured = logging.getLevelName(settings.pgibot_log_level)
    level = configured if running or configured == logging.DEBUG else max(configured, 30)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(VietnameseFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "alembic", "apscheduler", "aiohttp.access"):
        # httpx's request lines carry the token; the others narrate routine steps in English
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _warn_about_configuration(settings: Settings, env_file: Path) -> None:
    """Warn where the configuration may not be what the administrator thinks it is."""
    planted = Path(".env")
    if planted.is_file() and planted.resolve() != env_file.resolve():
        logger.warning(
            _("The file %(ignored)s is not read; the configuration file is %(file)s."),
            {"ignored": planted.resolve(), "file": env_file},
        )
    for variable, url in settings.unofficial_urls().items():
        logger.warning(
            _(
                "%(variable)s is %(url)s, not the platform's official server: the bot's token "
                "is sent there. Make sure it is a server you run."
            ),
            {"variable": variable, "url": url},
        )
