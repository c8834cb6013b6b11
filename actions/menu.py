"""Buttons that several actions offer."""

from __future__ import annotations

from typing import Any

ASK_QUESTION = {"title": "Poser une question", "payload": "/ask_question"}
FIND_PLACE = {"title": "Trouver de l'aide près de chez moi", "payload": "/find_place"}
REQUEST_HUMAN = {"title": "Parler à un conseiller", "payload": "/request_human"}
MAIN_MENU: list[dict[str, Any]] = [ASK_QUESTION, FIND_PLACE, REQUEST_HUMAN]


def fiche_buttons(topic: str) -> list[dict[str, Any]]:
    """The buttons under a fiche's short answer."""
    return [
        {"title": "Voir les étapes", "payload": f'/fiche_steps{{"topic":"{topic}"}}'},
        {"title": "Lien officiel", "payload": f'/fiche_links{{"topic":"{topic}"}}'},
        {"title": "Ça a marché ?", "payload": f'/fiche_feedback{{"topic":"{topic}"}}'},
    ]
