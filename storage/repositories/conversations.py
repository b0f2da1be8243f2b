"""Conversations: where each chat stands, kept per (channel, chat) in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.domain.conversation import ChoiceOffer, ConversationState
from storage.models import ChoiceOffer as OfferRow
from storage.models import Conversation
from storage.repositories.members import _state_of

_CONVERSATION = Conversation.__table__

_CONVERSATION_GET = select(_CONVERSATION.c.state, _CONVERSATION.c.data).where(
    _CONVERSATION.c.channel == bindparam("channel"),
    _CONVERSATION.c.chat_id == bindparam("chat"),
)


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

_OFFER = OfferRow.__table__

_OFFER_GET = select(_OFFER.c.choices, _OFFER.c.labels, _OFFER.c.offered_at).where(
    _OFFER.c.channel == bindparam("channel"), _OFFER.c.chat_id == bindparam("chat")
)


def _offer_upsert(insert: Any) -> Any:
    statement = insert(_OFFER)
    return statement.on_conflict_do_update(
        index_elements=[_OFFER.c.channel, _OFFER.c.chat_id],
        set_={
            "choices": statement.excluded.choices,
            "labels": statement.excluded.labels,
            "offered_at": statement.excluded.offered_at,
        },
        where=_OFFER.c.offered_at <= statement.excluded.offered_at,  # the later delivery wins
    )


_OFFER_UPSERT = {
    "sqlite": _offer_upsert(sqlite.insert),
    "postgresql": _offer_upsert(postgresql.insert),
}


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

    async def offer(self, channel: str, chat_id: str, offer: ChoiceOffer) -> None:
        """Record the numbered choices a notification delivered to a chat listed.

        One row per chat, replaced by a later delivery only (two instances may deliver two
        notifications to one chat at nearly the same moment).
        """
        dialect = self._session.get_bind().dialect.name
        await self._session.execute(
            _OFFER_UPSERT[dialect],
            {
                "channel": channel,
                "chat_id": chat_id,
                "choices": list(offer.choices),
                "labels": list(offer.labels),
                "offered_at": offer.offered_at,
            },
        )

    async def offered(self, channel: str, chat_id: str) -> ChoiceOffer | None:
        """Return the numbered choices the last notification delivered to a chat listed."""
        row = (
            await self._session.execute(_OFFER_GET, {"channel": channel, "chat": chat_id})
        ).first()
        if row is None:
            return None
        return ChoiceOffer(
            tuple(str(c) for c in row.choices), tuple(str(c) for c in row.labels), row.offered_at
        )
