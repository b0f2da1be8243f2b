"""``pgibot pgi``: record and list the PGI's published results per year."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.app import App, UsageError, command, out
from bot.core.domain.results import TOTAL
from bot.core.i18n import _
from handlers.pgi import (
    COMMAND_LINE,
    TOTAL_WORDS,
    Figure,
    figure_text,
    index_name,
    parse_rank,
    parse_score,
    record,
    result_line,
    results_text,
)
from storage.uow import UnitOfWork


async def cmd_pgi_show(app: App, args: argparse.Namespace) -> int:
    """Print every recorded result, with its corrections."""
    await app.ensure_migrated()
    async with UnitOfWork(app.db) as uow:
        results = await uow.results.all()
    out(results_text(results))
    return 0


async def cmd_pgi_set(app: App, args: argparse.Namespace) -> int:
    """Record a year's published score of an index (or of the total) and its rank."""
    await app.ensure_migrated()
    score = parse_score(args.score)
    if score is None:
        raise UsageError(_("The score must be a number from 0 to 100, for example 5,12."))
    rank = parse_rank(args.rank) if args.rank else (None, None)
    if rank is None:
        raise UsageError(_("The rank must be written as a number, for example 45 or 45/63."))
    if not 2000 <= args.year < app.today().year:
        raise UsageError(
            _(
                "The year must be a year whose results can have been published: from 2000 to "
                "%(last)s."
            )
            % {"last": app.today().year - 1}
        )
    index = TOTAL if args.index is None or args.index.casefold() in TOTAL_WORDS else args.index
    figure = Figure(args.year, index, score, rank[0], rank[1])
    async with UnitOfWork(app.db) as uow:
        known = await uow.results.index_codes()
        if index != TOTAL and index not in known:
            raise UsageError(
                _("The plan has no index %(code)s. The indices are: %(codes)s, or PGI.")
                % {"code": index, "codes": ", ".join(known)}
            )
        current = next(
            (r for r in await uow.results.all() if (r.year, r.index_code) == (args.year, index)),
            None,
        )
        if current and not current.same_as(score, rank[0], rank[1]) and not args.correct:
            raise UsageError(
                _(
                    "%(index)s of %(year)s is already recorded: %(current)s. To correct it, "
                    "run the command again with --correct (both figures are kept in the "
                    "audit log)."
                )
                % {
                    "index": index_name(index),
                    "year": args.year,
                    "current": figure_text(current),
                }
            )
        recorded = await record(
            uow,
            figure,
            recorded_by=COMMAND_LINE,
            member_id=None,
            channel="cli",
            user_id=None,
            now=app.clock.now(),
        )
        await uow.commit()
    if not recorded.changed:
        out(
            _("This result was already recorded: %(line)s")
            % {"line": result_line(recorded.result)}
        )
    elif recorded.corrected:
        out(_("Correction recorded for %(year)s.") % {"year": args.year})
        out(result_line(recorded.result))
    else:
        out(_("Result recorded for %(year)s.") % {"year": args.year})
        out(result_line(recorded.result))
    return 0


def add_parsers(sub: Any) -> None:
    """Add ``pgibot pgi set|show`` to the parser."""
    pgi = command(sub, "pgi", _("the PGI's published results per year"))
    pgi_sub = pgi.add_subparsers(dest="pgi_command", required=True, metavar=_("ACTION"))
    command(pgi_sub, "show", _("list the recorded results"), cmd_pgi_show)
    p = command(
        pgi_sub, "set", _("record a year's published score of an index and its rank"), cmd_pgi_set
    )
    p.add_argument("--year", type=int, required=True)
    p.add_argument(
        "--index", help=_("the index's number; leave it out (or write PGI) for the total score")
    )
    p.add_argument("--score", required=True, help=_("the score, e.g. 5,12"))
    p.add_argument("--rank", help=_("the rank, e.g. 45 or 45/63"))
    p.add_argument(
        "--correct",
        action="store_true",
        help=_("replace a figure already recorded (the old one stays in the audit log)"),
    )
