"""The team's side of ateliers: the ateliers a staff member runs and who registered (first names only),
attendance, a cancellation by the team (everyone registered is told), and a coordinator entrusting the ateliers of
their structure to one of its members.

Every permission is read from the staff account of the sender's Telegram user id (knowledge/staff.py): the
atelier's own runner, or a coordinator of the structure it belongs to. An atelier belongs to a structure when it
takes place at the structure's place (national id) or when a member of the structure runs it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from knowledge.ateliers.signups import ACTIVE, notify_cancellation
from knowledge.db import Database
from knowledge.models import Atelier, Place, Registration, StaffMember, Structure
from knowledge.places.catalogue import active_places
from knowledge.staff import COORDINATEUR, member_of

log = logging.getLogger(__name__)

LISTED_PAST = timedelta(days=7)
"""A past atelier stays in « Mes ateliers » this long, to mark attendance."""
ATTENDANCE_OPENS = timedelta(minutes=30)
"""Attendance can be marked from this long before the start."""
LISTED = 10


@dataclass(frozen=True)
class RunAtelier:
    """An atelier as its runner sees it."""

    atelier: Atelier
    place: Place | None
    confirmed: list[Registration]
    waiting: int

    def attendance_open(self, now: datetime) -> bool:
        return not self.atelier.cancelled and now >= self.atelier.start - ATTENDANCE_OPENS


def _structure_condition(structure: Structure):  # type: ignore[no-untyped-def]
    members = select(StaffMember.id).where(StaffMember.structure_id == structure.id)
    condition = Atelier.staff_member_id.in_(members)
    if structure.place_source_id:
        condition = or_(condition, Atelier.place_source_id == structure.place_source_id)
    return condition


def _belongs(session: Session, atelier: Atelier, structure: Structure) -> bool:
    if structure.place_source_id and atelier.place_source_id == structure.place_source_id:
        return True
    runner = session.get(StaffMember, atelier.staff_member_id) if atelier.staff_member_id else None
    return runner is not None and runner.structure_id == structure.id


def may_manage(session: Session, member: StaffMember | None, atelier: Atelier) -> bool:
    """The atelier's runner, or a coordinator of its structure."""
    if member is None:
        return False
    if atelier.staff_member_id == member.id:
        return True
    return member.role == COORDINATEUR and _belongs(session, atelier, member.structure)


def _view(session: Session, ateliers: list[Atelier]) -> list[RunAtelier]:
    places = active_places(session, {a.place_source_id for a in ateliers if a.place_source_id})
    views = []
    for atelier in ateliers:
        registrations = sorted(atelier.registrations, key=lambda r: (r.created_at, r.id))
        views.append(
            RunAtelier(
                atelier,
                places.get(atelier.place_source_id or ""),
                [r for r in registrations if r.status == "confirmed"],
                sum(1 for r in registrations if r.status == "waiting"),
            )
        )
    return views


def my_ateliers(session: Session, user_id: int, now: datetime) -> list[RunAtelier] | None:
    """The ateliers a staff member runs, from a week ago on, soonest first; None for someone who is not staff."""
    member = member_of(session, user_id)
    if member is None:
        return None
    ateliers = session.scalars(
        select(Atelier)
        .where(Atelier.staff_member_id == member.id, Atelier.start >= now - LISTED_PAST)
        .order_by(Atelier.start)
        .limit(LISTED)
    ).all()
    return _view(session, list(ateliers))


def one_atelier(session: Session, user_id: int, atelier_id: int) -> RunAtelier | None:
    """One atelier for someone who may manage it (None otherwise, or if it does not exist)."""
    atelier = session.get(Atelier, atelier_id)
    if atelier is None or not may_manage(session, member_of(session, user_id), atelier):
        return None
    return _view(session, [atelier])[0]


# --- A coordinator entrusts an atelier to a member of the structure -------------------------------------------


def structure_ateliers(session: Session, user_id: int, now: datetime) -> list[Atelier] | None:
    """The coming ateliers of a coordinator's structure; None for someone who is not a coordinator."""
    member = member_of(session, user_id)
    if member is None or member.role != COORDINATEUR:
        return None
    return list(
        session.scalars(
            select(Atelier)
            .where(_structure_condition(member.structure), Atelier.start > now, ~Atelier.cancelled)
            .order_by(Atelier.start)
            .limit(LISTED)
        )
    )


def runners(session: Session, user_id: int) -> list[StaffMember]:
    """Who a coordinator may entrust an atelier to: the active members of their structure."""
    member = member_of(session, user_id)
    if member is None or member.role != COORDINATEUR:
        return []
    return list(
        session.scalars(
            select(StaffMember)
            .where(StaffMember.structure_id == member.structure_id, StaffMember.removed_at.is_(None))
            .order_by(StaffMember.first_name, StaffMember.id)
        )
    )


@dataclass(frozen=True)
class Assignment:
    status: Literal["assigned", "not_allowed", "unknown"]
    dates: int = 0
    """How many dates of the series were entrusted."""
    runner: StaffMember | None = None
    atelier: Atelier | None = None


def assign(session: Session, user_id: int, atelier_id: int, member_id: int, now: datetime) -> Assignment:
    """A coordinator entrusts an atelier, and every coming date of its series, to a member of their structure."""
    coordinator = member_of(session, user_id)
    atelier = session.get(Atelier, atelier_id)
    runner = session.get(StaffMember, member_id)
    if coordinator is None or coordinator.role != COORDINATEUR:
        return Assignment("not_allowed")
    if atelier is None or atelier.cancelled or atelier.start <= now:
        return Assignment("unknown")
    if not _belongs(session, atelier, coordinator.structure):
        log.warning("Coordinator %s tried to assign atelier %s of another structure", coordinator.id, atelier_id)
        return Assignment("not_allowed")
    if runner is None or runner.removed_at is not None or runner.structure_id != coordinator.structure_id:
        return Assignment("unknown")
    series = session.scalars(
        select(Atelier).where(Atelier.uid == atelier.uid, Atelier.start >= atelier.start, ~Atelier.cancelled)
    ).all()
    for item in series:
        item.staff_member_id = runner.id
    session.flush()
    log.info("Atelier series %s (%s dates) entrusted to staff member %s", atelier.uid, len(series), runner.id)
    return Assignment("assigned", len(series), runner, atelier)


# --- Cancellation and attendance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamCancellation:
    status: Literal["cancelled", "already_cancelled", "past", "not_allowed"]
    told: int = 0
    title: str = ""


def cancel_atelier(database: Database, user_id: int, atelier_id: int, now: datetime) -> TeamCancellation:
    """Its runner (or a coordinator of its structure) cancels a coming atelier; everyone registered is told.

    Under the atelier's lock, as sign-ups take it: nobody signs up between the cancellation and the messages."""
    with database.locked_session() as session:
        atelier = session.get(Atelier, atelier_id, with_for_update=True)
        if atelier is None or not may_manage(session, member_of(session, user_id), atelier):
            return TeamCancellation("not_allowed")
        if atelier.cancelled:
            return TeamCancellation("already_cancelled", title=atelier.title)
        if atelier.start <= now:
            return TeamCancellation("past", title=atelier.title)
        told = sum(1 for r in atelier.registrations if r.status in ACTIVE)
        atelier.cancelled, atelier.cancelled_by_team, atelier.updated_at = True, True, now
        notify_cancellation(session, atelier, now)
        log.info("Atelier %s cancelled in the chat by Telegram user %s; %s people to tell", atelier.id, user_id, told)
        return TeamCancellation("cancelled", told, atelier.title)


@dataclass(frozen=True)
class Attendance:
    status: Literal["marked", "too_early", "not_allowed", "unknown"]
    view: RunAtelier | None = None


def mark_attendance(session: Session, user_id: int, registration_id: int, present: bool, now: datetime) -> Attendance:
    """Mark a confirmed participant present or absent, from 30 minutes before the start."""
    registration = session.get(Registration, registration_id)
    if registration is None or registration.status != "confirmed":
        return Attendance("unknown")
    atelier = registration.atelier
    if not may_manage(session, member_of(session, user_id), atelier):
        return Attendance("not_allowed")
    view = _view(session, [atelier])[0]
    if not view.attendance_open(now):
        return Attendance("too_early", view)
    registration.attended = present
    session.flush()
    return Attendance("marked", view)
