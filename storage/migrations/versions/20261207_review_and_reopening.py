"""review and reopening: each report version's review, and reports reopened after a deadline

Revision ID: 0014_review
Revises: 0013_inbox_chat
Create Date: 2026-12-07 01:40:00

Every version of a report waits for review ("waiting") until the coordinator accepts or
returns it: the submission keeps its review state, who reviewed it, when, and the reason of a
return. A reopening lets one agency report on one task (or every task) of a year after the
deadline, until a date.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_review"
down_revision: str | None = "0013_inbox_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FK_REVIEWER = "fk_submission_reviewed_by_id_member"
INDEX = "ix_submission_review_state_created_at"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Add the review columns of a submission and the reopening table.

    On SQLite the columns are added in place (``ALTER TABLE ADD COLUMN``, the reviewer's
    reference inline): copying the submission table, as a batch would, breaks the rows that
    refer to it (attachments, later versions) while foreign keys are on.
    """
    op.add_column(
        "submission",
        sa.Column("review_state", sa.String(length=10), nullable=False, server_default="waiting"),
    )
    if _sqlite():
        op.execute(
            "ALTER TABLE submission ADD COLUMN reviewed_by_id INTEGER REFERENCES member (id)"
        )
    else:
        op.add_column("submission", sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK_REVIEWER, "submission", "member", ["reviewed_by_id"], ["id"])
    op.add_column(
        "submission", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("submission", sa.Column("review_reason", sa.Text(), nullable=True))
    op.create_index(INDEX, "submission", ["review_state", "created_at"])
    op.create_table(
        "reopening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("until_date", sa.Date(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycle.id"], name=op.f("fk_reopening_cycle_id_cycle")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agency.id"], name=op.f("fk_reopening_agency_id_agency")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_reopening_task_id_task")),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["member.id"], name=op.f("fk_reopening_granted_by_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reopening")),
    )
    op.create_index(
        "ix_reopening_cycle_agency", "reopening", ["cycle_id", "agency_id"], unique=False
    )


def downgrade() -> None:
    """Drop the reopening table and the review columns (in place on SQLite too)."""
    op.drop_index("ix_reopening_cycle_agency", table_name="reopening")
    op.drop_table("reopening")
    op.drop_index(INDEX, table_name="submission")
    if not _sqlite():
        op.drop_constraint(FK_REVIEWER, "submission", type_="foreignkey")
    for name in ("review_reason", "reviewed_at", "reviewed_by_id", "review_state"):
        op.drop_column("submission", name)
