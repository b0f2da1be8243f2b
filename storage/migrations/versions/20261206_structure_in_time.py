"""structure in time: when agencies exist, when assignments hold, the plan as written

Revision ID: 0008_structure_in_time
Revises: 0007_instances
Create Date: 2026-12-06 22:30:00

An agency exists from ``valid_from`` until ``valid_to`` (the first day it no longer exists);
an assignment holds from ``valid_from`` until ``valid_to``, so one task can be led by the
districts until 01/07/2025 and by the communes from then on, and a past year keeps the
assignments it had. ``plan.structure`` keeps the plan as written (each task's leads and
supports by code, the groups, the successions) so that the assignments can be rebuilt after a
reorganisation. Agencies merged or retired before this revision end on their change date;
their assignments were moved or removed then, and the next import of the plan rebuilds them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_structure_in_time"
down_revision: str | None = "0007_instances"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_agency = sa.table(
    "agency",
    sa.column("status", sa.String),
    sa.column("changed_on", sa.Date),
    sa.column("valid_to", sa.Date),
)


def upgrade() -> None:
    # Added in place, never by rebuilding the table: on SQLite a rebuild of ``agency`` or
    # ``plan`` fails while other tables refer to them (foreign keys are enforced).
    op.add_column("agency", sa.Column("valid_from", sa.Date(), nullable=True))
    op.add_column("agency", sa.Column("valid_to", sa.Date(), nullable=True))
    op.execute(
        sa.update(_agency)
        .where(_agency.c.status.in_(("merged", "retired")))
        .values(valid_to=_agency.c.changed_on)
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_constraint("uq_assignment_task_id_agency_id_role", type_="unique")
        batch_op.add_column(sa.Column("valid_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("valid_to", sa.Date(), nullable=True))
    op.add_column("plan", sa.Column("structure", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("plan", "structure")  # SQLite 3.35+ drops a column in place
    # Only what holds today survives: the table had one row per task, agency and role.
    op.execute(sa.text("DELETE FROM assignment WHERE valid_to IS NOT NULL"))
    op.execute(
        sa.text(
            "DELETE FROM assignment WHERE id NOT IN (SELECT min(id) FROM assignment "
            "GROUP BY task_id, agency_id, role)"
        )
    )
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("valid_to")
        batch_op.drop_column("valid_from")
        batch_op.create_unique_constraint(
            "uq_assignment_task_id_agency_id_role", ["task_id", "agency_id", "role"]
        )
    op.drop_column("agency", "valid_to")
    op.drop_column("agency", "valid_from")
