"""The ``/baocao`` conversation's states, its buttons and the data kept between steps.

Every button of a report carries the conversation's nonce (:class:`ReportButton`), so that a
button of an earlier conversation is recognised as stale. The state chart is in
``report.mmd`` beside this module.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.core.i18n import N_
from bot.core.messages import Choice
from handlers.context import Context
from storage.dto import ConversationState, ReportStatus

PREFIX = "bc"
RESULTS_LIMIT = 3000
NOTE_LIMIT = 2000
PROGRESS_STEPS = (0, 25, 50, 75, 100)

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


def awaits_file(state: ConversationState) -> bool:
    """Tell whether a chat in this state is waiting for an evidence file."""
    return state.state == EVIDENCE


def in_report(state: ConversationState) -> bool:
    """Tell whether a chat in this state is in the middle of a report."""
    return state.state.startswith("report.")


def _payload(ctx: Context, action: str, argument: str | int = "") -> str:
    return f"{PREFIX}:{ctx.state.data['nonce']}:{action}:{argument}"


def _choice(ctx: Context, label: str, action: str, argument: str | int = "") -> Choice:
    return Choice(label, _payload(ctx, action, argument))


def _set(ctx: Context, state: str | None = None, **values: Any) -> None:
    data = dict(ctx.state.data)
    data.update(values)
    ctx.state = replace(ctx.state, state=state or ctx.state.state, data=data)
