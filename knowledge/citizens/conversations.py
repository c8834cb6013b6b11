"""Who wrote, in which conversation, and how long it is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.models import Citizen, Conversation, Registration

CONVERSATION_IDLE_GAP = timedelta(hours=6)
"""A message after this much silence starts a new conversation."""


@dataclass(frozen=True)
class Contact:
    """One incoming message, as the front sees it."""

    channel: str
    external_id: str
    sender_id: str
    chat_id: int | None = None
    first_name: str = ""
    """Telegram's first name, used only to greet and to sign up to an atelier; never stored otherwise."""


def record_message(
    session: Session,
    contact: Contact,
    now: datetime,
    retention: timedelta,
    sensitive_retention: timedelta | None = None,
) -> Conversation:
    """Note that `contact` wrote at `now`: create or update the citizen and their current conversation.

    A sensitive conversation is kept `sensitive_retention` after its last message (the shortest period)."""
    citizen = _get_or_create_citizen(session, contact, now)
    citizen.last_seen_at = now
    conversation = current_conversation(session, contact.sender_id)
    if conversation is None or now - conversation.last_activity_at > CONVERSATION_IDLE_GAP:
        if conversation is not None:
            conversation.status = "closed"
        conversation = Conversation(
            citizen=citizen,
            sender_id=contact.sender_id,
            chat_id=contact.chat_id,
            status="active",
            message_count=0,
            started_at=now,
            last_activity_at=now,
            expires_at=now + retention,
        )
        session.add(conversation)
    conversation.message_count += 1
    conversation.last_activity_at = now
    conversation.expires_at = now + ((sensitive_retention or retention) if conversation.sensitive else retention)
    session.flush()
    return conversation


def mark_sensitive(session: Session, sender_id: str, now: datetime, sensitive_retention: timedelta) -> bool:
    """A person in danger wrote: the conversation is kept for the shortest period. False when there is none."""
    conversation = current_conversation(session, sender_id)
    if conversation is None:
        return False
    conversation.sensitive = True
    conversation.expires_at = min(conversation.expires_at, conversation.last_activity_at + sensitive_retention)
    return True


def sensitive_senders(session: Session) -> list[str]:
    """The Rasa senders with a sensitive conversation still on record (their tracker events are purged sooner)."""
    return list(session.scalars(select(Conversation.sender_id).where(Conversation.sensitive).distinct()))


def current_conversation(session: Session, sender_id: str) -> Conversation | None:
    """The active conversation of a Rasa sender, if any."""
    return session.scalars(
        select(Conversation)
        .where(Conversation.sender_id == sender_id, Conversation.status == "active")
        .order_by(Conversation.last_activity_at.desc())
        .limit(1)
    ).first()


def note_topic(session: Session, sender_id: str, topic: str) -> bool:
    """Remember the last fiche shown in the sender's conversation; False when there is none."""
    conversation = current_conversation(session, sender_id)
    if conversation is None:
        return False
    conversation.last_topic = topic
    return True


def purge_expired(session: Session, now: datetime) -> int:
    """Delete conversations past their retention, then citizens left without any conversation or atelier sign-up
    (sign-ups have their own retention). Returns conversations deleted."""
    deleted = session.execute(delete(Conversation).where(Conversation.expires_at <= now)).rowcount or 0
    signed_up = select(Registration.citizen_id)
    orphans = select(Citizen.id).where(~Citizen.conversations.any(), Citizen.id.not_in(signed_up))
    session.execute(delete(Citizen).where(Citizen.id.in_(orphans)))
    return deleted


def citizen_id(session: Session, channel: str, external_id: str) -> int | None:
    """The id of the citizen who writes from this channel and id, if we know them."""
    return session.scalar(select(Citizen.id).where(Citizen.channel == channel, Citizen.external_id == external_id))


def _get_or_create_citizen(session: Session, contact: Contact, now: datetime) -> Citizen:
    query = select(Citizen).where(Citizen.channel == contact.channel, Citizen.external_id == contact.external_id)
    citizen = session.scalars(query).first()
    if citizen is not None:
        return citizen
    citizen = Citizen(channel=contact.channel, external_id=contact.external_id, first_seen_at=now, last_seen_at=now)
    try:
        with session.begin_nested():
            session.add(citizen)
    except IntegrityError:
        # Another process created the same citizen between our select and insert.
        citizen = session.scalars(query).one()
    return citizen
