"""Members: who is behind a channel account, their roles, accounts and where notices go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import MemberInfo, Role, ascii_key, name_key
from storage.models import Agency, Conversation, Invitation, Member, MemberIdentity

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
    _AGENCY.c.valid_to.label("agency_valid_to"),
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
        agency_valid_to=row.agency_valid_to,
    )


def _state_of(row: Any) -> ConversationState:
    """Where a chat stands, from a row with its state and data; idle when there is none."""
    if row is None or row.state is None:
        return ConversationState("idle")
    return ConversationState(row.state, dict(row.data))


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

        Names compare by their stored key (:func:`bot.core.domain.members.name_key`), so "ĐẶNG VĂN
        ĐỨC" finds "Đặng Văn Đức" on SQLite as on PostgreSQL. A name typed without its
        diacritics is another name here (see :meth:`find_without_diacritics`).
        """
        if wanted.strip().isdigit():
            query = _MEMBERS.where(_MEMBER.c.id == int(wanted))
        else:
            query = _MEMBERS.where(_MEMBER.c.name_key == name_key(wanted)[:200])
        return [
            _member_of(row) for row in await self._session.execute(query.order_by(_MEMBER.c.id))
        ]

    async def find_without_diacritics(self, wanted: str) -> list[MemberInfo]:
        """Return members whose full name, diacritics aside, is the given text.

        For where a wrong match changes nothing (entering the console as someone): "dang van
        duc" finds "Đặng Văn Đức". Commands that change a member use :meth:`find`.
        """
        plain = ascii_key(wanted)
        everyone = await self._session.execute(_MEMBERS.order_by(_MEMBER.c.id))
        return [m for m in map(_member_of, everyone) if ascii_key(m.full_name) == plain]

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

    async def set_agency(self, member_id: int, agency_id: int) -> None:
        """Move a member to another agency (the caller checked that it may)."""
        await self._session.execute(
            update(Member).where(Member.id == member_id).values(agency_id=agency_id)
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

    async def set_preferred_channel(self, member_id: int, channel: str) -> None:
        """Send a member's reminders and notices to one of their channels."""
        await self._session.execute(
            update(Member).where(Member.id == member_id).values(preferred_channel=channel)
        )

    async def channels_of(self, member_id: int) -> set[str]:
        """Return the channels a member has an account on."""
        return set(
            await self._session.scalars(
                select(MemberIdentity.channel).where(MemberIdentity.member_id == member_id)
            )
        )

    async def notice_recipients(
        self,
        sender_id: int,
        agency_id: int | None,
        *,
        only: int | None = None,
        role: Role | None = None,
    ) -> list[tuple[int, str, str]]:
        """Return who receives a notice, as (member id, channel, chat id), by member id.

        The active members (of one agency, if given) but the sender, each once, on a reachable
        account that is not the terminal's (a terminal session cannot be notified): the one on
        the channel the member chose (``/kenh``), else the latest, as for reminders.
        ``only`` keeps one member (a notice about them), ``role`` the members of that role.
        """
        query = (
            select(Member.id, MemberIdentity.channel, MemberIdentity.chat_id)
            .join(MemberIdentity, MemberIdentity.member_id == Member.id)
            .where(
                Member.active.is_(True),
                MemberIdentity.reachable.is_(True),
                MemberIdentity.channel != "console",
                Member.id != sender_id,
            )
            .order_by(
                Member.id,
                (MemberIdentity.channel == func.coalesce(Member.preferred_channel, "")).desc(),
                MemberIdentity.id.desc(),
            )
        )
        if agency_id is not None:
            query = query.where(Member.agency_id == agency_id)
        if only is not None:
            query = query.where(Member.id == only)
        if role is not None:
            query = query.where(Member.role == role.value)
        chosen: dict[int, tuple[int, str, str]] = {}
        for member_id, channel, chat_id in (await self._session.execute(query)).all():
            chosen.setdefault(member_id, (member_id, channel, chat_id))
        return list(chosen.values())

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
