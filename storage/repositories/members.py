"""Repositories: queries and changes by domain, returning plain dataclasses; none commits."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.people import name_key
from storage.agencies import coordinator_agency, current_agency, find_agency, to_info
from storage.dto import (
    AgencyInfo,
    AssignmentRole,
    ConversationState,
    IndexInfo,
    InvitationInfo,
    MemberInfo,
    MilestoneInfo,
    PlanIndexView,
    PlanTaskView,
    PlanView,
    Role,
    TaskInfo,
)
from storage.models import (
    Agency,
    Assignment,
    AuditEntry,
    Conversation,
    Cycle,
    Invitation,
    InvitationFailure,
    Member,
    MemberIdentity,
    Milestone,
    MilestoneRule,
    Plan,
    PlanIndex,
    Task,
)
from storage.plan_cache import plan_cache

_MEMBER = Member.__table__
_AGENCY = Agency.__table__
_IDENTITY = MemberIdentity.__table__
_CONVERSATION = Conversation.__table__

_MEMBERS = select(
    _MEMBER.c.id,
    _MEMBER.c.full_name,
    _MEMBER.c.role,
    _MEMBER.c.active,
    _MEMBER.c.language,
    _AGENCY.c.id.label("agency_id"),
    _AGENCY.c.code.label("agency_code"),
    _AGENCY.c.name.label("agency_name"),
).join_from(_MEMBER, _AGENCY, _AGENCY.c.id == _MEMBER.c.agency_id)
"""Members with their agency: what :func:`_member_of` reads."""
_MEMBER_BY_IDENTITY = (
    _MEMBERS.add_columns(_IDENTITY.c.reachable)
    .join(_IDENTITY, _IDENTITY.c.member_id == _MEMBER.c.id)
    .where(_IDENTITY.c.channel == bindparam("channel"), _IDENTITY.c.user_id == bindparam("user"))
)
_MEMBER_IN_CHAT = _MEMBER_BY_IDENTITY.add_columns(
    _CONVERSATION.c.state, _CONVERSATION.c.data
).outerjoin(
    _CONVERSATION,
    and_(
        _CONVERSATION.c.channel == bindparam("channel"),
        _CONVERSATION.c.chat_id == bindparam("chat"),
    ),
)
_CONVERSATION_GET = select(_CONVERSATION.c.state, _CONVERSATION.c.data).where(
    _CONVERSATION.c.channel == bindparam("channel"),
    _CONVERSATION.c.chat_id == bindparam("chat"),
)


def _member_of(row: Any) -> MemberInfo:
    return MemberInfo(
        id=row.id,
        full_name=row.full_name,
        role=Role(row.role),
        agency_id=row.agency_id,
        agency_code=row.agency_code,
        agency_name=row.agency_name,
        active=row.active,
        language=row.language,
    )


def _state_of(row: Any) -> ConversationState:
    """Where a chat stands, from a row with its state and data; idle when there is none."""
    if row is None or row.state is None:
        return ConversationState("idle")
    return ConversationState(row.state, dict(row.data))


def _conversation_upsert(insert: Any) -> Any:
    statement = insert(_CONVERSATION)
    return statement.on_conflict_do_update(
        index_elements=[_CONVERSATION.c.channel, _CONVERSATION.c.chat_id],
        set_={
            "state": statement.excluded.state,
            "data": statement.excluded.data,
            "updated_at": statement.excluded.updated_at,
        },
    )


_CONVERSATION_UPSERT = {
    "sqlite": _conversation_upsert(sqlite.insert),
    "postgresql": _conversation_upsert(postgresql.insert),
}

INVITATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud safely
INVITATION_LENGTH = 10
"""Characters of an invitation code: 50 bits, against guessing (with the global limit)."""


class MemberRepository:
    """Members and their channel identities."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._reachable: dict[tuple[str, str], bool] = {}
        """Whether the identities read in this transaction were reachable."""

    async def by_identity(self, channel: str, user_id: str) -> MemberInfo | None:
        """Return the member behind a channel account, active or not."""
        row = (
            await self._session.execute(_MEMBER_BY_IDENTITY, {"channel": channel, "user": user_id})
        ).first()
        if row is None:
            return None
        self._reachable[(channel, user_id)] = row.reachable
        return _member_of(row)

    async def in_chat(
        self, channel: str, user_id: str, chat_id: str
    ) -> tuple[MemberInfo | None, ConversationState | None]:
        """Return the member behind an account and where the chat stands, in one statement.

        What the router needs at every update. The state is None when the account belongs to
        no member (then it must be read on its own).
        """
        row = (
            await self._session.execute(
                _MEMBER_IN_CHAT, {"channel": channel, "user": user_id, "chat": chat_id}
            )
        ).first()
        if row is None:
            return None, None
        self._reachable[(channel, user_id)] = row.reachable
        return _member_of(row), _state_of(row)

    async def get(self, member_id: int) -> MemberInfo | None:
        """Return a member by id."""
        row = (await self._session.execute(_MEMBERS.where(_MEMBER.c.id == member_id))).first()
        return _member_of(row) if row else None

    async def find(self, wanted: str) -> list[MemberInfo]:
        """Return members whose id or full name is the given text (case and spacing aside).

        Names compare by their stored key (:func:`bot.core.people.name_key`), so "ĐẶNG VĂN
        ĐỨC" finds "Đặng Văn Đức" on SQLite as on PostgreSQL.
        """
        if wanted.strip().isdigit():
            query = _MEMBERS.where(_MEMBER.c.id == int(wanted))
        else:
            query = _MEMBERS.where(_MEMBER.c.name_key == name_key(wanted)[:200])
        return [
            _member_of(row) for row in await self._session.execute(query.order_by(_MEMBER.c.id))
        ]

    async def registered_with(self, code: str) -> list[MemberInfo]:
        """Return the members who registered with an invitation code."""
        query = _MEMBERS.join(Invitation, Invitation.id == _MEMBER.c.invitation_id).where(
            Invitation.code == code.strip().upper()
        )
        return [
            _member_of(row) for row in await self._session.execute(query.order_by(_MEMBER.c.id))
        ]

    async def active_admins(self) -> int:
        """Return how many active administrators there are."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(Member)
            .where(Member.role == Role.ADMIN.value, Member.active.is_(True))
        )
        return int(count or 0)

    async def set_active(self, member_id: int, active: bool) -> None:
        """Deactivate or reinstate a member (the caller checked that it may)."""
        await self._session.execute(
            update(Member).where(Member.id == member_id).values(active=active)
        )

    async def set_role(self, member_id: int, role: Role) -> None:
        """Give a member another role (the caller checked that it may)."""
        await self._session.execute(
            update(Member).where(Member.id == member_id).values(role=role.value)
        )

    async def list_all(self) -> list[MemberInfo]:
        """Return every member, by agency then name."""
        rows = await self._session.execute(_MEMBERS.order_by(_AGENCY.c.name, _MEMBER.c.full_name))
        return [_member_of(row) for row in rows]

    async def add_identity(
        self, member_id: int, channel: str, user_id: str, chat_id: str, now: datetime
    ) -> None:
        """Link a channel account to a member."""
        self._session.add(
            MemberIdentity(
                member_id=member_id,
                channel=channel,
                user_id=user_id,
                chat_id=chat_id,
                created_at=now,
            )
        )
        await self._session.flush()

    async def mark_reachable(self, channel: str, user_id: str) -> None:
        """Remember that a user who had blocked the bot writes to it again."""
        if self._reachable.get((channel, user_id)) is True:
            return  # read as reachable in this transaction: nothing to write
        await self._session.execute(
            update(MemberIdentity)
            .where(
                MemberIdentity.channel == channel,
                MemberIdentity.user_id == user_id,
                MemberIdentity.reachable.is_(False),
            )
            .values(reachable=True)
        )

    async def mark_unreachable(self, channel: str, chat_id: str) -> None:
        """Remember that a chat can no longer be reached (the user blocked the bot)."""
        await self._session.execute(
            update(MemberIdentity)
            .where(MemberIdentity.channel == channel, MemberIdentity.chat_id == chat_id)
            .values(reachable=False)
        )

    async def create(
        self,
        *,
        full_name: str,
        agency_id: int,
        role: Role,
        invitation_id: int | None,
        now: datetime,
    ) -> int:
        """Create a member and return its id."""
        member = Member(
            full_name=full_name,
            agency_id=agency_id,
            role=role.value,
            active=True,
            invitation_id=invitation_id,
            created_at=now,
            language="vi",
        )
        self._session.add(member)
        await self._session.flush()
        return member.id


class InvitationRepository:
    """Invitation codes."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        agency_code: str,
        role: Role,
        max_uses: int,
        valid_for: timedelta,
        created_by: str,
        now: datetime,
    ) -> InvitationInfo:
        """Create an invitation for an agency (named by code or name) and return it."""
        agency = await current_agency(self._session, await find_agency(self._session, agency_code))
        while True:
            code = "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(INVITATION_LENGTH))
            if not await self._session.scalar(
                select(Invitation.id).where(Invitation.code == code)
            ):
                break
        invitation = Invitation(
            code=code,
            agency_id=agency.id,
            role=role.value,
            max_uses=max_uses,
            used_count=0,
            expires_at=now + valid_for,
            created_at=now,
            created_by=created_by,
        )
        self._session.add(invitation)
        await self._session.flush()
        return self._info(invitation, agency)

    async def by_code(self, code: str) -> InvitationInfo | None:
        """Return the invitation with a code (case-insensitive), if any."""
        row = (
            await self._session.execute(
                select(Invitation, Agency)
                .join(Agency, Agency.id == Invitation.agency_id)
                .where(Invitation.code == code.strip().upper())
            )
        ).first()
        return self._info(*row) if row else None

    async def use(self, invitation_id: int) -> bool:
        """Count one use of an invitation, atomically; False when none is left."""
        result = await self._session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.used_count < Invitation.max_uses)
            .values(used_count=Invitation.used_count + 1)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def record_failure(self, channel: str, user_id: str, now: datetime) -> None:
        """Remember that an account tried a code that is no invitation."""
        self._session.add(InvitationFailure(at=now, channel=channel, user_id=user_id[:255]))

    async def failures_since(self, since: datetime) -> int:
        """Return how many codes that were no invitation were tried since a moment, by anyone."""
        count = await self._session.scalar(
            select(func.count()).select_from(InvitationFailure).where(InvitationFailure.at > since)
        )
        return int(count or 0)

    async def forget_failures_before(self, before: datetime) -> None:
        """Delete the failures older than any window still looks at."""
        await self._session.execute(delete(InvitationFailure).where(InvitationFailure.at < before))

    @staticmethod
    def _info(invitation: Invitation, agency: Agency) -> InvitationInfo:
        return InvitationInfo(
            id=invitation.id,
            code=invitation.code,
            agency_id=agency.id,
            agency_code=agency.code,
            agency_name=agency.name,
            role=Role(invitation.role),
            max_uses=invitation.max_uses,
            used_count=invitation.used_count,
            expires_at=invitation.expires_at,
            revoked=invitation.revoked_at is not None,
        )


class ConversationRepository:
    """Conversation state per (channel, chat), kept in the database.

    Read and written at every update, so both are prepared Core statements; the write is an
    upsert, which needs no knowledge of whether the row exists.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, channel: str, chat_id: str) -> ConversationState:
        """Return where a chat stands; "idle" when it is in no conversation."""
        result = await self._session.execute(
            _CONVERSATION_GET, {"channel": channel, "chat": chat_id}
        )
        return _state_of(result.first())

    async def set(
        self, channel: str, chat_id: str, state: ConversationState, now: datetime
    ) -> None:
        """Store where a chat stands."""
        dialect = self._session.get_bind().dialect.name
        await self._session.execute(
            _CONVERSATION_UPSERT[dialect],
            {
                "channel": channel,
                "chat_id": chat_id,
                "state": state.state,
                "data": dict(state.data),
                "updated_at": now,
            },
        )


class PlanRepository:
    """The plan as the conversations and the command line see it."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def current_plan(self) -> Plan | None:
        """Return the plan the bot serves (the first imported)."""
        return await self._session.scalar(select(Plan).order_by(Plan.id).limit(1))

    async def tasks_of_agency(self, agency_id: int) -> list[TaskInfo]:
        """Return the active tasks an agency leads or supports, in plan order."""
        tasks = await plan_cache(self._session).get(
            self._session, ("tasks", agency_id), lambda: self._tasks_of_agency(agency_id)
        )
        return list(tasks)

    async def _tasks_of_agency(self, agency_id: int) -> tuple[TaskInfo, ...]:
        rows = await self._session.execute(
            select(Task, Assignment.role, PlanIndex)
            .join(Assignment, Assignment.task_id == Task.id)
            .outerjoin(PlanIndex, PlanIndex.id == Task.index_id)
            .where(Assignment.agency_id == agency_id, Task.active.is_(True))
            .order_by(Task.position)
        )
        return tuple(
            TaskInfo(
                id=task.id,
                code=task.code,
                title=task.title,
                text=task.text,
                index_code=index.code if index else None,
                index_name=index.name if index else None,
                role=AssignmentRole(role),
            )
            for task, role, index in rows.all()
        )

    async def milestones(self, year: int | None = None) -> list[MilestoneInfo]:
        """Return the dated milestones of active rules, by date (of one year if given)."""
        query = (
            select(Milestone, MilestoneRule, Cycle)
            .join(MilestoneRule, MilestoneRule.id == Milestone.rule_id)
            .join(Cycle, Cycle.id == Milestone.cycle_id)
            .where(MilestoneRule.active.is_(True))
            .order_by(Milestone.due_date, MilestoneRule.position)
        )
        if year is not None:
            query = query.where(Cycle.year == year)
        return [
            MilestoneInfo(
                id=m.id,
                code=rule.code,
                kind=rule.kind,
                title=rule.title,
                year=cycle.year,
                due_date=m.due_date,
                recipients=rule.recipients,
            )
            for m, rule, cycle in (await self._session.execute(query)).all()
        ]

    async def next_milestone(self, today: date, *, for_coordinator: bool) -> MilestoneInfo | None:
        """Return the first deadline on or after today that concerns the member."""
        for milestone in await self.milestones():
            if milestone.due_date < today:
                continue
            if milestone.recipients == "assigned" or for_coordinator:
                return milestone
        return None

    async def agencies(self) -> list[AgencyInfo]:
        """Return every agency with what became of it."""
        rows = list(await self._session.scalars(select(Agency).order_by(Agency.id)))
        codes = {a.id: a.code for a in rows}
        return [to_info(a, codes.get(a.successor_id) if a.successor_id else None) for a in rows]

    async def assignment_counts(self) -> dict[int, tuple[int, int]]:
        """Return, per agency id, how many active tasks it leads and supports."""
        rows = await self._session.execute(
            select(Assignment.agency_id, Assignment.role, func.count())
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.active.is_(True))
            .group_by(Assignment.agency_id, Assignment.role)
        )
        counts: dict[int, tuple[int, int]] = {}
        for agency_id, role, count in rows.all():
            lead, support = counts.get(agency_id, (0, 0))
            counts[agency_id] = (
                (lead + count, support) if role == "lead" else (lead, support + count)
            )
        return counts

    async def view(self) -> PlanView | None:
        """Return the whole plan: indices, tasks with their agencies, agencies, milestones."""
        plan = await self.current_plan()
        if plan is None:
            return None
        agencies = {a.id: a for a in await self._session.scalars(select(Agency))}
        coordinator = await coordinator_agency(self._session)
        by_task: dict[int, dict[str, list[str]]] = {}
        for assignment in await self._session.scalars(select(Assignment).order_by(Assignment.id)):
            roles = by_task.setdefault(assignment.task_id, {"lead": [], "support": []})
            roles[assignment.role].append(agencies[assignment.agency_id].code)
        tasks = list(
            await self._session.scalars(
                select(Task)
                .where(Task.plan_id == plan.id, Task.active.is_(True))
                .order_by(Task.position)
            )
        )

        def task_view(task: Task) -> PlanTaskView:
            roles = by_task.get(task.id, {"lead": [], "support": []})
            return PlanTaskView(task.code, task.title, roles["lead"], roles["support"])

        indices = []
        for index in await self._session.scalars(
            select(PlanIndex).where(PlanIndex.plan_id == plan.id).order_by(PlanIndex.position)
        ):
            indices.append(
                PlanIndexView(
                    index_info(index), [task_view(t) for t in tasks if t.index_id == index.id]
                )
            )
        return PlanView(
            code=plan.code,
            title=plan.title,
            coordinator=coordinator.code if coordinator else None,
            indices=indices,
            organisational_tasks=[task_view(t) for t in tasks if t.index_id is None],
            agencies=await self.agencies(),
            milestones=await self.milestones(),
        )

    async def indices(self) -> list[IndexInfo]:
        """Return the component indices of the current plan, in order."""
        plan = await self.current_plan()
        if plan is None:
            return []
        rows = await self._session.scalars(
            select(PlanIndex).where(PlanIndex.plan_id == plan.id).order_by(PlanIndex.position)
        )
        return [index_info(index) for index in rows]

    async def coordinator_name(self) -> str | None:
        """Return the current name of the plan's coordinating agency."""
        coordinator = await coordinator_agency(self._session)
        return coordinator.name if coordinator else None


def index_info(index: PlanIndex) -> IndexInfo:
    """Turn an index row into its dataclass."""
    return IndexInfo(
        id=index.id,
        code=index.code,
        name=index.name,
        baseline_year=index.baseline_year,
        baseline_score=index.baseline_score,
        target_score=index.target_score,
        increase=index.increase,
    )


class AuditRepository:
    """The audit log."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def record(
        self,
        action: str,
        *,
        now: datetime,
        member_id: int | None = None,
        channel: str | None = None,
        user_id: str | None = None,
        **detail: Any,
    ) -> None:
        """Add an entry to the audit log."""
        self._session.add(
            AuditEntry(
                at=now,
                action=action,
                member_id=member_id,
                channel=channel,
                user_id=user_id,
                detail=detail,
            )
        )

    async def actions(self) -> list[str]:
        """Return the actions recorded, oldest first."""
        return list(await self._session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
