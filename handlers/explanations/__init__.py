"""``/giaitrinh``: the coordinator asks a late or blocked agency to explain; the agency answers.

The coordinator (or an administrator) asks from ``/tonghop``, ``/chuabaocao``, an agency's view
or ``/giaitrinh AGENCY [TASK]``: a preview, then "Xác nhận". The agency's officers and leader
get the request through the outbox with a "Giải trình" button; one of them presses it (or sends
``/giaitrinh`` and chooses the request) and answers in one message. The answer is stored, the
coordinators are told through the outbox, and every view and file shows it beside the task.
An unanswered request is reminded by the reminder sweep (:func:`remind_unanswered`). The chart
is ``handlers/explanations/explanations.mmd``; the parts are ``asking``, ``answering`` and
``reminding``.
"""

from __future__ import annotations

from bot.core.i18n import N_
from bot.core.messages import Reply
from handlers.context import EVERYONE, Command, Context
from handlers.conversation import Conversation
from handlers.explanations.answering import current_question, on_answer, on_text, waiting
from handlers.explanations.asking import (
    agency_choices,
    ask_choice,
    coordinator_command,
    eligible,
    menu_choice,
    on_ask,
    on_menu,
)
from handlers.explanations.common import ANSWER, ASK, MENU, MENU_BUTTONS, STATE, is_coordinator
from handlers.explanations.reminding import remind_unanswered

__all__ = [
    "CONVERSATION",
    "MENU_BUTTONS",
    "agency_choices",
    "ask_choice",
    "eligible",
    "menu_choice",
    "remind_unanswered",
]


async def command(ctx: Context) -> list[Reply]:
    """Answer /giaitrinh: a member's requests to answer; the coordinator's requests and asks."""
    if is_coordinator(ctx):
        return await coordinator_command(ctx)
    return await waiting(ctx)


CONVERSATION = Conversation(
    "explanations",
    commands=(
        Command(
            "giaitrinh",
            N_(
                "explanation requests: answer your agency's; the coordinator asks "
                "(/giaitrinh AGENCY [TASK])"
            ),
            EVERYONE,
            command,
        ),
    ),
    buttons={MENU.prefix: on_menu, ASK.prefix: on_ask, ANSWER.prefix: on_answer},
    owns=lambda state: state.state == STATE,
    on_text=on_text,
    current_question=current_question,
)
