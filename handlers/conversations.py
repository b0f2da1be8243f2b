"""Every conversation the bot holds, in the order of ``/trogiup`` and Telegram's command menu.

A new conversation is a module in ``handlers/`` that declares a ``CONVERSATION``
(:class:`handlers.conversation.Conversation`) and one line here. The router adds ``/trogiup``
and ``/huy`` after these.
"""

from __future__ import annotations

from handlers import (
    absences,
    audit_log,
    coordination,
    dashboard,
    explanations,
    extensions,
    linking,
    member_changes,
    pgi,
    registration,
    reminders,
    reopening,
    report,
    review,
    snooze,
    summary,
    tasks,
)
from handlers.conversation import Conversation

CONVERSATIONS: tuple[Conversation, ...] = (
    registration.CONVERSATION,
    report.CONVERSATION,
    tasks.CONVERSATION,
    summary.CONVERSATION,
    review.CONVERSATION,
    reopening.CONVERSATION,
    explanations.CONVERSATION,
    extensions.CONVERSATION,
    pgi.CONVERSATION,
    coordination.CONVERSATION,
    member_changes.CONVERSATION,
    reminders.CONVERSATION,
    absences.CONVERSATION,
    snooze.CONVERSATION,
    linking.CONVERSATION,
    dashboard.CONVERSATION,
    audit_log.CONVERSATION,
)
