"""What citizens and conseillers read about a handoff (French), and the staff group's notice of a new request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from knowledge.handoffs import OUTCOMES, queue_position
from knowledge.models import Handoff, Notification
from knowledge.notifications import Outgoing, Renderer
from knowledge.places.hours import hours_status

NEW_HANDOFF = "handoff_new"
REMIND_HANDOFF = "handoff_remind"
UNCLAIMED_HANDOFF = "handoff_unclaimed"
SUMMARY_LINES = 5

QUEUED_TEXT = (
    "Je transmets votre demande à un conseiller. Vous êtes {position}{suffix} dans la file. "
    "Sa réponse arrivera ici, dans cette conversation. Tapez /bot pour revenir à l'assistant."
)
STILL_WAITING_TEXT = (
    "Votre message est noté. Un conseiller va vous répondre ici. Tapez /bot pour revenir à l'assistant."
)
CLAIMED_TEXT = "{name}, conseiller, a pris votre demande et va vous répondre ici."
CLOSED_TEXT = (
    "La conversation avec {name} est terminée. Vous pouvez à nouveau poser vos questions à l'assistant.\n\n"
    "Comment s'est passé cet échange ? (1 = pas bien, 5 = très bien)"
)
UNCLAIMED_TEXT = (
    "Désolé, aucun conseiller n'a encore pu prendre votre demande. Elle reste dans la file. "
    "En attendant, un lieu d'aide près de chez vous peut vous recevoir. Tapez /bot pour revenir à l'assistant."
)
IDLE_CLOSED_TEXT = (
    "Sans nouvelle depuis un moment, la conversation avec {name} est close. "
    "Vous pouvez à nouveau poser vos questions à l'assistant, ou demander un conseiller."
)
IDLE_CLOSED_FOR_STAFF_TEXT = "Demande n° {id} close sans activité depuis {hours} h."
BACK_TO_BOT_TEXT = "D'accord, vous parlez de nouveau à l'assistant. Que puis-je faire pour vous ?"
THANKS_TEXT = "Merci pour votre réponse."
NO_TEAM_TEXT = (
    "Je ne peux pas encore vous mettre en relation avec un conseiller depuis cette conversation. "
    "Un conseiller numérique peut vous recevoir dans un lieu d'aide près de chez vous."
)


OUT_OF_HOURS_TEXT = (
    "Nos conseillers ne sont pas là en ce moment ({when}). Votre demande reste dans la file. "
    "En attendant, un lieu d'aide près de chez vous peut vous recevoir, par exemple une France services."
)


def out_of_hours_text(staff_hours: str | None, now: datetime) -> str | None:
    """What to say when the team is closed (STAFF_HOURS, public holidays closed); None when open or unknown."""
    status = hours_status(staff_hours, now)
    if status.open_now is not False:
        return None
    return OUT_OF_HOURS_TEXT.format(when=status.text[0].lower() + status.text[1:])


def ordinal_suffix(position: int) -> str:
    return "er" if position == 1 else "e"


def new_handoff_text(session: Session, handoff: Handoff, now: datetime) -> str:
    minutes = max(0, int((now - handoff.created_at).total_seconds() // 60))
    lines = [("🚨 URGENT — " if handoff.urgent else "") + f"Nouvelle demande n° {handoff.id}"]
    if handoff.topic:
        lines.append(f"Sujet : {handoff.topic}")
    if handoff.commune:
        lines.append(f"Commune : {handoff.commune}")
    lines.append(f"En attente depuis {minutes} min, {queue_position(session, handoff)}e dans la file.")
    said = [m.text for m in handoff.messages if m.author == "citizen" and m.text][-SUMMARY_LINES:]
    if said:
        lines.append("Derniers messages (données sensibles masquées) :")
        lines += [f"« {text[:300]} »" for text in said]
    return "\n".join(lines)


def render_new_handoff(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    handoff = session.get(Handoff, notification.ref_id)
    if handoff is None or handoff.status != "pending":
        return None
    return Outgoing(notification.chat_id or 0, new_handoff_text(session, handoff, now), claim_buttons(handoff.id))


def render_reminder(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    """The staff group is reminded of a request nobody took."""
    handoff = session.get(Handoff, notification.ref_id)
    if handoff is None or handoff.status != "pending":
        return None
    text = "Rappel : " + new_handoff_text(session, handoff, now)
    return Outgoing(notification.chat_id or 0, text, claim_buttons(handoff.id))


def render_unclaimed(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    """The citizen of a request nobody could take yet is told, and offered other help."""
    handoff = session.get(Handoff, notification.ref_id)
    if handoff is None or handoff.status != "pending":
        return None
    buttons = [
        [{"title": "Trouver de l'aide près de chez moi", "payload": "/find_place"}],
        [{"title": "Revenir à l'assistant", "payload": f"handoff|leave|{handoff.id}"}],
    ]
    return Outgoing(notification.chat_id or 0, UNCLAIMED_TEXT, buttons)


def claim_buttons(handoff_id: int) -> list[list[dict[str, str]]]:
    return [[{"title": "Prendre en charge", "payload": f"handoff|claim|{handoff_id}"}]]


def close_buttons(handoff_id: int) -> list[list[dict[str, str]]]:
    return [
        [{"title": f"Clore : {label}", "payload": f"handoff|close|{handoff_id}|{key}"}]
        for key, label in OUTCOMES.items()
    ]


def rating_buttons(handoff_id: int) -> list[list[dict[str, str]]]:
    return [[{"title": str(score), "payload": f"handoff|rate|{handoff_id}|{score}"} for score in range(1, 6)]]


def renderers() -> dict[str, Renderer]:
    return {NEW_HANDOFF: render_new_handoff, REMIND_HANDOFF: render_reminder, UNCLAIMED_HANDOFF: render_unclaimed}
