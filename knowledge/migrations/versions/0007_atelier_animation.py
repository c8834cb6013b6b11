"""Ateliers run by a staff member: who animates each one, attendance, and a cancellation made by the team.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ateliers") as batch:
        batch.add_column(
            sa.Column(
                "staff_member_id",
                sa.Integer(),
                sa.ForeignKey("staff_members.id", ondelete="SET NULL", name="fk_ateliers_staff_member"),
            )
        )
        batch.add_column(sa.Column("cancelled_by_team", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_index("ix_ateliers_staff_member_start", ["staff_member_id", "start"])
    with op.batch_alter_table("registrations") as batch:
        batch.add_column(sa.Column("attended", sa.Boolean()))


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("attended")
    with op.batch_alter_table("ateliers") as batch:
        batch.drop_index("ix_ateliers_staff_member_start")
        batch.drop_column("cancelled_by_team")
        batch.drop_column("staff_member_id")
