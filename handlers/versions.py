"""A report confirmed over a colleague's newer one: say so before recording it.

The report conversation remembers the latest report it showed on the task (``seen_report``,
the id of that submission, 0 when there was none). At confirmation, if another report on the
task has been recorded since, the officer is shown that report and asked to confirm again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import _, format_moment
from bot.core.messages import Reply
from handlers.context import Context

SEEN = "seen_report"
"""Conversation data: id of the latest submission on the task when the officer chose it."""


async def newer_report_note(
    ctx: Context, status_label: Callable[[ReportStatus], str]
) -> Reply | None:
    """Return a note about a report recorded since the officer chose the task, if any.

    The conversation then remembers that report as seen, so that a second confirmation
    records the officer's report as the next version.
    """
    data = ctx.state.data
    if SEEN not in data:  # a conversation begun before the bot remembered it
        return None
    member = ctx.require_member()
    latest = await ctx.uow.submissions.latest(
        int(data["cycle_id"]), int(data["task_id"]), member.agency_id
    )
    if latest is None or latest.id == data[SEEN]:
        return None
    ctx.state = replace(ctx.state, data={**data, SEEN: latest.id})
    return Reply(
        _(
            "While you were preparing this report, %(name)s submitted version %(version)s of "
            "your agency's report on task %(code)s (%(time)s): %(status)s, %(progress)s%%.\n"
            "Results: %(results)s\n\n"
            "Your report has not been recorded yet. Please check it below, then press Confirm "
            "to record it as the next version, or Change to adjust it first."
        )
        % {
            "name": latest.member_name,
            "version": latest.version,
            "code": latest.task_code,
            "time": format_moment(latest.created_at),
            "status": status_label(latest.status),
            "progress": latest.progress,
            "results": latest.results,
        }
    )
