"""What the members of an agency that ended are told, once, through the outbox.

When an agency's end comes (an import, a merger, a retirement or the reminder sweep on or
after its day), :func:`storage.agencies.settle_members` moves its people: the members of a
merged agency continue under its successor, those of a retired unit are deactivated. This
module words the one message each of them receives and puts it in the outbox, in the same
transaction; the unit of work refuses to commit people moved in silence.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.core.domain.reorganisation import Followed
from bot.core.i18n import _, format_day
from bot.core.messages import Reply, reply_to_payload
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)


def followed_notice(fact: Followed) -> str:
    """Word what a member is told when their agency has ended."""
    values = {
        "date": format_day(fact.ended_on),
        "agency": fact.agency,
        "successor": fact.continues_under or ", ".join(fact.takers),
    }
    if fact.continues_under is not None:
        return (
            _(
                "From %(date)s, %(agency)s has merged into %(successor)s. Your account continues "
                "under %(successor)s: you now report on its tasks and receive its reminders. Your "
                "earlier reports are kept."
            )
            % values
        )
    ended = (
        _(
            "From %(date)s, %(agency)s has ended its work; its tasks in the plan are carried "
            "out by %(successor)s."
        )
        if fact.takers
        else _("From %(date)s, %(agency)s has ended its work.")
    ) % values
    return (
        ended
        + " "
        + _(
            "Your account for %(agency)s is closed, and you will receive no more reminders. "
            "Thank you for your work. To report for another agency, please ask the "
            "coordinating agency for an invitation code."
        )
        % values
    )


async def tell_followers(uow: UnitOfWork, now: datetime) -> int:
    """Put in the outbox the message of each member who followed their agency; return how many.

    A member is told once per agency that ended (the outbox's key), however often this runs.
    """
    queued = 0
    for fact in uow.agencies.followed():
        which = "moved" if fact.continues_under is not None else "ended"
        if await uow.notifications.enqueue(
            channel=fact.channel,
            chat_id=fact.chat_id,
            member_id=fact.member_id,
            kind="notice",
            payload=reply_to_payload(Reply(followed_notice(fact))),
            dedupe_key=f"agency-{which}:{fact.agency_id}:{fact.member_id}",
            now=now,
        ):
            queued += 1
    if queued:
        logger.info("told %d members what became of their agency", queued)
    return queued
