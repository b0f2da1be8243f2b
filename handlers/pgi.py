"""``/pgi``: the PGI's published results per year, recorded by the coordinator.

``/pgi`` lists what is recorded; ``/pgi YEAR INDEX SCORE [RANK]`` records a figure (INDEX is an
index's number, or ``PGI`` for the total; RANK is ``62`` or ``62/63``). A figure that differs
from the one recorded for that year and index is a correction: it is shown next to the
recorded one and saved only when confirmed (a button, or its number on Zalo and the console),
and the audit log keeps both. ``pgibot pgi set`` records the same way from the command line.
The flow is drawn in ``pgi.mmd``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from bot.core.domain.results import TOTAL, PgiResult
from bot.core.i18n import N_, _, format_day, format_score
from bot.core.messages import Choice, Reply
from handlers import replies
from handlers.context import COORDINATORS, Command, Context
from handlers.conversation import Button, Conversation
from storage.repositories.results import Recorded, ResultError, result_detail
from storage.uow import Repositories

logger = logging.getLogger(__name__)

PREFIX = "pg"
CONFIRM = Button(PREFIX, 6)
"""``pg:ACTION:YEAR:INDEX:SCORE:RANK:OUT_OF`` — ACTION ``ok`` saves the correction, ``no`` not."""
TOTAL_WORDS = frozenset({"pgi", "tong", "tổng"})
RANK = re.compile(r"^(\d{1,3})(?:/(\d{1,3}))?$")
PLAN_FILE = "@plan"
COMMAND_LINE = "@cli"


@dataclass(frozen=True, slots=True)
class Figure:
    """A figure as typed: which year and index, the score, the rank."""

    year: int
    index_code: str
    score: float
    rank: int | None
    out_of: int | None


def parse_score(text: str) -> float | None:
    """Read a score written ``5,12`` or ``5.12`` (0 to 100), or None."""
    try:
        value = float(text.replace(",", ".", 1))
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def parse_rank(text: str) -> tuple[int, int | None] | None:
    """Read a rank written ``62`` or ``62/63``, or None."""
    match = RANK.match(text)
    if not match:
        return None
    rank, out_of = int(match.group(1)), int(match.group(2)) if match.group(2) else None
    if rank < 1 or (out_of is not None and rank > out_of):
        return None
    return rank, out_of


def index_name(code: str) -> str:
    """Return how a figure's index is named: ``Chỉ số 2`` or ``PGI (tổng hợp)``."""
    return _("PGI (total)") if code == TOTAL else _("Index %(code)s") % {"code": code}


def who(recorded_by: str) -> str:
    """Return who recorded a figure, in words."""
    if recorded_by == PLAN_FILE:
        return _("the plan file")
    if recorded_by == COMMAND_LINE:
        return _("the command line")
    return recorded_by


def figure_text(result: PgiResult) -> str:
    """Write a figure: ``4,84 điểm, xếp thứ 62/63``."""
    text = _("%(score)s points") % {"score": format_score(result.score)}
    if result.rank is not None:
        rank = f"{result.rank}/{result.out_of}" if result.out_of else str(result.rank)
        text += ", " + _("ranked %(rank)s") % {"rank": rank}
    return text


def result_line(result: PgiResult) -> str:
    """Write a recorded figure with its correction, if it corrects one."""
    line = f"{index_name(result.index_code)}: {figure_text(result)}"
    if result.previous is not None:
        line += " " + _("(corrected on %(date)s by %(who)s; previously %(before)s)") % {
            "date": format_day(result.recorded_at.date()),
            "who": who(result.recorded_by),
            "before": figure_text(result.previous),
        }
    return line


def results_text(results: list[PgiResult]) -> str:
    """Write every recorded figure, year by year."""
    if not results:
        return _("No PGI result has been recorded yet.")
    lines = [_("PUBLISHED PGI RESULTS")]
    for year in sorted({r.year for r in results}):
        lines += ["", _("Year %(year)s") % {"year": year}]
        lines += [f"• {result_line(r)}" for r in results if r.year == year]
    return "\n".join(lines)


def usage() -> str:
    """Explain how to record a figure."""
    return _(
        "To record a published result, send /pgi YEAR INDEX SCORE [RANK], for example "
        "/pgi 2024 1 5,12 or /pgi 2024 PGI 19,85 45/63 (PGI: the total score)."
    )


async def record(
    repositories: Repositories,
    figure: Figure,
    *,
    recorded_by: str,
    member_id: int | None,
    channel: str | None,
    user_id: str | None,
    now: datetime,
) -> Recorded:
    """Record a figure and audit it (``pgi.record``, or ``pgi.correct`` with the old one)."""
    recorded = await repositories.results.record(
        year=figure.year,
        index_code=figure.index_code,
        score=figure.score,
        rank=figure.rank,
        out_of=figure.out_of,
        recorded_by=recorded_by,
        member_id=member_id,
        now=now,
    )
    if recorded.changed:
        repositories.audit.record(
            "pgi.correct" if recorded.corrected else "pgi.record",
            now=now,
            member_id=member_id,
            channel=channel,
            user_id=user_id,
            **result_detail(recorded),
        )
        logger.info("PGI result recorded: %s", result_detail(recorded))
    return recorded


def _parse(words: list[str], this_year: int, known: list[str]) -> Figure | str:
    """Read ``YEAR INDEX SCORE [RANK]``; return the figure or what is wrong with it."""
    if len(words) not in (3, 4):
        return usage()
    year_text, index_text, score_text, *rank_text = words
    if not year_text.isdigit() or not 2000 <= int(year_text) < this_year:
        return _(
            "The year must be a year whose results can have been published: from 2000 to %(last)s."
        ) % {"last": this_year - 1}
    index_code = TOTAL if index_text.casefold() in TOTAL_WORDS else index_text
    if index_code != TOTAL and index_code not in known:
        return _("The plan has no index %(code)s. The indices are: %(codes)s, or PGI.") % {
            "code": index_text[:10],
            "codes": ", ".join(known),
        }
    score = parse_score(score_text)
    if score is None:
        return _("The score must be a number from 0 to 100, for example 5,12.")
    rank = parse_rank(rank_text[0]) if rank_text else (None, None)
    if rank is None:
        return _("The rank must be written as a number, for example 45 or 45/63.")
    return Figure(int(year_text), index_code, score, rank[0], rank[1])


async def pgi(ctx: Context) -> list[Reply]:
    """Answer /pgi: list the recorded results, or record one (a correction is confirmed)."""
    words = (ctx.incoming.argument or "").split()
    if not words:
        results = await ctx.uow.results.all()
        return [Reply(results_text(results) + "\n\n" + usage())]
    figure = _parse(words, ctx.today().year, await ctx.uow.results.index_codes())
    if isinstance(figure, str):
        return [Reply(figure)]
    current = next(
        (
            r
            for r in await ctx.uow.results.all()
            if (r.year, r.index_code) == (figure.year, figure.index_code)
        ),
        None,
    )
    if current is not None and not current.same_as(figure.score, figure.rank, figure.out_of):
        return [_confirm(current, figure)]
    return [await _save(ctx, figure)]


def _confirm(current: PgiResult, figure: Figure) -> Reply:
    proposed = PgiResult(
        figure.year,
        figure.index_code,
        figure.score,
        figure.rank,
        figure.out_of,
        current.recorded_at,
        "",
    )
    parts = (
        figure.year,
        figure.index_code or "PGI",
        f"{figure.score:.2f}",
        figure.rank or "",
        figure.out_of or "",
    )
    return Reply(
        _(
            "%(index)s of %(year)s is already recorded: %(current)s (recorded on %(date)s by "
            "%(who)s). Record the correction to %(proposed)s? Both figures are kept in the "
            "audit log."
        )
        % {
            "index": index_name(figure.index_code),
            "year": figure.year,
            "current": figure_text(current),
            "date": format_day(current.recorded_at.date()),
            "who": who(current.recorded_by),
            "proposed": figure_text(proposed),
        },
        (
            (
                Choice(_("Record the correction"), CONFIRM.encode("ok", *parts)),
                Choice(_("Cancel"), CONFIRM.encode("no", *parts)),
            ),
        ),
    )


async def _save(ctx: Context, figure: Figure) -> Reply:
    member = ctx.require_member()
    try:
        recorded = await record(
            ctx.uow,
            figure,
            recorded_by=member.full_name,
            member_id=member.id,
            channel=ctx.incoming.channel,
            user_id=ctx.incoming.user_id,
            now=ctx.now(),
        )
    except ResultError:
        return replies.stale_choice()
    if not recorded.changed:
        return Reply(
            _("This result was already recorded: %(line)s")
            % {"line": result_line(recorded.result)}
        )
    heading = (
        _("Correction recorded for %(year)s.")
        if recorded.corrected
        else _("Result recorded for %(year)s.")
    )
    return Reply(heading % {"year": figure.year} + "\n" + result_line(recorded.result), edit=False)


async def on_choice(ctx: Context, argument: str) -> list[Reply]:
    """Handle the confirmation of a correction; the role is checked again at the press."""
    member = ctx.require_member()
    if member.role not in COORDINATORS:
        return replies.refused(ctx, "pgi", f"{PREFIX}:{argument}")
    action, year, index, score, rank, out_of = CONFIRM.decode(argument)
    words = [year, index, score] + ([f"{rank}/{out_of}" if out_of else rank] if rank else [])
    figure = _parse(words, ctx.today().year, await ctx.uow.results.index_codes())
    if isinstance(figure, str):
        return [replies.stale_choice()]
    if action != "ok":
        return [Reply(_("The correction was not recorded."), edit=True)]
    saved = await _save(ctx, figure)
    return [Reply(saved.text, edit=True)]


CONVERSATION = Conversation(
    "pgi",
    commands=(
        Command(
            "pgi",
            N_("the PGI's published results per year; /pgi YEAR INDEX SCORE [RANK] records one"),
            COORDINATORS,
            pgi,
        ),
    ),
    buttons={PREFIX: on_choice},
)
