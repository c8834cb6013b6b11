"""Staff accounts by invitation: structures, staff members, single-use invitations (hashed codes).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "structures",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("commune", sa.String(255), nullable=False),
        sa.Column("place_source_id", sa.String(255)),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_table(
        "staff_members",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("first_name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("structure_id", sa.Integer(), sa.ForeignKey("structures.id", ondelete="CASCADE"), nullable=False),
        sa.Column("available", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("joined_at", WHEN, nullable=False),
        sa.Column("removed_at", WHEN),
    )
    op.create_index("ix_staff_members_structure_id", "staff_members", ["structure_id"])
    op.create_table(
        "invitations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("structure_id", sa.Integer(), sa.ForeignKey("structures.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("expires_at", WHEN, nullable=False),
        sa.Column("used_at", WHEN),
        sa.Column("used_by_user_id", sa.BigInteger()),
    )
    op.create_index("ix_invitations_structure_id", "invitations", ["structure_id"])


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("staff_members")
    op.drop_table("structures")
