"""What the assistant says when it did not understand."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.menu import MAIN_MENU

FALLBACK_TEXT = (
    "Je n'ai pas bien compris votre message. Pouvez-vous le dire autrement, avec d'autres mots ? "
    "Vous pouvez aussi choisir ci-dessous."
)


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(text=FALLBACK_TEXT, buttons=MAIN_MENU)
        return []
