"""``pgibot agency``: list the agencies, add, rename, merge and retire one."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, get_args

from bot.cli.app import App, command, out, parse_day
from bot.core.domain.agencies import AgencyInfo
from bot.core.i18n import N_, _
from handlers.agency_notices import tell_followers
from storage.plan_schema import AgencyKind
from storage.uow import UnitOfWork

AGENCY_STATUS = {"active": N_("active"), "merged": N_("merged"), "retired": N_("retired")}


async def cmd_agency_list(app: App, args: argparse.Namespace) -> int:
    """List the agencies: status, the days each exists, successors, tasks led and supported."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        agencies = await uow.plans.agencies()
        counts = await uow.plans.assignment_counts(app.today())
        takers = {
            a.code: await uow.agencies.taking_over(a.code)
            for a in agencies
            if a.status == "retired"
        }
    names = {a.code: a.name for a in agencies}
    for agency in agencies:
        lead, support = counts.get(agency.id, (0, 0))
        out(f"{agency.code:<14} {agency.name}")
        details = _("status: %(status)s; leads %(lead)s, supports %(support)s tasks") % {
            "status": _(AGENCY_STATUS[agency.status]),
            "lead": lead,
            "support": support,
        }
        if agency.successor_code:
            details += "; " + _("merged into %(code)s (%(name)s)") % {
                "code": agency.successor_code,
                "name": names.get(agency.successor_code, ""),
            }
        elif takers.get(agency.code):
            details += "; " + _("its tasks carried out by %(names)s") % {
                "names": ", ".join(takers[agency.code])
            }
        out(f"{'':<14} {details}")
        out(f"{'':<14} {_lifetime(agency)}")
    return 0


def _lifetime(agency: AgencyInfo) -> str:
    """Say from when until when an agency exists (its last day, not the first without it)."""
    start = f"{agency.valid_from:%d/%m/%Y}" if agency.valid_from else None
    end = f"{agency.valid_to - timedelta(days=1):%d/%m/%Y}" if agency.valid_to else None
    if start and end:
        return _("exists from %(start)s to %(end)s") % {"start": start, "end": end}
    if start:
        return _("exists from %(start)s") % {"start": start}
    if end:
        return _("exists until %(end)s") % {"end": end}
    return _("exists since the plan was signed")


async def _reorganise(app: App, change: Callable[[UnitOfWork], Awaitable[AgencyInfo]]) -> int:
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        agency = await change(uow)
        await tell_followers(uow, app.clock.now())
        await uow.commit()
    out(
        _("Done: %(code)s — %(name)s (%(status)s).")
        % {"code": agency.code, "name": agency.name, "status": _(AGENCY_STATUS[agency.status])}
    )
    return 0


async def cmd_agency_add(app: App, args: argparse.Namespace) -> int:
    """Add an agency."""
    return await _reorganise(
        app,
        lambda uow: uow.agencies.add(
            code=args.code,
            name=args.name,
            short_name=args.short_name or args.name,
            kind=args.kind,
            now=app.clock.now(),
        ),
    )


async def cmd_agency_rename(app: App, args: argparse.Namespace) -> int:
    """Rename an agency, keeping its former name."""
    return await _reorganise(
        app,
        lambda uow: uow.agencies.rename(
            args.code,
            name=args.name,
            short_name=args.short_name,
            on=args.on or app.today(),
            now=app.clock.now(),
        ),
    )


async def cmd_agency_merge(app: App, args: argparse.Namespace) -> int:
    """Merge an agency into another."""
    return await _reorganise(
        app,
        lambda uow: uow.agencies.merge(
            args.code, into=args.into, on=args.on or app.today(), now=app.clock.now()
        ),
    )


async def cmd_agency_retire(app: App, args: argparse.Namespace) -> int:
    """Retire an agency."""
    return await _reorganise(
        app,
        lambda uow: uow.agencies.retire(args.code, on=args.on or app.today(), now=app.clock.now()),
    )


def add_parsers(sub: Any) -> None:
    """Add ``pgibot agency list|add|rename|merge|retire`` to the parser."""
    agency = command(sub, "agency", _("list and reorganise agencies"))
    agency_sub = agency.add_subparsers(dest="agency_command", required=True, metavar=_("ACTION"))
    command(
        agency_sub,
        "list",
        _("list agencies with how many tasks they lead and support"),
        cmd_agency_list,
    )
    p = command(agency_sub, "add", _("add an agency"), cmd_agency_add)
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--short-name")
    p.add_argument(
        "--kind",
        default="department",
        choices=list(get_args(AgencyKind)),  # the plan file's kinds
    )
    p = command(
        agency_sub, "rename", _("rename an agency, keeping its history"), cmd_agency_rename
    )
    p.add_argument("code")
    p.add_argument("--name", required=True)
    p.add_argument("--short-name")
    p.add_argument("--on", type=parse_day, help=_("date of the change, dd/mm/yyyy"))
    p = command(agency_sub, "merge", _("merge an agency into another"), cmd_agency_merge)
    p.add_argument("code")
    p.add_argument("--into", required=True)
    p.add_argument("--on", type=parse_day, help=_("date of the change, dd/mm/yyyy"))
    p = command(agency_sub, "retire", _("retire an agency"), cmd_agency_retire)
    p.add_argument("code")
    p.add_argument("--on", type=parse_day, help=_("date of the change, dd/mm/yyyy"))
