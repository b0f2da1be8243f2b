"""pgi results: each year's published PGI scores and rank, corrections kept

Revision ID: 0016_pgi_results
Revises: 0015_explanations
Create Date: 2026-12-07 02:00:00

The coordinator records the PGI's published results of each year (a score per component
index, the total, the rank). A row is never updated: a correction is a new row pointing at
the one it corrects, so a past year's figure is never silently rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_pgi_results"
down_revision: str | None = "0015_explanations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the pgi_result table."""
    op.create_table(
        "pgi_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("index_code", sa.String(length=20), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("out_of", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], name=op.f("fk_pgi_result_plan_id_plan")),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f("fk_pgi_result_member_id_member")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["pgi_result.id"],
            name=op.f("fk_pgi_result_supersedes_id_pgi_result"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pgi_result")),
    )
    op.create_index(op.f("ix_pgi_result_plan_id"), "pgi_result", ["plan_id"])


def downgrade() -> None:
    """Drop the pgi_result table."""
    op.drop_index(op.f("ix_pgi_result_plan_id"), table_name="pgi_result")
    op.drop_table("pgi_result")
