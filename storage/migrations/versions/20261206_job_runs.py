"""job runs: when each scheduled job last ran, and how it ended

Revision ID: 0006_job_runs
Revises: 0005_member_name_key
Create Date: 2026-12-06 21:00:00

``pgibot status`` says when the reminder sweep, the purge and the daily backup last ran and
whether they succeeded; each job writes one row under its name at every run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_job_runs"
down_revision: str | None = "0005_member_name_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the job_run table."""
    op.create_table(
        "job_run",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_run")),
    )


def downgrade() -> None:
    """Drop the job_run table."""
    op.drop_table("job_run")
