"""member name key and invitation failures

Revision ID: 0005_member_name_key
Revises: 0004_report_versions
Create Date: 2026-12-06 19:20:00

Members' names are compared by a key (Unicode NFC, case-folded, whitespace collapsed) kept in
a column, because SQLite's ``lower()`` folds ASCII letters only ("Đặng" would never match
"đặng"); existing members get theirs here. Failed invitation codes are recorded so that
guessing can be limited across every account and every process.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_member_name_key"
down_revision: str | None = "0004_report_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u200e", "\u200f"}


def _name_key(text: str) -> str:
    """The key as this revision defines it (a copy: migrations do not follow later code)."""
    text = "".join(
        ch
        for ch in unicodedata.normalize("NFC", text)
        if ch not in _INVISIBLE
        and (ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cs"))
    )
    return unicodedata.normalize("NFC", " ".join(text.split()).casefold())[:200]


def upgrade() -> None:
    # Added in place, never by rebuilding the table: on SQLite a rebuild of ``member`` fails
    # while reports, accounts and the outbox refer to it (foreign keys are enforced).
    op.add_column(
        "member",
        sa.Column("name_key", sa.String(length=200), nullable=False, server_default=""),
    )
    member = sa.table(
        "member",
        sa.column("id", sa.Integer()),
        sa.column("full_name", sa.String()),
        sa.column("name_key", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(member.c.id, member.c.full_name)).all()
    for member_id, full_name in rows:
        connection.execute(
            member.update().where(member.c.id == member_id).values(name_key=_name_key(full_name))
        )
    op.create_index(op.f("ix_member_name_key"), "member", ["name_key"], unique=False)

    op.create_table(
        "invitation_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_failure")),
    )
    with op.batch_alter_table("invitation_failure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_failure_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("invitation_failure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_failure_at"))
    op.drop_table("invitation_failure")
    op.drop_index(op.f("ix_member_name_key"), table_name="member")
    op.drop_column("member", "name_key")  # SQLite 3.35+ drops a column in place
