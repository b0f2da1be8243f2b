"""A portrait chart (.png) made to be read on a phone: tasks by state, and who has reported.

The states are the four against the deadlines, in their colours (greens, amber, red); each
agency's bar is in the agency's colour, as /tonghop marks it.

Drawn with matplotlib's object API on an Agg canvas: no pyplot, no global figure state.
"""

from __future__ import annotations

import io
import logging
import textwrap
from dataclasses import dataclass
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from bot.core.domain.progress import PlanSummary, TaskState
from bot.core.domain.standing import STANDINGS, Colour, Standing, YearStanding
from bot.core.i18n import _
from bot.core.text import shorten, sort_key
from handlers.exports.labels import organisational_label
from handlers.exports.standing import STANDING_COLOURS, standing_label, standing_of

logger = logging.getLogger(__name__)

WIDTH_PX, HEIGHT_PX, DPI = 1080, 1920, 180
MAX_AGENCIES = 40
LABEL_LENGTH = 28
TEXT_SIZE = 9
TITLE_SIZE = 13
PANEL_TITLE_SIZE = 11
_DARK_TEXT = {Standing.NOT_DUE, Standing.DONE_LATE}
BAR_COLOURS = {Colour.RED: "#d32f2f", Colour.AMBER: "#f9a825", Colour.GREEN: "#2e7d32"}
_ABBREVIATIONS = (("Ủy ban nhân dân", "UBND"), ("Uỷ ban nhân dân", "UBND"))


@dataclass(frozen=True, slots=True)
class _Rate:
    label: str
    reported: int
    lead: int
    colour: Colour = Colour.GREEN

    @property
    def percent(self) -> float:
        return 100 * self.reported / self.lead if self.lead else 0.0


def chart(summary: PlanSummary) -> bytes:
    """Return a portrait PNG of the year: tasks by state per index, reporting rate per agency."""
    groups = [(_("Index %(code)s") % {"code": i.code}, i.name, i.tasks) for i in summary.indices]
    if summary.organisational:
        groups.append((organisational_label(), "", summary.organisational))
    standing = standing_of(summary)
    rates = _rates(summary, standing)
    shown = rates[:MAX_AGENCIES]
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    figure.suptitle(
        _("Implementation of the PGI plan in %(year)s") % {"year": summary.year}
        + "\n"
        + _("As of %(date)s") % {"date": f"{summary.today:%d/%m/%Y}"},
        fontsize=TITLE_SIZE,
        fontweight="bold",
    )
    top_height = max(len(groups), 2) * 0.32 + 1.6
    bottom_height = max(len(shown), 4) * 0.17 + 1.0
    panels: Any = figure.subfigures(2, 1, height_ratios=[top_height, bottom_height])
    top, bottom = panels
    _states_panel(top, groups, standing)
    _rates_panel(bottom, shown, len(rates))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    data = buffer.getvalue()
    logger.info("chart for %s: %s bytes", summary.year, len(data))
    return data


def _rates(summary: PlanSummary, standing: YearStanding | None = None) -> list[_Rate]:
    """Return the lead agencies' reporting rates, lowest first, then in Vietnamese order."""
    return sorted(
        (
            _Rate(
                _agency_label(a.name),
                len(a.asked_reported),
                len(a.asked_tasks),
                standing.agency_colour(a.id) if standing else Colour.GREEN,
            )
            for a in summary.leading_agencies
        ),
        key=lambda rate: (rate.percent, sort_key(rate.label)),
    )


def chart_order(summary: PlanSummary) -> list[str]:
    """Return the agencies' labels in the order of the reporting-rate panel, top to bottom."""
    return [rate.label for rate in _rates(summary)]


def _agency_label(name: str) -> str:
    for long, short in _ABBREVIATIONS:
        name = name.replace(long, short)
    return shorten(name, LABEL_LENGTH)


def _wrap(text: str, width: int = 46) -> str:
    return "\n".join("\n".join(textwrap.wrap(line, width)) or line for line in text.split("\n"))


def _states_panel(
    panel: Any, groups: list[tuple[str, str, list[TaskState]]], standing: YearStanding
) -> None:
    panel.suptitle(
        _wrap(_("Tasks by state against their deadlines, per index")),
        fontsize=PANEL_TITLE_SIZE,
        fontweight="bold",
    )
    axes = panel.add_subplot()
    if not groups:
        _empty(axes)
        return
    positions = list(range(len(groups)))
    left = [0] * len(groups)
    widest = max(len(tasks) for _label, _name, tasks in groups) or 1
    for state in STANDINGS:
        counts = [standing.count(tasks, state) for _label, _name, tasks in groups]
        axes.barh(
            positions,
            counts,
            left=left,
            height=0.62,
            color=STANDING_COLOURS[state],
            label=standing_label(state),
            edgecolor="white",
            linewidth=0.6,
        )
        for y, (start, count) in enumerate(zip(left, counts, strict=True)):
            if count and count / widest >= 0.05:
                axes.text(
                    start + count / 2,
                    y,
                    str(count),
                    ha="center",
                    va="center",
                    fontsize=TEXT_SIZE,
                    fontweight="bold",
                    color="black" if state in _DARK_TEXT else "white",
                )
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axes.set_yticks(
        positions,
        [
            f"{label}\n{shorten(name, LABEL_LENGTH)}" if name else _wrap(label, LABEL_LENGTH)
            for label, name, _tasks in groups
        ],
    )
    axes.invert_yaxis()
    axes.set_xlim(0, widest * 1.02)
    axes.set_xlabel(_("Tasks"), fontsize=TEXT_SIZE)
    axes.tick_params(labelsize=TEXT_SIZE)
    axes.xaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    handles, names = axes.get_legend_handles_labels()
    panel.legend(
        handles,
        names,
        loc="outside lower center",
        ncol=2,
        frameon=False,
        fontsize=TEXT_SIZE,
    )


def _rates_panel(panel: Any, rates: list[_Rate], total: int) -> None:
    title = _("Reporting rate of agencies (tasks reported / tasks led)")
    if total > len(rates):
        title += "\n" + _("the %(count)s agencies with the lowest rate, of %(total)s") % {
            "count": len(rates),
            "total": total,
        }
    panel.suptitle(_wrap(title), fontsize=PANEL_TITLE_SIZE, fontweight="bold")
    axes = panel.add_subplot()
    if not rates:
        _empty(axes)
        return
    positions = list(range(len(rates)))
    colours = [BAR_COLOURS[r.colour] for r in rates]
    axes.barh(positions, [r.percent for r in rates], height=0.7, color=colours)
    for y, rate in enumerate(rates):
        axes.text(
            rate.percent + 1.5,
            y,
            f"{rate.reported}/{rate.lead}",
            va="center",
            fontsize=TEXT_SIZE,
        )
    axes.set_yticks(positions, [r.label for r in rates])
    axes.set_xlim(0, 118)
    axes.set_xticks([0, 25, 50, 75, 100])
    axes.xaxis.set_major_formatter(PercentFormatter(100, decimals=0))
    axes.tick_params(labelsize=TEXT_SIZE)
    axes.set_ylim(len(rates) - 0.5, -0.5)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _empty(axes: Any) -> None:
    axes.text(0.5, 0.5, _("No data"), ha="center", va="center", fontsize=TEXT_SIZE)
    axes.set_axis_off()
