"""Places of digital help (national open data), ateliers, registrations and the notifications outbox.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source_id", sa.String(255), nullable=False, unique=True),
        sa.Column("nom", sa.String(500), nullable=False),
        sa.Column("commune", sa.String(255), nullable=False),
        sa.Column("code_postal", sa.String(10)),
        sa.Column("code_insee", sa.String(10)),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("approximate", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("services", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("imported_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("retired_at", WHEN),
    )
    op.create_index("ix_places_retired_at", "places", ["retired_at"])
    op.create_table(
        "ateliers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("uid", sa.String(255), nullable=False),
        sa.Column("start", WHEN, nullable=False),
        sa.Column("end", WHEN, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("theme", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("place_source_id", sa.String(255)),
        sa.Column("conseiller", sa.String(255), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("public", sa.String(255), nullable=False),
        sa.Column("accessibility", sa.Text(), nullable=False),
        sa.Column("cancelled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("uid", "start", name="uq_ateliers_uid_start"),
    )
    op.create_index("ix_ateliers_place_start", "ateliers", ["place_source_id", "start"])
    op.create_table(
        "registrations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("atelier_id", sa.Integer(), sa.ForeignKey("ateliers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("citizen_id", sa.Integer(), sa.ForeignKey("citizens.id", ondelete="CASCADE"), nullable=False),
        sa.Column("chat_id", sa.BigInteger()),
        sa.Column("first_name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.UniqueConstraint("atelier_id", "citizen_id", name="uq_registrations_atelier_citizen"),
    )
    op.create_index("ix_registrations_atelier_status", "registrations", ["atelier_id", "status"])
    op.create_index("ix_registrations_citizen_id", "registrations", ["citizen_id"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger()),
        sa.Column("due_at", WHEN, nullable=False),
        sa.Column("claimed_at", WHEN),
        sa.Column("sent_at", WHEN),
        sa.Column("outcome", sa.String(16)),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("kind", "ref_id", name="uq_notifications_kind_ref"),
    )
    op.create_index("ix_notifications_due", "notifications", ["sent_at", "due_at"])


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("registrations")
    op.drop_table("ateliers")
    op.drop_table("places")
