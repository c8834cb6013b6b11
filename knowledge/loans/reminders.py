"""The timed messages of a loan, as outbox rows (knowledge/notifications.py): a restart loses none and sends none
twice. Rendered at send time, so each shows the loan as it is then, and is skipped when no longer relevant.

- the coordinateurs of the lender, when a request arrives (`loan_request:<staff id>`);
- the borrower, when the request is decided (`loan_decided`), when the lender blocks the kit over an approved loan
  (`loan_flagged`), two days before the pickup (`loan_pickup`), the day before the return (`loan_return`), every
  day a loan is overdue (`loan_overdue:<date>`, armed by a sweep the bot runs every hour), and after the return for
  the bilan (`loan_bilan`)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.french import PARIS, clock, day, relative_day
from knowledge.loans.terms import NATURES, PUBLICS, loan_days
from knowledge.models import Booking, Notification, StaffMember
from knowledge.notifications import Outgoing, Renderer, add_notification

REQUEST = "loan_request"
DECIDED = "loan_decided"
FLAGGED = "loan_flagged"
PICKUP = "loan_pickup"
RETURN = "loan_return"
OVERDUE = "loan_overdue"
BILAN = "loan_bilan"
REMINDER_TIME = time(10, 0)
"""Reminders go at 10:00 (Paris), in working hours."""


def _at_ten(moment: datetime, days_before: int) -> datetime:
    local = moment.astimezone(PARIS).date() - timedelta(days=days_before)
    return datetime.combine(local, REMINDER_TIME, PARIS)


def _borrower_chat(session: Session, booking: Booking) -> int | None:
    borrower = session.get(StaffMember, booking.borrower_id) if booking.borrower_id else None
    return borrower.telegram_user_id if borrower is not None and borrower.removed_at is None else None


def on_request(session: Session, booking: Booking, now: datetime) -> None:
    """Tell each coordinateur of the lender that a request waits for them."""
    lender = booking.kit.lender
    coordinators = session.scalars(
        select(StaffMember).where(
            StaffMember.structure_id == lender.structure_id,
            StaffMember.role == "coordinateur",
            StaffMember.removed_at.is_(None),
        )
    )
    for coordinator in coordinators:
        add_notification(session, f"{REQUEST}:{coordinator.id}", booking.id, coordinator.telegram_user_id, now, now)


def on_decision(session: Session, booking: Booking, now: datetime) -> None:
    """Tell the borrower; an approved loan arms its pickup and return reminders."""
    chat = _borrower_chat(session, booking)
    add_notification(session, DECIDED, booking.id, chat, now, now)
    if booking.status == "approved":
        add_notification(session, PICKUP, booking.id, chat, max(now, _at_ten(booking.starts_at, 2)), now)
        add_notification(session, RETURN, booking.id, chat, max(now, _at_ten(booking.ends_at, 1)), now)


def on_flagged(session: Session, booking: Booking, now: datetime) -> None:
    add_notification(session, FLAGGED, booking.id, _borrower_chat(session, booking), now, now)


def on_returned(session: Session, booking: Booking, now: datetime) -> None:
    add_notification(session, BILAN, booking.id, _borrower_chat(session, booking), now, now)


def sweep_overdue(session: Session, now: datetime) -> int:
    """Arm today's reminder for each loan not returned after its return slot (one row per loan and day)."""
    today = now.astimezone(PARIS).date()
    overdue = session.scalars(
        select(Booking).where(Booking.kind == "loan", Booking.status == "checked_out", Booking.ends_at < now)
    ).all()
    due = max(now, datetime.combine(today, REMINDER_TIME, PARIS))
    for booking in overdue:
        add_notification(
            session, f"{OVERDUE}:{today.isoformat()}", booking.id, _borrower_chat(session, booking), due, now
        )
    return len(overdue)


# --- Texts ----------------------------------------------------------------------------------------------------


def loan_summary(booking: Booking) -> str:
    """« Kit drones d'initiation, du lundi 7 décembre à 9 h au vendredi 11 décembre à 16 h (5 jours) »."""
    kit = booking.kit
    return_slot = booking.ends_at - timedelta(minutes=kit.lender.slot_minutes)
    days = loan_days(booking.starts_at, return_slot)
    return (
        f"{kit.name}, du {day(booking.starts_at)} à {clock(booking.starts_at)} "
        f"au {day(return_slot)} à {clock(return_slot)} ({days} jour{'s' if days > 1 else ''})"
    )


def request_details(booking: Booking) -> str:
    lines = [loan_summary(booking)]
    lines.append(
        f"Pour : {NATURES.get(booking.nature, booking.nature)}, public {PUBLICS.get(booking.public, booking.public)}"
    )
    if booking.participants:
        lines.append(f"Participants attendus : {booking.participants}")
    lines.append(f"Retrait et retour : {booking.kit.lender.site}")
    return "\n".join(lines)


def _loan(session: Session, notification: Notification, statuses: tuple[str, ...]) -> Booking | None:
    booking = session.get(Booking, notification.ref_id)
    return booking if booking is not None and booking.kind == "loan" and booking.status in statuses else None


def render_request(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("requested",))
    if booking is None:
        return None
    borrower = session.get(StaffMember, booking.borrower_id) if booking.borrower_id else None
    who = f"{borrower.first_name} ({borrower.structure.name})" if borrower is not None else "Un médiateur"
    text = f"Nouvelle demande de prêt n° {booking.id}, de {who} :\n{request_details(booking)}"
    if booking.exceeds_limit:
        text += f"\n⚠️ Plus de {booking.kit.lender.max_days} jours : il faut votre accord explicite."
    approve = (
        {"title": "Approuver l'exception", "payload": f"loan|approve|{booking.id}|x"}
        if booking.exceeds_limit
        else {"title": "Approuver", "payload": f"loan|approve|{booking.id}"}
    )
    buttons = [
        [approve],
        [{"title": "Refuser", "payload": f"loan|refuse|{booking.id}"}],
    ]
    return Outgoing(notification.chat_id or 0, text, buttons)


def render_decided(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("approved", "refused", "cancelled"))
    if booking is None or (booking.status == "cancelled" and not booking.reason):  # cancelled by the borrower
        return None
    if booking.status == "approved":
        text = (
            f"Votre demande de prêt est acceptée :\n{request_details(booking)}\n\n"
            "Je vous enverrai un rappel deux jours avant le retrait."
        )
        return Outgoing(notification.chat_id or 0, text, [[{"title": "Mes prêts", "payload": "/kit_my_loans"}]])
    reason = f"\nMotif : {booking.reason}" if booking.reason else ""
    what = (
        "Votre prêt est annulé par le prêteur"
        if booking.status == "cancelled"
        else "Votre demande de prêt n'est pas acceptée"
    )
    text = f"{what} :\n{loan_summary(booking)}{reason}"
    return Outgoing(notification.chat_id or 0, text, [[{"title": "Réserver autre chose", "payload": "/kit_book"}]])


def render_flagged(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("approved",))
    if booking is None or not booking.flagged:
        return None
    text = (
        f"Attention : le prêteur a besoin du matériel pendant votre prêt.\n{loan_summary(booking)}\n"
        f"{booking.flag_note}\nUn coordinateur va décider et vous prévenir."
    )
    return Outgoing(notification.chat_id or 0, text)


def render_pickup(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("approved",))
    if booking is None or booking.starts_at <= now:
        return None
    text = (
        f"Rappel : vous retirez le matériel {relative_day(booking.starts_at, now)} à {clock(booking.starts_at)}.\n"
        f"{loan_summary(booking)}\nAdresse : {booking.kit.lender.site}\n"
        "Vous ne pouvez plus venir ? Annulez pour libérer le matériel."
    )
    buttons = [[{"title": "Annuler ce prêt", "payload": f"loan|cancel|{booking.id}"}]]  # as in /mes_prets
    return Outgoing(notification.chat_id or 0, text, buttons)


def render_return(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("approved", "checked_out"))
    if booking is None or booking.ends_at <= now:
        return None
    return_slot = booking.ends_at - timedelta(minutes=booking.kit.lender.slot_minutes)
    text = (
        f"Rappel : le matériel est à rapporter {relative_day(return_slot, now)} à {clock(return_slot)}.\n"
        f"{booking.kit.name}, à {booking.kit.lender.site}.\n"
        "Une panne ou un élément manquant ? Signalez-le, ne réparez pas vous-même."
    )
    return Outgoing(notification.chat_id or 0, text)


def render_overdue(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("checked_out",))
    if booking is None:
        return None
    late = (now.astimezone(PARIS).date() - booking.ends_at.astimezone(PARIS).date()).days
    text = (
        f"Le matériel « {booking.kit.name} » devait être rapporté le {day(booking.ends_at)} "
        f"({late} jour{'s' if late > 1 else ''} de retard). Rapportez-le dès que possible à {booking.kit.lender.site}. "
        "Un empêchement ? Prévenez le prêteur."
    )
    return Outgoing(notification.chat_id or 0, text)


def render_bilan(session: Session, notification: Notification, now: datetime) -> Outgoing | None:
    booking = _loan(session, notification, ("returned",))
    if booking is None or booking.bilan_at is not None:
        return None
    text = (
        f"Merci d'avoir rapporté « {booking.kit.name} ». Le prêteur demande un court bilan pour ses indicateurs. "
        "Combien de personnes avez-vous touchées ?"
    )
    return Outgoing(
        notification.chat_id or 0, text, [[{"title": "Faire le bilan", "payload": f"loan|bilan|{booking.id}"}]]
    )


def renderers() -> dict[str, Renderer]:
    return {
        REQUEST: render_request,
        DECIDED: render_decided,
        FLAGGED: render_flagged,
        PICKUP: render_pickup,
        RETURN: render_return,
        OVERDUE: render_overdue,
        BILAN: render_bilan,
    }
