"""The coordinator's decision on a deadline extension, in one place for every front end.

:func:`decide_extension` grants a waiting request (until the day asked or another day) or
refuses it with a reason; :func:`grant_extension` grants one unasked. Each checks the role and
the day, records the decision, audits it and tells the agency's members through the outbox;
the chat conversation calls them, and a web form may call them the same way (``channel``
``"web"``). The caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from bot.core.domain.calendar import WorkingCalendar
from bot.core.domain.extensions import Extension
from bot.core.domain.members import MemberInfo, Role
from bot.core.domain.standing import DayProblem, day_problem
from bot.core.i18n import _, format_day
from bot.core.messages import Reply, reply_to_payload
from handlers.extensions.common import KIND_DECISION, granted_line, what_line
from storage.uow import UnitOfWork

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    """What became of a decision."""

    DONE = "done"
    NOT_FOUND = "not_found"
    ALREADY = "already"
    """Decided before (by someone else, or by a second press)."""
    NOT_ALLOWED = "not_allowed"
    BAD_DAY = "bad_day"
    NO_REASON = "no_reason"


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome, the extension as it stands now, and why a day was refused."""

    outcome: Outcome
    extension: Extension | None = None
    problem: DayProblem | None = None
    told: int = 0
    """Messages queued for the agency's members."""


def may_decide(member: MemberInfo) -> bool:
    """Tell whether a member decides extensions: a coordinator or an administrator."""
    return member.role in (Role.COORDINATOR, Role.ADMIN)


async def decide_extension(
    uow: UnitOfWork,
    *,
    extension_id: int,
    decider: MemberInfo,
    grant: bool,
    now: datetime,
    today: date,
    calendar: WorkingCalendar,
    until: date | None = None,
    reason: str | None = None,
    channel: str | None = None,
    user_id: str | None = None,
) -> Decision:
    """Grant a waiting request (until ``until``, else the day asked) or refuse it (a reason).

    Refused politely, changing nothing: a member who is no coordinator, a request decided
    already, a day that cannot end an extension, a refusal without a reason.
    """
    audit: dict[str, Any] = {
        "now": now,
        "member_id": decider.id,
        "channel": channel,
        "user_id": user_id,
    }
    if not may_decide(decider):
        uow.audit.record("permission.refused", command="giahan", request=extension_id, **audit)
        return Decision(Outcome.NOT_ALLOWED)
    extension = await uow.extensions.get(extension_id)
    if extension is None:
        return Decision(Outcome.NOT_FOUND)
    if not extension.waiting:
        return Decision(Outcome.ALREADY, extension)
    reason = (reason or "").strip() or None
    day: date | None = None
    if grant:
        day = until or extension.asked_until
        assert day is not None  # a request always asks for a day
        problem = day_problem(
            day, due=extension.original_due, year=extension.year, today=today, calendar=calendar
        )
        if problem is not None:
            return Decision(Outcome.BAD_DAY, extension, problem)
    elif reason is None:
        return Decision(Outcome.NO_REASON, extension)
    if not await uow.extensions.decide(
        extension_id, granted_until=day, decider_id=decider.id, reason=reason, now=now
    ):
        return Decision(Outcome.ALREADY, await uow.extensions.get(extension_id))
    decided = await uow.extensions.get(extension_id)
    assert decided is not None
    uow.audit.record(
        "extension.grant" if grant else "extension.refuse",
        request=extension_id,
        agency=decided.agency_id,
        until=day.isoformat() if day else None,
        **audit,
    )
    logger.info("extension %s %s", extension_id, "granted" if grant else "refused")
    told = await tell_agency(uow, decided, now)
    return Decision(Outcome.DONE, decided, told=told)


async def grant_extension(
    uow: UnitOfWork,
    *,
    decider: MemberInfo,
    milestone_id: int,
    agency_id: int,
    task_codes: Sequence[str],
    until: date,
    due: date,
    year: int,
    reason: str,
    now: datetime,
    today: date,
    calendar: WorkingCalendar,
    channel: str | None = None,
    user_id: str | None = None,
) -> Decision:
    """Grant an extension unasked: an agency's tasks (none: the whole report) until a day.

    ``due`` is the agency's current deadline for them (the plan's, or an earlier extension's).
    """
    audit: dict[str, Any] = {
        "now": now,
        "member_id": decider.id,
        "channel": channel,
        "user_id": user_id,
    }
    if not may_decide(decider):
        uow.audit.record("permission.refused", command="giahan", agency=agency_id, **audit)
        return Decision(Outcome.NOT_ALLOWED)
    problem = day_problem(until, due=due, year=year, today=today, calendar=calendar)
    if problem is not None:
        return Decision(Outcome.BAD_DAY, problem=problem)
    if not reason.strip():
        return Decision(Outcome.NO_REASON)
    extension = await uow.extensions.record(
        milestone_id=milestone_id,
        agency_id=agency_id,
        task_codes=task_codes,
        reason=reason.strip(),
        member_id=decider.id,
        now=now,
        granted_until=until,
    )
    uow.audit.record(
        "extension.grant",
        request=extension.id,
        agency=agency_id,
        until=until.isoformat(),
        unasked=True,
        **audit,
    )
    logger.info("extension %s granted unasked to agency %s", extension.id, agency_id)
    told = await tell_agency(uow, extension, now)
    return Decision(Outcome.DONE, extension, told=told)


def decision_message(extension: Extension) -> Reply:
    """Write what the agency's members are told of the coordinator's decision."""
    facts = {
        "what": what_line(extension),
        "year": extension.year,
        "due": format_day(extension.original_due),
    }
    if extension.granted:
        lines = [
            _("Your agency's deadline for %(what)s (%(year)s) has been extended.") % facts,
            granted_line(extension),
            _("Please complete the report by the new deadline (send /baocao). Sincerely."),
        ]
    else:
        lines = [
            _(
                "The request to extend the deadline for %(what)s (%(year)s) was not accepted "
                "by %(name)s; the deadline stays %(due)s."
            )
            % {**facts, "name": extension.decided_by or ""},
            _("Reason: %(reason)s") % {"reason": extension.decision_reason or ""},
            _("We respectfully ask you to complete the report as soon as possible. Sincerely."),
        ]
    return Reply("\n".join(lines))


async def tell_agency(uow: UnitOfWork, extension: Extension, now: datetime) -> int:
    """Tell the agency's members of the decision through the outbox; return messages queued."""
    return await uow.notifications.enqueue_each(
        [
            (r.member_id, r.channel, r.chat_id)
            for r in await uow.notifications.recipients(extension.agency_id)
        ],
        kind=KIND_DECISION,
        payload=reply_to_payload(decision_message(extension)),
        key=f"{KIND_DECISION}:{extension.id}",
        now=now,
    )
