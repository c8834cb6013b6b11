"""The lender's rules for loans and blocks, enforced when a request, a block or a decision is written.

Every check and write on a kit happens under the kit's lock (`SELECT … FOR UPDATE` on PostgreSQL, the write lock
taken up front on SQLite), so a refusal is clear and immediate; the database itself forbids two active bookings of
one kit that overlap (an exclusion constraint on PostgreSQL, triggers on SQLite: migration 0008), whatever the code.

A loan holds its kit from the pickup slot to the end of the return slot plus the lender's buffer (days to check and
charge it). Permissions come from the staff account of the sender's Telegram user id: a médiateur of a member
structure whose membership is valid requests; a coordinateur of the lender's structure blocks and decides."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.loans import reminders
from knowledge.loans.terms import NATURES, PUBLICS, loan_days
from knowledge.models import Booking, Kit, Lender, Membership, StaffMember
from knowledge.places.hours import is_open_between
from knowledge.staff import COORDINATEUR, MEDIATEUR, member_of

log = logging.getLogger(__name__)

ACTIVE = ("requested", "approved", "checked_out", "returned", "active")
"""Statuses that hold a kit (the same list as the constraint and triggers of migration 0008)."""
LENDABLE = "ok"
MAX_PARTICIPANTS = 10_000
SEARCH_DAYS = 120
"""How far (each way) the nearest free period is looked for."""
FIRST_SLOT, LAST_SLOT = time(7, 0), time(21, 0)


# --- Who may do what -----------------------------------------------------------------------------------------


def valid_membership(session: Session, member: StaffMember, lender_id: int, day: date) -> Membership | None:
    return session.scalars(
        select(Membership).where(
            Membership.lender_id == lender_id,
            Membership.structure_id == member.structure_id,
            Membership.starts_on <= day,
            Membership.ends_on >= day,
        )
    ).first()


def lender_coordinator(session: Session, user_id: int, lender: Lender) -> StaffMember | None:
    """The sender's account if they are a coordinateur of the lender's own structure."""
    member = member_of(session, user_id)
    if member is None or member.role != COORDINATEUR or member.structure_id != lender.structure_id:
        return None
    return member


def coordinated_lender(session: Session, user_id: int) -> Lender | None:
    """The lender whose coordinateur the sender is (a coordinateur of the lender's own structure), if any."""
    member = member_of(session, user_id)
    if member is None or member.role != COORDINATEUR:
        return None
    return session.scalars(select(Lender).where(Lender.structure_id == member.structure_id)).first()


def lender_bookings(session: Session, lender: Lender, statuses: tuple[str, ...]) -> list[Booking]:
    """The lender's loans in these statuses, soonest first."""
    return list(
        session.scalars(
            select(Booking)
            .join(Kit)
            .where(Kit.lender_id == lender.id, Booking.kind == "loan", Booking.status.in_(statuses))
            .order_by(Booking.starts_at)
        )
    )


# --- Slots and opening hours ---------------------------------------------------------------------------------


def slot_open(lender: Lender, start: datetime) -> bool:
    """A pickup or return slot starting at `start` lies within the site's opening hours (public holidays closed)."""
    return is_open_between(lender.hours, start, start + timedelta(minutes=lender.slot_minutes)) is True


def slots(lender: Lender, day: date) -> list[datetime]:
    """The slots of a day at the lender's site, in Paris time, each wholly within opening hours."""
    step = timedelta(minutes=lender.slot_minutes)
    moment = datetime.combine(day, FIRST_SLOT, PARIS)
    last = datetime.combine(day, LAST_SLOT, PARIS)
    found = []
    while moment + step <= last:
        if slot_open(lender, moment):
            found.append(moment)
        moment += step
    return found


def holds_until(lender: Lender, return_slot: datetime) -> datetime:
    """The end of the return slot plus the lender's buffer."""
    return return_slot + timedelta(minutes=lender.slot_minutes) + timedelta(days=lender.buffer_days)


# --- Requests ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanRequest:
    kit_id: int
    pickup: datetime
    """The start of the pickup slot."""
    return_slot: datetime
    """The start of the return slot."""
    nature: str
    public: str
    participants: int


Reason = Literal[
    "not_mediator",
    "no_membership",
    "unknown_kit",
    "kit_unavailable",
    "end_before_start",
    "past",
    "pickup_closed",
    "return_closed",
    "bad_details",
    "blocked",
    "overlap",
]


@dataclass(frozen=True)
class Proposal:
    pickup: datetime
    return_slot: datetime


@dataclass(frozen=True)
class RequestOutcome:
    status: Literal["requested", "refused"]
    reason: Reason | None = None
    booking_id: int | None = None
    exceeds_limit: bool = False
    detail: str = ""
    """The lender's reason for a block, the kit's condition…"""
    proposal: Proposal | None = None
    coordinators: list[int] = field(default_factory=list)
    """Telegram ids of the lender's coordinateurs, to tell them of a new request."""


def conflicts(session: Session, kit_id: int, start: datetime, until: datetime) -> list[Booking]:
    """The active bookings of a kit that hold it at some point of [start, until)."""
    return list(
        session.scalars(
            select(Booking)
            .where(
                Booking.kit_id == kit_id,
                Booking.status.in_(ACTIVE),
                Booking.starts_at < until,
                Booking.holds_until > start,
            )
            .order_by(Booking.starts_at)
        )
    )


def lock_kit(session: Session, kit_id: int) -> Kit | None:
    return session.get(Kit, kit_id, with_for_update=True)


def _shifts(limit: int) -> Iterator[int]:
    for days in range(1, limit + 1):
        yield days
        yield -days


def nearest_free(session: Session, kit: Kit, pickup: datetime, return_slot: datetime, now: datetime) -> Proposal | None:
    """The free period of the same length nearest to the one asked (later first on a tie), with both slots at the
    same times of day and within opening hours."""
    lender = kit.lender
    local_pickup, local_return = pickup.astimezone(PARIS), return_slot.astimezone(PARIS)
    for days in _shifts(SEARCH_DAYS):
        new_pickup = datetime.combine(local_pickup.date() + timedelta(days=days), local_pickup.timetz())
        new_return = datetime.combine(local_return.date() + timedelta(days=days), local_return.timetz())
        if new_pickup <= now or not slot_open(lender, new_pickup) or not slot_open(lender, new_return):
            continue
        if not conflicts(session, kit.id, new_pickup, holds_until(lender, new_return)):
            return Proposal(new_pickup, new_return)
    return None


def request_loan(database: Database, user_id: int, request: LoanRequest, now: datetime) -> RequestOutcome:
    """A médiateur asks for a kit. Every rule is checked under the kit's lock; the request waits for a
    coordinateur's decision. Longer than the lender's maximum, it is stored flagged `exceeds_limit`: only an
    explicit approval lets it through."""
    if request.return_slot <= request.pickup:
        return RequestOutcome("refused", "end_before_start")
    if request.pickup <= now:
        return RequestOutcome("refused", "past")
    if request.nature not in NATURES or request.public not in PUBLICS:
        return RequestOutcome("refused", "bad_details")
    if not 1 <= request.participants <= MAX_PARTICIPANTS:
        return RequestOutcome("refused", "bad_details")
    try:
        with database.locked_session() as session:
            return _request(session, user_id, request, now)
    except IntegrityError:  # the database's own guard; under the kit's lock it never fires, refused all the same
        log.warning("Overlap caught by the database for kit %s", request.kit_id)
        return RequestOutcome("refused", "overlap")


def _request(session: Session, user_id: int, request: LoanRequest, now: datetime) -> RequestOutcome:
    member = member_of(session, user_id)
    if member is None or member.role != MEDIATEUR:
        return RequestOutcome("refused", "not_mediator")
    kit = lock_kit(session, request.kit_id)
    if kit is None:
        return RequestOutcome("refused", "unknown_kit")
    lender = kit.lender
    if valid_membership(session, member, lender.id, request.pickup.astimezone(PARIS).date()) is None:
        return RequestOutcome("refused", "no_membership", detail=lender.name)
    if kit.condition != LENDABLE:
        return RequestOutcome("refused", "kit_unavailable", detail=kit.condition)
    if not slot_open(lender, request.pickup):
        return RequestOutcome("refused", "pickup_closed", detail=lender.hours)
    if not slot_open(lender, request.return_slot):
        return RequestOutcome("refused", "return_closed", detail=lender.hours)
    until = holds_until(lender, request.return_slot)
    taken = conflicts(session, kit.id, request.pickup, until)
    if taken:
        block = next((c for c in taken if c.kind == "block"), None)
        proposal = nearest_free(session, kit, request.pickup, request.return_slot, now)
        if block is not None:
            return RequestOutcome("refused", "blocked", detail=block.reason, proposal=proposal)
        return RequestOutcome("refused", "overlap", proposal=proposal)
    exceeds = loan_days(request.pickup, request.return_slot) > lender.max_days
    booking = Booking(
        kit_id=kit.id,
        kind="loan",
        status="requested",
        starts_at=request.pickup,
        ends_at=request.return_slot + timedelta(minutes=lender.slot_minutes),
        holds_until=until,
        borrower_id=member.id,
        structure_id=member.structure_id,
        nature=request.nature,
        public=request.public,
        participants=request.participants,
        exceeds_limit=exceeds,
        reason="",
        flag_note="",
        reached_public="",
        comment="",
        created_by_id=member.id,
        created_at=now,
    )
    session.add(booking)
    session.flush()
    reminders.on_request(session, booking, now)
    log.info("Loan %s requested: kit %s by staff member %s", booking.id, kit.code, member.id)
    return RequestOutcome(
        "requested", booking_id=booking.id, exceeds_limit=exceeds, coordinators=lender_coordinators(session, lender)
    )


def lender_coordinators(session: Session, lender: Lender) -> list[int]:
    return list(
        session.scalars(
            select(StaffMember.telegram_user_id).where(
                StaffMember.structure_id == lender.structure_id,
                StaffMember.role == COORDINATEUR,
                StaffMember.removed_at.is_(None),
            )
        )
    )


# --- Blocks ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockOutcome:
    status: Literal["blocked", "conflict", "not_allowed", "unknown_kit", "end_before_start", "already_blocked"]
    block_id: int | None = None
    refused: list[int] = field(default_factory=list)
    """Requests refused because the lender has priority (their borrowers are told)."""
    flagged: list[int] = field(default_factory=list)
    """Approved loans under the block: flagged, their borrowers told; the coordinateur decides."""


def place_block(
    database: Database, user_id: int, kit_id: int, start: datetime, end: datetime, reason: str, now: datetime
) -> BlockOutcome:
    """The lender keeps a kit for its own use or for maintenance. Requests under the block are refused (the lender
    has priority); approved loans under it are flagged and the block waits for the coordinateur's decision."""
    if end <= start:
        return BlockOutcome("end_before_start")
    with database.locked_session() as session:
        kit = lock_kit(session, kit_id)
        if kit is None:
            return BlockOutcome("unknown_kit")
        coordinator = lender_coordinator(session, user_id, kit.lender)
        if coordinator is None:
            return BlockOutcome("not_allowed")
        taken = conflicts(session, kit.id, start, end)
        if any(c.kind == "block" for c in taken):
            return BlockOutcome("already_blocked")
        refused, flagged = [], []
        for booking in taken:
            if booking.status == "requested":
                booking.status, booking.reason = "refused", f"priorité du prêteur : {reason}"
                booking.decided_by_id, booking.decided_at = coordinator.id, now
                reminders.on_decision(session, booking, now)
                refused.append(booking.id)
            else:
                booking.flagged = True
                booking.flag_note = f"Blocage du prêteur demandé : {reason}"
                reminders.on_flagged(session, booking, now)
                flagged.append(booking.id)
        block = Booking(
            kit_id=kit.id,
            kind="block",
            status="conflict" if flagged else "active",
            starts_at=start,
            ends_at=end,
            holds_until=end,
            nature="",
            public="",
            reason=reason,
            flag_note="",
            reached_public="",
            comment="",
            created_by_id=coordinator.id,
            created_at=now,
        )
        session.add(block)
        session.flush()
        log.info("Block %s on kit %s (%s refused, %s flagged)", block.id, kit.code, len(refused), len(flagged))
        return BlockOutcome("conflict" if flagged else "blocked", block.id, refused, flagged)


@dataclass(frozen=True)
class Decision:
    status: Literal[
        "approved",
        "refused",
        "cancelled",
        "block_active",
        "block_dropped",
        "needs_exception",
        "kit_out",
        "not_allowed",
        "already_decided",
        "unknown",
    ]
    booking_id: int | None = None
    borrower_chat: int | None = None
    loans: list[int] = field(default_factory=list)
    """The loans a settled block concerned."""


def _loan_for_coordinator(session: Session, user_id: int, booking_id: int) -> tuple[Booking, StaffMember] | None:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.kind != "loan":
        return None
    kit = lock_kit(session, booking.kit_id)
    coordinator = lender_coordinator(session, user_id, kit.lender) if kit is not None else None
    return (booking, coordinator) if coordinator is not None else None


def _borrower_chat(session: Session, booking: Booking) -> int | None:
    borrower = session.get(StaffMember, booking.borrower_id) if booking.borrower_id else None
    return borrower.telegram_user_id if borrower is not None else None


def approve(database: Database, user_id: int, booking_id: int, now: datetime, *, exception: bool = False) -> Decision:
    """A coordinateur of the lender approves a request; beyond the maximum length only with `exception`."""
    with database.locked_session() as session:
        found = _loan_for_coordinator(session, user_id, booking_id)
        if found is None:
            return Decision("not_allowed" if session.get(Booking, booking_id) else "unknown")
        booking, coordinator = found
        if booking.status != "requested":
            return Decision("already_decided", booking.id)
        if booking.exceeds_limit and not exception:
            return Decision("needs_exception", booking.id)
        booking.status, booking.decided_by_id, booking.decided_at = "approved", coordinator.id, now
        reminders.on_decision(session, booking, now)
        return Decision("approved", booking.id, _borrower_chat(session, booking))


def refuse(database: Database, user_id: int, booking_id: int, reason: str, now: datetime) -> Decision:
    """A coordinateur of the lender refuses a request, with a reason sent to the borrower."""
    with database.locked_session() as session:
        found = _loan_for_coordinator(session, user_id, booking_id)
        if found is None:
            return Decision("not_allowed" if session.get(Booking, booking_id) else "unknown")
        booking, coordinator = found
        if booking.status not in ("requested", "approved"):
            return Decision("already_decided", booking.id)
        booking.status, booking.reason = "refused", reason.strip()[:1000]
        booking.decided_by_id, booking.decided_at = coordinator.id, now
        reminders.on_decision(session, booking, now)
        return Decision("refused", booking.id, _borrower_chat(session, booking))


def cancel_loan(database: Database, user_id: int, booking_id: int, now: datetime) -> Decision:
    """The borrower cancels a request or an approved loan before its pickup."""
    with database.locked_session() as session:
        member = member_of(session, user_id)
        booking = session.get(Booking, booking_id)
        if booking is None or booking.kind != "loan":
            return Decision("unknown")
        if member is None or booking.borrower_id != member.id:
            return Decision("not_allowed")
        lock_kit(session, booking.kit_id)
        if booking.status not in ("requested", "approved"):
            return Decision("already_decided", booking.id)
        booking.status, booking.decided_at = "cancelled", now
        log.info("Loan %s cancelled by its borrower", booking.id)
        return Decision("cancelled", booking.id, _borrower_chat(session, booking))


def settle_conflict(database: Database, user_id: int, block_id: int, keep_loans: bool, now: datetime) -> Decision:
    """The coordinateur decides on a block placed over approved loans: cancel those loans and activate the block,
    or keep the loans and drop the block."""
    with database.locked_session() as session:
        block = session.get(Booking, block_id)
        if block is None or block.kind != "block":
            return Decision("unknown")
        kit = lock_kit(session, block.kit_id)
        if kit is None or lender_coordinator(session, user_id, kit.lender) is None:
            return Decision("not_allowed")
        if block.status != "conflict":
            return Decision("already_decided", block.id)
        loans = [b for b in conflicts(session, kit.id, block.starts_at, block.holds_until) if b.kind == "loan"]
        if not keep_loans and any(loan.status != "approved" for loan in loans):
            return Decision("kit_out", block.id)  # a loan under way cannot be cancelled: the kit comes back first
        for loan in loans:
            loan.flagged = False
            if not keep_loans:
                loan.status, loan.reason, loan.decided_at = "cancelled", f"priorité du prêteur : {block.reason}", now
                reminders.on_decision(session, loan, now)
        session.flush()  # the loans give the time back before the block takes it (the database checks the order)
        block.status = "dropped" if keep_loans else "active"
        return Decision("block_dropped" if keep_loans else "block_active", block.id, loans=[loan.id for loan in loans])


def kit_status(session: Session, kit: Kit, now: datetime) -> str:
    """disponible, prete, en_panne, a_verifier or retire."""
    if kit.condition != LENDABLE:
        return kit.condition
    out = session.scalars(
        select(Booking.id).where(Booking.kit_id == kit.id, Booking.status == "checked_out").limit(1)
    ).first()
    return "prete" if out is not None else "disponible"
