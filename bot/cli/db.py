"""``pgibot db current|upgrade|downgrade``: the database revision; a downgrade asks first."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import asdict
from typing import Any

from bot.cli.app import App, UsageError, command, out
from bot.core.i18n import _
from storage import migrate


async def cmd_db(app: App, args: argparse.Namespace) -> int:
    """Show or change the database revision; a downgrade says what it drops and asks first."""
    if args.db_command == "upgrade":
        await migrate.upgrade(app.db.engine, args.revision)
    elif args.db_command == "downgrade":
        await _downgrade(app, args.revision, confirmed=args.yes)
    out(
        _("Database revision: %(rev)s")
        % {"rev": await migrate.current_revision(app.db.engine) or "-"}
    )
    return 0


async def _downgrade(app: App, revision: str, *, confirmed: bool) -> None:
    known = [*migrate.revisions(), "base"]
    if revision not in known:
        raise UsageError(
            _("There is no revision %(rev)s; the revisions are: %(known)s.")
            % {"rev": revision, "known": ", ".join(known)}
        )
    current = await migrate.current_revision(app.db.engine) or "-"
    losses = await migrate.downgrade_losses(app.db.engine, revision)
    if losses:
        out(
            _("Downgrading the database from %(current)s to %(rev)s deletes:")
            % {"current": current, "rev": revision}
        )
        for loss in losses:
            if loss.column is None:
                out("  " + _("table %(table)s (%(rows)s rows)") % asdict(loss))
            else:
                out(
                    "  "
                    + _("column %(table)s.%(column)s (%(rows)s rows with a value)") % asdict(loss)
                )
    else:
        out(
            _(
                "Downgrading the database from %(current)s to %(rev)s drops no table or column "
                "(columns may be narrowed)."
            )
            % {"current": current, "rev": revision}
        )
    if not confirmed:
        sys.stdout.write(_('Type "yes" (or "có") to downgrade, anything else to stop: '))
        sys.stdout.flush()
        answer = (await asyncio.to_thread(sys.stdin.readline)).strip().lower()
        if answer not in ("yes", "có"):
            out()
            raise UsageError(
                _("Nothing was changed. To downgrade without being asked, add --yes.")
            )
    await migrate.downgrade(app.db.engine, revision)


def add_parsers(sub: Any) -> None:
    """Add ``pgibot db current|upgrade|downgrade`` to the parser."""
    db = command(sub, "db", _("database revision"))
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar=_("ACTION"))
    command(db_sub, "current", _("show the revision"), cmd_db)
    p = command(db_sub, "upgrade", _("upgrade to a revision"), cmd_db)
    p.add_argument("revision", nargs="?", default="head")
    p = command(
        db_sub,
        "downgrade",
        _("downgrade to a revision (says what it deletes, and asks first)"),
        cmd_db,
    )
    p.add_argument("revision")
    p.add_argument(
        "--yes", action="store_true", help=_("do not ask: the data it lists is deleted")
    )
