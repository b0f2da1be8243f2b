"""inbox chat: the chat of each recorded update, for one chat's order across instances

Revision ID: 0013_inbox_chat
Revises: 0012_absences_snoozes
Create Date: 2026-12-07 01:40:00

Each inbox row names the chat its update came from (``chat_id``; empty when the update names
none). Before a transaction handles updates of a chat on PostgreSQL it takes that chat's
advisory lock and handles first any earlier update of the chat still waiting in the inbox,
whichever instance recorded it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_inbox_chat"
down_revision: str | None = "0012_absences_snoozes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add inbox.chat_id and an index of the unprocessed updates by chat."""
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("chat_id", sa.String(length=255), nullable=True))
        batch.create_index("ix_inbox_channel_chat_id", ["channel", "chat_id"])


def downgrade() -> None:
    """Drop the chat of inbox rows."""
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_channel_chat_id")
        batch.drop_column("chat_id")
