"""Loan requests being written (one per médiateur) and the words that name a kit.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("kits") as batch:
        batch.add_column(sa.Column("aliases", sa.JSON(), nullable=False, server_default="[]"))
    op.create_table(
        "loan_drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("kit_id", sa.Integer(), sa.ForeignKey("kits.id", ondelete="CASCADE")),
        sa.Column("first_day", sa.Date()),
        sa.Column("last_day", sa.Date()),
        sa.Column("pickup", WHEN),
        sa.Column("return_slot", WHEN),
        sa.Column("nature", sa.String(32)),
        sa.Column("public", sa.String(32)),
        sa.Column("participants", sa.Integer()),
        sa.Column("awaiting", sa.String(16), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("loan_drafts")
    with op.batch_alter_table("kits") as batch:
        batch.drop_column("aliases")
