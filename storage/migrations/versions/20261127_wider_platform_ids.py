"""wider platform ids: chat, user and update keys up to 255 characters

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:30:00

Zalo's event keys (``event_name:message_id``) come close to 64 characters, and nothing in
either platform's documentation promises ids that short; PostgreSQL refuses a longer value,
which would stop the intake. SQLite does not enforce the length; its tables are rebuilt only
so that the schema says the same on both.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "member_identity": ("user_id", "chat_id"),
    "conversation": ("chat_id",),
    "inbox": ("update_key",),
    "outbox": ("chat_id",),
    "audit_log": ("user_id",),
}
NULLABLE = {("audit_log", "user_id")}


def _resize(old: int, new: int) -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column,
                    existing_type=sa.String(length=old),
                    type_=sa.String(length=new),
                    existing_nullable=(table, column) in NULLABLE,
                )


def upgrade() -> None:
    _resize(64, 255)


def downgrade() -> None:
    _resize(255, 64)
