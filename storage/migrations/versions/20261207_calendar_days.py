"""calendar days: the days off and working days the province declares

Revision ID: 0009_calendar_days
Revises: 0008_structure_in_time
Create Date: 2026-12-07 01:40:00

The Government moves working days around holidays each year (a make-up Saturday, a bridged
day off). The ``holidays`` library knows those it has been told of; the province declares the
rest, in the plan file's ``calendar`` section or with ``pgibot calendar add``, one row per day.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_calendar_days"
down_revision: str | None = "0008_structure_in_time"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the calendar_day table."""
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("working", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_day")),
    )


def downgrade() -> None:
    """Drop the calendar_day table."""
    op.drop_table("calendar_day")
