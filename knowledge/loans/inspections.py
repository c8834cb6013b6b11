"""États des lieux of lent kits (check-out and check-in, item by item) and the breakdowns borrowers report.

A coordinateur of the lender walks through the kit's checklist when the kit leaves (`check_out`, from an approved
loan) and when it comes back (`check_in`, from a checked-out loan). Each item is recorded once per loan and phase
(present, missing or damaged, with a note and a photo): a second press on the same item updates its row (the
database's unique constraint forbids a second row), and a walkthrough interrupted by a restart resumes at the first
item not yet recorded. The last item finishes the phase: the loan becomes `checked_out` or `returned`.

One rule for the kit's condition, at either phase: any item missing or damaged flags the loan (its note lists the
items) and makes the kit `a_verifier`. A condition only gets worse here (ok < a_verifier < en_panne < retire): a
check or a report never turns `en_panne` into `a_verifier`. Only a coordinateur of the lender sets it back to `ok`
(`set_condition`), which resolves the kit's open incidents; borrowers report, they never repair.

An early return frees the kit sooner: the return counts as the loan's return slot, and the kit is held for the
lender's buffer after it; a late return changes nothing (a loan never holds its kit longer because of its check-in).
The end of the check-in arms the borrower's bilan (`reminders.on_returned`).

Every write happens under the kit's lock (`SELECT … FOR UPDATE` on PostgreSQL, the write lock taken up front on
SQLite), and the loan is read again after the lock, so double and concurrent presses are applied one after the
other on fresh data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.french import when
from knowledge.loans import reminders
from knowledge.loans.bookings import LENDABLE, holds_until, lender_coordinator, lender_coordinators, lock_kit
from knowledge.loans.inventory import CONDITIONS
from knowledge.models import Booking, Incident, Inspection, Kit, StaffMember
from knowledge.staff import member_of

log = logging.getLogger(__name__)

CHECK_OUT, CHECK_IN = "check_out", "check_in"
PHASES = {CHECK_OUT: ("approved", "checked_out"), CHECK_IN: ("checked_out", "returned")}
"""For each phase: the loan status it starts from and the status it leaves the loan in."""
PHASE_LABELS = {CHECK_OUT: "sortie", CHECK_IN: "retour"}
PRESENT, MISSING, DAMAGED = "present", "missing", "damaged"
STATES = {PRESENT: ("✅", "présent"), MISSING: ("❌", "manquant"), DAMAGED: ("⚠️", "abîmé")}
TO_CHECK, BROKEN, RETIRED = "a_verifier", "en_panne", "retire"
SEVERITY = {LENDABLE: 0, TO_CHECK: 1, BROKEN: 2, RETIRED: 3}
"""Inspections and reports only move a kit's condition up this scale."""
BORROWED = ("approved", "checked_out")
"""Loans whose borrowers may report a breakdown."""
MAX_NOTE = 1000
MAX_REPORT = 4000
MAX_FILE_ID = 255

T = TypeVar("T")


def _write(database: Database, work: Callable[[Session], T]) -> T:
    """Run `work` in a locked session. Under the kit's lock the unique constraint never fires; if a writer without
    the lock raced us, the second attempt sees its row and updates it."""
    try:
        with database.locked_session() as session:
            return work(session)
    except IntegrityError:
        log.warning("Inspection written concurrently without the kit's lock; trying again")
        with database.locked_session() as session:
            return work(session)


def checklist_items(kit: Kit) -> list[str]:
    """The kit's checklist without repeats (an item is recorded once per phase, by its label); item indexes refer
    to this list."""
    return list(dict.fromkeys(kit.checklist or []))


# --- Check-out and check-in ------------------------------------------------------------------------------------


StepStatus = Literal["next", "finished", "not_allowed", "unknown", "wrong_status", "kit_unavailable", "invalid"]


@dataclass(frozen=True)
class InspectionStep:
    """Where a walkthrough stands. `next`: `index`/`item` is the next item to inspect, `done` of `total` are
    recorded. `finished`: this call ended the phase; `problems` lists the items missing or damaged and
    `borrower_chat` is whom to send `inspection_record` to. Refusals: `not_allowed` (not a coordinateur of the
    kit's lender), `unknown` (no such loan), `wrong_status` (the loan is not at that phase: `detail` is its status,
    e.g. `returned` for a second check-in), `kit_unavailable` (a check-out of a kit whose condition, in `detail`,
    is not ok: a coordinateur sets it first), `invalid` (unknown phase or state, item index out of the checklist)."""

    status: StepStatus
    booking_id: int | None = None
    phase: str = ""
    kit: str = ""
    """The kit's name."""
    index: int | None = None
    item: str = ""
    done: int = 0
    total: int = 0
    problems: list[str] = field(default_factory=list)
    borrower_chat: int | None = None
    detail: str = ""


def start_inspection(database: Database, user_id: int, booking_id: int, phase: str, now: datetime) -> InspectionStep:
    """A coordinateur of the lender starts (or resumes) the check-out or check-in of a loan: the first item not yet
    recorded for that phase, with the progress."""
    if phase not in PHASES:
        return InspectionStep("invalid", booking_id, phase)

    def work(session: Session) -> InspectionStep:
        found = _locked_loan(session, user_id, booking_id, phase)
        if isinstance(found, InspectionStep):
            return found
        booking, kit, _ = found
        return _advance(session, booking, kit, phase, now)

    return _write(database, work)


def record_item(
    database: Database,
    user_id: int,
    booking_id: int,
    phase: str,
    item_index: int,
    state: str,
    now: datetime,
    note: str = "",
    photo_file_id: str | None = None,
) -> InspectionStep:
    """Record one item of the checklist (present, missing or damaged). A second press on the same item replaces
    its state, note and photo (one row per loan, phase and item). Returns the next item to inspect; the last one
    finishes the phase (see the module's docstring)."""
    if phase not in PHASES or state not in STATES:
        return InspectionStep("invalid", booking_id, phase)

    def work(session: Session) -> InspectionStep:
        found = _locked_loan(session, user_id, booking_id, phase)
        if isinstance(found, InspectionStep):
            return found
        booking, kit, coordinator = found
        items = checklist_items(kit)
        if not 0 <= item_index < len(items):
            return InspectionStep("invalid", booking.id, phase, kit.name, total=len(items))
        item = items[item_index]
        row = session.scalars(
            select(Inspection).where(
                Inspection.booking_id == booking.id, Inspection.phase == phase, Inspection.item == item
            )
        ).first()
        if row is None:
            row = Inspection(booking_id=booking.id, phase=phase, item=item, created_at=now)
            session.add(row)
        row.state, row.note = state, note.strip()[:MAX_NOTE]
        row.photo_file_id = photo_file_id[:MAX_FILE_ID] if photo_file_id else None
        row.inspected_by_id = coordinator.id
        session.flush()
        return _advance(session, booking, kit, phase, now)

    return _write(database, work)


def _locked_loan(
    session: Session, user_id: int, booking_id: int, phase: str
) -> tuple[Booking, Kit, StaffMember] | InspectionStep:
    """The loan, its locked kit and the sender's account, if the sender is a coordinateur of the kit's lender and
    the loan is at that phase. The loan is read after the lock: a press that waited sees what the one before wrote."""
    kit_id = session.scalar(select(Booking.kit_id).where(Booking.id == booking_id, Booking.kind == "loan"))
    kit = lock_kit(session, kit_id) if kit_id is not None else None
    booking = session.get(Booking, booking_id, populate_existing=True) if kit is not None else None
    if kit is None or booking is None:
        return InspectionStep("unknown", booking_id, phase)
    coordinator = lender_coordinator(session, user_id, kit.lender)
    if coordinator is None:
        return InspectionStep("not_allowed", booking.id, phase)
    if booking.status != PHASES[phase][0]:
        return InspectionStep("wrong_status", booking.id, phase, kit.name, detail=booking.status)
    if phase == CHECK_OUT and kit.condition != LENDABLE:
        return InspectionStep("kit_unavailable", booking.id, phase, kit.name, detail=kit.condition)
    return booking, kit, coordinator


def _recorded(session: Session, booking_id: int, phase: str) -> dict[str, Inspection]:
    rows = session.scalars(select(Inspection).where(Inspection.booking_id == booking_id, Inspection.phase == phase))
    return {row.item: row for row in rows}


def _advance(session: Session, booking: Booking, kit: Kit, phase: str, now: datetime) -> InspectionStep:
    """The first item not yet recorded, or the end of the phase when every item is."""
    items = checklist_items(kit)
    recorded = _recorded(session, booking.id, phase)
    done = sum(1 for item in items if item in recorded)
    for index, item in enumerate(items):
        if item not in recorded:
            return InspectionStep("next", booking.id, phase, kit.name, index, item, done, len(items))
    return _finish(session, booking, kit, phase, [recorded[item] for item in items], now)


def _finish(
    session: Session, booking: Booking, kit: Kit, phase: str, rows: list[Inspection], now: datetime
) -> InspectionStep:
    booking.status = PHASES[phase][1]
    if phase == CHECK_OUT:
        booking.checked_out_at = now
    else:
        booking.returned_at = now
        _free_sooner(booking, kit, now)
        reminders.on_returned(session, booking, now)  # the bilan asked of the borrower
    problems = [row for row in rows if row.state != PRESENT]
    if problems:
        note = f"État des lieux de {PHASE_LABELS[phase]} : " + " ; ".join(_problem(row) for row in problems)
        booking.flagged = True
        booking.flag_note = f"{booking.flag_note}\n{note}" if booking.flag_note else note
        _worsen(kit, TO_CHECK, now)
    log.info("Loan %s: %s done, %s of %s items missing or damaged", booking.id, phase, len(problems), len(rows))
    return InspectionStep(
        "finished",
        booking.id,
        phase,
        kit.name,
        done=len(rows),
        total=len(rows),
        problems=[row.item for row in problems],
        borrower_chat=_borrower_chat(session, booking),
    )


def _borrower_chat(session: Session, booking: Booking) -> int | None:
    """The borrower's Telegram id, unless their account was removed."""
    borrower = session.get(StaffMember, booking.borrower_id) if booking.borrower_id else None
    return borrower.telegram_user_id if borrower is not None and borrower.removed_at is None else None


def _problem(row: Inspection) -> str:
    text = f"{row.item} : {STATES[row.state][1]}"
    return f"{text} ({row.note})" if row.note else text


def _free_sooner(booking: Booking, kit: Kit, now: datetime) -> None:
    """An early return frees the kit sooner: the return counts as the loan's return slot, so the loan ends at the
    end of that slot and holds the kit for the lender's buffer after it (as `bookings.holds_until` computes for a
    request). A late return changes nothing: a loan never holds its kit longer. The planned end is not kept (the
    database requires ends_at <= holds_until); `loan_summary` then shows the actual return time."""
    return_slot = max(now, booking.starts_at)  # returned before its pickup slot: the loan still ends after it starts
    until = holds_until(kit.lender, return_slot)
    if until < booking.holds_until:
        booking.ends_at = return_slot + timedelta(minutes=kit.lender.slot_minutes)
        booking.holds_until = until


def _worsen(kit: Kit, condition: str, now: datetime) -> bool:
    """Move the kit's condition to `condition` if that is worse than now; True if it changed."""
    if SEVERITY[condition] <= SEVERITY.get(kit.condition, 0):
        return False
    kit.condition, kit.updated_at = condition, now
    return True


def inspection_record(session: Session, booking_id: int, phase: str) -> str:
    """The état des lieux of one phase, in French, sent to the borrower: the kit, the date, each item with its
    state and note. Raises LookupError for an unknown loan or phase."""
    booking = session.get(Booking, booking_id)
    if booking is None or booking.kind != "loan" or phase not in PHASES:
        raise LookupError(f"no loan {booking_id} or no phase {phase!r}")
    kit = booking.kit
    recorded = _recorded(session, booking.id, phase)
    items = checklist_items(kit)
    items += sorted(item for item in recorded if item not in items)  # the checklist changed since
    moment = booking.checked_out_at if phase == CHECK_OUT else booking.returned_at
    if moment is None and recorded:
        moment = max(row.created_at for row in recorded.values())
    lines = [f"État des lieux de {PHASE_LABELS[phase]} : {kit.name}"]
    if moment is not None:
        lines.append(f"Fait le {when(moment)}.")
    lines.append("")
    for item in items:
        row = recorded.get(item)
        if row is None:
            lines.append(f"⏳ {item} : pas encore vérifié")
            continue
        mark, label = STATES[row.state]
        lines.append(f"{mark} {item} : {label}" + (f" ({row.note})" if row.note else ""))
    missing = sum(1 for row in recorded.values() if row.state == MISSING)
    damaged = sum(1 for row in recorded.values() if row.state == DAMAGED)
    lines.append("")
    if not missing and not damaged:
        lines.append("Tout est présent et en bon état.")
    else:
        if missing:
            lines.append("1 élément manque." if missing == 1 else f"{missing} éléments manquent.")
        if damaged:
            lines.append("1 élément est abîmé." if damaged == 1 else f"{damaged} éléments sont abîmés.")
        lines.append("C'est noté : le prêteur va vérifier le kit.")
    moment_word = "sa sortie" if phase == CHECK_OUT else "son retour"
    lines.append(f"Gardez ce message : il décrit l'état du kit à {moment_word}.")
    return "\n".join(lines)


# --- Breakdowns and the kit's condition ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentReport:
    """`reported`: the incident is stored, the kit's condition is `condition` and `coordinators` are the Telegram
    ids of the lender's coordinateurs to tell. Refusals: `not_allowed` (the sender borrows no approved or
    checked-out loan of that kit, alone or through their structure), `unknown` (no such loan or kit, or neither
    given, or a kit that is not the loan's), `empty` (neither text nor photo)."""

    status: Literal["reported", "not_allowed", "unknown", "empty"]
    incident_id: int | None = None
    kit_id: int | None = None
    booking_id: int | None = None
    condition: str = ""
    coordinators: list[int] = field(default_factory=list)


def report_incident(
    database: Database,
    user_id: int,
    text: str,
    now: datetime,
    booking_id: int | None = None,
    kit_id: int | None = None,
    photo_file_id: str | None = None,
    *,
    broken: bool = False,
) -> IncidentReport:
    """The borrower (or a member of the borrowing structure) reports a breakdown or damage on a kit they have: an
    approved or checked-out loan, given by `booking_id`, or found from `kit_id` (the one checked out first, then
    the earliest approved). The caller says whether the kit no longer works (`broken`: the chat asks): the kit
    becomes `en_panne` if so, `a_verifier` otherwise, never better than it was."""
    text = text.strip()[:MAX_REPORT]
    if not text and not photo_file_id:
        return IncidentReport("empty")
    if booking_id is None and kit_id is None:
        return IncidentReport("unknown")

    with database.locked_session() as session:
        return _report(session, user_id, text, now, booking_id, kit_id, photo_file_id, broken)


def _report(
    session: Session,
    user_id: int,
    text: str,
    now: datetime,
    booking_id: int | None,
    kit_id: int | None,
    photo_file_id: str | None,
    broken: bool,
) -> IncidentReport:
    member = member_of(session, user_id)
    if booking_id is not None:
        loan_kit = session.scalar(select(Booking.kit_id).where(Booking.id == booking_id, Booking.kind == "loan"))
        if loan_kit is None or (kit_id is not None and kit_id != loan_kit):
            return IncidentReport("unknown", booking_id=booking_id)
        kit = lock_kit(session, loan_kit)
        booking = session.get(Booking, booking_id, populate_existing=True)  # read after the lock
    else:
        kit = lock_kit(session, kit_id) if kit_id is not None else None
        booking = _current_loan(session, member, kit.id) if kit is not None and member is not None else None
    if kit is None:
        return IncidentReport("unknown", kit_id=kit_id, booking_id=booking_id)
    if member is None or booking is None or not _borrows(member, booking):
        return IncidentReport("not_allowed", kit_id=kit.id, booking_id=booking_id)
    incident = Incident(
        kit_id=kit.id,
        booking_id=booking.id,
        reported_by_id=member.id,
        text=text,
        photo_file_id=photo_file_id[:MAX_FILE_ID] if photo_file_id else None,
        created_at=now,
    )
    session.add(incident)
    _worsen(kit, BROKEN if broken else TO_CHECK, now)
    session.flush()
    log.info("Incident %s on kit %s (loan %s), kit now %s", incident.id, kit.code, booking.id, kit.condition)
    return IncidentReport(
        "reported", incident.id, kit.id, booking.id, kit.condition, lender_coordinators(session, kit.lender)
    )


def _borrows(member: StaffMember, booking: Booking) -> bool:
    if booking.kind != "loan" or booking.status not in BORROWED:
        return False
    return booking.borrower_id == member.id or (
        booking.structure_id is not None and booking.structure_id == member.structure_id
    )


def _current_loan(session: Session, member: StaffMember, kit_id: int) -> Booking | None:
    loans = session.scalars(
        select(Booking)
        .where(Booking.kit_id == kit_id, Booking.kind == "loan", Booking.status.in_(BORROWED))
        .order_by(Booking.starts_at)
    )
    mine = [loan for loan in loans if _borrows(member, loan)]
    return min(mine, key=lambda loan: loan.status != "checked_out", default=None)


@dataclass(frozen=True)
class ConditionChange:
    """`changed` or `unchanged` (already that condition); `resolved` lists the incidents closed by setting the kit
    back to ok. Refusals: `not_allowed` (not a coordinateur of the kit's lender), `unknown` (no such kit),
    `invalid` (not one of ok, en_panne, a_verifier, retire)."""

    status: Literal["changed", "unchanged", "not_allowed", "unknown", "invalid"]
    condition: str = ""
    resolved: list[int] = field(default_factory=list)


def set_condition(database: Database, user_id: int, kit_id: int, condition: str, now: datetime) -> ConditionChange:
    """A coordinateur of the lender sets a kit's condition (a repair, a check, a retirement). Back to ok, the kit's
    open incidents are resolved."""
    if condition not in CONDITIONS:
        return ConditionChange("invalid")
    with database.locked_session() as session:
        kit = lock_kit(session, kit_id)
        if kit is None:
            return ConditionChange("unknown")
        if lender_coordinator(session, user_id, kit.lender) is None:
            return ConditionChange("not_allowed", kit.condition)
        changed = kit.condition != condition
        if changed:
            kit.condition, kit.updated_at = condition, now
        resolved: list[int] = []
        if condition == LENDABLE:
            for incident in session.scalars(
                select(Incident).where(Incident.kit_id == kit.id, Incident.resolved_at.is_(None)).order_by(Incident.id)
            ):
                incident.resolved_at = now
                resolved.append(incident.id)
        log.info("Kit %s set to %s by user %s, %s incidents resolved", kit.code, condition, user_id, len(resolved))
        return ConditionChange("changed" if changed else "unchanged", kit.condition, resolved)
