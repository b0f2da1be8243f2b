"""instances and outbox leases: several instances on one PostgreSQL database

Revision ID: 0007_instances
Revises: 0006_job_runs
Create Date: 2026-12-06 23:30:00

An outbox message being sent names the instance that claimed it and how long its claim lasts
(``claimed_by``, ``lease_until``): another instance takes it over only once the lease has run
out. Each running instance writes a heartbeat row (``instance``), which ``pgibot status`` lists.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_instances"
down_revision: str | None = "0006_job_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the outbox's lease columns and the instance table."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "instance",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("leader", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance")),
    )


def downgrade() -> None:
    """Drop the instance table and the outbox's lease columns."""
    op.drop_table("instance")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("claimed_by")
