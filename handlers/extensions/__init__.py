"""``/giahan``: deadline extensions, asked by an agency, decided by the coordinator.

An agency's member asks from a reminder ("Xin gia hạn") or with ``/giahan``: the tasks (or the
whole report), the day, the reason. The coordinators get the request through the outbox with
"Đồng ý", "Đồng ý đến ngày khác" and "Không đồng ý" (with a reason); the agency is told the
answer. ``/giahan`` from the coordinator lists the waiting requests, and ``/giahan AGENCY TASK
DD/MM/YYYY REASON`` grants one unasked. The decision itself is
:func:`handlers.extensions.service.decide_extension` (and ``grant_extension``), for every
front end. A granted extension moves the agency's reminders (:mod:`.schedule`) and its four
states. The chart is ``handlers/extensions/extensions.mmd``.
"""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.messages import Reply
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation
from handlers.extensions import asking, deciding
from handlers.extensions.common import DECIDE, REQUEST, STATE, is_coordinator


async def command(ctx: Context) -> list[Reply]:
    """Answer /giahan: an agency's member asks; the coordinator decides or grants unasked."""
    if is_coordinator(ctx):
        return await deciding.coordinator_command(ctx)
    return await asking.start(ctx)


def _coordinating(ctx: Context) -> bool:
    return ctx.state.data.get("step") in ("other", "refuse")


async def on_text(ctx: Context, text: str) -> list[Reply]:
    """Route typed text to the member's step or the coordinator's."""
    if _coordinating(ctx):
        return await deciding.on_text(ctx, text)
    return await asking.on_text(ctx, text)


async def current_question(ctx: Context) -> Reply:
    """Ask the current question again after a side command."""
    if _coordinating(ctx):
        return await deciding.question(ctx)
    return await asking.question(ctx)


CONVERSATION = Conversation(
    "extensions",
    commands=(
        Command(
            "giahan",
            N_(
                "deadline extensions: ask for one for your agency; the coordinator answers "
                "or grants one (/giahan AGENCY TASK DD/MM/YYYY REASON)"
            ),
            EVERYONE,
            command,
        ),
    ),
    buttons={REQUEST.prefix: asking.on_request, DECIDE.prefix: deciding.on_decide},
    owns=lambda state: state.state == STATE,
    on_text=on_text,
    current_question=current_question,
    step_buttons=frozenset({REQUEST.prefix}),
)
