"""extensions: an agency's deadline for some tasks moved to a later day

Revision ID: 0018_extensions
Revises: 0017_report_periods
Create Date: 2026-12-07 05:00:00

One row per extension: the agency, the deadline (milestone) and the tasks it moves (or the
whole report), the day asked for and why, who asked, and the coordinator's decision (granted
until a day, or refused with a reason; by whom, when).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_extensions"
down_revision: str | None = "0017_report_periods"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the extension_request table."""
    op.create_table(
        "extension_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("task_codes", sa.Text(), nullable=False),
        sa.Column("original_due", sa.Date(), nullable=False),
        sa.Column("asked_until", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("granted_until", sa.Date(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_extension_request_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_extension_request_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["member.id"], name=op.f("fk_extension_request_decided_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["milestone.id"],
            name=op.f("fk_extension_request_milestone_id_milestone"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["member.id"],
            name=op.f("fk_extension_request_requested_by_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extension_request")),
    )
    op.create_index(
        "ix_extension_request_cycle_agency",
        "extension_request",
        ["cycle_id", "agency_id"],
        unique=False,
    )
    op.create_index("ix_extension_request_state", "extension_request", ["state"], unique=False)


def downgrade() -> None:
    """Drop the extension_request table."""
    op.drop_index("ix_extension_request_state", table_name="extension_request")
    op.drop_index("ix_extension_request_cycle_agency", table_name="extension_request")
    op.drop_table("extension_request")
