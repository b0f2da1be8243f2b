"""What a handler gets: the update, the member, the unit of work, the clock and the state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.clock import Clock
from bot.core.domain.conversation import ConversationState
from bot.core.domain.members import MemberInfo, Role
from bot.core.i18n import current_timezone
from bot.core.messages import FileSource, Incoming, Reply
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from handlers.reminders import Reminders


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    """A messaging platform the bot runs on, as conversations speak of it.

    Made by the platform's adapter (``bot.channels``) and passed in by the runtime, so that no
    handler knows a platform by name.
    """

    name: str
    """Its channel's name, on accounts and outbox rows and after /kenh ("telegram")."""
    label: str
    """Its name for people ("Telegram")."""
    chat_link: str | None = None
    """Where a person opens a private chat with the bot, if the platform has such links."""
    start_link: str | None = None
    """A link that opens the chat and sends ``/start CODE``, with ``{code}`` for the code."""

    def invitation_link(self, code: str) -> str | None:
        """Return the link that registers with an invitation code, if the platform has one."""
        return self.start_link.replace("{code}", code) if self.start_link else None


@dataclass(frozen=True, slots=True)
class BotInfo:
    """Facts about the running bot: the platforms it runs on, and where it keeps files."""

    platforms: tuple[PlatformInfo, ...] = ()
    data_dir: Path = Path("data")
    download_timeout: float = 120.0
    """Seconds a file a user sent may take to download, in all."""
    invitation_days: int = 7
    """How long an invitation code made in a chat stays valid (PGIBOT_INVITATION_DAYS)."""
    dashboard_url: str | None = None
    """The web dashboard's address (``…/web/``), where ``/web`` links lead; None if not served."""
    leader_review: bool = False
    """Whether agency leaders review their own agency's reports (PGIBOT_LEADER_REVIEW)."""

    def platform(self, name: str) -> PlatformInfo | None:
        """Return the platform of a channel, None for a channel that is no platform (console)."""
        return next((p for p in self.platforms if p.name == name), None)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an action and from where (a chat, or ``web``): what the audit log records.

    The services that the chat and the dashboard share (accepting a report, returning it)
    take an actor instead of a chat's context.
    """

    member: MemberInfo
    channel: str
    user_id: str | None = None

    def audit(self, uow: UnitOfWork, action: str, now: datetime, **detail: Any) -> None:
        """Write an entry about this actor to the audit log."""
        uow.audit.record(
            action,
            now=now,
            member_id=self.member.id,
            channel=self.channel,
            user_id=self.user_id,
            **detail,
        )


@dataclass(slots=True)
class Context:
    """Everything one handler call may use; the state it leaves is saved by the router."""

    incoming: Incoming
    uow: UnitOfWork
    clock: Clock
    bot: BotInfo
    member: MemberInfo | None
    state: ConversationState = field(default_factory=lambda: ConversationState("idle"))
    files: FileSource | None = None
    queued: bool = False
    """Whether the handler put messages in the outbox."""
    reminders: Reminders | None = None
    """The reminder rules of the running bot (``/nhacnho`` applies them)."""

    def now(self) -> datetime:
        """Return the current moment (UTC)."""
        return self.clock.now()

    def today(self) -> date:
        """Return today's date where the plan is (Asia/Ho_Chi_Minh by default)."""
        return self.clock.now().astimezone(current_timezone()).date()

    def require_member(self) -> MemberInfo:
        """Return the member; handlers behind the router's checks always have one."""
        assert self.member is not None, "handler reached without a registered member"
        return self.member

    def audit(self, action: str, **detail: Any) -> None:
        """Write an entry about this update's sender to the audit log."""
        self.uow.audit.record(
            action,
            now=self.now(),
            member_id=self.member.id if self.member else None,
            channel=self.incoming.channel,
            user_id=self.incoming.user_id,
            **detail,
        )

    def actor(self) -> Actor:
        """Return the member behind this update as the actor of a shared service."""
        return Actor(self.require_member(), self.incoming.channel, self.incoming.user_id)

    def reset(self) -> None:
        """Leave any conversation."""
        self.state = ConversationState("idle")


Handler = Callable[[Context], Awaitable[list[Reply]]]
ChoiceHandler = Callable[[Context, str], Awaitable[list[Reply]]]


@dataclass(frozen=True, slots=True)
class Command:
    """A slash command: who may use it, what it does, and its line in the help."""

    name: str
    description: str
    roles: frozenset[Role]
    handler: Handler


EVERYONE = frozenset(Role)
COORDINATORS = frozenset({Role.COORDINATOR, Role.ADMIN})
