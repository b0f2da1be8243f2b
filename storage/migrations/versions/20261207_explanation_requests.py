"""explanation requests: the coordinator asks a late or blocked agency to explain

Revision ID: 0015_explanations
Revises: 0014_review
Create Date: 2026-12-07 01:30:00

One row per request (the agency, the task or the late tasks asked about, the answer deadline,
the answer once given) and one row per reminder decided about an unanswered request, with the
same unique key as the deadline reminders' decisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_explanations"
down_revision: str | None = "0014_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the explanation_request and explanation_reminder tables."""
    op.create_table(
        "explanation_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("task_codes", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("asked_by", sa.Integer(), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_explanation_request_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["member.id"],
            name=op.f("fk_explanation_request_answered_by_member"),
        ),
        sa.ForeignKeyConstraint(
            ["asked_by"], ["member.id"], name=op.f("fk_explanation_request_asked_by_member")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_explanation_request_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["task.id"], name=op.f("fk_explanation_request_task_id_task")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explanation_request")),
    )
    op.create_index(
        "ix_explanation_request_cycle_agency",
        "explanation_request",
        ["cycle_id", "agency_id"],
        unique=False,
    )
    op.create_table(
        "explanation_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_explanation_reminder_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_explanation_reminder_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["explanation_request.id"],
            name=op.f("fk_explanation_reminder_request_id_explanation_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_explanation_reminder")),
        sa.UniqueConstraint(
            "request_id",
            "step",
            "member_id",
            name=op.f("uq_explanation_reminder_request_id_step_member_id"),
        ),
    )


def downgrade() -> None:
    """Drop the explanation tables."""
    op.drop_table("explanation_reminder")
    op.drop_index("ix_explanation_request_cycle_agency", table_name="explanation_request")
    op.drop_table("explanation_request")
