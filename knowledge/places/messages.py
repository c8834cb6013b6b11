"""What a citizen reads about places and ateliers (French, vouvoiement, short sentences).

Links offered when no place is near, from official sources:
- France services: https://www.cohesion-territoires.gouv.fr/france-services (ANCT; also cited by the fiche
  france_services).
- The national map of places of digital help (« Cartographie nationale des lieux d'inclusion numérique », ANCT,
  programme Société Numérique): https://cartographie.societenumerique.gouv.fr
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from knowledge.ateliers.signups import AtelierView
from knowledge.french import short_day, when
from knowledge.models import Place
from knowledge.places.catalogue import postal_address, split_values
from knowledge.places.communes import Commune
from knowledge.places.search import MAX_DISTANCE_KM, AtelierNearby, PlaceCard

FRANCE_SERVICES_URL = "https://www.cohesion-territoires.gouv.fr/france-services"
NATIONAL_MAP_URL = "https://cartographie.societenumerique.gouv.fr"

ASK_LOCATION = (
    "Pour trouver un lieu d'aide près de chez vous, envoyez votre position avec le bouton ci-dessous, "
    "ou écrivez votre code postal ou le nom de votre commune. Par exemple : 50000 ou Saint-Lô."
)
UNKNOWN_POSTCODE = "Je ne connais pas le code postal {code}. Vérifiez-le, ou écrivez le nom de votre commune."
NO_MATCH = "Je ne trouve pas cette commune. Vérifiez l'orthographe, ou écrivez votre code postal (5 chiffres)."
TOO_LONG = "Votre message est trop long. Écrivez seulement votre code postal ou le nom de votre commune."
EMPTY = "Écrivez votre code postal ou le nom de votre commune, s'il vous plaît."
OUTSIDE_FRANCE = (
    "Cette position semble hors de France. Je ne connais que les lieux d'aide en France. "
    "Écrivez votre code postal ou le nom de votre commune."
)
WHICH_COMMUNE = "Plusieurs communes portent ce nom. Laquelle est la vôtre ?"
NO_PLACE_NEAR = (
    "Je ne connais pas de lieu d'aide au numérique à moins de {km} km de {label}. "
    "Les France services aident aussi pour les démarches en ligne, gratuitement. "
    "La carte nationale des lieux d'aide au numérique peut aussi vous en montrer d'autres."
)
NO_MORE_PLACES = "Je n'ai pas d'autre lieu à moins de {km} km de {label}."
NO_SERVICE_NEAR = "Aucun lieu proche n'indique « {service} ». Voici les lieux d'aide les plus proches :"
HEADER = "Voici les lieux d'aide au numérique les plus proches de {label} :"
HEADER_SERVICE = "Voici les lieux proches de {label} qui proposent « {service} » :"
HEADER_MORE = "D'autres lieux près de {label} :"
NO_ATELIER_NEAR = "Je ne vois pas d'atelier prévu dans les lieux proches de {label} pour le moment."
ATELIERS_HEADER = "Les prochains ateliers près de {label} :"


def distance(km: float) -> str:
    if km < 1:
        return f"{max(50, round(km * 1000, -1)):.0f} m"
    if km < 9.95:
        return f"{km:.1f} km".replace(".", ",")
    return f"{km:.0f} km"


def phone(value: str) -> str:
    """+33233000000 → 02 33 00 00 00 (metropolitan numbers); other numbers as written."""
    digits = re.sub(r"[^\d+]", "", value)
    if re.fullmatch(r"\+33\d{9}", digits):
        national = "0" + digits[3:]
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return value


def atelier_line(view: AtelierView, now: datetime) -> str:
    atelier = view.atelier
    seats = "complet, liste d'attente" if view.seats_left == 0 else f"{view.seats_left} place(s)"
    return f"{atelier.title} : {when(atelier.start, atelier.end)} ({seats})"


def atelier_nearby_line(item: AtelierNearby, now: datetime) -> str:
    return f"• {atelier_line(item.view, now)}\n  {item.place.nom} ({distance(item.distance_km)})"


def place_text(number: int, card: PlaceCard, now: datetime) -> str:
    place, fields = card.place, card.place.fields
    lines = [f"{number}. {place.nom} — {distance(card.distance_km)}"]
    lines.append(card.hours.text)
    approximate = " (position approximative)" if place.approximate else ""
    lines.append(f"Adresse : {postal_address(place)}{approximate}")
    if fields.get("telephone"):
        lines.append(f"Téléphone : {phone(fields['telephone'])}")
    if services := split_values(place.services):
        lines.append("Services : " + ", ".join(services))
    if care := split_values(fields.get("prise_en_charge_specifique")):
        lines.append("Accueil adapté : " + ", ".join(care))
    if fields.get("prise_rdv"):
        lines.append(f"Prendre rendez-vous : {split_values(fields['prise_rdv'])[0]}")
    if fields.get("frais_a_charge"):
        lines.append("Tarif : " + ", ".join(split_values(fields["frais_a_charge"])).lower())
    for view in card.ateliers:
        lines.append("Atelier : " + atelier_line(view, now))
    return "\n".join(lines)


def register_button(view: AtelierView) -> dict[str, str]:
    title = f"S'inscrire : {view.atelier.title}"[:40]
    return {
        "title": f"{title} ({short_day(view.atelier.start)})",
        "payload": f'/atelier_register{{"atelier":{view.atelier.id}}}',
    }


def more_button(latitude: float, longitude: float, offset: int, service_code: int | None) -> dict[str, str]:
    """The next page of the same search (the service by its rank in the standard, to keep the payload short)."""
    parts = [f'"latitude":{latitude:.3f}', f'"longitude":{longitude:.3f}', f'"offset":{offset}']
    if service_code is not None:
        parts.append(f'"service":{service_code}')
    return {"title": "Plus de lieux", "payload": "/more_places{" + ",".join(parts) + "}"}


MAP_PAYLOAD = "map|"
"""« 📍 Plan 2 »: the pin of a place on a map, sent by the bot itself (bot/dialogue.py), never through Rasa."""
PLACE_GONE_TEXT = "Ce lieu n'est plus dans la liste des lieux d'aide. Cherchez à nouveau un lieu près de chez vous."


def map_buttons(first_number: int, shown: list[PlaceCard]) -> list[dict[str, str]]:
    """One row: « 📍 Plan 1 », « 📍 Plan 2 »… for the numbered places of the answer. A pin is sent only to whoever
    asks for it: one message per answer otherwise, under Telegram's 30 messages a second."""
    return [
        {"title": f"📍 Plan {number}", "payload": f"{MAP_PAYLOAD}{card.place.id}"}
        for number, card in enumerate(shown, start=first_number)
    ]


def place_pin(session: Session, payload: str) -> dict[str, Any] | None:
    """The map pin behind a « Plan » button: latitude, longitude, title and address of a place still listed; None
    for a place gone since, or a payload that names none."""
    place_id = payload.removeprefix(MAP_PAYLOAD)
    place = session.get(Place, int(place_id)) if place_id.isdigit() else None
    if place is None or place.retired_at is not None:
        return None
    return venue(place)


def venue(place: Place) -> dict[str, Any]:
    """A place's map pin: latitude, longitude, title and address."""
    return {
        "latitude": place.latitude,
        "longitude": place.longitude,
        "title": place.nom[:100],
        "address": postal_address(place)[:100],
    }


def commune_buttons(candidates: tuple[Commune, ...]) -> list[list[dict[str, str]]]:
    return [[{"title": c.label, "payload": f'/inform_place{{"insee":"{c.insee}"}}'}] for c in candidates]


def no_place_keyboard() -> list[list[dict[str, str]]]:
    return [
        [{"title": "Trouver une France services", "url": FRANCE_SERVICES_URL}],
        [{"title": "Carte nationale des lieux", "url": NATIONAL_MAP_URL}],
        [{"title": "Qu'est-ce que France services ?", "payload": '/fiche_steps{"topic":"france_services"}'}],
    ]


def no_place_text(label: str) -> str:
    return NO_PLACE_NEAR.format(km=f"{MAX_DISTANCE_KM:.0f}", label=label)
