"""report versions: one row per version of an agency's report on a task in a cycle

Revision ID: 0004_report_versions
Revises: 0003
Create Date: 2026-12-06 19:30:00

Two confirmations of the same report at the same moment (two officers of an agency, or one
officer's update handled by two processes) could both read "the latest is version N" and both
write version N+1. A unique index on (cycle, task, agency, version) now forbids that; the
repository retries with the next number. Rows already duplicated are renumbered first, in the
order they arrived (version, then time, then id), and each is linked to the one before it.
"""

from collections.abc import Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision: str = "0004_report_versions"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_submission_cycle_task_agency_version"

_submission = sa.table(
    "submission",
    sa.column("id", sa.Integer),
    sa.column("cycle_id", sa.Integer),
    sa.column("task_id", sa.Integer),
    sa.column("agency_id", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("supersedes_id", sa.Integer),
    sa.column("created_at", sa.DateTime),
)


def _renumber_duplicates() -> None:
    """Renumber every report that has two rows of one version: 1..n, each linked to the last."""
    s = _submission
    connection = op.get_bind()
    duplicated = (
        sa.select(s.c.cycle_id, s.c.task_id, s.c.agency_id)
        .group_by(s.c.cycle_id, s.c.task_id, s.c.agency_id, s.c.version)
        .having(sa.func.count() > 1)
        .distinct()
    )
    groups = {tuple(row) for row in connection.execute(duplicated)}
    if not groups:
        return
    rows = connection.execute(
        sa.select(s.c.id, s.c.cycle_id, s.c.task_id, s.c.agency_id).order_by(
            s.c.cycle_id, s.c.task_id, s.c.agency_id, s.c.version, s.c.created_at, s.c.id
        )
    ).all()
    for key, members in groupby(rows, key=lambda row: (row[1], row[2], row[3])):
        if key not in groups:
            continue
        previous = None
        for number, row in enumerate(members, start=1):
            connection.execute(
                sa.update(s).where(s.c.id == row[0]).values(version=number, supersedes_id=previous)
            )
            previous = row[0]


def upgrade() -> None:
    _renumber_duplicates()
    op.create_index(
        INDEX, "submission", ["cycle_id", "task_id", "agency_id", "version"], unique=True
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="submission")
