"""SQLAlchemy 2 typed models of what Passerelle keeps."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC, read back as aware UTC on every backend (SQLite included)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012


class Citizen(Base):
    """A person who wrote to the assistant, known only by their channel's numeric id."""

    __tablename__ = "citizens"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_citizens_channel_external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]

    conversations: Mapped[list[Conversation]] = relationship(
        back_populates="citizen", cascade="all, delete-orphan", passive_deletes=True
    )


class Conversation(Base):
    """The minimal state of one conversation; message texts stay in Rasa's tracker store."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_sender_status", "sender_id", "status"),
        Index("ix_conversations_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    sender_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="active")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_topic: Mapped[str | None] = mapped_column(String(64))
    sensitive: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A person in danger wrote in it: kept for SENSITIVE_RETENTION_DAYS only, never answered with a fiche."""
    started_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    citizen: Mapped[Citizen] = relationship(back_populates="conversations")


class FicheFeedback(Base):
    """An anonymous answer to "Ça a marché ?" after a fiche: which fiches help, which need work."""

    __tablename__ = "fiche_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    worked: Mapped[bool]
    created_at: Mapped[datetime]


class Place(Base):
    """A place of digital help from the national open data (standard des lieux de médiation numérique)."""

    __tablename__ = "places"
    __table_args__ = (Index("ix_places_retired_at", "retired_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(255), unique=True)
    """The standard's `id`: imports are idempotent on it."""
    nom: Mapped[str] = mapped_column(String(500))
    commune: Mapped[str] = mapped_column(String(255))
    code_postal: Mapped[str | None] = mapped_column(String(10))
    code_insee: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    approximate: Mapped[bool] = mapped_column(default=False, server_default=false())
    """No coordinates in the data: placed at the commune's centre."""
    services: Mapped[str] = mapped_column(Text, default="")
    """The standard's services, `|`-separated as in the data."""
    fields: Mapped[dict[str, str]] = mapped_column(JSON)
    """Every field of the standard as imported (strings, multi-values `|`-separated)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
    """Absent from a full re-import: no longer shown, deleted after the retention period."""


class Atelier(Base):
    """A dated workshop at a place, from the project's YAML/CSV or an iCalendar feed (one row per occurrence)."""

    __tablename__ = "ateliers"
    __table_args__ = (
        UniqueConstraint("uid", "start", name="uq_ateliers_uid_start"),
        Index("ix_ateliers_place_start", "place_source_id", "start"),
        Index("ix_ateliers_staff_member_start", "staff_member_id", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(255))
    start: Mapped[datetime]
    end: Mapped[datetime]
    title: Mapped[str] = mapped_column(String(255))
    theme: Mapped[str] = mapped_column(String(255), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    place_source_id: Mapped[str | None] = mapped_column(String(255))
    """The national `id` of the place where it happens."""
    conseiller: Mapped[str] = mapped_column(String(255), default="")
    """The name the source gives (shown to citizens); the account that runs it is `staff_member_id`."""
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL", name="fk_ateliers_staff_member")
    )
    """The staff account that runs it: sees who registered, marks attendance, may cancel it."""
    capacity: Mapped[int] = mapped_column(Integer)
    public: Mapped[str] = mapped_column(String(255), default="")
    accessibility: Mapped[str] = mapped_column(Text, default="")
    cancelled: Mapped[bool] = mapped_column(default=False, server_default=false())
    cancelled_by_team: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Cancelled in the chat by its conseiller or a coordinator: a later import of the source does not revive it."""
    source: Mapped[str] = mapped_column(String(500), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]

    registrations: Mapped[list[Registration]] = relationship(
        back_populates="atelier", cascade="all, delete-orphan", passive_deletes=True
    )


class Registration(Base):
    """A citizen's seat (or place on the waiting list) at an atelier; only their first name is kept."""

    __tablename__ = "registrations"
    __table_args__ = (
        UniqueConstraint("atelier_id", "citizen_id", name="uq_registrations_atelier_citizen"),
        Index("ix_registrations_atelier_status", "atelier_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    atelier_id: Mapped[int] = mapped_column(ForeignKey("ateliers.id", ondelete="CASCADE"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    first_name: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16))
    """confirmed, waiting or cancelled."""
    attended: Mapped[bool | None]
    """Marked by the conseiller after the atelier: present (True), absent (False), not yet marked (None)."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    atelier: Mapped[Atelier] = relationship(back_populates="registrations")


class Notification(Base):
    """A message the bot must send at a due time (reminders, waiting-list promotions, cancellations).

    The database is the source of truth: the bot polls due rows, claims each one with an atomic update, and
    marks it sent, so a restart loses none and sends none twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("kind", "ref_id", name="uq_notifications_kind_ref"),
        Index("ix_notifications_due", "sent_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(Integer)
    """The row the message is about (a registration for the atelier kinds)."""
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    due_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    """sent, skipped (no longer relevant) or failed."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class Structure(Base):
    """A member structure of the network (EPN, médiathèque, association, the lending département…)."""

    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    commune: Mapped[str] = mapped_column(String(255), default="")
    place_source_id: Mapped[str | None] = mapped_column(String(255))
    """Its place in the national data, if it is one."""
    created_at: Mapped[datetime]


class StaffMember(Base):
    """A person of the team, known by their numeric Telegram user id (never a username); one account per person."""

    __tablename__ = "staff_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    """conseiller, mediateur or coordinateur."""
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"), index=True)
    available: Mapped[bool] = mapped_column(default=False, server_default=false())
    joined_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    structure: Mapped[Structure] = relationship()


class Invitation(Base):
    """A single-use code that makes its holder a member of a structure with a role. Only its hash is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_user_id: Mapped[int | None] = mapped_column(BigInteger)


class Handoff(Base):
    """A citizen handed to a person: pending → claimed → closed (or expired, cancelled). Kept RETENTION_DAYS."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_status_created", "status", "created_at"),
        Index("ix_handoffs_chat_status", "chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A person in danger or a scam already paid: at the top of the queue."""
    topic: Mapped[str | None] = mapped_column(String(64))
    commune: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    conseiller_name: Mapped[str] = mapped_column(String(64), default="")
    """The first name the citizen sees (never the account)."""
    last_activity_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    """resolu, oriente, a_rappeler, sans_suite; expire when nobody claimed it in time."""
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime]

    messages: Mapped[list[HandoffMessage]] = relationship(
        back_populates="handoff", cascade="all, delete-orphan", passive_deletes=True, order_by="HandoffMessage.id"
    )


class HandoffMessage(Base):
    """One message of a handoff, masked before storing; `relayed_id` is the copy's id in the other chat, so that a
    reply to it goes to the right person."""

    __tablename__ = "handoff_messages"
    __table_args__ = (Index("ix_handoff_messages_relay", "relayed_chat_id", "relayed_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))
    """citizen, conseiller, note (internal, never sent to the citizen) or bot."""
    kind: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    relayed_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    relayed_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    handoff: Mapped[Handoff] = relationship(back_populates="messages")


# --- Loans of shared equipment ------------------------------------------------------------------------------


class Lender(Base):
    """Who lends (a département, a network): its site, opening hours and rules; its structure's coordinateurs
    decide on requests."""

    __tablename__ = "lenders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="RESTRICT"))
    site: Mapped[str] = mapped_column(Text)
    """Where kits are picked up and returned (an address)."""
    hours: Mapped[str] = mapped_column(String(500))
    """Opening hours of the site (OpenStreetMap syntax; public holidays closed)."""
    max_days: Mapped[int] = mapped_column(Integer, default=30)
    buffer_days: Mapped[int] = mapped_column(Integer, default=1)
    """Days kept free after a loan, to check and charge the kit."""
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)

    structure: Mapped[Structure] = relationship()


class Membership(Base):
    """A member structure of a lender's network, for the time of its convention."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("lender_id", "structure_id", name="uq_memberships_lender_structure"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lender_id: Mapped[int] = mapped_column(ForeignKey("lenders.id", ondelete="CASCADE"))
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date]


class Kit(Base):
    """A lendable kit: its contents checklist and its condition (the inventory file is the source)."""

    __tablename__ = "kits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    """The inventory's id, e.g. `casques-vr`: imports are idempotent on it."""
    lender_id: Mapped[int] = mapped_column(ForeignKey("lenders.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    checklist: Mapped[list[str]] = mapped_column(JSON)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Words a médiateur may use for it (« casque », « vr », « oculus »), besides its name."""
    photo: Mapped[str | None] = mapped_column(String(500))
    condition: Mapped[str] = mapped_column(String(16), default="ok")
    """ok, en_panne, a_verifier or retire (« prêté » is read from its bookings)."""
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime]

    lender: Mapped[Lender] = relationship()


class Booking(Base):
    """A loan of a kit, or a block the lender puts on it. Active bookings of one kit never overlap: a PostgreSQL
    exclusion constraint, SQLite triggers (migration 0008), and the check under the kit's lock for a clear refusal.

    A loan holds the kit from its pickup to its return plus the lender's buffer (`holds_until`)."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_kit_start", "kit_id", "starts_at"),
        CheckConstraint("starts_at < ends_at AND ends_at <= holds_until", name="ck_bookings_times"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    """loan or block."""
    status: Mapped[str] = mapped_column(String(16))
    """Loans: requested, approved, checked_out, returned (active); refused, cancelled. Blocks: active; conflict
    (placed over an approved loan, waiting for the coordinator's decision), dropped."""
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    holds_until: Mapped[datetime]
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"), index=True)
    structure_id: Mapped[int | None] = mapped_column(ForeignKey("structures.id", ondelete="SET NULL"))
    nature: Mapped[str] = mapped_column(String(32), default="")
    public: Mapped[str] = mapped_column(String(32), default="")
    participants: Mapped[int | None] = mapped_column(Integer)
    exceeds_limit: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Longer than the lender's maximum: only a coordinator's explicit approval lets it through."""
    reason: Mapped[str] = mapped_column(Text, default="")
    """A block's reason, or a refusal's."""
    flagged: Mapped[bool] = mapped_column(default=False, server_default=false())
    flag_note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    checked_out_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    reached: Mapped[int | None] = mapped_column(Integer)
    """Bilan: participants reached."""
    reached_public: Mapped[str] = mapped_column(String(32), default="")
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    bilan_at: Mapped[datetime | None]

    kit: Mapped[Kit] = relationship()


class Inspection(Base):
    """One item of a kit's checklist at check-out or check-in (état des lieux)."""

    __tablename__ = "inspections"
    __table_args__ = (UniqueConstraint("booking_id", "phase", "item", name="uq_inspections_booking_phase_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id", ondelete="CASCADE"), index=True)
    phase: Mapped[str] = mapped_column(String(16))
    """check_out or check_in."""
    item: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    """present, missing or damaged."""
    note: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    inspected_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class Incident(Base):
    """A breakdown or damage reported by a borrower (never repaired by them)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id", ondelete="CASCADE"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id", ondelete="SET NULL"))
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text, default="")
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class LoanDraft(Base):
    """A médiateur's loan request being written, step by step (kit, dates, slots, details): kept in the database so
    that a restart does not lose it; one per person, dropped when sent or after a day."""

    __tablename__ = "loan_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    """The médiateur's Telegram user id."""
    kit_id: Mapped[int | None] = mapped_column(ForeignKey("kits.id", ondelete="CASCADE"))
    first_day: Mapped[date | None]
    last_day: Mapped[date | None]
    pickup: Mapped[datetime | None]
    return_slot: Mapped[datetime | None]
    nature: Mapped[str | None] = mapped_column(String(32))
    public: Mapped[str | None] = mapped_column(String(32))
    participants: Mapped[int | None] = mapped_column(Integer)
    awaiting: Mapped[str] = mapped_column(String(16))
    """The step waiting for an answer: kit, period, pickup, return, nature, public, participants or confirm."""
    updated_at: Mapped[datetime]
