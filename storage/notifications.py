"""Reminder decisions and the outbox: what to send, decided once, delivered by a worker.

A decision "remind member M of agency A about milestone D at step S" is a row with a unique
key, inserted in the same transaction as the outgoing message; inserting it twice does nothing,
so a sweep can run any number of times and a restart never sends a reminder twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.members import Role
from bot.core.domain.plan import RESULT_KINDS, MilestoneInfo
from bot.core.i18n import current_timezone
from storage.agencies import coordinator_agency, current_agency, lineage_ids
from storage.models import (
    Agency,
    Assignment,
    Cycle,
    Member,
    MemberIdentity,
    Milestone,
    MilestoneRule,
    OutboxMessage,
    ReminderDecision,
    Submission,
    Task,
)
from storage.structure import assignment_in_force

PENDING, SENDING, SENT, FAILED, BLOCKED = "pending", "sending", "sent", "failed", "blocked"
BULK_ROWS = 500
"""Rows per multi-row INSERT (SQLite allows 32,766 bound parameters in one statement)."""


@dataclass(frozen=True, slots=True)
class DueMilestone:
    """A dated milestone with what it asks for."""

    id: int
    cycle_id: int
    year: int
    code: str
    kind: str
    title: str
    due_date: date
    recipients: str
    window_start: date | None
    """Reports made after this date count for the milestone (the previous deadline)."""
    period: str = "year"
    """``year``, ``half_year`` or ``quarter`` (``bot.core.domain.periods``)."""
    cutoff: str | None = None
    """The last day its figures count, ``dd/mm``, if the plan file fixes one."""

    def info(self) -> MilestoneInfo:
        """Return it as the plan's dated deadline."""
        return MilestoneInfo(
            self.id,
            self.code,
            self.kind,
            self.title,
            self.year,
            self.due_date,
            self.recipients,
            self.period,
            self.cutoff,
        )


@dataclass(frozen=True, slots=True)
class PendingTask:
    """A task an agency still has to report on for a milestone."""

    id: int
    code: str
    title: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification decided for one recipient."""

    recipient: Recipient
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A member and the chat where notifications reach them."""

    member_id: int
    full_name: str
    role: Role
    channel: str
    chat_id: str


class NotificationRepository:
    """Milestones to chase, agencies behind, recipients, decisions and the outbox."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- what is due ----------------------------------------------------------------------

    async def milestones_between(self, start: date, end: date) -> list[DueMilestone]:
        """Return the active milestones due between two dates, with their report windows."""
        rows = await self._session.execute(
            select(Milestone, MilestoneRule, Cycle)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .join(Cycle, Cycle.id == Milestone.cycle_id)
            .where(MilestoneRule.active.is_(True))
            .order_by(Milestone.due_date, MilestoneRule.position)
        )
        everything = rows.all()
        result = []
        for milestone, rule, cycle in everything:
            if not start <= milestone.due_date <= end:
                continue
            earlier = [
                m.due_date
                for m, r, c in everything
                if c.id == cycle.id
                and r.recipients == rule.recipients
                and m.due_date < milestone.due_date
            ]
            result.append(
                DueMilestone(
                    id=milestone.id,
                    cycle_id=cycle.id,
                    year=cycle.year,
                    code=rule.code,
                    kind=rule.kind,
                    title=rule.title,
                    due_date=milestone.due_date,
                    recipients=rule.recipients,
                    window_start=max(earlier) if earlier else None,
                    period=rule.period or "year",
                    cutoff=rule.cutoff,
                )
            )
        return result

    async def pending_by_agency(self, milestone: DueMilestone) -> dict[int, list[PendingTask]]:
        """Return, per agency concerned, the tasks it has not reported on yet.

        The tasks a milestone asks for are those of :func:`bot.core.domain.plan.asks_for`; the
        agencies concerned are those that lead them in the structure in force on the deadline's
        day; a report by an agency that has since become one of them counts for it.
        """
        linked = select(Task.id).where(
            Task.milestone_rule_id
            == select(Milestone.rule_id).where(Milestone.id == milestone.id).scalar_subquery(),
            Task.active.is_(True),
        )
        query = (
            select(Assignment.agency_id, Task.id, Task.code, Task.title)
            .join(Task, Task.id == Assignment.task_id)
            .where(
                Assignment.role == "lead",
                Task.active.is_(True),
                assignment_in_force(milestone.due_date),
            )
            .order_by(Task.position)
        )
        if milestone.kind in RESULT_KINDS:  # every task of section II, and any tied to it
            query = query.where(or_(Task.index_id.is_not(None), Task.id.in_(linked)))
        else:  # the deliverable of the task tied to it (bot.core.domain.plan.asks_for)
            query = query.where(Task.id.in_(linked))
        if milestone.recipients == "coordinator":
            coordinator = await self._coordinator_id(milestone.due_date)
            query = query.where(Assignment.agency_id == coordinator)
        reported = await self._reported(milestone)
        pending: dict[int, list[PendingTask]] = {}
        for agency_id, task_id, code, title in (await self._session.execute(query)).all():
            if (agency_id, task_id) not in reported:
                pending.setdefault(agency_id, []).append(PendingTask(task_id, code, title))
        return pending

    async def _reported(self, milestone: DueMilestone) -> set[tuple[int, int]]:
        """Return (agency, task) pairs reported within the milestone's window."""
        query = select(Submission.agency_id, Submission.task_id).where(
            Submission.cycle_id == milestone.cycle_id
        )
        if milestone.window_start is not None:
            after = datetime.combine(
                milestone.window_start + timedelta(days=1), time(0), tzinfo=current_timezone()
            )
            query = query.where(Submission.created_at >= after)
        pairs = set()
        successors: dict[int, int] = {}
        for agency_id, task_id in (await self._session.execute(query)).all():
            if agency_id not in successors:
                agency = await self._session.get(Agency, agency_id)
                assert agency is not None
                successors[agency_id] = (
                    await current_agency(self._session, agency, milestone.due_date)
                ).id
            pairs.add((successors[agency_id], task_id))
        return pairs

    async def _coordinator_id(self, on: date | None = None) -> int | None:
        coordinator = await coordinator_agency(self._session, on)
        return coordinator.id if coordinator else None

    async def agency_names(self) -> dict[int, str]:
        """Return every agency's name by id."""
        rows = await self._session.execute(select(Agency.id, Agency.name))
        return {agency_id: name for agency_id, name in rows.all()}

    async def recipients(self, agency_id: int) -> list[Recipient]:
        """Return the active members of an agency with a reachable chat (one per member)."""
        return await self._recipients(Member.agency_id == agency_id)

    async def coordinators(self, today: date) -> list[Recipient]:
        """Return the members who receive the coordinator's digest (on a day)."""
        coordinator = await self._coordinator_id(today)
        return await self._recipients(
            or_(
                Member.role.in_((Role.COORDINATOR.value, Role.ADMIN.value)),
                and_(Member.role == Role.LEADER.value, Member.agency_id == coordinator),
            )
        )

    async def _recipients(self, which: Any) -> list[Recipient]:
        rows = await self._session.execute(
            select(Member, MemberIdentity)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(
                which,
                Member.active.is_(True),
                MemberIdentity.reachable.is_(True),
                MemberIdentity.channel != "console",  # a terminal session cannot be notified
            )
            .order_by(
                Member.id,
                (MemberIdentity.channel == func.coalesce(Member.preferred_channel, "")).desc(),
                MemberIdentity.id.desc(),
            )
        )
        chosen: dict[int, Recipient] = {}
        for member, identity in rows.all():  # the preferred channel, else the latest account
            chosen.setdefault(
                member.id,
                Recipient(
                    member.id,
                    member.full_name,
                    Role(member.role),
                    identity.channel,
                    identity.chat_id,
                ),
            )
        return list(chosen.values())

    # --- deciding -------------------------------------------------------------------------

    async def decided_members(self, milestone_id: int, agency_id: int, step: str) -> set[int]:
        """Return the members already reminded at this step (a re-sweep skips them at once)."""
        rows = await self._session.scalars(
            select(ReminderDecision.member_id).where(
                ReminderDecision.milestone_id == milestone_id,
                ReminderDecision.agency_id == agency_id,
                ReminderDecision.step == step,
            )
        )
        return set(rows)

    async def decide_all(
        self,
        *,
        milestone_id: int,
        agency_id: int,
        step: str,
        messages: Sequence[Notice],
        now: datetime,
    ) -> int:
        """Record reminder decisions and their messages together; return how many were new.

        A few statements per batch rather than three per member: a decision taken before (the
        unique key) is skipped, and so is a message already in the outbox (its dedupe key).
        """
        decided = 0
        for start in range(0, len(messages), BULK_ROWS):
            chunk = messages[start : start + BULK_ROWS]
            decisions = (
                self._insert(ReminderDecision)
                .values(
                    [
                        {
                            "milestone_id": milestone_id,
                            "agency_id": agency_id,
                            "step": step,
                            "member_id": notice.recipient.member_id,
                            "decided_at": now,
                        }
                        for notice in chunk
                    ]
                )
                .on_conflict_do_nothing(
                    index_elements=["milestone_id", "agency_id", "step", "member_id"]
                )
                .returning(ReminderDecision.id, ReminderDecision.member_id)
            )
            new = {member: decision for decision, member in await self._session.execute(decisions)}
            if not new:
                continue
            fresh = [n for n in chunk if n.recipient.member_id in new]
            keys = {
                f"{n.kind}:{milestone_id}:{agency_id}:{step}:{n.recipient.member_id}": n
                for n in fresh
            }
            messages_rows = [
                {
                    "channel": notice.recipient.channel,
                    "chat_id": notice.recipient.chat_id,
                    "member_id": notice.recipient.member_id,
                    "kind": notice.kind,
                    "payload": notice.payload,
                    "dedupe_key": key,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for key, notice in keys.items()
            ]
            queued = (
                self._insert(OutboxMessage)
                .values(messages_rows)
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
                .returning(OutboxMessage.id, OutboxMessage.dedupe_key)
            )
            links = [
                {"id": new[keys[key].recipient.member_id], "outbox_id": outbox_id}
                for outbox_id, key in await self._session.execute(queued)
            ]
            if links:
                await self._session.execute(update(ReminderDecision), links)
            decided += len(new)
        return decided

    async def enqueue(
        self,
        *,
        channel: str,
        chat_id: str,
        member_id: int | None,
        kind: str,
        payload: dict[str, Any],
        dedupe_key: str,
        now: datetime,
    ) -> int | None:
        """Put a message in the outbox unless one with the same key is there already."""
        statement = (
            self._insert(OutboxMessage)
            .values(
                channel=channel,
                chat_id=chat_id,
                member_id=member_id,
                kind=kind,
                payload=payload,
                dedupe_key=dedupe_key,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id)
        )
        return (await self._session.execute(statement)).scalar()

    async def enqueue_each(
        self,
        recipients: Iterable[tuple[int, str, str]],
        *,
        kind: str,
        payload: dict[str, Any],
        key: str,
        now: datetime,
    ) -> int:
        """Put one message to each (member, channel, chat) in the outbox; return how many.

        Each message's key is ``key`` and the member's id: a member already sent it is skipped.
        """
        queued = 0
        for member_id, channel, chat_id in recipients:
            queued += bool(
                await self.enqueue(
                    channel=channel,
                    chat_id=chat_id,
                    member_id=member_id,
                    kind=kind,
                    payload=payload,
                    dedupe_key=f"{key}:{member_id}",
                    now=now,
                )
            )
        return queued

    def _insert(self, model: Any) -> Any:
        dialect = self._session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    # --- reporting ------------------------------------------------------------------------

    async def delivery_counts(self, since: datetime) -> dict[str, int]:
        """Return how many messages of each status were created since a moment."""
        rows = await self._session.execute(
            select(OutboxMessage.status, func.count())
            .where(
                OutboxMessage.created_at >= since, OutboxMessage.kind.notin_(("digest", "reply"))
            )
            .group_by(OutboxMessage.status)
        )
        return {status: count for status, count in rows.all()}

    async def undeliverable(self, since: datetime) -> list[tuple[str, str, str]]:
        """Return (member name, agency name, status) of messages that could not be delivered."""
        rows = await self._session.execute(
            select(Member.full_name, Agency.name, OutboxMessage.status)
            .join(Member, Member.id == OutboxMessage.member_id)
            .join(Agency, Agency.id == Member.agency_id)
            .where(
                OutboxMessage.created_at >= since,
                OutboxMessage.status.in_((FAILED, BLOCKED)),
            )
            .order_by(Agency.name, Member.full_name)
        )
        return [(name, agency, status) for name, agency, status in rows.all()]

    async def unreachable_members(self) -> list[tuple[str, str]]:
        """Return (member name, agency name) of active members who blocked the bot."""
        rows = await self._session.execute(
            select(Member.full_name, Agency.name)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .join(Agency, Agency.id == Member.agency_id)
            .where(Member.active.is_(True), MemberIdentity.reachable.is_(False))
            .order_by(Agency.name, Member.full_name)
        )
        return list(dict.fromkeys((name, agency) for name, agency in rows.all()))

    async def lineage(self, agency_id: int) -> list[int]:
        """Return an agency and its predecessors."""
        return await lineage_ids(self._session, agency_id)
