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

from knowledge.ateliers import AtelierView, MySignUp
from knowledge.communes import Commune
from knowledge.french import clock, relative_day, short_day, when
from knowledge.models import Atelier, Notification, Place, Registration
from knowledge.notifications import Outgoing
from knowledge.place_search import MAX_DISTANCE_KM, AtelierNearby, PlaceCard
from knowledge.places import active_places, split_values

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
    if km < 10:
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
    address = ", ".join(
        part
        for part in (
            fields.get("adresse"),
            fields.get("complement_adresse"),
            f"{place.code_postal or ''} {place.commune}".strip(),
        )
        if part
    )
    lines.append(f"Adresse : {address}" + (" (position approximative)" if place.approximate else ""))
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
    parts = [f'"latitude":{latitude:.5f}', f'"longitude":{longitude:.5f}', f'"offset":{offset}']
    if service_code is not None:
        parts.append(f'"service":{service_code}')
    return {"title": "Plus de lieux", "payload": "/more_places{" + ",".join(parts) + "}"}


def venue(card: PlaceCard) -> dict[str, Any]:
    place = card.place
    address = ", ".join(part for part in (place.fields.get("adresse"), place.commune) if part)
    return {
        "latitude": place.latitude,
        "longitude": place.longitude,
        "title": place.nom[:100],
        "address": address[:100],
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


# --- Sign-up --------------------------------------------------------------------------------------------------


def atelier_details(atelier: Atelier, place: Place | None) -> str:
    lines = [atelier.title, when(atelier.start, atelier.end).capitalize()]
    if place is not None:
        address = ", ".join(
            part
            for part in (place.nom, place.fields.get("adresse"), f"{place.code_postal or ''} {place.commune}".strip())
            if part
        )
        lines.append(f"Lieu : {address}")
    if atelier.public:
        lines.append(f"Public : {atelier.public}")
    if atelier.accessibility:
        lines.append(f"Accessibilité : {atelier.accessibility}")
    return "\n".join(lines)


def confirmed_text(atelier: Atelier, place: Place | None, first_name: str) -> str:
    hello = f"C'est noté, {first_name}. " if first_name else "C'est noté. "
    return (
        f"{hello}Vous êtes inscrit(e) :\n\n{atelier_details(atelier, place)}\n\n"
        "Je vous enverrai un rappel la veille. Le fichier ci-dessous ajoute l'atelier à votre agenda."
    )


def waiting_text(atelier: Atelier, place: Place | None, position: int | None) -> str:
    rank = f" Vous êtes {position}{'er' if position == 1 else 'e'} sur la liste." if position else ""
    return (
        f"Cet atelier est complet. Je vous ai mis(e) sur la liste d'attente.{rank} "
        f"Si une place se libère, je vous préviens tout de suite.\n\n{atelier_details(atelier, place)}"
    )


def cancel_button(registration_id: int) -> dict[str, str]:
    return {"title": "Annuler mon inscription", "payload": f'/atelier_cancel{{"registration":{registration_id}}}'}


def my_signups_text(signups: list[MySignUp]) -> str:
    if not signups:
        return "Vous n'êtes inscrit(e) à aucun atelier à venir."
    lines = ["Vos ateliers :"]
    for number, item in enumerate(signups, start=1):
        status = "" if item.registration.status == "confirmed" else f" (liste d'attente, {item.position}e)"
        lines.append(f"{number}. {item.atelier.title} : {when(item.atelier.start, item.atelier.end)}{status}")
    return "\n".join(lines)


def my_signups_keyboard(signups: list[MySignUp]) -> list[list[dict[str, str]]]:
    return [
        [
            {
                "title": f"Annuler : {item.atelier.title[:30]} ({short_day(item.atelier.start)})",
                "payload": f'/atelier_cancel{{"registration":{item.registration.id}}}',
            }
        ]
        for item in signups
    ]


# --- Timed messages (rendered at send time, so they always show the atelier as it is now) ------------------


def _registration(session: Session, notification: Notification) -> tuple[Registration, Atelier, Place | None] | None:
    registration = session.get(Registration, notification.ref_id)
    if registration is None:
        return None
    atelier = registration.atelier
    place = None
    if atelier.place_source_id:
        place = active_places(session, [atelier.place_source_id]).get(atelier.place_source_id)
    return registration, atelier, place


def render_reminder(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    found = _registration(session, notification)
    if found is None:
        return None
    registration, atelier, place = found
    if registration.status != "confirmed" or atelier.cancelled or atelier.start <= now:
        return None
    text = (
        f"Rappel : votre atelier a lieu {relative_day(atelier.start, now)} à {clock(atelier.start)}.\n\n"
        f"{atelier_details(atelier, place)}\n\n"
        "Vous ne pouvez pas venir ? Annulez pour laisser votre place à quelqu'un d'autre."
    )
    return Outgoing(notification.chat_id or 0, text, [[cancel_button(registration.id)]])


def render_promoted(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    found = _registration(session, notification)
    if found is None:
        return None
    registration, atelier, place = found
    if registration.status != "confirmed" or atelier.cancelled or atelier.start <= now:
        return None
    text = f"Bonne nouvelle : une place s'est libérée. Vous êtes inscrit(e) :\n\n{atelier_details(atelier, place)}"
    return Outgoing(notification.chat_id or 0, text, [[cancel_button(registration.id)]])


def render_cancelled(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    found = _registration(session, notification)
    if found is None:
        return None
    registration, atelier, _place = found
    if registration.status == "cancelled":
        return None
    text = (
        f"Désolé : l'atelier « {atelier.title} » du {when(atelier.start, atelier.end)} est annulé par "
        "l'organisateur. Vous pouvez chercher un autre atelier près de chez vous."
    )
    return Outgoing(notification.chat_id or 0, text, [[{"title": "Trouver un atelier", "payload": "/find_place"}]])


def renderers() -> dict[str, Any]:
    from knowledge.ateliers import CANCELLED, PROMOTED, REMINDER

    return {REMINDER: render_reminder, PROMOTED: render_promoted, CANCELLED: render_cancelled}
