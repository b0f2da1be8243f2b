"""The ``/baocao`` conversation's states, its buttons and the data kept between steps.

Every button of a report carries the conversation's nonce (:class:`ReportButton`), so that a
button of an earlier conversation is recognised as stale. The state chart is in
``report.mmd`` beside this module.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.core.domain.conversation import ConversationState
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import N_
from bot.core.messages import Choice
from handlers.context import Context
from handlers.conversation import Button

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
CUTOFF = "report.cutoff"
"""Another last day of the figures, typed (``cutoff.py``)."""
BUTTON_STEPS = {CYCLE, TASK, STATUS, CONFIRM, EDIT}

BUTTON = Button(PREFIX, 3)
"""A report's own buttons: ``bc:NONCE:ACTION:VALUE`` (see :class:`ReportButton`)."""
REPORT_NOW = Button("rp", 2)
"""A reminder's "Báo cáo ngay": ``rp:CYCLE_ID:TASK_ID`` opens the report on that task."""


@dataclass(frozen=True, slots=True)
class ReportButton:
    """A button of a report: the conversation's nonce, what it does, and its value.

    The payload is ``bc:ab12:tk:345`` (the task with id 345 chosen in conversation ab12);
    the value may be empty (``bc:ab12:ok:``) and keeps any further colons.
    """

    nonce: str
    action: str
    value: str = ""

    def encode(self) -> str:
        """Return the button's payload."""
        return BUTTON.encode(self.nonce, self.action, self.value)

    @classmethod
    def decode(cls, argument: str) -> ReportButton:
        """Read what follows ``bc:`` in a payload (missing parts are empty)."""
        nonce, action, value = BUTTON.decode(argument)
        return cls(nonce, action, value)


def awaits_file(state: ConversationState) -> bool:
    """Tell whether a chat in this state is waiting for an evidence file."""
    return state.state == EVIDENCE


def in_report(state: ConversationState) -> bool:
    """Tell whether a chat in this state is in the middle of a report."""
    return state.state.startswith("report.")


def _payload(ctx: Context, action: str, argument: str | int = "") -> str:
    return ReportButton(ctx.state.data["nonce"], action, str(argument)).encode()


def _choice(ctx: Context, label: str, action: str, argument: str | int = "") -> Choice:
    return Choice(label, _payload(ctx, action, argument))


def _set(ctx: Context, state: str | None = None, **values: Any) -> None:
    data = dict(ctx.state.data)
    data.update(values)
    ctx.state = replace(ctx.state, state=state or ctx.state.state, data=data)
