"""The words of the lending convention: the nature of the planned actions and the publics a request states (the
lender's indicators count them), and how loan days are counted."""

from __future__ import annotations

from datetime import datetime

from knowledge.french import PARIS

NATURES = {
    "atelier": "atelier",
    "evenement": "événement",
    "formation": "formation",
    "pret_usagers": "prêt à des usagers",
}
PUBLICS = {
    "scolaires": "scolaires",
    "jeunes": "jeunes",
    "demandeurs_emploi": "demandeurs d'emploi",
    "seniors": "seniors",
    "familles": "familles",
    "tout_public": "tout public",
    "professionnels": "professionnels",
}


def loan_days(pickup: datetime, return_slot: datetime) -> int:
    """Calendar days of a loan, pickup and return days included (Paris)."""
    return (return_slot.astimezone(PARIS).date() - pickup.astimezone(PARIS).date()).days + 1
