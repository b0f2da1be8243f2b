"""The questions of ``/baocao``: each step's message and buttons, the summary and the edit menu.

Each ``_ask_*`` sets the state to its step and returns the question; :func:`current_question`
asks the question of the step the chat is at again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from math import ceil

from bot.core.domain.plan import CycleInfo, TaskInfo
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import N_, _
from bot.core.messages import Choice, Reply
from handlers import evidence
from handlers.context import Context
from handlers.report import cutoff
from handlers.report.states import (
    _EDITABLE,
    _STATUS_CODES,
    CONFIRM,
    CUTOFF,
    CYCLE,
    DIFFICULTIES,
    EDIT,
    EVIDENCE,
    NOTE_LIMIT,
    PROGRESS,
    PROGRESS_STEPS,
    PROPOSALS,
    RESULTS,
    RESULTS_LIMIT,
    STATUS,
    TASK,
    _choice,
    _set,
)

TASKS_PER_PAGE = 8

STATUS_LABELS = {
    ReportStatus.NOT_STARTED: N_("Not started"),
    ReportStatus.IN_PROGRESS: N_("In progress"),
    ReportStatus.DONE: N_("Completed"),
    ReportStatus.BLOCKED: N_("Facing difficulties and obstacles"),
}


def status_label(status: ReportStatus) -> str:
    """Return the Vietnamese name of a status."""
    return _(STATUS_LABELS[status])


def _task_heading(ctx: Context) -> str:
    data = ctx.state.data
    return _("Report %(year)s — task %(code)s: %(title)s") % {
        "year": data["year"],
        "code": data["task_code"],
        "title": data["task_title"],
    }


def _ask_cycle(ctx: Context, cycles: list[CycleInfo]) -> Reply:
    return Reply(
        _("Several reporting years are open. Which year is your report for?"),
        (tuple(_choice(ctx, _("Year %(year)s") % {"year": c.year}, "cy", c.id) for c in cycles),),
    )


async def _ask_task(
    ctx: Context, tasks: list[TaskInfo] | None = None, *, edit: bool = False
) -> Reply:
    member = ctx.require_member()
    if tasks is None:
        tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id, ctx.today())
    data = ctx.state.data
    latest = await ctx.uow.submissions.latest_by_task(data["cycle_id"], member.agency_id)
    pages = max(1, ceil(len(tasks) / TASKS_PER_PAGE))
    page = min(max(int(data.get("page", 0)), 0), pages - 1)
    _set(ctx, TASK, page=page)
    shown = tasks[page * TASKS_PER_PAGE : (page + 1) * TASKS_PER_PAGE]
    lines = [
        _("Report %(year)s of %(agency)s. Choose the task to report on (page %(page)s/%(pages)s):")
        % {"year": data["year"], "agency": member.agency_name, "page": page + 1, "pages": pages}
    ]
    group: object = ()
    for task in shown:
        if task.index_code != group:
            group = task.index_code
            lines.append("")
            lines.append(
                _("Index %(code)s. %(name)s") % {"code": task.index_code, "name": task.index_name}
                if task.index_code
                else _("Organisation of implementation (section III)")
            )
        report = latest.get(task.id)
        state = (
            _("%(status)s, %(progress)s%%")
            % {"status": status_label(report.status), "progress": report.progress}
            if report
            else _("not reported yet")
        )
        lines.append(f"• {task.code} {task.title} — {state}")
    rows: list[tuple[Choice, ...]] = [
        (_choice(ctx, _short(f"{t.code} {t.title}"), "tk", t.id),) for t in shown
    ]
    navigation = []
    if page > 0:
        navigation.append(_choice(ctx, _("◀ Previous"), "pg", page - 1))
    if page < pages - 1:
        navigation.append(_choice(ctx, _("Next ▶"), "pg", page + 1))
    if navigation:
        rows.append(tuple(navigation))
    rows.append((_choice(ctx, _("Cancel"), "cx"),))
    return Reply("\n".join(lines), tuple(rows), edit=edit)


def _short(label: str, limit: int = 48) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _ask_status(ctx: Context, *, edit: bool = True) -> Reply:
    _set(ctx, STATUS)
    labels = [(code, status_label(status)) for code, status in _STATUS_CODES.items()]
    period = cutoff.period_text(ctx)
    return Reply(
        _task_heading(ctx)
        + (f"\n{period}" if period else "")
        + "\n\n"
        + _("Please choose the status of the task:"),
        (
            tuple(_choice(ctx, label, "st", code) for code, label in labels[:2]),
            tuple(_choice(ctx, label, "st", code) for code, label in labels[2:]),
        ),
        edit=edit,
    )


def _ask_progress(ctx: Context, *, edit: bool = True) -> Reply:
    """Ask the progress in per cent; a typed number is the percentage itself.

    The usual values are buttons where the channel has buttons; they are not numbered on
    channels without, where "1" would read as the first choice rather than 1 %.
    """
    _set(ctx, PROGRESS)
    return Reply(
        _task_heading(ctx)
        + "\n\n"
        + _(
            "Please enter the progress of the task in per cent: a whole number from 0 to 100 "
            "(for example 60)."
        ),
        (tuple(_choice(ctx, f"{n}%", "pr", n) for n in PROGRESS_STEPS),),
        edit=edit,
        numbered=False,
    )


def _ask_results(ctx: Context, *, edit: bool = True) -> Reply:
    _set(ctx, RESULTS)
    text = (
        _task_heading(ctx)
        + "\n\n"
        + _("Please describe the results achieved (required, at most %(limit)s characters).")
        % {"limit": RESULTS_LIMIT}
    )
    return Reply(text + _current(ctx, "results"), edit=edit)


def _ask_difficulties(ctx: Context, *, edit: bool = False) -> Reply:
    _set(ctx, DIFFICULTIES)
    text = (
        _task_heading(ctx)
        + "\n\n"
        + _(
            "Please describe the difficulties and obstacles "
            "(required, at most %(limit)s characters)."
        )
        % {"limit": NOTE_LIMIT}
    )
    return Reply(text + _current(ctx, "difficulties"), edit=edit)


def _ask_proposals(ctx: Context, *, edit: bool = False) -> Reply:
    _set(ctx, PROPOSALS)
    text = (
        _task_heading(ctx)
        + "\n\n"
        + _(
            "Your agency's proposals and recommendations, if any (at most %(limit)s characters); "
            "or press Skip."
        )
        % {"limit": NOTE_LIMIT}
    )
    return Reply(text + _current(ctx, "proposals"), ((_choice(ctx, _("Skip"), "sk"),),), edit=edit)


def _current(ctx: Context, field: str) -> str:
    value = ctx.state.data.get(field)
    if not value or not ctx.state.data.get("editing"):
        return ""
    return "\n\n" + _("Current text: %(text)s") % {"text": _short(str(value), 300)}


def _ask_evidence(ctx: Context, *, edit: bool = False) -> Reply:
    _set(ctx, EVIDENCE)
    files = ctx.state.data.get("files", [])
    text = (
        _task_heading(ctx)
        + "\n\n"
        + _(
            "Send evidence files: documents (pdf, doc, docx, xls, xlsx) or photos (jpg, png), "
            "at most 20 MB each and %(count)s files in all."
        )
        % {"count": evidence.MAX_FILES}
    )
    if files:
        text += "\n\n" + _("Files received: %(names)s") % {
            "names": ", ".join(f["name"] for f in files)
        }
        text += "\n" + _("Press Done when you have sent every file.")
        button = _choice(ctx, _("Done"), "dn")
    else:
        text += " " + _("Press Skip if there is no evidence.")
        button = _choice(ctx, _("Skip"), "sk")
    return Reply(text, ((button,),), edit=edit)


def _summary(ctx: Context, *, edit: bool = False) -> Reply:
    _set(ctx, CONFIRM, editing=False)
    data = ctx.state.data
    status = ReportStatus(data["status"])
    lines = [
        _("Please check your report before confirming:"),
        "",
        _task_heading(ctx),
        *([period] if (period := cutoff.period_text(ctx)) else []),
        _("Status: %(status)s") % {"status": status_label(status)},
        _("Progress: %(progress)s%%") % {"progress": data["progress"]},
        _("Results: %(text)s") % {"text": data["results"]},
    ]
    if status == ReportStatus.BLOCKED:
        lines.append(_("Difficulties and obstacles: %(text)s") % {"text": data["difficulties"]})
        lines.append(
            _("Proposals and recommendations: %(text)s")
            % {"text": data.get("proposals") or _("none")}
        )
    files = data.get("files", [])
    lines.append(
        _("Evidence: %(names)s") % {"names": ", ".join(f["name"] for f in files)}
        if files
        else _("Evidence: none")
    )
    return Reply(
        "\n".join(lines),
        (
            (
                _choice(ctx, _("Confirm"), "ok"),
                _choice(ctx, _("Change"), "ed"),
                _choice(ctx, _("Cancel"), "cx"),
            ),
            *(((_choice(ctx, _("Figures up to another day"), "cd"),),) if period else ()),
        ),
        edit=edit,
    )


def _edit_menu(ctx: Context) -> Reply:
    _set(ctx, EDIT, editing=True)
    blocked = ctx.state.data.get("status") == ReportStatus.BLOCKED
    fields = [f for f in _EDITABLE if blocked or f not in ("df", "pp")]
    if ctx.state.data.get("status") in (ReportStatus.DONE, ReportStatus.NOT_STARTED):
        fields.remove("pr")
    buttons = [_choice(ctx, _(_EDITABLE[f]), "ef", f) for f in fields]
    rows = [tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3)]
    rows.append((_choice(ctx, _("Back to the summary"), "bk"),))
    return Reply(_("What would you like to change?"), tuple(rows), edit=True)


_QUESTIONS: dict[str, Callable[..., Reply]] = {
    STATUS: _ask_status,
    PROGRESS: _ask_progress,
    RESULTS: _ask_results,
    DIFFICULTIES: _ask_difficulties,
    PROPOSALS: _ask_proposals,
    EVIDENCE: _ask_evidence,
}


async def current_question(ctx: Context) -> Reply:
    """Ask the question of the step the report is at again, as a new message."""
    step = ctx.state.state
    if step == CYCLE:
        return _ask_cycle(ctx, await ctx.uow.submissions.open_cycles(ctx.today()))
    if step == TASK:
        return await _ask_task(ctx)
    if step == EDIT:
        return replace(_edit_menu(ctx), edit=False)
    if step == CUTOFF:
        return cutoff.ask_cutoff(ctx, edit=False)
    ask = _QUESTIONS.get(step)
    return ask(ctx, edit=False) if ask is not None else _summary(ctx)
