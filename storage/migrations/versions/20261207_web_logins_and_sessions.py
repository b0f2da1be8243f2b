"""web logins and sessions: the dashboard's one-time links and the sessions they open; an
index of reports by state

Revision ID: 0010_web_logins
Revises: 0009_calendar_days
Create Date: 2026-12-07 01:40:00

A member asks ``/web`` in chat (or the administrator runs ``pgibot web link``) and gets a link
valid for 10 minutes, used once; opening it starts a session of the dashboard. Only the SHA-256
of a link's token and of a session's cookie is stored.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_web_logins"
down_revision: str | None = "0009_calendar_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, closed: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(closed, sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["member.id"], name=op.f(f"fk_{name}_member_id_member")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{name}_token_hash")),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{name}_member_id"), ["member_id"], unique=False)


def upgrade() -> None:
    """Add the web_login and web_session tables and the index of reports by state."""
    _table("web_login", "used_at")
    _table("web_session", "ended_at")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index("ix_submission_cycle_status", ["cycle_id", "status"], unique=False)


def downgrade() -> None:
    """Drop the index of reports by state, the web_login and web_session tables."""
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index("ix_submission_cycle_status")
    for name in ("web_session", "web_login"):
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_member_id"))
        op.drop_table(name)
