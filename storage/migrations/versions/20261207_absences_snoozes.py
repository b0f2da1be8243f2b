"""absences and snoozes: a member away, who stands in; "remind me later" on a deadline

Revision ID: 0012_absences_snoozes
Revises: 0011_api_keys
Create Date: 2026-12-07 02:10:00

While a member is away the reminders meant for them go to their stand-in (or the agency's
other members, or its leaders); ``welcomed_at`` records the one summary sent when they are back.
A snooze holds a member's reminders of one deadline until ``until_at``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_absences_snoozes"
down_revision: str | None = "0011_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the absence and snooze tables."""
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("stand_in_id", sa.Integer(), nullable=True),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_absence_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["stand_in_id"], ["member.id"], name=op.f("fk_absence_stand_in_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["declared_by"], ["member.id"], name=op.f("fk_absence_declared_by_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absence")),
    )
    op.create_index(op.f("ix_absence_member_id"), "absence", ["member_id"])
    op.create_index(op.f("ix_absence_ends_on"), "absence", ["ends_on"])
    op.create_table(
        "snooze",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("until_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_snooze_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"], ["milestone.id"], name=op.f("fk_snooze_milestone_id_milestone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snooze")),
        sa.UniqueConstraint(
            "member_id",
            "milestone_id",
            "until_at",
            name=op.f("uq_snooze_member_id_milestone_id_until_at"),
        ),
    )
    op.create_index(op.f("ix_snooze_milestone_id"), "snooze", ["milestone_id"])


def downgrade() -> None:
    """Drop the absence and snooze tables."""
    op.drop_index(op.f("ix_snooze_milestone_id"), table_name="snooze")
    op.drop_table("snooze")
    op.drop_index(op.f("ix_absence_ends_on"), table_name="absence")
    op.drop_index(op.f("ix_absence_member_id"), table_name="absence")
    op.drop_table("absence")
