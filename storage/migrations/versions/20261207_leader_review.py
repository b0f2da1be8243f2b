"""leader review: an agency leader's acceptance of a report version before the coordinator's

Revision ID: 0020_leader_review
Revises: 0019_choice_offers
Create Date: 2026-12-07 06:00:00

With ``PGIBOT_LEADER_REVIEW`` on, a version of an agency with an active leader waits for that
leader first. The leader's acceptance forwards it to the coordinator: the submission keeps who
accepted it and when; the review state stays "waiting" until the coordinator decides.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_leader_review"
down_revision: str | None = "0019_choice_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_LEADER = "fk_submission_leader_reviewed_by_id_member"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    """Add the leader's acceptance columns of a submission (in place on SQLite)."""
    if _sqlite():
        op.execute(
            "ALTER TABLE submission ADD COLUMN leader_reviewed_by_id INTEGER "
            "REFERENCES member (id)"
        )
    else:
        op.add_column(
            "submission", sa.Column("leader_reviewed_by_id", sa.Integer(), nullable=True)
        )
        op.create_foreign_key(FK_LEADER, "submission", "member", ["leader_reviewed_by_id"], ["id"])
    op.add_column(
        "submission", sa.Column("leader_reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    """Drop the leader's acceptance columns (in place on SQLite too)."""
    if not _sqlite():
        op.drop_constraint(FK_LEADER, "submission", type_="foreignkey")
    for name in ("leader_reviewed_at", "leader_reviewed_by_id"):
        op.drop_column("submission", name)
