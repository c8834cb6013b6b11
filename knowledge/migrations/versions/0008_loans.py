"""Loans of shared equipment: lenders, memberships, kits, bookings (loans and blocks), inspections, incidents.

Active bookings of one kit never overlap, whatever the code does: on PostgreSQL an exclusion constraint over the
time each booking holds the kit (btree_gist); on SQLite, triggers that abort an insert or update that would overlap.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
ACTIVE = "('requested', 'approved', 'checked_out', 'returned', 'active')"
"""The statuses that hold a kit (knowledge/loans/bookings.py ACTIVE must say the same)."""


def upgrade() -> None:
    op.create_table(
        "lenders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("structure_id", sa.Integer(), sa.ForeignKey("structures.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("hours", sa.String(500), nullable=False),
        sa.Column("max_days", sa.Integer(), nullable=False),
        sa.Column("buffer_days", sa.Integer(), nullable=False),
        sa.Column("slot_minutes", sa.Integer(), nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("lender_id", sa.Integer(), sa.ForeignKey("lenders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("structure_id", sa.Integer(), sa.ForeignKey("structures.id", ondelete="CASCADE"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.UniqueConstraint("lender_id", "structure_id", name="uq_memberships_lender_structure"),
    )
    op.create_index("ix_memberships_structure_id", "memberships", ["structure_id"])
    op.create_table(
        "kits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("lender_id", sa.Integer(), sa.ForeignKey("lenders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("photo", sa.String(500)),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
    )
    op.create_index("ix_kits_lender_id", "kits", ["lender_id"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kit_id", sa.Integer(), sa.ForeignKey("kits.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("starts_at", WHEN, nullable=False),
        sa.Column("ends_at", WHEN, nullable=False),
        sa.Column("holds_until", WHEN, nullable=False),
        sa.Column("borrower_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("structure_id", sa.Integer(), sa.ForeignKey("structures.id", ondelete="SET NULL")),
        sa.Column("nature", sa.String(32), nullable=False),
        sa.Column("public", sa.String(32), nullable=False),
        sa.Column("participants", sa.Integer()),
        sa.Column("exceeds_limit", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("flag_note", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("decided_at", WHEN),
        sa.Column("checked_out_at", WHEN),
        sa.Column("returned_at", WHEN),
        sa.Column("reached", sa.Integer()),
        sa.Column("reached_public", sa.String(32), nullable=False),
        sa.Column("rating", sa.Integer()),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("bilan_at", WHEN),
        sa.CheckConstraint("starts_at < ends_at AND ends_at <= holds_until", name="ck_bookings_times"),
    )
    op.create_index("ix_bookings_kit_start", "bookings", ["kit_id", "starts_at"])
    op.create_index("ix_bookings_borrower_id", "bookings", ["borrower_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap EXCLUDE USING gist "
            "(kit_id WITH =, tstzrange(starts_at, holds_until, '[)') WITH &&) "
            f"WHERE (status IN {ACTIVE})"
        )
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER tr_bookings_no_overlap_{event.lower()} BEFORE {event} ON bookings "
                f"WHEN NEW.status IN {ACTIVE} BEGIN "
                "SELECT RAISE(ABORT, 'booking overlap') FROM bookings AS other "
                f"WHERE other.kit_id = NEW.kit_id AND other.id IS NOT NEW.id AND other.status IN {ACTIVE} "
                "AND other.starts_at < NEW.holds_until AND NEW.starts_at < other.holds_until; END"
            )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("item", sa.String(255), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("photo_file_id", sa.String(255)),
        sa.Column("inspected_by_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.UniqueConstraint("booking_id", "phase", "item", name="uq_inspections_booking_phase_item"),
    )
    op.create_index("ix_inspections_booking_id", "inspections", ["booking_id"])
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kit_id", sa.Integer(), sa.ForeignKey("kits.id", ondelete="CASCADE"), nullable=False),
        sa.Column("booking_id", sa.Integer(), sa.ForeignKey("bookings.id", ondelete="SET NULL")),
        sa.Column("reported_by_id", sa.Integer(), sa.ForeignKey("staff_members.id", ondelete="SET NULL")),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("photo_file_id", sa.String(255)),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("resolved_at", WHEN),
    )
    op.create_index("ix_incidents_kit_id", "incidents", ["kit_id"])


def downgrade() -> None:
    op.drop_table("incidents")
    op.drop_table("inspections")
    op.drop_table("bookings")
    op.drop_table("kits")
    op.drop_table("memberships")
    op.drop_table("lenders")
