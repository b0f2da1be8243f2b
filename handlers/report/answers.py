"""The answers of ``/baocao``: each step's handling, the confirmation and the receipt.

Every step checks again that the task is the agency's own. The confirmation stores the
report once: a confirmation delivered twice finds it by its idempotency key.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.core.domain.plan import TaskInfo
from bot.core.domain.review import ReviewState
from bot.core.domain.submissions import AttachmentInfo, NewSubmission, ReportStatus, SubmissionInfo
from bot.core.i18n import _, format_day, format_moment
from bot.core.messages import Reply
from bot.core.validation import MIN_WORDS, has_content
from handlers import replies, versions
from handlers.context import Context
from handlers.report import cutoff
from handlers.report.correction import correction_allowed, open_correction, tell_reviewer
from handlers.report.questions import (
    _ask_difficulties,
    _ask_evidence,
    _ask_progress,
    _ask_proposals,
    _ask_results,
    _ask_status,
    _ask_task,
    _edit_menu,
    _summary,
    current_question,
    status_label,
)
from handlers.report.states import (
    _STATUS_CODES,
    DIFFICULTIES,
    PROGRESS_STEPS,
    _set,
)

logger = logging.getLogger(__name__)


async def _on_cycle(ctx: Context, value: str) -> list[Reply]:
    cycle = next(
        (c for c in await ctx.uow.submissions.open_cycles(ctx.today()) if str(c.id) == value), None
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
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id, ctx.today())
    return next((t for t in tasks if str(t.id) == task_id), None)


async def _on_task(ctx: Context, value: str) -> list[Reply]:
    task = await _own_task(ctx, value)
    if task is None:
        return replies.forged_task(ctx, f"tk:{value}")
    return await _choose_task(ctx, task)


async def _choose_task(ctx: Context, task: TaskInfo) -> list[Reply]:
    member = ctx.require_member()
    cycle = await ctx.uow.submissions.cycle(int(ctx.state.data["cycle_id"]))
    assert cycle is not None
    latest = (await ctx.uow.submissions.latest_by_task(cycle.id, member.agency_id)).get(task.id)
    if latest and cycle.correction_deadline and not await correction_allowed(ctx, cycle, latest):
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
    if latest and latest.review.state is ReviewState.RETURNED:  # supplement what was returned
        found = await ctx.uow.reviews.item(latest.id)
        assert found is not None
        return await open_correction(ctx, *found)
    _set(ctx, task_id=task.id, task_code=task.code, task_title=task.title)
    _set(ctx, seen_report=latest.id if latest else 0)  # versions.SEEN
    await cutoff.set_period(ctx)
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


async def _on_cutoff(ctx: Context, value: str) -> list[Reply]:
    return [cutoff.ask_cutoff(ctx)]


async def _on_cutoff_keep(ctx: Context, value: str) -> list[Reply]:
    cutoff.keep_default(ctx)
    return [_summary(ctx, edit=True)]


async def _on_cutoff_text(ctx: Context, text: str) -> list[Reply]:
    refusal = cutoff.take_cutoff(ctx, text)
    if refusal is not None:
        return [refusal, cutoff.ask_cutoff(ctx, edit=False)]
    return [_summary(ctx)]


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
        period_start=period.start if (period := cutoff.chosen_period(ctx)) else None,
        period_end=period.end if period else None,
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
    stored = await ctx.uow.submissions.create(new, ctx.now())
    ctx.audit(
        "submission.create",
        submission=stored.id,
        task=task.code,
        version=stored.version,
        period_end=period.end.isoformat() if period else None,
    )
    await tell_reviewer(ctx, stored, member.agency_id)
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
    return f"{incoming.channel}:{incoming.update_id}" if incoming.update_id else None


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
