"""Handoffs to a human conseiller, as the best helpdesks run them: a ticket pending → claimed → closed (or expired,
cancelled), claimed with one atomic UPDATE so that two conseillers pressing at once never both get it, back to
pending when its conseiller is gone, messages masked before they are stored, and the route of a reply found from the
relayed message it answers.

This is the data and rules layer; the Telegram side (relay, staff group, timers) builds on it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from knowledge.citizens.privacy import mask_sensitive
from knowledge.db import Database
from knowledge.models import Handoff, HandoffMessage, StaffMember
from knowledge.staff import CONSEILLER, COORDINATEUR, member_of

log = logging.getLogger(__name__)

OPEN = ("pending", "claimed")
OUTCOMES = {
    "resolu": "résolu",
    "oriente": "orienté vers un lieu",
    "a_rappeler": "à rappeler",
    "sans_suite": "sans suite",
}
ANSWERING_ROLES = (CONSEILLER, COORDINATEUR)


def open_handoff(session: Session, chat_id: int) -> Handoff | None:
    """The citizen's handoff still open (pending or claimed), if any."""
    return session.scalars(
        select(Handoff).where(Handoff.chat_id == chat_id, Handoff.status.in_(OPEN)).order_by(Handoff.id.desc())
    ).first()


def request_handoff(
    session: Session,
    citizen_id: int,
    chat_id: int,
    now: datetime,
    retention: timedelta,
    *,
    urgent: bool = False,
    topic: str | None = None,
    commune: str | None = None,
) -> tuple[Handoff, bool]:
    """Open a handoff, or return the one already open (made urgent if this request is). (handoff, created)."""
    existing = open_handoff(session, chat_id)
    if existing is not None:
        existing.urgent = existing.urgent or urgent
        existing.last_activity_at = now
        return existing, False
    handoff = Handoff(
        citizen_id=citizen_id,
        chat_id=chat_id,
        status="pending",
        urgent=urgent,
        topic=topic,
        commune=commune,
        created_at=now,
        last_activity_at=now,
        conseiller_name="",
        expires_at=now + retention,
    )
    session.add(handoff)
    session.flush()
    return handoff, True


def queue_position(session: Session, handoff: Handoff) -> int:
    """1 = next to be taken: urgent ones first, then the oldest."""
    earlier = (Handoff.created_at < handoff.created_at) | (
        (Handoff.created_at == handoff.created_at) & (Handoff.id < handoff.id)
    )
    same_rank_earlier = (Handoff.urgent == handoff.urgent) & earlier
    ahead_condition = same_rank_earlier if handoff.urgent else (Handoff.urgent | same_rank_earlier)
    ahead = session.scalar(
        select(func.count())
        .select_from(Handoff)
        .where(Handoff.status == "pending", Handoff.id != handoff.id, ahead_condition)
    )
    return (ahead or 0) + 1


def available_conseillers(session: Session) -> list[StaffMember]:
    """Staff who can answer and said /dispo."""
    query = select(StaffMember).where(
        StaffMember.available, StaffMember.removed_at.is_(None), StaffMember.role.in_(ANSWERING_ROLES)
    )
    return list(session.scalars(query))


def waiting(session: Session) -> list[Handoff]:
    """The queue: urgent first, then the oldest."""
    return list(
        session.scalars(
            select(Handoff).where(Handoff.status == "pending").order_by(Handoff.urgent.desc(), Handoff.created_at)
        )
    )


@dataclass(frozen=True)
class Claim:
    status: Literal["claimed", "taken", "closed", "not_allowed", "not_found"]
    by: str = ""
    """Who has it: the claimer's first name, or the one who was faster."""


def claim(database: Database, handoff_id: int, user_id: int, now: datetime) -> Claim:
    """Take a pending handoff. One atomic UPDATE … WHERE status = 'pending': exactly one of several conseillers
    pressing at once gets it, on SQLite and PostgreSQL; the others learn who was faster."""
    with database.session() as session:
        member = member_of(session, user_id)
        if member is None or member.role not in ANSWERING_ROLES:
            return Claim("not_allowed")
        won = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == "pending")
            .values(
                status="claimed",
                claimed_at=now,
                claimed_by_id=member.id,
                conseiller_name=member.first_name,
                last_activity_at=now,
            )
        ).rowcount
        if won == 1:
            log.info("Handoff %s claimed by staff member %s", handoff_id, member.id)
            return Claim("claimed", member.first_name)
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            return Claim("not_found")
        if handoff.status == "claimed":
            return Claim("taken", handoff.conseiller_name)
        return Claim("closed")


Closing = Literal["closed", "not_found", "already_closed", "not_allowed", "bad_outcome"]


def close(session: Session, handoff_id: int, user_id: int | None, outcome: str, now: datetime) -> Closing:
    """Close a handoff with an outcome: by the conseiller who has it or a coordinator (user_id), or by the citizen
    (`user_id` None, outcome "sans_suite", e.g. /bot)."""
    if outcome not in OUTCOMES:
        return "bad_outcome"
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        return "not_found"
    if user_id is not None:
        member = member_of(session, user_id)
        if member is None or not (member.id == handoff.claimed_by_id or member.role == COORDINATEUR):
            return "not_allowed"
    closed = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status.in_(OPEN))
        .values(status="closed", closed_at=now, outcome=outcome, last_activity_at=now)
    ).rowcount
    return "closed" if closed == 1 else "already_closed"


def requeue_claimed(session: Session, member_id: int, now: datetime) -> list[Handoff]:
    """Put back in the queue the handoffs a staff member had claimed (they left the staff group, or a coordinator
    removed them): pending again, nobody's, their place in the queue kept (it goes by the time of the request).

    Each goes back with one atomic UPDATE … WHERE still claimed by them, so with several bot processes, or the two
    updates Telegram sends when someone leaves a group, only one caller gets (and reports) each handoff."""
    held = session.scalars(
        select(Handoff)
        .where(Handoff.claimed_by_id == member_id, Handoff.status == "claimed")
        .order_by(Handoff.claimed_at, Handoff.id)
    ).all()
    requeued = []
    for handoff in held:
        won = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff.id, Handoff.status == "claimed", Handoff.claimed_by_id == member_id)
            .values(status="pending", claimed_at=None, claimed_by_id=None, conseiller_name="", last_activity_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            session.refresh(handoff)
            requeued.append(handoff)
    if requeued:
        log.info(
            "Handoff(s) %s back in the queue: staff member %s is gone",
            ", ".join(str(h.id) for h in requeued),
            member_id,
        )
    return requeued


def add_message(
    session: Session,
    handoff: Handoff,
    author: str,
    now: datetime,
    *,
    text: str = "",
    kind: str = "text",
    relayed_chat_id: int | None = None,
    relayed_id: int | None = None,
) -> HandoffMessage:
    """Keep a message of the handoff, its sensitive data masked first."""
    message = HandoffMessage(
        handoff_id=handoff.id,
        author=author,
        kind=kind,
        text=mask_sensitive(text).text if text else "",
        relayed_chat_id=relayed_chat_id,
        relayed_id=relayed_id,
        created_at=now,
    )
    session.add(message)
    handoff.last_activity_at = now
    session.flush()
    return message


def handoff_for_reply(session: Session, conseiller_chat_id: int, replied_message_id: int) -> Handoff | None:
    """The handoff a conseiller answers when replying to a relayed message: never guessed, found from the copy."""
    return session.scalars(
        select(Handoff)
        .join(HandoffMessage, HandoffMessage.handoff_id == Handoff.id)
        .where(HandoffMessage.relayed_chat_id == conseiller_chat_id, HandoffMessage.relayed_id == replied_message_id)
    ).first()


def claimed_by(session: Session, user_id: int) -> list[Handoff]:
    """The handoffs a conseiller has open."""
    member = member_of(session, user_id)
    if member is None:
        return []
    query = select(Handoff).where(Handoff.claimed_by_id == member.id, Handoff.status == "claimed")
    return list(session.scalars(query.order_by(Handoff.claimed_at)))


def rate(session: Session, handoff_id: int, chat_id: int, score: int) -> bool:
    """The citizen's 1–5 satisfaction after a closed handoff (theirs only)."""
    if not 1 <= score <= 5:
        return False
    return (
        session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.chat_id == chat_id, Handoff.status == "closed")
            .values(satisfaction=score)
        ).rowcount
        == 1
    )


def purge_handoffs(session: Session, now: datetime) -> int:
    """Handoffs and their messages past their retention."""
    return session.execute(delete(Handoff).where(Handoff.expires_at <= now)).rowcount or 0


@dataclass(frozen=True)
class IdleClosed:
    handoff_id: int
    citizen_chat_id: int
    conseiller_user_id: int | None
    conseiller_name: str


def close_idle(session: Session, now: datetime, idle: timedelta) -> list[IdleClosed]:
    """Close the claimed handoffs silent for `idle` ("sans_suite"). Each is closed by one atomic UPDATE, so with
    several bot processes only one reports it (and messages the people)."""
    closed = []
    stale = session.scalars(
        select(Handoff).where(Handoff.status == "claimed", Handoff.last_activity_at < now - idle)
    ).all()
    for handoff in stale:
        won = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff.id, Handoff.status == "claimed", Handoff.last_activity_at < now - idle)
            .values(status="closed", closed_at=now, outcome="sans_suite")
        ).rowcount
        if won == 1:
            member = session.get(StaffMember, handoff.claimed_by_id) if handoff.claimed_by_id else None
            closed.append(
                IdleClosed(
                    handoff.id, handoff.chat_id, member.telegram_user_id if member else None, handoff.conseiller_name
                )
            )
    return closed
