"""What the assistant says when it is not sure it understood.

Low confidence: the two best guesses as buttons, plus a human. A message with no known word: ask to rephrase.
Emojis or punctuation alone: a gentle prompt. A bare number: not a topic (a postcode alone is a place).
Another language: a short answer in French and simple English, with the offer of a person.
Two misunderstandings in a row: offer a human without being asked.
The reason comes from the NLU (nlu/components/unusual_input.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.menu import ASK_QUESTION, FIND_PLACE, MAIN_MENU, REQUEST_HUMAN
from knowledge.fiches import get_fiche, topic_of_intent

FALLBACK_TEXT = (
    "Je n'ai pas bien compris votre message. Pouvez-vous le dire autrement, avec d'autres mots ? "
    "Vous pouvez aussi choisir ci-dessous."
)
GUESS_TEXT = "Je ne suis pas sûr d'avoir bien compris. Votre question porte-t-elle sur l'un de ces sujets ?"
REPEATED_TEXT = (
    "Je n'arrive pas à comprendre votre demande, désolé. "
    "Une personne peut vous aider : voulez-vous parler à un conseiller ?"
)
NO_WORDS_TEXT = (
    "Je suis là pour vous aider. Dites-moi avec quelques mots ce qui vous arrive. "
    "Par exemple : « Je n'arrive pas à ouvrir mon compte ameli »."
)
NUMBER_TEXT = (
    "Vous m'avez envoyé un nombre, mais je ne sais pas à quoi il correspond. "
    "Écrivez votre question avec quelques mots, s'il vous plaît."
)
OTHER_LANGUAGE_TEXT = (
    "Je réponds seulement en français. Une personne peut vous aider : appuyez sur « Parler à un conseiller ».\n\n"
    "Sorry, I only understand French. To talk to a person, press « Parler à un conseiller »."
)
UNKNOWN_WORDS_REASON = "unknown_words"
NO_WORDS_REASON = "no_words"
NUMBER_REASON = "number"
OTHER_LANGUAGE_REASON = "other_language"
MIN_GUESS_CONFIDENCE = 0.05
SUGGESTABLE_INTENTS = {
    "find_place": "Trouver de l'aide près de chez moi",
    "atelier_register": "M'inscrire à un atelier",
    "atelier_cancel": "Annuler mon inscription à un atelier",
    "kit_book": "Réserver du matériel",
    "kit_availability": "Voir si du matériel est disponible",
    "kit_my_loans": "Voir mes réservations de matériel",
    "kit_cancel": "Annuler une réservation de matériel",
    "help": "Ce que je sais faire",
}


def guesses(ranking: Iterable[dict[str, Any]], limit: int = 2) -> list[dict[str, str]]:
    """Buttons for the best guesses of the intent ranking that can be offered as a choice."""
    buttons: list[dict[str, str]] = []
    for candidate in ranking:
        name = candidate.get("name") or ""
        if (candidate.get("confidence") or 0.0) < MIN_GUESS_CONFIDENCE:
            continue
        topic = topic_of_intent(name)
        fiche = get_fiche(topic) if topic else None
        if fiche is not None:
            buttons.append({"title": fiche.title, "payload": f"/{name}"})
        elif name in SUGGESTABLE_INTENTS:
            buttons.append({"title": SUGGESTABLE_INTENTS[name], "payload": f"/{name}"})
        if len(buttons) == limit:
            break
    return buttons


def previous_turn_was_fallback(events: list[dict[str, Any]]) -> bool:
    """Whether the assistant's answer to the previous user message was this fallback too."""
    last_user = max((i for i, event in enumerate(events) if event.get("event") == "user"), default=None)
    if last_user is None:
        return False
    for event in reversed(events[:last_user]):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name") == "action_fallback"
    return False


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        latest = tracker.latest_message or {}
        reason = (latest.get("intent") or {}).get("reason")
        if reason == OTHER_LANGUAGE_REASON:
            dispatcher.utter_message(text=OTHER_LANGUAGE_TEXT, buttons=[REQUEST_HUMAN, FIND_PLACE])
            return []
        if previous_turn_was_fallback(tracker.events):
            dispatcher.utter_message(text=REPEATED_TEXT, buttons=[REQUEST_HUMAN, FIND_PLACE, ASK_QUESTION])
            return []
        if reason == NO_WORDS_REASON:
            dispatcher.utter_message(text=NO_WORDS_TEXT, buttons=MAIN_MENU)
            return []
        if reason == NUMBER_REASON:  # a postcode typed alone is a place (nlu/components/place_mention.py)
            dispatcher.utter_message(text=NUMBER_TEXT, buttons=MAIN_MENU)
            return []
        offered = [] if reason == UNKNOWN_WORDS_REASON else guesses(latest.get("intent_ranking") or [])
        if offered:
            dispatcher.utter_message(text=GUESS_TEXT, buttons=[*offered, REQUEST_HUMAN])
        else:
            dispatcher.utter_message(text=FALLBACK_TEXT, buttons=MAIN_MENU)
        return []
