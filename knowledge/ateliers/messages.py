"""What a citizen reads about their sign-ups: confirmation, waiting list, their ateliers, and the timed messages
(reminder, promotion from the waiting list, cancellation by the organiser), rendered at send time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from knowledge.ateliers.signups import CANCELLED, PROMOTED, REMINDER, MySignUp
from knowledge.french import clock, relative_day, short_day, when
from knowledge.models import Atelier, Notification, Place, Registration
from knowledge.notifications import Outgoing, Renderer
from knowledge.places.catalogue import active_places, postal_address

# --- Sign-up --------------------------------------------------------------------------------------------------


def atelier_details(atelier: Atelier, place: Place | None) -> str:
    lines = [atelier.title, when(atelier.start, atelier.end).capitalize()]
    if place is not None:
        lines.append(f"Lieu : {postal_address(place, with_name=True)}")
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


def _seat_to_come(
    session: Session, notification: Notification, now: datetime
) -> tuple[Registration, Atelier, Place | None] | None:
    """The confirmed sign-up of a notification, if its atelier still takes place and is to come."""
    found = _registration(session, notification)
    if found is None:
        return None
    registration, atelier, _place = found
    if registration.status != "confirmed" or atelier.cancelled or atelier.start <= now:
        return None
    return found


def render_reminder(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    if (found := _seat_to_come(session, notification, now)) is None:
        return None
    registration, atelier, place = found
    text = (
        f"Rappel : votre atelier a lieu {relative_day(atelier.start, now)} à {clock(atelier.start)}.\n\n"
        f"{atelier_details(atelier, place)}\n\n"
        "Vous ne pouvez pas venir ? Annulez pour laisser votre place à quelqu'un d'autre."
    )
    return Outgoing(notification.chat_id or 0, text, [[cancel_button(registration.id)]])


def render_promoted(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    if (found := _seat_to_come(session, notification, now)) is None:
        return None
    registration, atelier, place = found
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


def renderers() -> dict[str, Renderer]:
    return {REMINDER: render_reminder, PROMOTED: render_promoted, CANCELLED: render_cancelled}
