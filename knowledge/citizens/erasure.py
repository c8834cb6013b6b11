"""« /oubli »: a citizen erases what we keep about them, at once. Their seats at ateliers go to the waiting list
first (the next person is told), then their sign-ups, notifications, conversations and citizen row are deleted,
and Rasa's tracker events for their chat."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from knowledge.ateliers.signups import ACTIVE, leave
from knowledge.citizens.tracker_events import erase_tracker_events
from knowledge.db import Database
from knowledge.models import Atelier, Citizen, Conversation, Handoff, Notification, Registration

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erasure:
    conversations: int
    signups: int
    tracker_events: int


def erase_citizen(
    database: Database, tracker_store_url: str, channel: str, external_id: str, sender_id: str, now: datetime
) -> Erasure:
    with database.locked_session() as session:
        citizen = session.scalars(
            select(Citizen).where(Citizen.channel == channel, Citizen.external_id == external_id)
        ).first()
        conversations = signups = 0
        if citizen is not None:
            registrations = list(session.scalars(select(Registration).where(Registration.citizen_id == citizen.id)))
            for registration in registrations:
                if registration.status in ACTIVE:
                    atelier = session.get(Atelier, registration.atelier_id, with_for_update=True)
                    leave(session, registration, atelier, now)
            ids = [r.id for r in registrations]
            if ids:
                session.execute(
                    delete(Notification).where(Notification.ref_id.in_(ids), Notification.kind.like("atelier_%"))
                )
            handoffs = list(session.scalars(select(Handoff.id).where(Handoff.citizen_id == citizen.id)))
            if handoffs:  # their timers hold the citizen's chat id
                session.execute(
                    delete(Notification).where(Notification.ref_id.in_(handoffs), Notification.kind.like("handoff_%"))
                )
            conversations = len(citizen.conversations)
            signups = len(ids)
            session.delete(citizen)
        session.execute(delete(Conversation).where(Conversation.sender_id == sender_id))
    events = erase_tracker_events(tracker_store_url, sender_id)
    log.info(
        "Erased a citizen's data on request: %d conversation(s), %d sign-up(s), %d Rasa event(s)",
        conversations,
        signups,
        events,
    )
    return Erasure(conversations, signups, events)
