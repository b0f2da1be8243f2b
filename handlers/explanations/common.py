"""What the explanation conversation's parts share: its buttons, limits and checks."""

from __future__ import annotations

import logging

from bot.core.domain.members import Role
from bot.core.i18n import _
from bot.core.messages import Reply
from bot.core.text import shorten
from handlers.context import Context
from handlers.conversation import Button

logger = logging.getLogger(__name__)

MENU = Button("gm", 1)
"""The list of late and blocked agencies to ask: ``gm:YEAR``."""
ASK = Button("gx", 4)
"""Ask an agency: ``gx:YEAR:AGENCY:TASK:ACTION`` (no task: its late tasks; action ok/x)."""
ANSWER = Button("ga", 1)
"""Answer a request: ``ga:REQUEST``."""
STATE = "explanation"
MIN_ANSWER = 10
MAX_ANSWER = 3000
MENU_BUTTONS = 10
NAME_LENGTH = 36
LIST_LIMIT = 15
TASK_LINES = 12
KIND_REQUEST, KIND_REMINDER, KIND_ANSWER = (
    "explanation",
    "explanation-reminder",
    "explanation-answer",
)


def is_coordinator(ctx: Context) -> bool:
    """Tell whether the member may ask for explanations (a coordinator or an administrator)."""
    return ctx.require_member().role in (Role.COORDINATOR, Role.ADMIN)


def refused(ctx: Context, payload: str) -> list[Reply]:
    """Refuse the coordinator's part to another role, and audit it."""
    ctx.audit("permission.refused", command="giaitrinh", payload=payload[:64])
    logger.info("refused explanation request %s to %s", payload[:40], ctx.incoming.user_id)
    return [
        Reply(
            _(
                "Sorry, asking agencies for explanations is not available to your role. "
                "Send /trogiup to see the commands you can use."
            )
        )
    ]


async def year_of(ctx: Context, wanted: str = "") -> int | None:
    """Return the year asked for if it has a cycle, else this year or the latest one."""
    years = await ctx.uow.summaries.years()
    if wanted:
        return int(wanted) if wanted.isdigit() and int(wanted) in years else None
    today = ctx.today()
    return today.year if today.year in years else (years[-1] if years else None)


def task_lines(codes: list[str] | tuple[str, ...], titles: dict[str, str]) -> list[str]:
    """Return one line per task asked about (code and title), at most ``TASK_LINES``."""
    lines = [f"• {code} {shorten(titles.get(code, ''), 90)}".rstrip() for code in codes]
    if len(lines) > TASK_LINES:
        more = len(lines) - TASK_LINES
        lines = [*lines[:TASK_LINES], _("… and %(count)s more") % {"count": more}]
    return lines
