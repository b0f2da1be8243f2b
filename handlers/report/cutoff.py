"""The period of a report's figures in ``/baocao``: shown, and another last day if stated.

When the task is chosen the report takes the period of the deadline the agencies work towards
(:func:`handlers.periods.current_period`); the status question and the summary show it. From
the summary, "Số liệu tính đến ngày khác" asks for another last day, typed ``dd/mm/yyyy``
within the period; anything else is answered politely and changes nothing.
"""

from __future__ import annotations

from datetime import date

from bot.core.domain.periods import ReportPeriod
from bot.core.domain.submissions import SubmissionInfo
from bot.core.i18n import _
from bot.core.messages import Reply
from handlers.context import Context
from handlers.periods import current_period, day_with_weekday, period_line, read_typed_date
from handlers.report.states import CUTOFF, _choice, _set


async def set_period(ctx: Context, kept: SubmissionInfo | None = None) -> None:
    """Put the report's period in the conversation: a kept version's, else the deadline's."""
    year = int(ctx.state.data["year"])
    _milestone, period = current_period(await ctx.uow.plans.milestones(year), year, ctx.today())
    end = period.end
    if kept is not None and kept.period_end is not None and kept.period_end in period:
        end = kept.period_end
    _set(
        ctx,
        period_start=period.start.isoformat(),
        period_default=period.end.isoformat(),
        period_end=end.isoformat(),
    )


def chosen_period(ctx: Context) -> ReportPeriod | None:
    """Return the period the report's figures cover, as the officer confirmed it."""
    data = ctx.state.data
    if not data.get("period_start") or not data.get("period_end"):
        return None
    return ReportPeriod(
        date.fromisoformat(data["period_start"]), date.fromisoformat(data["period_end"])
    )


def _allowed(ctx: Context) -> ReportPeriod:
    data = ctx.state.data
    return ReportPeriod(
        date.fromisoformat(data["period_start"]), date.fromisoformat(data["period_default"])
    )


def period_text(ctx: Context) -> str:
    """Return the line the questions show: "Số liệu tính từ ngày … đến ngày …"."""
    period = chosen_period(ctx)
    return period_line(period) if period else ""


def ask_cutoff(ctx: Context, *, edit: bool = True) -> Reply:
    """Ask the last day the figures count, typed dd/mm/yyyy within the period."""
    _set(ctx, CUTOFF)
    allowed = _allowed(ctx)
    return Reply(
        period_text(ctx)
        + "\n\n"
        + _(
            "Please type the last day your figures count, as dd/mm/yyyy (for example "
            "%(example)s), from %(start)s to %(end)s."
        )
        % {
            "example": f"{allowed.end:%d/%m/%Y}",
            "start": f"{allowed.start:%d/%m/%Y}",
            "end": f"{allowed.end:%d/%m/%Y}",
        },
        (
            (
                _choice(ctx, _("Keep %(day)s") % {"day": f"{allowed.end:%d/%m/%Y}"}, "ck"),
                _choice(ctx, _("Back to the summary"), "bk"),
            ),
        ),
        edit=edit,
    )


def take_cutoff(ctx: Context, text: str) -> Reply | None:
    """Take a typed last day; return the polite refusal if it is not one (nothing changes)."""
    allowed = _allowed(ctx)
    day = read_typed_date(text)
    if day is None:
        return Reply(
            _("That is not a date. Please type the day as dd/mm/yyyy, for example %(example)s.")
            % {"example": f"{allowed.end:%d/%m/%Y}"}
        )
    if day not in allowed:
        return Reply(
            _(
                "%(day)s is outside the period of this report. Please type a day from "
                "%(start)s to %(end)s."
            )
            % {
                "day": day_with_weekday(day),
                "start": f"{allowed.start:%d/%m/%Y}",
                "end": f"{allowed.end:%d/%m/%Y}",
            }
        )
    _set(ctx, period_end=day.isoformat())
    return None


def keep_default(ctx: Context) -> None:
    """Go back to the period's own last day."""
    _set(ctx, period_end=ctx.state.data["period_default"])
