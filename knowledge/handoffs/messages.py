"""What citizens and conseillers read about a handoff (French), the staff group's notice of a new request, and
what the relay may pass on: which kinds of message, with which heading and caption, masked.

A staff member who leaves the staff group or is removed hands their open requests back (`hand_back`): each citizen
is told and the request is posted again, through the outbox, in the same transaction as the requeue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from knowledge.citizens.privacy import mask_sensitive
from knowledge.handoffs.tickets import (
    OUTCOMES,
    IdleClosed,
    available_conseillers,
    close_idle,
    queue_position,
    requeue_claimed,
)
from knowledge.models import Handoff, Notification, StaffMember
from knowledge.notifications import Outgoing, Renderer, add_notification
from knowledge.places.hours import hours_status

NEW_HANDOFF = "handoff_new"
REMIND_HANDOFF = "handoff_remind"
UNCLAIMED_HANDOFF = "handoff_unclaimed"
REQUEUED_HANDOFF = "handoff_requeued"
"""The request posted again after its conseiller left: `handoff_requeued:<round>` to the staff group,
`handoff_requeued:<round>:<member id>` to each conseiller who said /dispo (one row per kind and handoff)."""
IDLE_CLOSED = "handoff_idle_closed"
"""The citizen of a request closed after a long silence is told, with the rating buttons."""
IDLE_CLOSED_FOR_STAFF = "handoff_idle_closed_staff"
"""Its conseiller is told too (privately)."""
CONSEILLER_GONE = "handoff_gone"
"""The citizen told that their conseiller is no longer available: `handoff_gone:<round>`."""
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


REQUEUED_TEXT = (
    "Votre conseiller n'est plus disponible. Votre demande revient dans la file : vous êtes {position}{suffix}. "
    "Un autre conseiller va vous répondre ici. Tapez /bot pour revenir à l'assistant."
)
REQUEUED_NOTE = "De retour dans la file : le conseiller qui l'avait prise n'est plus disponible."

SENDABLE = "Vous pouvez envoyer du texte, des photos, des documents ou des messages vocaux."
REFUSED_TEXTS = {
    "contact": "Je ne transmets pas les contacts : ils contiennent un numéro de téléphone. " + SENDABLE,
    "location": "Je ne transmets pas les positions exactes. Écrivez plutôt le nom de la commune. " + SENDABLE,
    "venue": "Je ne transmets pas les positions exactes. Écrivez plutôt le nom de la commune. " + SENDABLE,
    "poll": "Je ne peux pas transmettre les sondages. " + SENDABLE,
}
OTHER_REFUSED_TEXT = "Je ne peux pas transmettre ce type de message. " + SENDABLE
"""Dice, games, and any kind the relay does not know."""
RELAYED_KINDS = frozenset(
    {"text", "photo", "document", "voice", "audio", "video", "animation", "sticker", "video_note"}
)
"""Text is sent again, masked; the others are copied (never forwarded: the sender stays hidden)."""
CAPTIONED_KINDS = frozenset({"photo", "document", "voice", "audio", "video", "animation"})
"""The copied kinds that can carry a caption (a sticker or a video note cannot)."""
FORWARDED, EDITED = "message transféré", "message corrigé"
MAX_TEXT, MAX_CAPTION = 4096, 1024


def refusal_text(kind: str) -> str | None:
    """What the sender reads when a message cannot be passed on (a contact holds a phone number, a location an exact
    position; polls, dice, games make no sense here); None when the kind is relayed."""
    if kind in RELAYED_KINDS:
        return None
    return REFUSED_TEXTS.get(kind, OTHER_REFUSED_TEXT)


@dataclass(frozen=True)
class Relayed:
    """How one message crosses the relay."""

    text: str | None
    """The message to send (text kinds), masked and headed (« Demande n° 12 : … », « Bob : … »)."""
    caption: str | None
    """The copy's caption (media kinds), masked, headed when forwarded or corrected; None: copied as it is."""
    stored: str
    """What the handoff keeps, not masked yet: add_message masks it (masking twice would mangle it)."""


def relayed(
    kind: str,
    text: str,
    *,
    handoff_id: int,
    conseiller_name: str,
    to_citizen: bool,
    forwarded: bool = False,
    edited: bool = False,
) -> Relayed:
    """The text or caption of a message going through the relay. `text` is the message's text or caption; a
    forwarded message never shows who it came from (it is sent again or copied), only that it was forwarded."""
    notes = [note for note, on in ((FORWARDED, forwarded), (EDITED, edited)) if on]
    who = conseiller_name if to_citizen else f"Demande n° {handoff_id}"
    heading = f"{who} ({', '.join(notes)})" if notes else who
    masked = mask_sensitive(text).text if text else ""
    stored = f"({', '.join(notes)}) {text}" if notes and text else text
    if kind == "text":
        return Relayed(_clip(f"{heading} : {masked}", MAX_TEXT), None, stored)
    if kind not in CAPTIONED_KINDS:
        return Relayed(None, None, stored)
    if not notes:
        return Relayed(None, _clip(masked, MAX_CAPTION) if masked else None, stored)
    return Relayed(None, _clip(f"{heading} : {masked}" if masked else heading, MAX_CAPTION), stored)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def hand_back(session: Session, member_id: int, staff_chat_id: int | None, now: datetime) -> list[Handoff]:
    """A staff member is gone (left the staff group, or removed): unavailable from now, and each request they had
    goes back to the queue. Its citizen is told, with their place in the queue, and the request is posted again to
    the staff group and to each conseiller who said /dispo, through the outbox (sent within seconds, and not lost if
    the bot stops)."""
    member = session.get(StaffMember, member_id)
    if member is not None:
        member.available = False
    handoffs = requeue_claimed(session, member_id, now)
    others = [m for m in available_conseillers(session) if m.id != member_id]
    for handoff in handoffs:
        round_ = _requeue_round(session, handoff.id)
        add_notification(session, f"{CONSEILLER_GONE}:{round_}", handoff.id, handoff.chat_id, now, now)
        if staff_chat_id is not None:
            add_notification(session, f"{REQUEUED_HANDOFF}:{round_}", handoff.id, staff_chat_id, now, now)
        for other in others:
            kind = f"{REQUEUED_HANDOFF}:{round_}:{other.id}"
            add_notification(session, kind, handoff.id, other.telegram_user_id, now, now)
    return handoffs


def close_idle_and_tell(session: Session, now: datetime, idle: timedelta) -> list[IdleClosed]:
    """Close the claimed handoffs silent for `idle` and arm, in the same transaction, the notices to the citizen and
    to the conseiller: a crash or a failed send after the close loses neither (the outbox retries them)."""
    closed = close_idle(session, now, idle)
    for item in closed:
        add_notification(session, IDLE_CLOSED, item.handoff_id, item.citizen_chat_id, now, now)
        if item.conseiller_user_id is not None:
            add_notification(session, IDLE_CLOSED_FOR_STAFF, item.handoff_id, item.conseiller_user_id, now, now)
    return closed


def _requeue_round(session: Session, handoff_id: int) -> int:
    """1 for the first time a handoff goes back to the queue, 2 for the second…: notifications are unique per kind
    and handoff, so each round has its own kinds."""
    earlier = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.ref_id == handoff_id, Notification.kind.like(f"{CONSEILLER_GONE}:%"))
    )
    return (earlier or 0) + 1


def out_of_hours_text(staff_hours: str | None, now: datetime) -> str | None:
    """What to say when the team is closed (STAFF_HOURS, public holidays closed); None when open or unknown."""
    status = hours_status(staff_hours, now)
    if status.open_now is not False:
        return None
    return OUT_OF_HOURS_TEXT.format(when=status.text[0].lower() + status.text[1:])


def ordinal_suffix(position: int) -> str:
    return "er" if position == 1 else "e"


def new_handoff_text(session: Session, handoff: Handoff, now: datetime, note: str | None = None) -> str:
    minutes = max(0, int((now - handoff.created_at).total_seconds() // 60))
    lines = [("🚨 URGENT — " if handoff.urgent else "") + f"Nouvelle demande n° {handoff.id}"]
    if note:
        lines.append(note)
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


def render_requeued(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    """A request back in the queue, posted again with « Prendre en charge » (unless someone took it meanwhile)."""
    handoff = session.get(Handoff, notification.ref_id)
    if handoff is None or handoff.status != "pending":
        return None
    text = new_handoff_text(session, handoff, now, note=REQUEUED_NOTE)
    return Outgoing(notification.chat_id or 0, text, claim_buttons(handoff.id))


def render_conseiller_gone(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    """The citizen learns that their conseiller is gone and where their request stands in the queue."""
    handoff = session.get(Handoff, notification.ref_id)
    if handoff is None or handoff.status != "pending":
        return None
    position = queue_position(session, handoff)
    return Outgoing(notification.chat_id or 0, REQUEUED_TEXT.format(position=position, suffix=ordinal_suffix(position)))


def _idle_closed(session: Session, notification: Notification) -> Handoff | None:
    handoff = session.get(Handoff, notification.ref_id)
    if handoff is None or handoff.status != "closed" or handoff.outcome != "sans_suite":
        return None
    return handoff


def render_idle_closed(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    """The citizen learns that the silent conversation is closed, and may rate it."""
    handoff = _idle_closed(session, notification)
    if handoff is None:
        return None
    text = IDLE_CLOSED_TEXT.format(name=handoff.conseiller_name or "le conseiller")
    return Outgoing(notification.chat_id or 0, text, rating_buttons(handoff.id))


def render_idle_closed_for_staff(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    """The conseiller learns that their request was closed, and after how long a silence."""
    handoff = _idle_closed(session, notification)
    if handoff is None:
        return None
    silence = (handoff.closed_at or now) - handoff.last_activity_at
    hours = int(silence.total_seconds() // 3600)
    return Outgoing(notification.chat_id or 0, IDLE_CLOSED_FOR_STAFF_TEXT.format(id=handoff.id, hours=hours))


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
    return {
        NEW_HANDOFF: render_new_handoff,
        REMIND_HANDOFF: render_reminder,
        UNCLAIMED_HANDOFF: render_unclaimed,
        REQUEUED_HANDOFF: render_requeued,
        CONSEILLER_GONE: render_conseiller_gone,
        IDLE_CLOSED: render_idle_closed,
        IDLE_CLOSED_FOR_STAFF: render_idle_closed_for_staff,
    }
