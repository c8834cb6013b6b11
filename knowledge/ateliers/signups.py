"""Ateliers: import (idempotent by UID and start), the next ones of a place, sign-up with a waiting list, cancel.

Capacity holds under races because the check and the write happen under a lock the database gives: the atelier
row `SELECT … FOR UPDATE` on PostgreSQL, the write lock taken up front (BEGIN IMMEDIATE) on SQLite."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal

from icalendar import Calendar, Event
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from knowledge.ateliers.sources import AtelierRecord, parse_ateliers
from knowledge.db import Database
from knowledge.french import PARIS, WEEKDAYS, fold
from knowledge.models import Atelier, Notification, Place, Registration
from knowledge.notifications import add_notification
from knowledge.places.catalogue import postal_address
from knowledge.sources import Rejected, read_source
from knowledge.staff import StaffError, member_of

DEFAULT_CAPACITY = 10
REMINDER = "atelier_reminder"
PROMOTED = "atelier_promoted"
CANCELLED = "atelier_cancelled"
ACTIVE = ("confirmed", "waiting")


@dataclass
class AtelierImportReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    cancelled: int = 0
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {len(self.rejected)} rejected"
        if self.cancelled:
            text += f", {self.cancelled} newly cancelled (registered people will be told)"
        return text + ("" if self.added or self.updated else ": nothing changed")


def _hash(record: AtelierRecord, capacity: int) -> str:
    payload = [
        record.end.isoformat(),
        record.title,
        record.theme,
        record.description,
        record.place_id,
        record.conseiller,
        capacity,
        record.public,
        record.accessibility,
        record.cancelled,
    ]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


def import_ateliers(
    session: Session,
    records: Iterable[AtelierRecord],
    source: str,
    now: datetime,
    *,
    default_capacity: int = DEFAULT_CAPACITY,
    window: tuple[datetime, datetime] | None = None,
    staff_member_id: int | None = None,
) -> AtelierImportReport:
    """Store the ateliers of a source; an atelier newly cancelled notifies everyone registered.

    With `window`, the source is the whole set within it: a future atelier of this source that is no longer in it
    (removed, or moved to another time) is cancelled, and the people registered are told.

    `staff_member_id` names the account that runs every atelier of the source. Without it, an atelier keeps the
    account a coordinator gave it, and a new date of a series (same UID) gets the account of the series. An atelier
    cancelled in the chat by the team stays cancelled whatever the source says."""
    report = AtelierImportReport()
    seen: set[tuple[str, datetime]] = set()
    records = list(records)
    known_places = set(
        session.scalars(
            select(Place.source_id).where(
                Place.source_id.in_({r.place_id for r in records if r.place_id}), Place.retired_at.is_(None)
            )
        )
    )
    for record in records:
        if not record.place_id:
            report.rejected.append(Rejected(f"event {record.uid}", "no place id (X-PASSERELLE-LIEU, lieu or --place)"))
            continue
        if record.place_id not in known_places:
            report.rejected.append(Rejected(f"event {record.uid}", f"unknown place id {record.place_id!r}"))
            continue
        capacity = record.capacity or default_capacity
        seen.add((record.uid[:255], record.start))
        content_hash = _hash(record, capacity)
        atelier = session.scalars(
            select(Atelier).where(Atelier.uid == record.uid, Atelier.start == record.start)
        ).first()
        values = {
            "end": record.end,
            "title": record.title[:255],
            "theme": record.theme[:255],
            "description": record.description,
            "place_source_id": record.place_id,
            "conseiller": record.conseiller[:255],
            "capacity": capacity,
            "public": record.public[:255],
            "accessibility": record.accessibility,
            "cancelled": record.cancelled,
            "source": source[:500],
            "content_hash": content_hash,
            "updated_at": now,
        }
        if atelier is None:
            runner = staff_member_id or _series_runner(session, record.uid[:255])
            session.add(Atelier(uid=record.uid[:255], start=record.start, staff_member_id=runner, **values))
            report.added += 1
            continue
        if staff_member_id is not None:
            atelier.staff_member_id = staff_member_id
        if atelier.content_hash == content_hash:
            report.unchanged += 1
            continue
        values["cancelled"] = record.cancelled or atelier.cancelled_by_team
        newly_cancelled = record.cancelled and not atelier.cancelled
        for name, value in values.items():
            setattr(atelier, name, value)
        report.updated += 1
        if newly_cancelled:
            report.cancelled += 1
            notify_cancellation(session, atelier, now)
    if window is not None:
        absent = session.scalars(
            select(Atelier).where(
                Atelier.source == source[:500],
                Atelier.start >= max(window[0], now),
                Atelier.start <= window[1],
                ~Atelier.cancelled,
            )
        ).all()
        for atelier in absent:
            if (atelier.uid, atelier.start) not in seen:
                atelier.cancelled, atelier.updated_at = True, now
                report.cancelled += 1
                notify_cancellation(session, atelier, now)
    session.flush()
    return report


def _series_runner(session: Session, uid: str) -> int | None:
    """The account running the latest dated atelier of a series, if one was given."""
    return session.scalars(
        select(Atelier.staff_member_id)
        .where(Atelier.uid == uid, Atelier.staff_member_id.is_not(None))
        .order_by(Atelier.start.desc())
        .limit(1)
    ).first()


def notify_cancellation(session: Session, atelier: Atelier, now: datetime) -> None:
    """Tell everyone registered (seat or waiting list) that the atelier is cancelled, through the outbox."""
    for registration in session.scalars(
        select(Registration).where(Registration.atelier_id == atelier.id, Registration.status.in_(ACTIVE))
    ):
        add_notification(session, CANCELLED, registration.id, registration.chat_id, now, now)


def reminder_due(start: datetime, reminder_hour: int) -> datetime:
    """The day before the atelier, at `reminder_hour` Paris time."""
    previous_day = start.astimezone(PARIS).date() - timedelta(days=1)
    return datetime.combine(previous_day, time(reminder_hour), tzinfo=PARIS)


# --- What a citizen sees -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtelierView:
    atelier: Atelier
    confirmed: int

    @property
    def seats_left(self) -> int:
        return max(0, self.atelier.capacity - self.confirmed)


def _views(session: Session, ateliers: list[Atelier]) -> list[AtelierView]:
    if not ateliers:
        return []
    counts = dict(
        session.execute(
            select(Registration.atelier_id, func.count())
            .where(Registration.atelier_id.in_([a.id for a in ateliers]), Registration.status == "confirmed")
            .group_by(Registration.atelier_id)
        ).all()
    )
    return [AtelierView(a, counts.get(a.id, 0)) for a in ateliers]


def upcoming(
    session: Session,
    place_ids: Iterable[str],
    now: datetime,
    *,
    per_place: int = 2,
    horizon: timedelta = timedelta(days=60),
) -> dict[str, list[AtelierView]]:
    """The next ateliers of each place (not cancelled), soonest first."""
    ids = list(place_ids)
    if not ids:
        return {}
    ateliers = session.scalars(
        select(Atelier)
        .where(
            Atelier.place_source_id.in_(ids),
            Atelier.start > now,
            Atelier.start < now + horizon,
            ~Atelier.cancelled,
        )
        .order_by(Atelier.start, Atelier.id)
    ).all()
    chosen: dict[str, list[Atelier]] = {}
    for atelier in ateliers:
        bucket = chosen.setdefault(atelier.place_source_id or "", [])
        if len(bucket) < per_place:
            bucket.append(atelier)
    return {place: _views(session, items) for place, items in chosen.items()}


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]{4,}", fold(text)))


def match_request(ateliers: list[Atelier], text: str) -> list[Atelier]:
    """Keep the ateliers a sentence points at: a weekday ("jeudi") and/or words of the title or theme."""
    folded = fold(text)
    days = {i for i, name in enumerate(WEEKDAYS) if re.search(rf"\b{name}\b", folded)}
    words = _words(text) - _COMMON
    chosen = ateliers
    if days:
        chosen = [a for a in chosen if a.start.astimezone(PARIS).weekday() in days]
    if words:
        named = [a for a in chosen if words & _words(f"{a.title} {a.theme}")]
        if named:
            chosen = named
    return chosen


_COMMON = {
    "atelier",
    "ateliers",
    "inscrire",
    "veux",
    "voudrais",
    "souhaite",
    "pour",
    "avec",
    "dans",
    "place",
    "participer",
    "venir",
    "moi",
    "demain",
}


# --- Sign-up and cancellation (race-safe) --------------------------------------------------------------------

SignUpStatus = Literal["confirmed", "waiting", "already_confirmed", "already_waiting", "past", "cancelled", "unknown"]


@dataclass(frozen=True)
class SignUp:
    status: SignUpStatus
    registration_id: int | None = None
    position: int | None = None
    """Place on the waiting list (1 = next)."""


def register(
    database: Database,
    atelier_id: int,
    citizen_id: int,
    chat_id: int | None,
    first_name: str,
    now: datetime,
    *,
    reminder_hour: int,
) -> SignUp:
    """Take a seat, or a place on the waiting list when the atelier is full. Safe under concurrent sign-ups."""
    with database.locked_session() as session:
        atelier = session.get(Atelier, atelier_id, with_for_update=True)
        if atelier is None:
            return SignUp("unknown")
        if atelier.cancelled:
            return SignUp("cancelled")
        if atelier.start <= now:
            return SignUp("past")
        registration = session.scalars(
            select(Registration).where(Registration.atelier_id == atelier_id, Registration.citizen_id == citizen_id)
        ).first()
        if registration is not None and registration.status in ACTIVE:
            status: SignUpStatus = "already_confirmed" if registration.status == "confirmed" else "already_waiting"
            return SignUp(status, registration.id, _position(session, registration))
        taken = session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(Registration.atelier_id == atelier_id, Registration.status == "confirmed")
        )
        new_status = "confirmed" if (taken or 0) < atelier.capacity else "waiting"
        if registration is None:
            registration = Registration(atelier_id=atelier_id, citizen_id=citizen_id, created_at=now)
            session.add(registration)
        registration.chat_id, registration.first_name = chat_id, first_name[:64]
        registration.status, registration.created_at, registration.updated_at = new_status, now, now
        session.flush()
        due = reminder_due(atelier.start, reminder_hour)
        if due > now:
            add_notification(session, REMINDER, registration.id, chat_id, due, now)
        if new_status == "confirmed":
            return SignUp("confirmed", registration.id)
        return SignUp("waiting", registration.id, _position(session, registration))


def _position(session: Session, registration: Registration) -> int | None:
    if registration.status != "waiting":
        return None
    ahead = session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.atelier_id == registration.atelier_id,
            Registration.status == "waiting",
            (Registration.created_at < registration.created_at)
            | ((Registration.created_at == registration.created_at) & (Registration.id < registration.id)),
        )
    )
    return (ahead or 0) + 1


@dataclass(frozen=True)
class Cancellation:
    status: Literal["cancelled", "not_found", "already_cancelled"]
    atelier_id: int | None = None
    promoted_registration_id: int | None = None


def cancel(database: Database, registration_id: int, citizen_id: int, now: datetime) -> Cancellation:
    """Cancel one's own sign-up; a freed seat goes to the first on the waiting list, who is told at once."""
    with database.locked_session() as session:
        registration = session.get(Registration, registration_id)
        if registration is None or registration.citizen_id != citizen_id:
            return Cancellation("not_found")
        atelier = session.get(Atelier, registration.atelier_id, with_for_update=True)
        session.refresh(registration)
        if registration.status == "cancelled":
            return Cancellation("already_cancelled", registration.atelier_id)
        promoted = leave(session, registration, atelier, now)
        return Cancellation("cancelled", registration.atelier_id, promoted)


def leave(session: Session, registration: Registration, atelier: Atelier | None, now: datetime) -> int | None:
    """Mark a sign-up cancelled; if it held a seat of an atelier to come, promote the first on the waiting list
    (told at once). Call it with the atelier row locked. Returns the promoted registration's id."""
    freed = registration.status == "confirmed"
    registration.status, registration.updated_at = "cancelled", now
    if not freed or atelier is None or atelier.cancelled or atelier.start <= now:
        return None
    promoted = session.scalars(
        select(Registration)
        .where(Registration.atelier_id == atelier.id, Registration.status == "waiting")
        .order_by(Registration.created_at, Registration.id)
        .limit(1)
    ).first()
    if promoted is None:
        return None
    promoted.status, promoted.updated_at = "confirmed", now
    add_notification(session, PROMOTED, promoted.id, promoted.chat_id, now, now)
    return promoted.id


@dataclass(frozen=True)
class MySignUp:
    registration: Registration
    atelier: Atelier
    position: int | None


def my_signups(session: Session, citizen_id: int, now: datetime) -> list[MySignUp]:
    """The citizen's sign-ups to ateliers still to come (not cancelled), soonest first."""
    rows = session.execute(
        select(Registration, Atelier)
        .join(Atelier, Registration.atelier_id == Atelier.id)
        .where(
            Registration.citizen_id == citizen_id,
            Registration.status.in_(ACTIVE),
            Atelier.end > now,
            ~Atelier.cancelled,
        )
        .order_by(Atelier.start)
    ).all()
    return [MySignUp(reg, atelier, _position(session, reg)) for reg, atelier in rows]


def purge_registrations(session: Session, now: datetime, retention: timedelta) -> int:
    """Sign-ups (a first name and a chat id) are deleted `retention` after their atelier ended."""
    old = select(Atelier.id).where(Atelier.end < now - retention)
    ids = list(session.scalars(select(Registration.id).where(Registration.atelier_id.in_(old))))
    if not ids:
        return 0
    session.execute(
        update(Notification)
        .where(
            Notification.kind.in_((REMINDER, PROMOTED, CANCELLED)),
            Notification.ref_id.in_(ids),
            Notification.sent_at.is_(None),
        )
        .values(sent_at=now, outcome="skipped")
    )
    deleted = 0
    for registration in session.scalars(select(Registration).where(Registration.id.in_(ids))):
        session.delete(registration)
        deleted += 1
    return deleted


# --- Calendar file ---------------------------------------------------------------------------------------------


def atelier_ics(atelier: Atelier, place: Place | None) -> bytes:
    """An iCalendar file with the atelier, to add it to a phone's calendar."""
    calendar = Calendar()
    calendar.add("prodid", "-//Passerelle//Ateliers//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{atelier.id}-{atelier.start:%Y%m%dT%H%M%S}@passerelle")
    event.add("dtstamp", atelier.updated_at)
    event.add("dtstart", atelier.start.astimezone(PARIS))
    event.add("dtend", atelier.end.astimezone(PARIS))
    event.add("summary", atelier.title)
    if place is not None:
        event.add("location", postal_address(place, with_name=True))
        event.add("geo", (place.latitude, place.longitude))
    description = atelier.description or atelier.theme
    if description:
        event.add("description", description)
    calendar.add_component(event)
    return calendar.to_ical()


ATELIER_WINDOW = timedelta(days=120)
"""Recurring events are expanded this far ahead; the nightly re-import moves the window."""


def import_ateliers_from(
    database: Database,
    location: str,
    now: datetime,
    *,
    default_place: str | None = None,
    default_capacity: int = DEFAULT_CAPACITY,
    runner_user_id: int | None = None,
) -> AtelierImportReport:
    """Read a file or URL (YAML, CSV, iCalendar) and import it in one transaction; `runner_user_id` is the
    Telegram user id of the staff account that runs them (StaffError if there is no such account)."""
    data = read_source(location)
    parsed = parse_ateliers(
        data,
        location.rsplit("/", 1)[-1],
        default_place=default_place,
        window_start=now - timedelta(days=1),
        window_end=now + ATELIER_WINDOW,
    )
    with database.session() as session:
        runner = member_of(session, runner_user_id) if runner_user_id is not None else None
        if runner_user_id is not None and runner is None:
            raise StaffError(f"no staff account for Telegram user id {runner_user_id} (invite them first)")
        report = import_ateliers(
            session,
            parsed.records,
            location,
            now,
            default_capacity=default_capacity,
            window=(now - timedelta(days=1), now + ATELIER_WINDOW),
            staff_member_id=runner.id if runner else None,
        )
    report.rejected[:0] = parsed.rejected
    return report
