""" "Ça a marché ?": the answer is recorded anonymously, and a "no" leads to a person who can help."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.menu import ASK_QUESTION, FIND_PLACE, REQUEST_HUMAN
from knowledge.citizens.feedback import record_feedback
from knowledge.fiches import get_fiche

log = logging.getLogger(__name__)

WORKED_TEXT = "Tant mieux ! Avez-vous une autre question ?"
FAILED_TEXT = (
    "Dommage, je suis désolé. Une personne peut vous aider pas à pas, "
    "par exemple un conseiller numérique près de chez vous."
)


class ActionFicheWorked(Action):
    def name(self) -> str:
        return "action_fiche_worked"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        _record(tracker.get_slot("topic"), worked=True)
        dispatcher.utter_message(text=WORKED_TEXT, buttons=[ASK_QUESTION])
        return []


class ActionFicheFailed(Action):
    def name(self) -> str:
        return "action_fiche_failed"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        _record(tracker.get_slot("topic"), worked=False)
        buttons = [FIND_PLACE, REQUEST_HUMAN, {"title": "Poser une autre question", "payload": "/ask_question"}]
        dispatcher.utter_message(text=FAILED_TEXT, buttons=buttons)
        return []


def _record(topic: str | None, worked: bool) -> None:
    if not topic or get_fiche(topic) is None:
        return
    try:
        with services.database().session() as session:
            record_feedback(session, topic, worked, datetime.now(UTC))
    except SQLAlchemyError:
        log.exception("Could not record feedback on fiche %r", topic)
