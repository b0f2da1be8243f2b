"""choice offers: the numbered choices a notification delivered to a chat without buttons listed

Revision ID: 0019_choice_offers
Revises: 0018_extensions
Create Date: 2026-12-07 05:00:00

On Zalo (no buttons) a notification's choices are numbered lines. The outbox records them per
chat when it delivers the notification, so that a number typed afterwards names one of them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_choice_offers"
down_revision: str | None = "0018_extensions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the choice_offer table."""
    op.create_table(
        "choice_offer",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("chat_id", sa.String(length=255), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_id", name=op.f("pk_choice_offer")),
    )


def downgrade() -> None:
    """Drop the choice_offer table."""
    op.drop_table("choice_offer")
