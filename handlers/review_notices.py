"""The messages a review decision sends the report's agency through the outbox."""

from __future__ import annotations

from datetime import datetime

from bot.core.domain.members import MemberInfo
from bot.core.domain.review import QueuedReport
from bot.core.domain.submissions import ReportStatus
from bot.core.i18n import _, format_moment
from bot.core.messages import Choice, Reply, reply_to_payload
from bot.core.text import shorten
from handlers.report.correction import SUPPLEMENT
from handlers.report.questions import status_label
from storage.uow import UnitOfWork


def accepted_message(reviewer: MemberInfo, item: QueuedReport) -> Reply:
    """Return the message telling the agency its version was accepted."""
    return Reply(
        _(
            "%(reviewer)s (%(from)s) has accepted your agency's report on task %(code)s "
            "(%(year)s), version %(version)s."
        )
        % {
            "reviewer": reviewer.full_name,
            "from": reviewer.agency_name,
            "code": item.task_code,
            "year": item.year,
            "version": item.version,
        }
    )


def returned_message(reviewer: MemberInfo, item: QueuedReport, reason: str) -> Reply:
    """Return the message telling the agency why its version was returned ("Bổ sung ngay")."""
    text = _(
        "%(reviewer)s (%(from)s) has returned your agency's report on task %(code)s "
        "(%(year)s), version %(version)s of %(time)s, for supplementing.\n"
        "Reason: %(reason)s\n\n"
        "The report returned: %(status)s, %(progress)s%%.\n"
        "Results: %(results)s\n\n"
        "Press Supplement now, or send /baocao %(code)s, to correct it: its answers are "
        "offered again, and the correction may be sent even after the deadline (it is "
        "recorded as late)."
    ) % {
        "reviewer": reviewer.full_name,
        "from": reviewer.agency_name,
        "code": item.task_code,
        "year": item.year,
        "version": item.version,
        "time": format_moment(item.created_at),
        "reason": reason,
        "status": status_label(ReportStatus(item.status)),
        "progress": item.progress,
        "results": shorten(" ".join(item.results.split()), 600),
    }
    return Reply(text, ((Choice(_("Supplement now"), SUPPLEMENT.encode(item.submission_id)),),))


async def tell_agency(
    uow: UnitOfWork,
    sender: MemberInfo,
    now: datetime,
    item: QueuedReport,
    what: str,
    message: Reply,
) -> bool:
    """Put one message to each member of the report's agency in the outbox."""
    recipients = await uow.members.notice_recipients(sender.id, item.agency_id)
    queued = await uow.notifications.enqueue_each(
        recipients,
        kind="review",
        payload=reply_to_payload(message),
        key=f"review:{what}:{item.submission_id}",
        now=now,
    )
    return queued > 0
