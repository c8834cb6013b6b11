"""SQLAlchemy 2 typed models of what Passerelle keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint, false
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
