"""The four states and their colours in words, marks and fills, for /tonghop and every file.

The rule itself is :mod:`bot.core.domain.standing` (written out for readers in
``docs/vi/huong-dan-su-dung.md`` and ``docs/architecture.md``); this module only names it.
"""

from __future__ import annotations

from bot.core.domain.progress import PlanSummary, TaskState
from bot.core.domain.risk import IndexRisk, index_risks
from bot.core.domain.standing import (
    STANDINGS,
    Assessment,
    Colour,
    Standing,
    YearStanding,
    year_standing,
)
from bot.core.i18n import N_, _, current_timezone, format_score

STANDING_LABELS: dict[Standing, str] = {
    Standing.DONE_ON_TIME: N_("Done on time"),
    Standing.DONE_LATE: N_("Done late"),
    Standing.NOT_DUE: N_("In progress — not yet due"),
    Standing.OVERDUE: N_("Overdue"),
}
BLOCKED_LABEL = N_("Facing difficulties")
COLOUR_LABELS: dict[Colour, str] = {
    Colour.RED: N_("Red"),
    Colour.AMBER: N_("Amber"),
    Colour.GREEN: N_("Green"),
}
MARKS: dict[Colour, str] = {Colour.RED: "🔴", Colour.AMBER: "🟡", Colour.GREEN: "🟢"}
"""The mark of each colour in chat and plain text."""
FILLS: dict[Colour, str] = {
    Colour.RED: "#F4C7C3",
    Colour.AMBER: "#FCE8B2",
    Colour.GREEN: "#B7E1CD",
}
"""The cell fill of each colour in the workbook and the draft report."""
STANDING_COLOURS: dict[Standing, str] = {
    Standing.DONE_ON_TIME: "#2e7d32",
    Standing.NOT_DUE: "#81c784",
    Standing.DONE_LATE: "#f9a825",
    Standing.OVERDUE: "#d32f2f",
}
"""The bar colour of each state in the chart: greens, amber, red, as their colours."""


def standing_of(summary: PlanSummary) -> YearStanding:
    """Return the four states of the summary's year, judged in the plan's time zone."""
    return year_standing(summary, current_timezone())


def standing_label(standing: Standing) -> str:
    """Return a state's name in the language."""
    return _(STANDING_LABELS[standing])


def assessment_label(assessment: Assessment | None) -> str:
    """Return a state's name with the difficulty flag: ``Quá hạn; gặp khó khăn``."""
    if assessment is None:
        return ""
    label = standing_label(assessment.standing)
    if assessment.blocked:
        label += "; " + _(BLOCKED_LABEL)[:1].lower() + _(BLOCKED_LABEL)[1:]
    return label


def colour_label(colour: Colour) -> str:
    """Return a colour's name in the language."""
    return _(COLOUR_LABELS[colour])


def counts_line(standing: YearStanding, tasks: list[TaskState]) -> str:
    """Write how many of some tasks are in each state, and how many are blocked."""
    parts = [f"{standing_label(s)}: {standing.count(tasks, s)}" for s in STANDINGS]
    parts.append(f"{_(BLOCKED_LABEL)}: {standing.blocked_count(tasks)}")
    return " · ".join(parts)


def legend() -> str:
    """Write the rule of the colours in one line."""
    return _("🔴 overdue · 🟡 done late or facing difficulties · 🟢 done on time or not yet due")


def risks_of(summary: PlanSummary, standing: YearStanding) -> list[IndexRisk]:
    """Return the indices' risks, furthest from target first."""
    return index_risks(summary, standing)


def published_text(risk: IndexRisk) -> str:
    """Write the latest published score with its year, or a dash."""
    if risk.published is None:
        return "—"
    return _("%(score)s (%(year)s)") % {
        "score": format_score(risk.published.score),
        "year": risk.published.year,
    }


def risk_lines(summary: PlanSummary, standing: YearStanding) -> list[str]:
    """Write the PGI risk view: one line pair per index, furthest from its target first."""
    lines = [
        _("PGI RISK BY INDEX, %(year)s") % {"year": summary.year},
        _("Furthest from the target first; the shares are of the index's tasks."),
    ]
    for risk in risks_of(summary, standing):
        lines += ["", *risk_detail(risk)]
    return lines


def risk_detail(risk: IndexRisk) -> list[str]:
    """Write one index of the risk view: its mark and name, its scores, its tasks' shares."""
    index = risk.index
    return [
        f"{MARKS[risk.colour]} "
        + _("Index %(code)s. %(name)s") % {"code": index.code, "name": index.name},
        _(
            "%(year)s: %(baseline)s · target: %(target)s · latest published: "
            "%(published)s · still to gain: %(gap)s"
        )
        % {
            "year": index.baseline_year,
            "baseline": format_score(index.baseline_score),
            "target": format_score(index.target_score),
            "published": published_text(risk),
            "gap": format_score(risk.gap),
        },
        _(
            "Tasks: %(tasks)s · done: %(done)s%% · overdue: %(overdue)s%% · facing "
            "difficulties: %(blocked)s%%"
        )
        % {
            "tasks": risk.tasks,
            "done": risk.share(risk.done),
            "overdue": risk.share(risk.overdue),
            "blocked": risk.share(risk.blocked),
        },
    ]
