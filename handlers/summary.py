"""``/tonghop`` and ``/chuabaocao``: the state of the plan at a glance, and the files.

The coordinator (and an administrator) sees the whole plan; an agency leader sees the same
view restricted to the own agency. Buttons carry the year and are checked again when pressed:
the role and, for a leader, the agency.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core.domain.explanations import for_task
from bot.core.domain.members import Role
from bot.core.domain.progress import (
    STATES,
    AgencyState,
    IndexState,
    LatestReport,
    PlanSummary,
    TaskState,
)
from bot.core.domain.standing import Assessment
from bot.core.i18n import N_, _, format_day, format_moment, format_score, ngettext
from bot.core.messages import Choice, OutgoingFile, Reply
from bot.core.text import shorten
from handlers import explanations, replies
from handlers.context import COORDINATORS, Command, Context
from handlers.conversation import Button, Conversation
from handlers.exports import state_label
from handlers.exports.explanations import counts_line as explanation_counts
from handlers.exports.explanations import lines_for_task, request_line
from handlers.exports.labels import leader_review_line, summary_review_line
from handlers.exports.periods import figures_line, periodic_lines
from handlers.exports.registry import EXPORTS, ExportFormat, ExportScope, export, offered
from handlers.exports.standing import (
    MARKS,
    assessment_label,
    counts_line,
    legend,
    risk_lines,
    standing_of,
)
from handlers.extensions.common import granted_line
from handlers.extensions.reminding import waiting_lines
from handlers.standing_view import lead_lines

logger = logging.getLogger(__name__)

PREFIX = "th"
BUTTON = Button(PREFIX, 3)
"""The buttons of /tonghop: ``th:YEAR:ACTION:VALUE`` (``th:2024:f:xlsx``, ``th:2024:ov:``)."""
AGENCIES_PER_PAGE = 8
LIST_LIMIT = 15
TEXT_EXCERPT = 160
BUTTON_NAME_LENGTH = 40


def _allowed(ctx: Context) -> bool:
    member = ctx.require_member()
    return member.role in (Role.COORDINATOR, Role.ADMIN, Role.LEADER)


def _scope(ctx: Context) -> int | None:
    """Return the agency a leader is limited to, or None for the whole plan."""
    member = ctx.require_member()
    return member.agency_id if member.role == Role.LEADER else None


async def _year(ctx: Context, wanted: str) -> int | None:
    years = await ctx.uow.summaries.years()
    if wanted:
        return int(wanted) if wanted.isdigit() and int(wanted) in years else None
    today = ctx.today()
    return today.year if today.year in years else (years[-1] if years else None)


async def _summary(ctx: Context, year: int) -> PlanSummary | None:
    return await ctx.uow.summaries.summary(year, ctx.today(), _scope(ctx))


# --- /tonghop ---------------------------------------------------------------------------


async def overview(ctx: Context) -> list[Reply]:
    """Answer /tonghop [year]."""
    year = await _year(ctx, ctx.incoming.argument)
    if year is None:
        return [
            Reply(
                _(
                    "There is no reporting year %(year)s. Send /tonghop, or /tonghop followed "
                    "by a year."
                )
                % {"year": shorten(ctx.incoming.argument, 10)}
            )
        ]
    summary = await _summary(ctx, year)
    if summary is None:
        return [Reply(_("No plan has been imported yet."))]
    if _scope(ctx) is not None:
        return [_agency_view(ctx, summary, summary.agencies[0] if summary.agencies else None)]
    led = await _led(ctx)
    return [Reply(overview_text(summary, ctx, led), _overview_buttons(ctx, summary))]


async def _led(ctx: Context) -> frozenset[int] | None:
    """Return the agencies with an active leader when leaders review first, else None."""
    return await ctx.uow.reviews.led_agencies() if ctx.bot.leader_review else None


def overview_text(summary: PlanSummary, ctx: Context, led: frozenset[int] | None = None) -> str:
    """Write the one-message summary of the whole plan (``led``: see :func:`_led`)."""
    lines = [
        _("SUMMARY OF THE PGI PLAN, %(year)s") % {"year": summary.year},
        _("As of %(time)s") % {"time": format_moment(ctx.now())},
        "",
    ]
    lines += _milestone_lines(summary)
    standing = standing_of(summary)
    lines += lead_lines(summary, standing)  # the overdue and the blocked first
    total = len(summary.leading_agencies)
    lines.append(
        _(
            "Agencies that reported on all their tasks: %(done)s of %(total)s; "
            "%(count)s reports in all."
        )
        % {
            "done": len(summary.reported_agencies),
            "total": total,
            "count": summary.submission_count,
        }
    )
    lines.append(_("Review: %(counts)s (send /duyet)") % {"counts": summary_review_line(summary)})
    if led is not None and (leader_line := leader_review_line(summary, led)):
        lines.append(leader_line)
    explained = explanation_counts(summary.explanations, summary.today)
    if explained:
        lines.append(explained)
    asked = [e for e in summary.extensions if e.waiting]
    if asked:
        lines += ["", *waiting_lines(asked)]
    for index in summary.indices:
        mark = MARKS[standing.colour_of(index.tasks)]
        header, scores = _index_header(index)
        lines += ["", f"{mark} {header}", scores, counts_line(standing, index.tasks)]
    if summary.organisational:
        mark = MARKS[standing.colour_of(summary.organisational)]
        lines += [
            "",
            f"{mark} " + _("Organisation of implementation (section III)"),
            counts_line(standing, summary.organisational),
        ]
    pending = summary.not_reported
    if pending:
        heading = (
            _("Late — not all tasks reported (%(count)s):")
            if summary.late
            else _("Not all tasks reported yet (%(count)s):")
        )
        lines += ["", heading % {"count": len(pending)}]
        lines += [
            f"• {a.name} ({len(a.asked_reported)}/{len(a.asked_tasks)})"
            for a in pending[:LIST_LIMIT]
        ]
        if len(pending) > LIST_LIMIT:
            lines.append(
                _("… and %(count)s more (send /chuabaocao)") % {"count": len(pending) - LIST_LIMIT}
            )
    if periodic := periodic_lines(summary):
        lines += ["", *periodic]
    lines += ["", legend()]
    return "\n".join(lines)


def _milestone_lines(summary: PlanSummary) -> list[str]:
    return [*_deadline_lines(summary), figures_line(summary)]


def _deadline_lines(summary: PlanSummary) -> list[str]:
    milestone = summary.milestone
    if milestone is None:
        return []
    if summary.year != summary.today.year:  # a past (or next) year: no count of days
        return [
            _("Deadline: %(title)s — %(date)s")
            % {"title": milestone.title, "date": format_day(milestone.due_date)}
        ]
    when = replies.time_left(milestone.due_date, summary.today)
    return [
        _("Current deadline: %(title)s — %(date)s (%(when)s)")
        % {"title": milestone.title, "date": format_day(milestone.due_date), "when": when}
    ]


def _index_header(index: IndexState) -> list[str]:
    return [
        _("Index %(code)s. %(name)s") % {"code": index.code, "name": index.name},
        _("%(year)s: %(baseline)s — target: %(target)s")
        % {
            "year": index.baseline_year,
            "baseline": format_score(index.baseline_score),
            "target": format_score(index.target_score),
        },
    ]


def _state_counts(index: IndexState) -> str:
    return " · ".join(f"{state_label(state)}: {index.count(state)}" for state in STATES)


def _risk_view(summary: PlanSummary) -> Reply:
    lines = risk_lines(summary, standing_of(summary))
    return Reply(
        "\n".join(lines),
        ((Choice(_("Back to the summary"), _payload(summary.year, "ov")),),),
        edit=True,
    )


def _excerpt(text: str) -> str:
    return shorten(text, TEXT_EXCERPT)


def _payload(year: int, action: str, argument: str | int = "") -> str:
    return BUTTON.encode(year, action, argument)


def _file_buttons(year: int, formats: list[ExportFormat]) -> tuple[Choice, ...]:
    return tuple(Choice(_(f.label or f.key), _payload(year, "f", f.key)) for f in formats)


def _overview_buttons(ctx: Context, summary: PlanSummary) -> tuple[tuple[Choice, ...], ...]:
    year = summary.year
    indices = tuple(
        Choice(_("Index %(code)s") % {"code": i.code}, _payload(year, "ix", i.code))
        for i in summary.indices
    )
    return (
        indices,
        (Choice(_("By agency"), _payload(year, "ag", 0)), explanations.menu_choice(year)),
        (Choice(_("PGI risk by index"), _payload(year, "rk")),),
        _file_buttons(year, offered(ctx.require_member().role)),
    )


# --- buttons ----------------------------------------------------------------------------


async def on_choice(ctx: Context, argument: str) -> list[Reply]:
    """Handle the buttons of /tonghop; permissions are checked again at every press."""
    if not _allowed(ctx):
        return replies.refused(ctx, "tonghop", f"{PREFIX}:{argument}")
    year_text, action, value = BUTTON.decode(argument)
    year = await _year(ctx, year_text)
    if year is None:
        return [replies.stale_choice()]
    if action == "f" and value in EXPORTS:
        return [await _file(ctx, year, value)]  # builds its summary in its own reading session
    summary = await _summary(ctx, year)
    if summary is None:
        return [replies.stale_choice()]
    if action == "ov":
        if _scope(ctx) is not None:
            return [_agency_view(ctx, summary, summary.agencies[0] if summary.agencies else None)]
        led = await _led(ctx)
        overview_reply = Reply(overview_text(summary, ctx, led), _overview_buttons(ctx, summary))
        return [replace(overview_reply, edit=True)]
    if action == "rk" and _scope(ctx) is None:
        return [_risk_view(summary)]
    if action == "ix" and _scope(ctx) is None:
        index = next((i for i in summary.indices if i.code == value), None)
        return [_index_view(summary, index)] if index else [replies.stale_choice()]
    if action == "ag" and _scope(ctx) is None and value.isdigit():
        return [_agency_list(summary, int(value))]
    if action == "ad" and value.isdigit():
        agency = next((a for a in summary.agencies if a.id == int(value)), None)
        if agency is None:  # another agency's view asked by a leader: refused
            return replies.refused(ctx, "tonghop", f"{PREFIX}:{argument}")
        return [_agency_view(ctx, summary, agency)]
    return [replies.stale_choice()]


def _index_view(summary: PlanSummary, index: IndexState) -> Reply:
    standing = standing_of(summary)
    header, scores = _index_header(index)
    lines = [f"{MARKS[standing.colour_of(index.tasks)]} {header}", scores]
    lines += [counts_line(standing, index.tasks), ""]
    for task in index.tasks:
        found = standing.tasks.get(task.code)
        line = (
            f"• {MARKS[standing.task_colour(task.code)]} {task.code} {task.title} — "
            f"{assessment_label(found) or state_label(task.state)}; "
            f"{state_label(task.state)}, {task.progress}% "
            f"({task.reported}/{len(task.lead_agencies)}"
        )
        if task.contributions:
            line += "; " + _("supporting: %(count)s") % {"count": len(task.contributions)}
        asked = for_task(summary.explanations, task.code)
        if asked:
            line += "; " + _("explained: %(answered)s/%(asked)s") % {
                "answered": sum(e.answered for e in asked),
                "asked": len(asked),
            }
        lines.append(line + ")")
    return Reply(
        "\n".join(lines), ((Choice(_("Back to the summary"), _payload(summary.year, "ov")),),)
    )


def _agency_list(summary: PlanSummary, page: int) -> Reply:
    agencies = summary.agencies
    pages = max(1, -(-len(agencies) // AGENCIES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = agencies[page * AGENCIES_PER_PAGE : (page + 1) * AGENCIES_PER_PAGE]
    standing = standing_of(summary)
    rows: list[tuple[Choice, ...]] = [
        (
            Choice(
                f"{MARKS[standing.agency_colour(a.id)]} {shorten(a.name, BUTTON_NAME_LENGTH)} "
                f"({len(a.asked_reported)}/{len(a.asked_tasks)})",
                _payload(summary.year, "ad", a.id),
            ),
        )
        for a in shown
    ]
    navigation = []
    if page > 0:
        navigation.append(Choice(_("◀ Previous"), _payload(summary.year, "ag", page - 1)))
    if page < pages - 1:
        navigation.append(Choice(_("Next ▶"), _payload(summary.year, "ag", page + 1)))
    if navigation:
        rows.append(tuple(navigation))
    return Reply(
        _("Agencies and their reports, %(year)s (page %(page)s/%(pages)s): reported / lead tasks")
        % {"year": summary.year, "page": page + 1, "pages": pages},
        tuple(rows),
        edit=True,
    )


def _agency_view(ctx: Context, summary: PlanSummary, agency: AgencyState | None) -> Reply:
    if agency is None:
        return Reply(_("Your agency leads no task of the plan."))
    standing = standing_of(summary)
    lines = [
        f"{MARKS[standing.agency_colour(agency.id)]} "
        + _("%(agency)s — %(year)s") % {"agency": agency.name, "year": summary.year},
        *_milestone_lines(summary),
        _("Reported: %(done)s of the %(total)s tasks it leads that a report is asked on.")
        % {"done": len(agency.asked_reported), "total": len(agency.asked_tasks)},
    ]
    if agency.last_report_at:
        lines.append(_("Last report: %(time)s") % {"time": format_moment(agency.last_report_at)})
    lines.append(
        _("Members: %(names)s") % {"names": ", ".join(agency.members) or _("none registered")}
    )
    lines.append("")
    lead = [t for t in summary.all_tasks if t.code in agency.lead_tasks]
    supported = [t for t in summary.all_tasks if t.code not in agency.lead_tasks]
    own = {a.task.code: a for a in standing.of_agency(agency.id)}
    for task in lead:
        mine = own.get(task.code)
        _agency_task_lines(lines, agency, task, task.reports, mine.assessment if mine else None)
        if mine is not None and mine.extension is not None:
            lines.append("  " + granted_line(mine.extension))
        lines += _explained(summary, task.code, agency.id)
    if supported:
        lines += ["", _("Tasks it supports (or reported on without leading):")]
        for task in supported:
            _agency_task_lines(lines, agency, task, task.contributions)
            lines += _explained(summary, task.code, agency.id)
    if summary.late and agency.pending_tasks:
        lines += ["", _("Late: %(codes)s") % {"codes": ", ".join(agency.pending_tasks)}]
    # An agency's view offers the files a leader may have: for a leader, the agency's part.
    buttons: tuple[tuple[Choice, ...], ...] = (_file_buttons(summary.year, offered(Role.LEADER)),)
    if _scope(ctx) is None:  # the coordinator may ask the agency to explain
        buttons += explanations.agency_choices(summary, agency)
    return Reply("\n".join(lines), buttons, edit=ctx.incoming.payload is not None)


def _explained(summary: PlanSummary, code: str, agency_id: int) -> list[str]:
    """Return the explanation lines shown under an agency's task."""
    found = lines_for_task(summary.explanations, code, summary.today, agency_id=agency_id)
    return [f"  {line}" for line in found]


def _agency_task_lines(
    lines: list[str],
    agency: AgencyState,
    task: TaskState,
    reports: list[LatestReport],
    assessment: Assessment | None = None,
) -> None:
    report = next((r for r in reports if r.agency_id == agency.id), None)
    mark = f"{MARKS[assessment.colour]} " if assessment else ""
    standing = f"{assessment_label(assessment)}; " if assessment else ""
    if report is None:
        lines.append(f"• {mark}{task.code} {task.title} — {standing}{state_label('unreported')}")
        return
    lines.append(
        f"• {mark}{task.code} {task.title} — {standing}{state_label(report.status)}, "
        f"{report.progress}% ({format_moment(report.created_at)})"
    )
    lines.append(f"  {_excerpt(report.results)}")
    if report.difficulties:
        lines.append("  " + _("Difficulties: %(text)s") % {"text": _excerpt(report.difficulties)})


# --- files ------------------------------------------------------------------------------


async def _file(ctx: Context, year: int, key: str) -> Reply:
    if not EXPORTS[key].allowed(ctx.require_member().role):  # a leader: the workbook only
        [refusal] = replies.refused(ctx, "tonghop", f"{PREFIX}:{year}:f:{key}")
        return refusal
    async with ctx.uow.reading() as reads:
        file = await export(reads.summaries, key, ExportScope(year, _scope(ctx)), ctx.today())
    if file is None:
        return replies.stale_choice()
    return Reply(
        _("The file is attached: %(name)s") % {"name": file.name},
        files=(OutgoingFile(file.name, file.content, file.media_type),),
    )


# --- /chuabaocao ------------------------------------------------------------------------


async def not_reported(ctx: Context) -> list[Reply]:
    """Answer /chuabaocao: the agencies (and their officers) behind on the current deadline."""
    year = await _year(ctx, ctx.incoming.argument)
    summary = await _summary(ctx, year) if year is not None else None
    if summary is None:
        return [Reply(_("No plan has been imported yet."))]
    pending = summary.not_reported
    lines = _milestone_lines(summary)
    if not pending:
        lines.append(
            _("Every agency has reported on all its tasks for %(year)s.") % {"year": year}
        )
        return [Reply("\n".join(lines))]
    lines.append(
        ngettext(
            "%(count)s agency has not reported on all its tasks for %(year)s:",
            "%(count)s agencies have not reported on all their tasks for %(year)s:",
            len(pending),
        )
        % {"count": len(pending), "year": year}
    )
    for agency in pending:
        lines.append("")
        lines.append(
            f"• {agency.name}: {len(agency.asked_reported)}/{len(agency.asked_tasks)} — "
            + _("missing %(codes)s") % {"codes": ", ".join(agency.pending_tasks[:12])}
            + ("…" if len(agency.pending_tasks) > 12 else "")
        )
        if summary.year >= summary.today.year:  # a past year lists no officers of today
            lines.append(
                "  "
                + _("Officers: %(names)s")
                % {"names": ", ".join(agency.members) or _("none registered")}
            )
        asked = [e for e in summary.explanations if e.agency_id == agency.id]
        if asked:
            lines.append("  " + request_line(asked[-1], summary.today))
    if not summary.late:
        return [Reply("\n".join(lines))]
    asking = [
        (explanations.ask_choice(summary.year, agency),)
        for agency in pending
        if explanations.eligible(summary, agency, None) is not None
    ]
    if len(asking) > explanations.MENU_BUTTONS:
        asking = [*asking[: explanations.MENU_BUTTONS], (explanations.menu_choice(summary.year),)]
    return [Reply("\n".join(lines), tuple(asking))]


CONVERSATION = Conversation(
    "summary",
    commands=(
        Command(
            "tonghop",
            N_("the state of the plan (a leader: of your agency); /tonghop 2024 for a year"),
            COORDINATORS | {Role.LEADER},
            overview,
        ),
        Command(
            "chuabaocao",
            N_("agencies that have not reported, and their officers"),
            COORDINATORS,
            not_reported,
        ),
    ),
    buttons={PREFIX: on_choice},
)
