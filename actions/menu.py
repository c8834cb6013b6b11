"""Buttons that several actions offer."""

from __future__ import annotations

from typing import Any

MAIN_MENU: list[dict[str, Any]] = [
    {"title": "Poser une question", "payload": "/ask_question"},
    {"title": "Trouver de l'aide près de chez moi", "payload": "/find_place"},
    {"title": "Parler à un conseiller", "payload": "/request_human"},
]


def fiche_buttons(topic: str) -> list[dict[str, Any]]:
    """The buttons under a fiche's short answer."""
    return [
        {"title": "Voir les étapes", "payload": f'/fiche_steps{{"topic":"{topic}"}}'},
        {"title": "Lien officiel", "payload": f'/fiche_links{{"topic":"{topic}"}}'},
    ]
