"""``pgibot calendar``: the days off and working days the province declares.

The national calendar (weekends, public holidays, the days off and make-up Saturdays the
Government moves around them) comes with the ``holidays`` library; what it does not know yet
is declared here or in the plan file's ``calendar`` section, and every reminder rule follows it.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from bot.cli.app import App, UsageError, command, out, parse_day
from bot.core.domain.calendar import DeclaredDay
from bot.core.i18n import N_, _, format_day
from storage.uow import UnitOfWork

KIND = {True: N_("working day"), False: N_("day off")}
SOURCE = {"plan": N_("plan file"), "admin": N_("administrator")}


def _line(declared: DeclaredDay) -> str:
    return _("%(day)s: %(kind)s — %(reason)s (source: %(source)s)") % {
        "day": format_day(declared.day),
        "kind": _(KIND[declared.working]),
        "reason": declared.reason,
        "source": _(SOURCE.get(declared.source, declared.source)),
    }


async def cmd_calendar_list(app: App, args: argparse.Namespace) -> int:
    """List the declared days (of one year, if asked)."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        days = await uow.calendar.declared(args.year)
    if not days:
        out(_("No day is declared; the national calendar applies."))
    for declared in days:
        out(_line(declared))
    return 0


async def cmd_calendar_add(app: App, args: argparse.Namespace) -> int:
    """Declare a day off or a working day; audited."""
    reason = (args.reason or "").strip()
    if not reason:
        raise UsageError(_("Say why, with --reason (for example the decision that sets the day)."))
    day: date = args.day
    working = args.kind == "working"
    await app.ensure_migrated()
    now = app.clock.now()
    async with UnitOfWork(app.db) as uow:
        calendar = await uow.calendar.working_calendar()
        if calendar.is_working_day(day) == working and day not in {
            d.day for d in await uow.calendar.declared(day.year)
        }:
            raise UsageError(
                _("%(day)s is already a %(kind)s; nothing to declare.")
                % {"day": format_day(day), "kind": _(KIND[working])}
            )
        before = await uow.calendar.declare(day, working=working, reason=reason, now=now)
        uow.audit.record(
            "calendar.declare",
            now=now,
            channel="cli",
            day=day.isoformat(),
            working=working,
            reason=reason,
            replaced=None
            if before is None
            else {"working": before.working, "reason": before.reason},
        )
        await uow.commit()
    out(_("Declared: %(line)s") % {"line": _line(DeclaredDay(day, working, reason))})
    return 0


async def cmd_calendar_remove(app: App, args: argparse.Namespace) -> int:
    """Remove a declared day; the national calendar applies to it again; audited."""
    await app.ensure_migrated()
    now = app.clock.now()
    async with UnitOfWork(app.db) as uow:
        removed = await uow.calendar.remove(args.day)
        if removed is None:
            raise UsageError(
                _("%(day)s is not a declared day; nothing to remove.")
                % {"day": format_day(args.day)}
            )
        uow.audit.record(
            "calendar.remove",
            now=now,
            channel="cli",
            day=args.day.isoformat(),
            working=removed.working,
            reason=removed.reason,
        )
        await uow.commit()
    out(_("Removed: %(line)s") % {"line": _line(removed)})
    if removed.source == "plan":
        out(_("The plan file declares this day: the next import of the file declares it again."))
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot calendar list|add|remove`` to the parser."""
    calendar = command(sub, "calendar", _("declare days off and make-up working days"))
    calendar_sub = calendar.add_subparsers(
        dest="calendar_command", required=True, metavar=_("ACTION")
    )
    p = command(calendar_sub, "list", _("list the declared days"), cmd_calendar_list)
    p.add_argument("--year", type=int, help=_("only this year"))
    p = command(calendar_sub, "add", _("declare a day off or a working day"), cmd_calendar_add)
    p.add_argument("day", type=parse_day, metavar=_("DD/MM/YYYY"))
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--off", dest="kind", action="store_const", const="off", help=_("a day off"))
    kind.add_argument(
        "--working",
        dest="kind",
        action="store_const",
        const="working",
        help=_("a working day (a make-up Saturday)"),
    )
    p.add_argument("--reason", required=True, help=_("why: the decision that sets the day"))
    p = command(calendar_sub, "remove", _("remove a declared day"), cmd_calendar_remove)
    p.add_argument("day", type=parse_day, metavar=_("DD/MM/YYYY"))
