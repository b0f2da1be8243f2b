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
    """Add submission.period_start/period_end and milestone_rule.period/cutoff.

    In place on SQLite too (``ALTER TABLE ADD COLUMN``): copying a table, as a batch would,
    breaks the rows that refer to it while foreign keys are on.
    """
    op.add_column("submission", sa.Column("period_start", sa.Date(), nullable=True))
    op.add_column("submission", sa.Column("period_end", sa.Date(), nullable=True))
    op.add_column("milestone_rule", sa.Column("period", sa.String(length=10), nullable=True))
    op.add_column("milestone_rule", sa.Column("cutoff", sa.String(length=5), nullable=True))


def downgrade() -> None:
    """Drop the columns (in place on SQLite too)."""
    for table, name in (
        ("milestone_rule", "cutoff"),
        ("milestone_rule", "period"),
        ("submission", "period_end"),
        ("submission", "period_start"),
    ):
        op.drop_column(table, name)
