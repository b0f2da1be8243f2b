"""``/baocao``: an officer reports on one of the agency's tasks, step by step.

The state chart is in ``report.mmd`` beside this module. Every button carries the
conversation's nonce, so a button from an earlier conversation or an earlier step is
recognised as stale; every step checks again that the task is the agency's own.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from math import ceil
from typing import Any

from bot.core.i18n import N_, _, format_day, format_moment
from bot.core.messages import Choice, FileRef, Reply
from bot.core.text import fold
from bot.core.validation import MIN_WORDS, has_content
from handlers import evidence, replies, versions
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation
from storage.dto import (
    AttachmentInfo,
    ConversationState,
    CycleInfo,
    NewSubmission,
    ReportStatus,
    SubmissionInfo,
    TaskInfo,
)

logger = logging.getLogger(__name__)

PREFIX = "bc"
TASKS_PER_PAGE = 8
RESULTS_LIMIT = 3000
NOTE_LIMIT = 2000
PROGRESS_STEPS = (0, 25, 50, 75, 100)

STATUS_LABELS = {
    ReportStatus.NOT_STARTED: N_("Not started"),
    ReportStatus.IN_PROGRESS: N_("In progress"),
    ReportStatus.DONE: N_("Completed"),
    ReportStatus.BLOCKED: N_("Facing difficulties and obstacles"),
}
_STATUS_CODES = {
    "ns": ReportStatus.NOT_STARTED,
    "ip": ReportStatus.IN_PROGRESS,
    "dn": ReportStatus.DONE,
    "bl": ReportStatus.BLOCKED,
}
_EDITABLE = {
    "st": N_("Status"),
    "pr": N_("Progress"),
    "rs": N_("Results"),
    "df": N_("Difficulties"),
    "pp": N_("Proposals"),
    "ev": N_("Evidence"),
}

CYCLE, TASK, STATUS, PROGRESS, RESULTS = (
    "report.cycle",
    "report.task",
    "report.status",
    "report.progress",
    "report.results",
)
DIFFICULTIES, PROPOSALS, EVIDENCE, CONFIRM, EDIT = (
    "report.difficulties",
    "report.proposals",
    "report.evidence",
    "report.confirm",
    "report.edit",
)
BUTTON_STEPS = {CYCLE, TASK, STATUS, CONFIRM, EDIT}


def status_label(status: ReportStatus) -> str:
    """Return the Vietnamese name of a status."""
    return _(STATUS_LABELS[status])


def awaits_file(state: ConversationState) -> bool:
    """Tell whether a chat in this state is waiting for an evidence file."""
    return state.state == EVIDENCE


def in_report(state: ConversationState) -> bool:
    """Tell whether a chat in this state is in the middle of a report."""
    return state.state.startswith("report.")


# --- entry --------------------------------------------------------------------------------


async def start(ctx: Context) -> list[Reply]:
    """Begin a report: choose the cycle if several are open, else the task."""
    member = ctx.require_member()
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id)
    if not tasks:
        return [
            Reply(
                _("%(agency)s has no task assigned in the plan.") % {"agency": member.agency_name}
            )
        ]
    cycles = await ctx.uow.reports.open_cycles(ctx.today())
    if not cycles:
        return [Reply(_("No reporting cycle is open at the moment."))]
    ctx.state = replace(ctx.state, state=CYCLE, data={"nonce": secrets.token_hex(2)})
    wanted = ctx.incoming.argument
    if len(cycles) > 1 and not wanted:
        return [_ask_cycle(ctx, cycles)]
    _set(ctx, cycle_id=cycles[-1].id, year=cycles[-1].year, page=0)
    if wanted:
        task = next((t for t in tasks if t.code.casefold() == wanted.casefold()), None)
        if task is None:
            ctx.reset()
            return [
                Reply(
                    _(
                        "Your agency has no task with the code %(code)s. "
                        "Send /nhiemvu to see the list."
                    )
                    % {"code": wanted[:20]}
                )
            ]
        return await _choose_task(ctx, task)
    return [await _ask_task(ctx, tasks)]


async def start_for_task(ctx: Context, argument: str) -> list[Reply]:
    """Open the report on one task from a reminder's "Báo cáo ngay" button."""
    cycle_id, _sep, task_id = argument.partition(":")
    task = await _own_task(ctx, task_id)
    if task is None:
        return replies.forged_task(ctx, f"rp:{argument}")
    cycles = await ctx.uow.reports.open_cycles(ctx.today())
    cycle = next((c for c in cycles if str(c.id) == cycle_id), None)
    if cycle is None:
        return [
            Reply(
                _(
                    "The reporting year of this reminder is closed. Send /baocao to report for "
                    "the current year."
                )
            )
        ]
    ctx.state = replace(ctx.state, state=CYCLE, data={"nonce": secrets.token_hex(2)})
    _set(ctx, cycle_id=cycle.id, year=cycle.year, page=0)
    return await _choose_task(ctx, task)


# --- the questions ------------------------------------------------------------------------


def _payload(ctx: Context, action: str, argument: str | int = "") -> str:
    return f"{PREFIX}:{ctx.state.data['nonce']}:{action}:{argument}"


def _choice(ctx: Context, label: str, action: str, argument: str | int = "") -> Choice:
    return Choice(label, _payload(ctx, action, argument))


def _set(ctx: Context, state: str | None = None, **values: Any) -> None:
    data = dict(ctx.state.data)
    data.update(values)
    ctx.state = replace(ctx.state, state=state or ctx.state.state, data=data)


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
        tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id)
    data = ctx.state.data
    latest = await ctx.uow.reports.latest_by_task(data["cycle_id"], member.agency_id)
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
    return Reply(
        _task_heading(ctx) + "\n\n" + _("Please choose the status of the task:"),
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


# --- answers ------------------------------------------------------------------------------


async def on_choice(ctx: Context, argument: str) -> list[Reply]:
    """Handle a button of the report conversation."""
    nonce, _sep, rest = argument.partition(":")
    action, _sep, value = rest.partition(":")
    key = _idempotency_key(ctx)
    if action == "ok" and key and (done := await ctx.uow.reports.by_idempotency_key(key)):
        return [_receipt(done)]  # the same confirmation delivered again
    if not in_report(ctx.state) or nonce != ctx.state.data.get("nonce"):
        return [replies.stale_choice()]
    if action == "cx":
        ctx.reset()
        return [replace(replies.cancelled(), edit=True)]
    step = ctx.state.state
    handler = {
        ("cy", CYCLE): _on_cycle,
        ("tk", TASK): _on_task,
        ("pg", TASK): _on_page,
        ("st", STATUS): _on_status,
        ("pr", PROGRESS): _on_progress_button,
        ("sk", PROPOSALS): _on_skip_proposals,
        ("sk", EVIDENCE): _on_evidence_done,
        ("dn", EVIDENCE): _on_evidence_done,
        ("ok", CONFIRM): _on_confirm,
        ("ed", CONFIRM): _on_edit,
        ("ef", EDIT): _on_edit_field,
        ("bk", EDIT): _on_back,
    }.get((action, step))
    if handler is None:
        return [
            Reply(_("That button belongs to an earlier step. Please answer the last question."))
        ]
    return await handler(ctx, value)


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Handle typed text in the report conversation."""
    step = ctx.state.state
    if step == PROGRESS:
        return _on_progress_text(ctx, text)
    if step == RESULTS:
        return await _on_long_text(ctx, text, "results", RESULTS_LIMIT)
    if step == DIFFICULTIES:
        return await _on_long_text(ctx, text, "difficulties", NOTE_LIMIT)
    if step == PROPOSALS:
        if fold(text) in (fold(_("Skip")), "bo qua"):
            return await _on_skip_proposals(ctx, "")
        return await _on_long_text(ctx, text, "proposals", NOTE_LIMIT)
    if step == EVIDENCE:
        if fold(text) in (fold(_("Done")), fold(_("Skip")), "xong", "bo qua"):
            return await _on_evidence_done(ctx, "")
        if ctx.state.data.get("files"):
            nudge = _("Please send another file, or press Done to finish.")
        else:
            nudge = _("Please send a file, or press Skip if there is no evidence.")
        return [Reply(nudge), _ask_evidence(ctx)]
    return [Reply(_("Please choose one of the options below.")), await current_question(ctx)]


async def on_file(ctx: Context, file: FileRef) -> list[Reply]:
    """Handle a file sent during the report: evidence at the evidence step, refused elsewhere."""
    if ctx.state.state != EVIDENCE:
        return [replies.unsupported_file()]
    files: list[dict[str, Any]] = list(ctx.state.data.get("files", []))
    if len(files) >= evidence.MAX_FILES:
        return [
            Reply(
                _("A report can carry at most %(count)s files.") % {"count": evidence.MAX_FILES}
            ),
            _ask_evidence(ctx),
        ]
    received = await evidence.receive(ctx, file, len(files) + 1)  # downloaded and checked
    if isinstance(received, Reply):
        return [received, _ask_evidence(ctx)]
    _set(ctx, files=[*files, received.entry])
    return [received.note, _ask_evidence(ctx)]


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
        return _ask_cycle(ctx, await ctx.uow.reports.open_cycles(ctx.today()))
    if step == TASK:
        return await _ask_task(ctx)
    if step == EDIT:
        return replace(_edit_menu(ctx), edit=False)
    ask = _QUESTIONS.get(step)
    return ask(ctx, edit=False) if ask is not None else _summary(ctx)


async def _on_cycle(ctx: Context, value: str) -> list[Reply]:
    cycle = next(
        (c for c in await ctx.uow.reports.open_cycles(ctx.today()) if str(c.id) == value), None
    )
    if cycle is None:
        return [replies.stale_choice()]
    _set(ctx, cycle_id=cycle.id, year=cycle.year, page=0)
    return [await _ask_task(ctx, edit=True)]


async def _on_page(ctx: Context, value: str) -> list[Reply]:
    _set(ctx, page=int(value) if value.isdigit() else 0)
    return [await _ask_task(ctx, edit=True)]


async def _own_task(ctx: Context, task_id: str) -> TaskInfo | None:
    member = ctx.require_member()
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id)
    return next((t for t in tasks if str(t.id) == task_id), None)


async def _on_task(ctx: Context, value: str) -> list[Reply]:
    task = await _own_task(ctx, value)
    if task is None:
        return replies.forged_task(ctx, f"tk:{value}")
    return await _choose_task(ctx, task)


async def _choose_task(ctx: Context, task: TaskInfo) -> list[Reply]:
    member = ctx.require_member()
    cycle = await ctx.uow.reports.cycle(int(ctx.state.data["cycle_id"]))
    assert cycle is not None
    latest = (await ctx.uow.reports.latest_by_task(cycle.id, member.agency_id)).get(task.id)
    if latest and cycle.correction_deadline and ctx.today() > cycle.correction_deadline:
        ctx.reset()
        return [
            Reply(
                _(
                    "Your agency's report on task %(code)s for %(year)s can no longer be "
                    "corrected: the deadline was %(date)s. Please contact the coordinating "
                    "agency if a correction is needed."
                )
                % {
                    "code": task.code,
                    "year": cycle.year,
                    "date": format_day(cycle.correction_deadline),
                },
                edit=True,
            )
        ]
    _set(ctx, task_id=task.id, task_code=task.code, task_title=task.title)
    _set(ctx, seen_report=latest.id if latest else 0)  # versions.SEEN
    answer = [_ask_status(ctx)]
    if latest:
        answer.insert(0, _previous_note(latest))
        answer[1] = replace(answer[1], edit=False)
    return answer


def _previous_note(latest: SubmissionInfo) -> Reply:
    return Reply(
        _(
            "Your agency already reported on this task (version %(version)s, %(status)s, "
            "%(progress)s%%, %(time)s). A new report will be kept as the next version; the "
            "earlier one stays on record."
        )
        % {
            "version": latest.version,
            "status": status_label(latest.status),
            "progress": latest.progress,
            "time": format_moment(latest.created_at),
        },
        edit=True,
    )


async def _on_status(ctx: Context, value: str) -> list[Reply]:
    status = _STATUS_CODES.get(value)
    if status is None:
        return [replies.stale_choice()]
    editing = bool(ctx.state.data.get("editing"))
    _set(ctx, status=status.value)
    if status == ReportStatus.DONE:
        _set(ctx, progress=100)
    elif status == ReportStatus.NOT_STARTED:
        _set(ctx, progress=0)
    else:
        if not editing or ctx.state.data.get("progress") in (None, 0, 100):
            return [_ask_progress(ctx)]
    if status != ReportStatus.BLOCKED:
        _set(ctx, difficulties=None, proposals=None)
    elif editing and not ctx.state.data.get("difficulties"):
        return [_ask_difficulties(ctx, edit=True)]
    return [_after(ctx, _ask_results)]


def _after(ctx: Context, ask: Any) -> Reply:
    """Go back to the summary when editing one field, else ask the next question."""
    if ctx.state.data.get("editing"):
        return _summary(ctx, edit=True)
    reply: Reply = ask(ctx)
    return reply


async def _on_progress_button(ctx: Context, value: str) -> list[Reply]:
    if not value.isdigit() or int(value) not in PROGRESS_STEPS:
        return [replies.stale_choice()]
    _set(ctx, progress=int(value))
    return [_after(ctx, _ask_results)]


def _on_progress_text(ctx: Context, text: str) -> list[Reply]:
    number = text.strip().rstrip("%").strip()
    if not number.isdigit() or not 0 <= int(number) <= 100:
        return [
            Reply(_("Please type the progress as a whole number from 0 to 100 (for example 60).")),
            _ask_progress(ctx, edit=False),
        ]
    _set(ctx, progress=int(number))
    return [_after(ctx, lambda c: _ask_results(c, edit=False))]


async def _on_long_text(ctx: Context, text: str, field: str, limit: int) -> list[Reply]:
    if not text.strip():
        return [replies.empty_text()]
    if len(text) > limit:
        return [
            Reply(
                _(
                    "The text is too long (%(length)s characters; at most %(limit)s). "
                    "Please shorten it and send it again."
                )
                % {"length": len(text), "limit": limit}
            )
        ]
    if not has_content(text, nothing_allowed=field != "results"):
        return [_no_content(field), await current_question(ctx)]
    _set(ctx, **{field: text.strip()})
    if ctx.state.data.get("editing"):
        if (
            field == "difficulties"
            and ctx.state.state == DIFFICULTIES
            and not ctx.state.data.get("proposals_asked")
        ):
            _set(ctx, proposals_asked=True)
            return [_ask_proposals(ctx)]
        return [_summary(ctx)]
    if field == "results":
        if ctx.state.data.get("status") == ReportStatus.BLOCKED:
            return [_ask_difficulties(ctx)]
        return [_ask_evidence(ctx)]
    if field == "difficulties":
        return [_ask_proposals(ctx)]
    return [_ask_evidence(ctx)]


def _no_content(field: str) -> Reply:
    """Ask politely for an answer in words (see :func:`bot.core.validation.has_content`)."""
    text = _(
        "The answer does not say anything yet. Please state it specifically in words (at "
        "least %(words)s words), not only digits, punctuation or emoji."
    ) % {"words": MIN_WORDS}
    if field == "difficulties":
        text += " " + _('If there are no difficulties, please write "Không có".')
    elif field == "proposals":
        text += " " + _('If there is no proposal, please write "Không có" or press Skip.')
    return Reply(text)


async def _on_skip_proposals(ctx: Context, value: str) -> list[Reply]:
    _set(ctx, proposals=None)
    if ctx.state.data.get("editing"):
        return [_summary(ctx, edit=True)]
    return [_ask_evidence(ctx, edit=True)]


async def _on_evidence_done(ctx: Context, value: str) -> list[Reply]:
    return [_summary(ctx, edit=True)]


async def _on_edit(ctx: Context, value: str) -> list[Reply]:
    return [_edit_menu(ctx)]


async def _on_back(ctx: Context, value: str) -> list[Reply]:
    return [_summary(ctx, edit=True)]


async def _on_edit_field(ctx: Context, value: str) -> list[Reply]:
    _set(ctx, editing=True, proposals_asked=False)
    if value == "st":
        return [_ask_status(ctx)]
    if value == "pr":
        return [_ask_progress(ctx)]
    if value == "rs":
        return [_ask_results(ctx)]
    if value == "df":
        return [_ask_difficulties(ctx, edit=True)]
    if value == "pp":
        _set(ctx, proposals_asked=True)
        return [_ask_proposals(ctx, edit=True)]
    if value == "ev":
        _set(ctx, files=[])
        return [_ask_evidence(ctx, edit=True)]
    return [replies.stale_choice()]


async def _on_confirm(ctx: Context, value: str) -> list[Reply]:
    member = ctx.require_member()
    data = ctx.state.data
    key = _idempotency_key(ctx)
    task = await _own_task(ctx, str(data["task_id"]))
    if task is None:
        ctx.reset()
        return replies.forged_task(ctx, f"ok:{data['task_id']}")
    if note := await versions.newer_report_note(ctx, status_label):  # a colleague's, meanwhile
        return [note, _summary(ctx)]
    new = NewSubmission(
        cycle_id=int(data["cycle_id"]),
        task_id=task.id,
        agency_id=member.agency_id,
        member_id=member.id,
        status=ReportStatus(data["status"]),
        progress=int(data["progress"]),
        results=str(data["results"]),
        difficulties=data.get("difficulties"),
        proposals=data.get("proposals"),
        idempotency_key=key,
        attachments=[
            AttachmentInfo(
                file_name=f["name"],
                mime_type=f.get("mime"),
                size=int(f["size"]),
                sha256=f["sha256"],
                storage_path=f["path"],
                platform_file_id=f.get("file_id"),
            )
            for f in data.get("files", [])
        ],
    )
    stored = await ctx.uow.reports.create(new, ctx.now())
    ctx.audit(
        "submission.create",
        submission=stored.id,
        task=task.code,
        version=stored.version,
    )
    ctx.reset()
    logger.info(
        "submission %s (task %s, v%s) by member %s",
        stored.id,
        task.code,
        stored.version,
        member.id,
    )
    return [_receipt(stored)]


def _idempotency_key(ctx: Context) -> str | None:
    incoming = ctx.incoming
    return f"{incoming.channel.value}:{incoming.update_id}" if incoming.update_id else None


def receipt_number(submission: SubmissionInfo) -> str:
    """Return the number a receipt shows: year and a running number."""
    return f"{submission.cycle_year}/{submission.id:05d}"


def _receipt(stored: SubmissionInfo) -> Reply:
    text = _(
        "Recorded: report no. %(number)s on task %(code)s, received at %(time)s. Thank you."
    ) % {
        "number": receipt_number(stored),
        "code": stored.task_code,
        "time": format_moment(stored.created_at),
    }
    if stored.version > 1:
        text += "\n" + _("This is version %(version)s; the earlier versions are kept.") % {
            "version": stored.version
        }
    return Reply(text, edit=True)


CONVERSATION = Conversation(
    "report",
    commands=(Command("baocao", N_("report on a task of your agency"), EVERYONE, start),),
    buttons={PREFIX: on_choice, "rp": start_for_task},
    owns=in_report,
    on_text=on_text,
    on_file=on_file,
    current_question=current_question,
    step_buttons=frozenset({PREFIX}),
    awaits_file=awaits_file,
)
