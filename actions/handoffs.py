"""« Parler à un conseiller »: a handoff is opened and the staff group is told (through the outbox); the bot relays
the conversation from then on. Without a staff group configured, the citizen is directed to places of help.

An urgent request (danger, or a scam already paid) made when the team is closed (STAFF_HOURS) gets the emergency
numbers, or the immediate steps, again before anything else: nobody will answer before the team is back."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.menu import ASK_QUESTION, FIND_PLACE
from knowledge.citizens.conversations import citizen_id
from knowledge.citizens.privacy import mask_contacts
from knowledge.handoffs.messages import (
    NEW_HANDOFF,
    NO_TEAM_TEXT,
    QUEUED_TEXT,
    REMIND_HANDOFF,
    UNCLAIMED_HANDOFF,
    ordinal_suffix,
    out_of_hours_text,
)
from knowledge.handoffs.tickets import add_message, available_conseillers, queue_position, request_handoff
from knowledge.notifications import add_notification
from knowledge.safety import ALREADY_PAID, danger_text, scam_text

log = logging.getLogger(__name__)
TROUBLE_TEXT = "Désolé, je n'arrive pas à joindre l'équipe pour le moment. Réessayez dans un instant."


SUMMARY_MESSAGES = 5


def last_citizen_messages(tracker: Tracker, count: int = SUMMARY_MESSAGES) -> list[str]:
    """What the citizen wrote before asking (already masked by the bot before Rasa saw it); buttons left out."""
    texts = [
        str(event.get("text") or "")
        for event in tracker.events
        if event.get("event") == "user" and event.get("text") and not str(event["text"]).startswith("/")
    ]
    return texts[-count:]


URGENT_LOOKBACK = 10


def urgent_intent(tracker: Tracker) -> dict[str, Any] | None:
    """The intent of the latest message, among the last ones, that showed a person in danger or a scam already
    paid (with the situations or the kind of scam the NLU saw); None when there is none."""
    recent = [event for event in tracker.events if event.get("event") == "user"][-URGENT_LOOKBACK:]
    for event in reversed(recent):
        intent = (event.get("parse_data") or {}).get("intent") or {}
        if intent.get("name") == "danger" or intent.get("scam") == ALREADY_PAID:
            return intent
    return None


def is_urgent(tracker: Tracker) -> bool:
    """A person in danger, or who already paid a scammer, in the last messages: top of the queue."""
    return urgent_intent(tracker) is not None


def emergency_text(intent: dict[str, Any]) -> str:
    """What to repeat first when nobody can answer now: the emergency numbers for the situations seen, or the
    immediate steps after a scam already paid (knowledge/safety_answers.yml)."""
    if intent.get("name") == "danger":
        return danger_text(tuple(str(situation) for situation in intent.get("situations") or ()))
    return scam_text(ALREADY_PAID)


def _commune(tracker: Tracker) -> str | None:
    """The place the citizen searched, if any (« 50000 Saint-Lô »), for the conseiller's summary."""
    last = tracker.get_slot("last_location")
    return str(last.get("label"))[:255] if isinstance(last, dict) and last.get("label") else None


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        settings = services.settings()
        sender = services.sender(tracker)
        if settings.staff_chat_id is None or sender is None or sender.chat_id is None:
            dispatcher.utter_message(text=NO_TEAM_TEXT, buttons=[FIND_PLACE, ASK_QUESTION])
            return []
        now = datetime.now(UTC)
        try:
            with services.database().session() as session:
                known = citizen_id(session, sender.channel, sender.user_id)
                if known is None:
                    dispatcher.utter_message(text=NO_TEAM_TEXT, buttons=[FIND_PLACE, ASK_QUESTION])
                    return []
                handoff, created = request_handoff(
                    session,
                    known,
                    sender.chat_id,
                    now,
                    timedelta(days=settings.retention_days),
                    topic=tracker.get_slot("topic"),
                    urgent=is_urgent(tracker),
                    commune=_commune(tracker),
                )
                if created:
                    for text in last_citizen_messages(tracker):
                        add_message(session, handoff, "citizen", now, text=mask_contacts(text))
                    add_notification(session, NEW_HANDOFF, handoff.id, settings.staff_chat_id, now, now)
                    for member in available_conseillers(session):  # and each conseiller who said /dispo
                        kind = f"{NEW_HANDOFF}:{member.id}"
                        add_notification(session, kind, handoff.id, member.telegram_user_id, now, now)
                    remind = now + timedelta(minutes=settings.handoff_remind_minutes)
                    give_up = now + timedelta(minutes=settings.handoff_give_up_minutes)
                    add_notification(session, REMIND_HANDOFF, handoff.id, settings.staff_chat_id, remind, now)
                    add_notification(session, UNCLAIMED_HANDOFF, handoff.id, sender.chat_id, give_up, now)
                position = queue_position(session, handoff)
        except SQLAlchemyError:
            log.exception("Could not open a handoff")
            dispatcher.utter_message(text=TROUBLE_TEXT, buttons=[FIND_PLACE])
            return []
        closed = out_of_hours_text(settings.staff_hours, now)
        urgent = urgent_intent(tracker)
        if closed and urgent is not None:  # nobody answers before the team is back: the numbers come first
            dispatcher.utter_message(text=emergency_text(urgent))
        dispatcher.utter_message(text=QUEUED_TEXT.format(position=position, suffix=ordinal_suffix(position)))
        if closed:
            dispatcher.utter_message(text=closed, buttons=[FIND_PLACE])
        return []
