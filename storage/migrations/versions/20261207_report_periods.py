"""report periods: the days a report's figures count, and a milestone's period and cut-off

Revision ID: 0017_report_periods
Revises: 0016_pgi_results
Create Date: 2026-12-07 05:00:00

Each version of a report keeps the period its figures cover ("Số liệu tính từ ngày … đến
ngày …"); a deadline rule of the plan keeps whether it is a quarterly or half-yearly report
and the last day its figures count, when the plan file fixes one. Reports stored earlier
have no period (shown as the year's).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_report_periods"
down_revision: str | None = "0016_pgi_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add submission.period_start/period_end and milestone_rule.period/cutoff."""
    with op.batch_alter_table("submission") as batch:
        batch.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("period_end", sa.Date(), nullable=True))
    with op.batch_alter_table("milestone_rule") as batch:
        batch.add_column(sa.Column("period", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("cutoff", sa.String(length=5), nullable=True))


def downgrade() -> None:
    """Drop the columns."""
    with op.batch_alter_table("milestone_rule") as batch:
        batch.drop_column("cutoff")
        batch.drop_column("period")
    with op.batch_alter_table("submission") as batch:
        batch.drop_column("period_end")
        batch.drop_column("period_start")
