"""Safety first: the answer to a person in danger (emergency numbers, then a person), never a fiche.

The NLU recognises danger (nlu/components/safety.py) whatever the classifier's confidence, and says which
situations it saw; the numbers for them come from knowledge/safety_answers.yml, where each is sourced. The
conversation is marked sensitive: it is kept for the shortest retention period.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.menu import FIND_PLACE, REQUEST_HUMAN
from knowledge.citizens.conversations import mark_sensitive
from knowledge.safety import danger_text

log = logging.getLogger(__name__)


def situations_of(tracker: Tracker) -> tuple[str, ...]:
    """The danger situations the NLU recognised in the latest message (danger_text orders them)."""
    return tuple(((tracker.latest_message or {}).get("intent") or {}).get("situations") or ())


class ActionDanger(Action):
    def name(self) -> str:
        return "action_danger"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        situations = situations_of(tracker)
        dispatcher.utter_message(text=danger_text(situations), buttons=[REQUEST_HUMAN, FIND_PLACE])
        log.warning("Danger recognised for sender %s (%s)", tracker.sender_id, ",".join(situations) or "classifier")
        _mark_sensitive(tracker.sender_id)
        return [SlotSet("topic", None)]


def _mark_sensitive(sender_id: str) -> None:
    retention = timedelta(days=services.settings().sensitive_retention_days)
    try:
        with services.database().session() as session:
            if not mark_sensitive(session, sender_id, datetime.now(UTC), retention):
                log.warning("No conversation on record for sender %s; nothing marked sensitive", sender_id)
    except SQLAlchemyError:
        log.exception("Could not mark the conversation of sender %s sensitive; the answer was sent", sender_id)
