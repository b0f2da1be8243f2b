"""``/baocao``: an officer reports on one of the agency's tasks, step by step.

The state chart is in ``report.mmd`` in this package: ``states.py`` names the states and the
buttons, ``questions.py`` asks each step's question, ``answers.py`` takes the answers. Every
button carries the conversation's nonce, so a button from an earlier conversation or an
earlier step is recognised as stale; every step checks again that the task is the agency's own.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from bot.core.i18n import N_, _
from bot.core.messages import FileRef, Reply
from bot.core.text import fold
from handlers import evidence, replies
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation
from handlers.report.answers import (
    _choose_task,
    _idempotency_key,
    _on_back,
    _on_confirm,
    _on_cutoff,
    _on_cutoff_keep,
    _on_cutoff_text,
    _on_cycle,
    _on_edit,
    _on_edit_field,
    _on_evidence_done,
    _on_long_text,
    _on_page,
    _on_progress_button,
    _on_progress_text,
    _on_skip_proposals,
    _on_status,
    _on_task,
    _own_task,
    _receipt,
)
from handlers.report.correction import SUPPLEMENT, start_correction
from handlers.report.questions import _ask_cycle, _ask_evidence, _ask_task, current_question
from handlers.report.states import (
    CONFIRM,
    CUTOFF,
    CYCLE,
    DIFFICULTIES,
    EDIT,
    EVIDENCE,
    NOTE_LIMIT,
    PREFIX,
    PROGRESS,
    PROPOSALS,
    REPORT_NOW,
    RESULTS,
    RESULTS_LIMIT,
    STATUS,
    TASK,
    ReportButton,
    _set,
    awaits_file,
    in_report,
)


async def start(ctx: Context) -> list[Reply]:
    """Begin a report: choose the cycle if several are open, else the task."""
    member = ctx.require_member()
    tasks = await ctx.uow.plans.tasks_of_agency(member.agency_id, ctx.today())
    if not tasks:
        return [
            Reply(
                _("%(agency)s has no task assigned in the plan.") % {"agency": member.agency_name}
            )
        ]
    cycles = await ctx.uow.submissions.open_cycles(ctx.today())
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
    cycle_id, task_id = REPORT_NOW.decode(argument)
    task = await _own_task(ctx, task_id)
    if task is None:
        return replies.forged_task(ctx, f"rp:{argument}")
    cycles = await ctx.uow.submissions.open_cycles(ctx.today())
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


async def on_choice(ctx: Context, argument: str) -> list[Reply]:
    """Handle a button of the report conversation."""
    pressed = ReportButton.decode(argument)
    nonce, action, value = pressed.nonce, pressed.action, pressed.value
    key = _idempotency_key(ctx)
    if action == "ok" and key and (done := await ctx.uow.submissions.by_idempotency_key(key)):
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
        ("cd", CONFIRM): _on_cutoff,
        ("ck", CUTOFF): _on_cutoff_keep,
        ("bk", CUTOFF): _on_back,
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
    if step == CUTOFF:
        return await _on_cutoff_text(ctx, text)
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


CONVERSATION = Conversation(
    "report",
    commands=(Command("baocao", N_("report on a task of your agency"), EVERYONE, start),),
    buttons={
        PREFIX: on_choice,
        REPORT_NOW.prefix: start_for_task,
        SUPPLEMENT.prefix: start_correction,
    },
    owns=in_report,
    on_text=on_text,
    on_file=on_file,
    current_question=current_question,
    step_buttons=frozenset({PREFIX}),
    awaits_file=awaits_file,
)
