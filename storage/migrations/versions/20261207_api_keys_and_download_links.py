"""api keys and download links

Revision ID: 0011_api_keys
Revises: 0010_web_logins
Create Date: 2026-12-07 01:45:00

``api_key``: the keys other provincial systems read ``/api/v1`` with, created and revoked by
the administrator; only the key's SHA-256 is kept. ``download_link``: a short-lived (or
one-use) link to a file the bot could not send on a platform without files (Zalo); the token
is kept as its SHA-256 too, the file under ``downloads/`` of the data folder by its SHA-256.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_api_keys"
down_revision: str | None = "0010_web_logins"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the api_key and download_link tables."""
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "download_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("once", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_download_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_download_link_token_hash")),
    )
    op.create_index(op.f("ix_download_link_sha256"), "download_link", ["sha256"])
    op.create_index(op.f("ix_download_link_expires_at"), "download_link", ["expires_at"])


def downgrade() -> None:
    """Drop the api_key and download_link tables."""
    op.drop_index(op.f("ix_download_link_expires_at"), table_name="download_link")
    op.drop_index(op.f("ix_download_link_sha256"), table_name="download_link")
    op.drop_table("download_link")
    op.drop_table("api_key")
