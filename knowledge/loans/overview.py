"""What a médiateur (or the lender) looks up: the catalogue, which kits are free over a period (« qu'est-ce qui
est libre la semaine prochaine ? »), a kit's month, their own loans with cancel, and a kit's bookings as an
iCalendar file."""

from __future__ import annotations

import calendar as month_days
from datetime import date, datetime, time, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.french import MONTHS, PARIS
from knowledge.loans.bookings import ACTIVE, LENDABLE, conflicts, kit_status
from knowledge.loans.messages import CONDITIONS, MY_LOANS_EMPTY_TEXT, STATUS_LABELS, Buttons, period_words
from knowledge.loans.periods import Period
from knowledge.loans.reminders import loan_summary
from knowledge.models import Booking, Kit
from knowledge.staff import member_of

DEFAULT_DAYS = 7


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime.combine(period.first_day, time(0, 0), PARIS)
    return start, datetime.combine(period.last_day + timedelta(days=1), time(0, 0), PARIS)


def availability(session: Session, period: Period, now: datetime) -> tuple[str, Buttons]:
    """Each kit free or not over the period, with « Réserver » on the free ones."""
    start, end = _bounds(period)
    lines = [f"Matériel libre {period_words(period.first_day, period.last_day)} :"]
    buttons: Buttons = []
    for kit in session.scalars(select(Kit).where(Kit.condition != "retire").order_by(Kit.name)):
        if kit.condition != LENDABLE:
            lines.append(f"• {kit.name} : {CONDITIONS[kit.condition]}")
            continue
        busy = conflicts(session, kit.id, max(start, now), end)
        if busy:
            first = min(b.starts_at for b in busy).astimezone(PARIS).date()
            last = max(b.holds_until for b in busy).astimezone(PARIS).date()
            lines.append(
                f"• {kit.name} : pris {period_words(max(first, period.first_day), min(last, period.last_day))}"
            )
        else:
            lines.append(f"• {kit.name} : libre")
            buttons.append([{"title": f"Réserver : {kit.name}", "payload": f"loan|kit|{kit.id}"}])
        buttons.append([{"title": f"Le mois de : {kit.name}", "payload": f"loan|month|{kit.id}"}])
    buttons.append([{"title": "Le contenu de chaque kit", "payload": "loan|catalogue"}])
    return "\n".join(lines), buttons


def month_view(session: Session, kit_id: int, month: date) -> str:
    """A kit's bookings over a month, one line per booking (borrowing structure, or the lender's block)."""
    kit = session.get(Kit, kit_id)
    if kit is None:
        return "Ce matériel n'existe pas ou plus."
    first = month.replace(day=1)
    last = first.replace(day=month_days.monthrange(first.year, first.month)[1])
    start, end = _bounds(Period(first, last))
    lines = [f"{kit.name}, {MONTHS[first.month - 1]} {first.year} :"]
    for booking in conflicts(session, kit.id, start, end):
        when = period_words(booking.starts_at.astimezone(PARIS).date(), booking.ends_at.astimezone(PARIS).date())
        if booking.kind == "block":
            lines.append(f"• {when} : réservé par le prêteur ({booking.reason})")
        else:
            label = STATUS_LABELS.get(booking.status, booking.status)
            lines.append(f"• {when} : prêt {label}")
    if len(lines) == 1:
        lines.append("Libre tout le mois.")
    return "\n".join(lines)


def my_loans(session: Session, user_id: int, now: datetime) -> tuple[str, Buttons]:
    """The médiateur's loans to come or under way, with « Annuler » before the pickup and « Signaler une panne »
    while the kit is out."""
    member = member_of(session, user_id)
    loans = []
    if member is not None:
        loans = session.scalars(
            select(Booking)
            .where(
                Booking.kind == "loan",
                Booking.borrower_id == member.id,
                Booking.status.in_(("requested", "approved", "checked_out")),
            )
            .order_by(Booking.starts_at)
        ).all()
    if not loans:
        return MY_LOANS_EMPTY_TEXT, []
    lines, buttons = ["Vos prêts :"], []
    for number, loan in enumerate(loans, start=1):
        lines.append(f"{number}. {loan_summary(loan)} : {STATUS_LABELS[loan.status]}")
        if loan.status in ("requested", "approved"):
            buttons.append([{"title": f"Annuler le n° {number}", "payload": f"loan|cancel|{loan.id}"}])
        else:
            buttons.append([{"title": f"Signaler une panne (n° {number})", "payload": f"loan|incident|{loan.id}"}])
    return "\n".join(lines), buttons


def catalogue(session: Session, now: datetime) -> str:
    """Each kit with its state, description, contents and photo (a link), for the médiateurs."""
    lines = ["Le matériel du réseau :"]
    for kit in session.scalars(select(Kit).where(Kit.condition != "retire").order_by(Kit.name)):
        status = kit_status(session, kit, now)
        state = "disponible" if status == "disponible" else CONDITIONS.get(status, status)
        lines.append(f"• {kit.name} ({state}) : {kit.description}\n  Contenu : {', '.join(kit.checklist)}")
        if kit.photo:
            lines.append(f"  Photo : {kit.photo}")
    return "\n".join(lines)


def kit_ics(session: Session, kit_id: int) -> bytes | None:
    """The kit's active bookings and blocks as an iCalendar file (for the lender's calendar)."""
    kit = session.get(Kit, kit_id)
    if kit is None:
        return None
    cal = Calendar()
    cal.add("prodid", "-//Passerelle//prêts de matériel//FR")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", kit.name)
    bookings = session.scalars(
        select(Booking).where(Booking.kit_id == kit.id, Booking.status.in_(ACTIVE)).order_by(Booking.starts_at)
    )
    for booking in bookings:
        event = Event()
        event.add("uid", f"booking-{booking.id}@passerelle")
        event.add("dtstart", booking.starts_at)
        event.add("dtend", booking.ends_at)
        summary = f"Bloqué : {booking.reason}" if booking.kind == "block" else f"Prêt ({STATUS_LABELS[booking.status]})"
        event.add("summary", f"{kit.name} — {summary}")
        event.add("location", kit.lender.site)
        cal.add_component(event)
    return cal.to_ical()
