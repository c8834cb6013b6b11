"""Find the places of help nearest to a citizen: what the chat and `passerelle places near` both use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from knowledge.ateliers.signups import AtelierView, upcoming
from knowledge.french import fold
from knowledge.models import Place
from knowledge.places.catalogue import active_places, services_catalogue
from knowledge.places.hours import HoursStatus, hours_status
from knowledge.places.index import Nearby, PlaceIndex

MAX_DISTANCE_KM = 30.0
"""Beyond this, a place is not "near": the citizen is offered France services and the national map instead."""

ADMIN = "Aide aux démarches administratives"
DAILY_TOOLS = "Maîtrise des outils numériques du quotidien"
JOBS = "Insertion professionnelle via le numérique"
SAFETY = "Utilisation sécurisée du numérique"
PARENTS = "Parentalité et éducation avec le numérique"
ACCESS = "Accès internet et matériel informatique"
EQUIPMENT = "Acquisition de matériel informatique à prix solidaire"

# Words a citizen uses for a need → the standard's service that meets it (checked in this order).
SERVICE_WORDS: tuple[tuple[str, str], ...] = (
    (r"(acheter|achat|pas cher|prix solidaire|reconditionn)\w*", EQUIPMENT),
    (
        r"(impot|impots|caf|ameli|cpam|secu|securite sociale|retraite|demarche|papiers|dossier|carte grise|permis"
        r"|passeport|carte d identite|ants|france titres|msa|prefecture|declaration|administrati)\w*",
        ADMIN,
    ),
    (r"(emploi|cv|chomage|france travail|pole emploi|travail|candidature)\w*", JOBS),
    (r"(arnaque|securite|piratage|pirate|virus|securiser)\w*", SAFETY),
    (r"(enfant|parent|ado|ecole|pronote|ent)\b", PARENTS),
    (r"(imprimer|impression|scanner|wifi|internet gratuit|ordinateur en libre|acces internet|photocopi)\w*", ACCESS),
    (r"(smartphone|telephone|tablette|debutant|apprendre|mail|e-mail)\w*", DAILY_TOOLS),
)


def _fold(text: str) -> str:
    """Folded, apostrophes as spaces: « carte d'identité » → « carte d identite »."""
    return " ".join(fold(text).replace("'", " ").split())


def service_for_text(text: str) -> str | None:
    """The service a question asks for ("pour mes impôts" → « Aide aux démarches administratives »), if any."""
    folded = _fold(text)
    for pattern, service in SERVICE_WORDS:
        if re.search(rf"\b{pattern}", folded):
            return service
    return None


def service_named(name: str) -> str | None:
    """A service of the standard from a name typed by an operator: exact, or a folded substring."""
    folded = _fold(name)
    if not folded:
        return None
    for service in services_catalogue():
        if _fold(service) == folded:
            return service
    matches = [service for service in services_catalogue() if folded in _fold(service)]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True)
class PlaceCard:
    """One place as shown to a citizen."""

    place: Place
    distance_km: float
    hours: HoursStatus
    ateliers: list[AtelierView]


def cards(session: Session, found: list[Nearby], now: datetime, *, ateliers_per_place: int = 2) -> list[PlaceCard]:
    """Full details of the places found, with their hours now and their next ateliers."""
    places = active_places(session, [item.place.source_id for item in found])
    next_ateliers = upcoming(session, places.keys(), now, per_place=ateliers_per_place)
    result = []
    for item in found:
        place = places.get(item.place.source_id)
        if place is None:  # retired since the index was built
            continue
        hours = hours_status(place.fields.get("horaires"), now)
        result.append(PlaceCard(place, item.distance_km, hours, next_ateliers.get(place.source_id, [])))
    return result


def as_contract(found: list[Nearby], now: datetime) -> list[dict[str, Any]]:
    """The JSON of `passerelle places near --json` (DESIGN.md, "Contracts")."""
    return [
        {
            "id": item.place.source_id,
            "nom": item.place.nom,
            "commune": item.place.commune,
            "code_postal": item.place.code_postal,
            "distance_km": round(item.distance_km, 3),
            "open_now": hours_status(item.place.horaires, now).open_now,
            "services": list(item.place.services),
        }
        for item in found
    ]


@dataclass(frozen=True)
class AtelierNearby:
    view: AtelierView
    place: Place
    distance_km: float


def ateliers_near(
    session: Session, index: PlaceIndex, latitude: float, longitude: float, now: datetime, *, limit: int = 6
) -> list[AtelierNearby]:
    """The next ateliers in the places near a point (within MAX_DISTANCE_KM), soonest first."""
    found = index.nearest(latitude, longitude, limit=10, max_km=MAX_DISTANCE_KM)
    places = active_places(session, [item.place.source_id for item in found])
    distances = {item.place.source_id: item.distance_km for item in found}
    views = upcoming(session, places.keys(), now, per_place=limit)
    result = [
        AtelierNearby(view, places[place_id], distances[place_id])
        for place_id, items in views.items()
        for view in items
    ]
    result.sort(key=lambda item: (item.view.atelier.start, item.distance_km))
    return result[:limit]
