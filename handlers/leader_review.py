"""The agency leader's first step of the review (``PGIBOT_LEADER_REVIEW``).

With the setting on, a new version of a report of an agency that has an active leader waits for
that leader first ("chờ lãnh đạo đơn vị xem xét"). The leader's ``/duyet`` lists the own
agency's versions waiting for it; "Tiếp nhận" forwards a version to the coordinator (it stays
waiting, the leader's acceptance recorded: who, when) and the coordinators are told through the
outbox; "Trả lại" returns it to the officers exactly as the coordinator's return does. The
coordinator's ``/duyet`` lists only the versions that no longer wait for a leader, yet the
coordinator may decide any waiting version (a button of a notice, a page shown earlier): the
decision is final and the leader's step is skipped. Whether a version waits is read when it is
shown or decided: when the agency's leader leaves (deactivated, or moved to another agency) and
no other active leader remains, its waiting versions go to the coordinator's queue at once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core.domain.members import MemberInfo, Role
from bot.core.domain.review import QueuedReport
from bot.core.i18n import _, current_timezone, format_moment
from bot.core.messages import Choice, Reply, reply_to_payload
from handlers.context import Actor
from handlers.report.correction import REVIEW
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)


def leader_first(member: MemberInfo, leader_review: bool) -> bool:
    """Tell whether a reviewer takes the leader's first step (a leader, the setting on)."""
    return leader_review and member.role is Role.LEADER


def awaiting_leader(member: MemberInfo, leader_review: bool) -> bool | None:
    """Return which waiting versions a reviewer's queue lists.

    True: those waiting for their leader (a leader); False: those that no longer wait (the
    coordinator); None: every waiting version (the setting off).
    """
    if not leader_review:
        return None
    return member.role is Role.LEADER


async def forward(
    uow: UnitOfWork, actor: Actor, item: QueuedReport, now: datetime
) -> tuple[bool, bool]:
    """Record the leader's acceptance and tell the coordinators (outbox).

    Return whether it was recorded (False: decided or forwarded meanwhile, nothing changed)
    and whether a message was queued.
    """
    leader = actor.member
    if not await uow.reviews.forward(item.submission_id, leader_id=leader.id, now=now):
        return False, False
    actor.audit(uow, "review.forward", now, submission=item.submission_id, task=item.task_code)
    logger.info("submission %s forwarded by leader %s", item.submission_id, leader.id)
    message = Reply(
        _(
            "%(leader)s, leader of %(agency)s, has accepted the agency's report on task "
            "%(code)s (%(year)s), version %(version)s, sent by %(name)s at %(sent)s, and "
            "forwarded it to you. It is waiting for your review (send /duyet)."
        )
        % {
            "leader": leader.full_name,
            "agency": item.agency_name,
            "code": item.task_code,
            "year": item.year,
            "version": item.version,
            "name": item.member_name,
            "sent": format_moment(item.created_at),
        },
        ((Choice(_("Review now"), REVIEW.encode("p", 0, f"a{item.agency_id}")),),),
    )
    today = now.astimezone(current_timezone()).date()
    queued = await uow.notifications.enqueue_each(
        [
            (r.member_id, r.channel, r.chat_id)
            for r in await uow.notifications.coordinators(today)
            if r.member_id != leader.id
        ],
        kind="review",
        payload=reply_to_payload(message),
        key=f"review:forwarded:{item.submission_id}",
        now=now,
    )
    return True, queued > 0
