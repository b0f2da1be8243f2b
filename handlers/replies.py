"""Messages more than one handler sends."""

from __future__ import annotations

import logging
from datetime import date

from bot.core.i18n import _, ngettext
from bot.core.messages import Reply
from handlers.context import Context

logger = logging.getLogger(__name__)


def time_left(due: date, today: date) -> str:
    """Say how long until a deadline, or how late: "còn 3 ngày", "đã quá hạn 2 ngày"."""
    days = (due - today).days
    if days > 0:
        return ngettext("%(days)s day left", "%(days)s days left", days) % {"days": days}
    if days == 0:
        return _("today is the deadline")
    return ngettext("%(days)s day overdue", "%(days)s days overdue", -days) % {"days": -days}


def not_registered(coordinator: str) -> Reply:
    """Tell a stranger how to register, and nothing else."""
    return Reply(
        _(
            "You are not registered with the PGI reporting bot yet.\n"
            "Please ask the coordinating agency (%(coordinator)s) for an invitation code, "
            "then send: /start YOUR-CODE"
        )
        % {"coordinator": coordinator}
    )


def deactivated() -> Reply:
    """Tell a member whose account was deactivated."""
    return Reply(
        _(
            "Your account has been deactivated. If this is a mistake, please contact the "
            "coordinating agency."
        )
    )


def unknown_command(command: str) -> Reply:
    """Answer a command the bot does not know."""
    return Reply(
        _("The bot does not know the command /%(command)s. Send /trogiup to see what it can do.")
        % {"command": command}
    )


def not_allowed(command: str) -> Reply:
    """Refuse a command the member's role may not use."""
    return Reply(
        _(
            "Sorry, the command /%(command)s is not available to your role. "
            "Send /trogiup to see the commands you can use."
        )
        % {"command": command}
    )


def stale_choice() -> Reply:
    """Answer a button from an old message or a finished conversation."""
    return Reply(
        _(
            "That button belongs to an earlier message and no longer applies. "
            "Send /trogiup to see what you can do now."
        )
    )


def refused(ctx: Context, command: str, payload: str | None = None) -> list[Reply]:
    """Refuse a command or a button the member's role may not use, and audit the refusal."""
    ctx.audit("permission.refused", command=command, payload=(payload or "")[:64])
    logger.info("refused /%s (%s) to %s", command, (payload or "")[:40], ctx.incoming.user_id)
    return [not_allowed(command)]


def forged_task(ctx: Context, payload: str) -> list[Reply]:
    """Refuse, and write to the audit log, a button for a task of another agency."""
    ctx.audit("choice.forged", payload=payload[:64])
    logger.warning("forged task choice %r from %s", payload[:64], ctx.incoming.user_id)
    return [not_your_task()]


def not_your_task() -> Reply:
    """Refuse a choice about a task that is not the member's agency's."""
    return Reply(
        _(
            "That task is not assigned to your agency, so the bot cannot open it. "
            "Send /nhiemvu to see your agency's tasks."
        )
    )


def private_only(chat_link: str | None) -> Reply:
    """Tell a group that the bot only works in private chats (with a link to one, if any)."""
    if chat_link:
        return Reply(
            _(
                "The PGI reporting bot works only in private chats. Please message the bot "
                "directly: %(link)s"
            )
            % {"link": chat_link}
        )
    return Reply(
        _("The PGI reporting bot works only in private chats. Please message the bot directly.")
    )


def idle_text() -> Reply:
    """Answer free text outside any conversation."""
    return Reply(
        _(
            "The bot works with commands. Send /nhiemvu to see your agency's tasks or "
            "/trogiup for help."
        )
    )


def empty_text() -> Reply:
    """Answer a message with nothing in it."""
    return Reply(_("The message is empty. Please type your answer again."))


def too_long(limit: int) -> Reply:
    """Answer a message longer than the bot accepts."""
    return Reply(
        _("The message is too long (at most %(limit)s characters). Please shorten it.")
        % {"limit": limit}
    )


def cancelled() -> Reply:
    """Confirm that the conversation was cancelled."""
    return Reply(_("Cancelled. Nothing was saved. Send /trogiup to see what you can do."))


def nothing_to_cancel() -> Reply:
    """Answer /huy outside any conversation."""
    return Reply(_("There is nothing to cancel."))


def unsupported_file() -> Reply:
    """Answer a file sent where the bot does not expect one."""
    return Reply(_("The bot is not expecting a file at this step. Send /trogiup for help."))


def slow_down() -> Reply:
    """Ask a user who sends too fast to slow down; what they sent meanwhile was ignored."""
    return Reply(
        _(
            "You are sending messages faster than the bot can take them, so the latest ones "
            "were not processed. Please wait a few seconds, then send again only what is "
            "needed. Thank you."
        )
    )


def error() -> Reply:
    """Apologise for an unexpected fault; nothing was saved."""
    return Reply(
        _(
            "Sorry, the bot could not process your message because of a technical fault. "
            "Nothing was saved; please try again in a moment."
        )
    )
