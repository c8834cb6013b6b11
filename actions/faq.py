"""Answering citizens' questions with the fiches of the knowledge base."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import services
from actions.menu import MAIN_MENU, REQUEST_HUMAN, fiche_buttons
from knowledge.citizens.conversations import note_topic
from knowledge.fiches import Fiche, answer_text, faq_intent, get_fiche, links_text, steps_text, topic_of_intent
from knowledge.safety import ALREADY_PAID, SUSPICIOUS, scam_text

log = logging.getLogger(__name__)

NO_FICHE_TEXT = "Je n'ai pas de fiche sur ce sujet pour l'instant. Pouvez-vous reformuler votre question ?"


def selected_topic(tracker: Tracker) -> str | None:
    """The fiche asked about in the latest message (intent faq_<topic> → <topic>)."""
    return topic_of_intent(((tracker.latest_message or {}).get("intent") or {}).get("name"))


class ActionAnswerFaq(Action):
    """The fiche asked about. A scam comes first: the warning, or the immediate steps when money or codes were
    already given (the NLU sets `scam` on the arnaques intent, see nlu/components/safety.py)."""

    def name(self) -> str:
        return "action_answer_faq"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        topic = selected_topic(tracker)
        fiche = get_fiche(topic) if topic else None
        if fiche is None:
            log.warning("No fiche for the selected FAQ topic %r", topic)
            dispatcher.utter_message(text=NO_FICHE_TEXT, buttons=MAIN_MENU)
            return []
        intent = (tracker.latest_message or {}).get("intent") or {}
        scam = intent.get("scam")
        if scam == ALREADY_PAID:
            dispatcher.utter_message(text=scam_text(ALREADY_PAID), buttons=[REQUEST_HUMAN])
        elif scam == SUSPICIOUS:
            dispatcher.utter_message(text=scam_text(SUSPICIOUS))
        buttons = fiche_buttons(fiche.id)
        about = get_fiche(topic_of_intent(intent.get("about")) or "") if scam else None
        if about is not None:
            buttons.append({"title": about.title, "payload": f"/{faq_intent(about.id)}"})
        dispatcher.utter_message(text=answer_text(fiche), buttons=buttons)
        _remember_topic(tracker.sender_id, fiche.id)
        return [SlotSet("topic", fiche.id)]


class ActionFicheSteps(Action):
    def name(self) -> str:
        return "action_fiche_steps"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        fiche = _fiche_in_context(dispatcher, tracker)
        if fiche is not None:
            dispatcher.utter_message(text=steps_text(fiche), buttons=fiche_buttons(fiche.id)[1:])
        return []


class ActionFicheLinks(Action):
    def name(self) -> str:
        return "action_fiche_links"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        fiche = _fiche_in_context(dispatcher, tracker)
        if fiche is not None:
            keyboard = [[{"title": link.label, "url": link.url}] for link in fiche.links]
            dispatcher.utter_message(json_message={"text": links_text(fiche), "keyboard": keyboard})
        return []


def _fiche_in_context(dispatcher: CollectingDispatcher, tracker: Tracker) -> Fiche | None:
    """The fiche named by the button pressed, else the last one shown; asks for a question if none."""
    topic = tracker.get_slot("topic")
    fiche = get_fiche(topic) if topic else None
    if fiche is None:
        dispatcher.utter_message(
            text="De quelle démarche parlez-vous ? Écrivez votre question avec vos mots.", buttons=MAIN_MENU
        )
    return fiche


def _remember_topic(sender_id: str, topic: str) -> None:
    try:
        with services.database().session() as session:
            note_topic(session, sender_id, topic)
    except SQLAlchemyError:
        log.exception("Could not record topic %r for sender %s; the answer was sent anyway", topic, sender_id)
