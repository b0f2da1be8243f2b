"""SQLAlchemy models: the plan, who reports, what they reported, and the delivery tables.

Alembic migrations are the only way the schema is made; these models are what the migrations
were written from and what the repositories query. Repositories turn rows into the plain
dataclasses of :mod:`bot.core.domain`; nothing outside ``storage`` sees a model.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from bot.core.domain.members import name_key

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp, stored the same way on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every model, with a naming convention for constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


# --- the plan -----------------------------------------------------------------------------


class Agency(Base):
    """A provincial department, district committee or other body that reports."""

    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default="active")
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    changed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    valid_from: Mapped[date | None] = mapped_column(Date)
    """The first day the agency exists (None: before the plan)."""
    valid_to: Mapped[date | None] = mapped_column(Date)
    """The first day it no longer exists: merged into its successor, or retired."""


class AgencyName(Base):
    """A name an agency used to have, kept when it is renamed."""

    __tablename__ = "agency_name"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str] = mapped_column(String(100))
    used_until: Mapped[date]


class Plan(Base):
    """A provincial plan: one document, many yearly cycles."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(Text)
    short_title: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(100))
    issuer: Mapped[str] = mapped_column(String(200))
    signer: Mapped[str | None] = mapped_column(String(200))
    goal: Mapped[str | None] = mapped_column(Text)
    first_year: Mapped[int]
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"))
    baseline: Mapped[dict[str, Any]]
    source_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]
    structure: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The plan as written: tasks' leads and supports by code, groups, successions."""


class AgencyGroup(Base):
    """A named set of agencies a task can be assigned to, such as the district committees."""

    __tablename__ = "agency_group"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    kinds: Mapped[list[Any]]
    exclude_named_in_index: Mapped[bool] = mapped_column(Boolean, default=False)


class AgencyGroupMember(Base):
    """An agency listed by name in a group."""

    __tablename__ = "agency_group_member"

    group_id: Mapped[int] = mapped_column(ForeignKey("agency_group.id"), primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), primary_key=True)


class PlanIndex(Base):
    """A component index of the PGI (chỉ số thành phần)."""

    __tablename__ = "plan_index"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    code: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    baseline_year: Mapped[int]
    baseline_score: Mapped[float] = mapped_column(Float)
    target_score: Mapped[float] = mapped_column(Float)
    increase: Mapped[float] = mapped_column(Float)
    change_from_previous_year: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)


class PgiResultEntry(Base):
    """A published PGI figure of a year: an index's score (or the total) and the rank.

    Never updated: a correction is a new row pointing at the one it corrects.
    """

    __tablename__ = "pgi_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    year: Mapped[int]
    index_code: Mapped[str] = mapped_column(String(20))
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None]
    out_of: Mapped[int | None]
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("pgi_result.id"))


class MilestoneRule(Base):
    """A deadline that recurs in every cycle, such as the results report due 10/12."""

    __tablename__ = "milestone_rule"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    due_month: Mapped[int]
    due_day: Mapped[int]
    recipients: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    period: Mapped[str | None] = mapped_column(String(10))
    """``quarter`` or ``half_year`` for a periodic report; None: the year."""
    cutoff: Mapped[str | None] = mapped_column(String(5))
    """The last day its figures count, ``dd/mm``, if the plan file fixes one."""


class Task(Base):
    """A task (nhiệm vụ, giải pháp) of the plan."""

    __tablename__ = "task"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    index_id: Mapped[int | None] = mapped_column(ForeignKey("plan_index.id"))
    code: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    section: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    milestone_rule_id: Mapped[int | None] = mapped_column(ForeignKey("milestone_rule.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Assignment(Base):
    """An agency leading or supporting a task, from one day until another."""

    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    via_group: Mapped[str | None] = mapped_column(String(40))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    """The first day the assignment no longer holds (None: it still does)."""


class Cycle(Base):
    """A yearly reporting cycle of a plan."""

    __tablename__ = "cycle"
    __table_args__ = (UniqueConstraint("plan_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    year: Mapped[int]


class Milestone(Base):
    """A dated deadline of one cycle."""

    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("cycle_id", "rule_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    rule_id: Mapped[int] = mapped_column(ForeignKey("milestone_rule.id"))
    due_date: Mapped[date] = mapped_column(Date)


# --- people -------------------------------------------------------------------------------


def _name_key_of_row(context: Any) -> str:
    """Compute a new member's name key in an insert that did not give one (bulk inserts)."""
    return name_key(context.get_current_parameters()["full_name"])[:200]


class Member(Base):
    """A person who uses the bot for an agency: officer, leader, coordinator or admin."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(
        String(200), index=True, default=_name_key_of_row, server_default=""
    )
    """The full name as names are compared (:func:`bot.core.domain.members.name_key`), set with it:
    by the model when the name is set, by the column default in bulk inserts."""
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    language: Mapped[str] = mapped_column(String(10), default="vi")
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    """The channel notifications go to when the member has accounts on several."""
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"))
    created_at: Mapped[datetime]

    @validates("full_name")
    def _keep_name_key(self, key: str, full_name: str) -> str:
        """Keep the name's comparison key in step with every write of the name."""
        self.name_key = name_key(full_name)[:200]
        return full_name


class MemberIdentity(Base):
    """A member's account on one channel."""

    __tablename__ = "member_identity"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(255))
    chat_id: Mapped[str] = mapped_column(String(255))
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class LinkCode(Base):
    """A one-time code that links a member's account on another channel."""

    __tablename__ = "link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebLogin(Base):
    """A one-time link that opens the dashboard: only its SHA-256 is kept."""

    __tablename__ = "web_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebSession(Base):
    """A dashboard session opened by a login link: only its SHA-256 is kept."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Invitation(Base):
    """A code that lets a person join an agency with a role."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    role: Mapped[str] = mapped_column(String(20))
    max_uses: Mapped[int]
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]


class InvitationFailure(Base):
    """A code tried that was no invitation: counted across every account to stop guessing."""

    __tablename__ = "invitation_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(255))


# --- reports ------------------------------------------------------------------------------


class Submission(Base):
    """One version of an agency's report on a task in a cycle."""

    __tablename__ = "submission"
    __table_args__ = (
        Index("ix_submission_cycle_task_agency", "cycle_id", "task_id", "agency_id"),
        Index("ix_submission_cycle_status", "cycle_id", "status"),
        Index(
            "uq_submission_cycle_task_agency_version",
            "cycle_id",
            "task_id",
            "agency_id",
            "version",
            unique=True,
        ),
        Index("ix_submission_review_state_created_at", "review_state", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    milestone_id: Mapped[int | None] = mapped_column(ForeignKey("milestone.id"))
    status: Mapped[str] = mapped_column(String(20))
    progress: Mapped[int]
    results: Mapped[str] = mapped_column(Text)
    difficulties: Mapped[str | None] = mapped_column(Text)
    proposals: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]
    review_state: Mapped[str] = mapped_column(
        String(10), default="waiting", server_default="waiting"
    )
    """``bot.core.domain.review.ReviewState``: waiting until accepted or returned."""
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    reviewed_at: Mapped[datetime | None]
    review_reason: Mapped[str | None] = mapped_column(Text)
    """What to add or correct, when the version was returned."""
    leader_reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    """The agency leader who accepted the version and forwarded it (``PGIBOT_LEADER_REVIEW``)."""
    leader_reviewed_at: Mapped[datetime | None]
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    """The days its figures count from and to ("Số liệu tính từ ngày … đến ngày …")."""


class Reopening(Base):
    """Leave for one agency to report on one task (or every task) of a year until a date."""

    __tablename__ = "reopening"
    __table_args__ = (Index("ix_reopening_cycle_agency", "cycle_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    """None: every task of the agency."""
    until_date: Mapped[date]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    granted_at: Mapped[datetime]


class Attachment(Base):
    """An evidence file (minh chứng) stored under the data folder."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(500))
    platform_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]


# --- conversation and delivery ------------------------------------------------------------


class Conversation(Base):
    """Where a chat stands in a multi-step conversation, kept across restarts."""

    __tablename__ = "conversation"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ChoiceOffer(Base):
    """The numbered choices the last notification delivered to a chat without buttons listed.

    Recorded when the notification is sent, so that a number typed afterwards names one of
    them, whichever instance receives it (see :mod:`bot.core.domain.conversation`).
    """

    __tablename__ = "choice_offer"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    choices: Mapped[list[Any]]
    labels: Mapped[list[Any]]
    offered_at: Mapped[datetime]


class InboxUpdate(Base):
    """A platform update, recorded before the platform is told it arrived."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "update_key"),
        Index("ix_inbox_channel_chat_id", "channel", "chat_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    update_key: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]]
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    chat_id: Mapped[str | None] = mapped_column(String(255))
    """The chat the update came from (one chat's updates are handled in order)."""


class OutboxMessage(Base):
    """A notification decided on and waiting to be delivered."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(255))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]]
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """The instance sending it (status ``sending``)."""
    lease_until: Mapped[datetime | None]
    """Until when the claim holds: no other instance takes the message over before."""


class ReminderDecision(Base):
    """The decision to remind one member of one agency about one milestone at one step."""

    __tablename__ = "reminder_decision"
    __table_args__ = (UniqueConstraint("milestone_id", "agency_id", "step", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    step: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    decided_at: Mapped[datetime]


class AuditEntry(Base):
    """Something worth answering for later: a registration, a refusal, a forged button."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    channel: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any]]


class JobRun(Base):
    """The last run of a scheduled job (the reminder sweep, the purge, the daily backup)."""

    __tablename__ = "job_run"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    succeeded: Mapped[bool | None] = mapped_column(Boolean)
    last_success_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class Instance(Base):
    """A running instance of the bot, as its last heartbeat describes it."""

    __tablename__ = "instance"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    leader: Mapped[bool] = mapped_column(Boolean, default=False)


class CalendarDay(Base):
    """A day the province declares a day off, or a working day (a make-up Saturday)."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))
    """``plan`` (the plan file's ``calendar`` section) or ``admin`` (``pgibot calendar add``)."""
    declared_at: Mapped[datetime]


# --- access from outside the chats --------------------------------------------------------


class ApiKey(Base):
    """A key another system reads the API with; only its SHA-256 is stored."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class DownloadLink(Base):
    """A short-lived link to a file the bot could not send on a platform (Zalo)."""

    __tablename__ = "download_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int]
    once: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class AbsenceRow(Base):
    """A member's declared absence, with their stand-in."""

    __tablename__ = "absence"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    stand_in_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    declared_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    welcomed_at: Mapped[datetime | None]
    """When the member was sent the summary of what happened while away."""


class SnoozeRow(Base):
    """A member's "remind me later" on one deadline: no reminder of it to them until then."""

    __tablename__ = "snooze"
    __table_args__ = (UniqueConstraint("member_id", "milestone_id", "until_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id"), index=True)
    until_at: Mapped[datetime]
    created_at: Mapped[datetime]


# --- explanation requests -----------------------------------------------------------------


class ExplanationRequest(Base):
    """The coordinator's request that an agency explain a late or blocked task, and its answer."""

    __tablename__ = "explanation_request"
    __table_args__ = (Index("ix_explanation_request_cycle_agency", "cycle_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("task.id"))
    """The task asked about; None for the agency's late tasks (listed in ``task_codes``)."""
    task_codes: Mapped[str] = mapped_column(Text)
    """The codes of the tasks asked about, comma-separated, as they were when asked."""
    reason: Mapped[str] = mapped_column(String(20))
    asked_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    asked_at: Mapped[datetime]
    due_date: Mapped[date] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    answered_at: Mapped[datetime | None]


class ExplanationReminder(Base):
    """The decision to remind one member of an unanswered explanation request at one step."""

    __tablename__ = "explanation_reminder"
    __table_args__ = (UniqueConstraint("request_id", "step", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("explanation_request.id"))
    step: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    decided_at: Mapped[datetime]


class ExtensionRequest(Base):
    """A deadline extension of an agency's tasks: asked by its officer, or granted unasked."""

    __tablename__ = "extension_request"
    __table_args__ = (
        Index("ix_extension_request_cycle_agency", "cycle_id", "agency_id"),
        Index("ix_extension_request_state", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    milestone_id: Mapped[int] = mapped_column(ForeignKey("milestone.id"))
    """The deadline it moves."""
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id"))
    task_codes: Mapped[str] = mapped_column(Text)
    """The codes of the tasks it moves, comma-separated; empty: the whole report."""
    original_due: Mapped[date] = mapped_column(Date)
    asked_until: Mapped[date | None] = mapped_column(Date)
    """The day asked for; None when granted unasked."""
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    requested_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    granted_until: Mapped[date | None] = mapped_column(Date)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("member.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
