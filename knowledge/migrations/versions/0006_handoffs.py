"""Handoffs to a human conseiller and their messages (masked).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("citizen_id", sa.Integer(), sa.ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("topic", sa.String(64)),
        sa.Column("commune", sa.String(255)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("claimed_at", WHEN),
        sa.Column("claimed_by_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("conseiller_name", sa.String(64), nullable=False),
        sa.Column("last_activity_at", WHEN, nullable=False),
        sa.Column("closed_at", WHEN),
        sa.Column("outcome", sa.String(16)),
        sa.Column("satisfaction", sa.Integer()),
        sa.Column("expires_at", WHEN, nullable=False),
    )
    op.create_index("ix_handoffs_citizen_id", "handoffs", ["citizen_id"])
    op.create_index("ix_handoffs_status_created", "handoffs", ["status", "created_at"])
    op.create_index("ix_handoffs_chat_status", "handoffs", ["chat_id", "status"])
    op.create_table(
        "handoff_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("handoff_id", sa.Integer(), sa.ForeignKey("handoffs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("relayed_chat_id", sa.BigInteger()),
        sa.Column("relayed_id", sa.BigInteger()),
        sa.Column("created_at", WHEN, nullable=False),
    )
    op.create_index("ix_handoff_messages_handoff_id", "handoff_messages", ["handoff_id"])
    op.create_index("ix_handoff_messages_relay", "handoff_messages", ["relayed_chat_id", "relayed_id"])


def downgrade() -> None:
    op.drop_table("handoff_messages")
    op.drop_table("handoffs")
