"""A médiateur writes a loan request step by step: the kit, the dates (French free text), the pickup and return
slots, the nature of the actions, the public, the number of participants, then a read-back to confirm.

The first message may hold several answers (« je voudrais les drones du 3 au 10 mars »): what it says is taken and
only the rest is asked. The draft lives in the database (one per person), so a restart loses nothing; each answer
is checked against the step the draft is waiting for, so a stale or forged button changes nothing. The request is
written by knowledge/loans/bookings.request_loan, which checks every rule again under the kit's lock."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.db import Database
from knowledge.french import PARIS, day, fold
from knowledge.loans import messages as texts
from knowledge.loans.bookings import (
    LENDABLE,
    LoanRequest,
    conflicts,
    holds_until,
    nearest_free,
    request_loan,
    slots,
)
from knowledge.loans.periods import Period, explain_period
from knowledge.loans.reminders import request_details
from knowledge.loans.terms import NATURES, PUBLICS, loan_days
from knowledge.models import Booking, Kit, LoanDraft
from knowledge.staff import MEDIATEUR, member_of

log = logging.getLogger(__name__)

DRAFT_LIFETIME = timedelta(days=1)
TEXT_STEPS = ("period", "participants")
"""The steps answered by typing (the others by a button)."""
BUTTON_STEPS = ("kit", "pickup", "return", "nature", "public", "participants", "proposal", "redo", "redo_kit", "drop")
"""What a `loan|<step>|<value>` button may answer."""


@dataclass
class Step:
    """What to say next: a text and rows of buttons."""

    text: str
    buttons: texts.Buttons = field(default_factory=list)


# --- Kits named in a message ----------------------------------------------------------------------------------


def _words(kit: Kit) -> list[str]:
    words = [fold(alias) for alias in kit.aliases or []]
    words.append(fold(kit.code.replace("-", " ")))
    return [w for w in words if w]


def kits_named(kits: list[Kit], text: str) -> list[Kit]:
    """The kits a message names, by their words (« drone », « casque vr », « radio »), whole words only."""
    folded = f" {re.sub(r'[^a-z0-9]+', ' ', fold(text))} "
    return [kit for kit in kits if any(f" {word} " in folded for word in _words(kit))]


def lendable_kits(session: Session) -> list[Kit]:
    return list(session.scalars(select(Kit).where(Kit.condition != "retire").order_by(Kit.name)))


# --- The steps --------------------------------------------------------------------------------------------


def _draft(session: Session, user_id: int, now: datetime) -> LoanDraft:
    draft = session.scalars(select(LoanDraft).where(LoanDraft.user_id == user_id)).first()
    if draft is None:
        draft = LoanDraft(user_id=user_id, awaiting="kit", updated_at=now)
        session.add(draft)
    return draft


def current_draft(session: Session, user_id: int, now: datetime) -> LoanDraft | None:
    """The person's draft still in progress, if any."""
    draft = session.scalars(select(LoanDraft).where(LoanDraft.user_id == user_id)).first()
    if draft is not None and draft.updated_at < now - DRAFT_LIFETIME:
        session.delete(draft)
        return None
    return draft


def _is_mediator(session: Session, user_id: int) -> bool:
    member = member_of(session, user_id)
    return member is not None and member.role == MEDIATEUR


def start(database: Database, user_id: int, text: str, now: datetime) -> Step:
    """A request begins (« réserver les drones du 3 au 10 mars »): a fresh draft with what the message says."""
    with database.session() as session:
        if not _is_mediator(session, user_id):
            log.info("Telegram user %s asked for a loan without being a médiateur", user_id)
            return Step(texts.NOT_FOR_YOU_TEXT, texts.NOT_FOR_YOU_BUTTONS)
        old = session.scalars(select(LoanDraft).where(LoanDraft.user_id == user_id)).first()
        if old is not None:
            session.delete(old)
            session.flush()
        draft = _draft(session, user_id, now)
        named = kits_named(lendable_kits(session), text)
        if len(named) == 1:
            draft.kit_id = named[0].id
        period = explain_period(text, now.astimezone(PARIS).date())
        if isinstance(period, Period):
            draft.first_day, draft.last_day = period.first_day, period.last_day
        session.flush()
        return _next(session, draft, now)


def answer(database: Database, user_id: int, step: str, value: str, now: datetime) -> Step | None:
    """An answer to the step the draft waits for (a button, or typed text); None when there is no draft."""
    with database.session() as session:
        draft = current_draft(session, user_id, now)
        if draft is None or not _is_mediator(session, user_id):
            return None
        if step == "drop":
            session.delete(draft)
            return Step(texts.DROPPED_TEXT)
        if step == "redo":
            draft.first_day = draft.last_day = draft.pickup = draft.return_slot = None
            draft.awaiting = "period"
        elif step == "redo_kit":
            draft.kit_id, draft.pickup, draft.return_slot = None, None, None
        elif step == "proposal" and draft.awaiting == "proposal" and value == "yes":
            draft.awaiting = "nature"  # the proposed slots are in the draft; what is still missing is asked
        elif step != draft.awaiting:
            return Step(texts.STALE_TEXT)
        else:
            problem = _take(session, draft, step, value, now)
            if problem is not None:
                return problem
        draft.updated_at = now
        session.flush()
        return _next(session, draft, now)


def awaits_text(database: Database, user_id: int, now: datetime) -> str | None:
    """The step a typed message answers for this person, if their draft waits for one."""
    with database.session() as session:
        draft = current_draft(session, user_id, now)
        return draft.awaiting if draft is not None and draft.awaiting in TEXT_STEPS else None


def _take(session: Session, draft: LoanDraft, step: str, value: str, now: datetime) -> Step | None:
    """Store one answer; a Step when it cannot be used (asked again, with why)."""
    if step == "kit":
        kit = session.get(Kit, int(value)) if value.isdigit() else None
        if kit is None or kit.condition == "retire":
            return Step(texts.STALE_TEXT)
        draft.kit_id = kit.id
    elif step == "period":
        period = explain_period(value, now.astimezone(PARIS).date())
        if not isinstance(period, Period):
            return Step(f"{texts.PERIOD_REASONS[period]} {texts.WHEN_TEXT}", [texts.DROP_ROW])
        draft.first_day, draft.last_day = period.first_day, period.last_day
    elif step in ("pickup", "return"):
        day = draft.first_day if step == "pickup" else draft.last_day
        moment = _slot(value, day)
        if moment is None or moment not in slots(session.get(Kit, draft.kit_id).lender, day):
            return Step(texts.STALE_TEXT)
        if step == "pickup":
            draft.pickup = moment
        else:
            draft.return_slot = moment
    elif step == "nature" and value in NATURES:
        draft.nature = value
    elif step == "public" and value in PUBLICS:
        draft.public = value
    elif step == "participants":
        number = re.search(r"\d{1,5}", value)
        if number is None or not 1 <= int(number[0]) <= 10_000:
            return Step(texts.BAD_NUMBER_TEXT, texts.PARTICIPANT_BUTTONS)
        draft.participants = int(number[0])
    else:
        return Step(texts.STALE_TEXT)
    return None


def _slot(value: str, day: date | None) -> datetime | None:
    if day is None or not re.fullmatch(r"\d{4}", value):
        return None
    hour, minute = int(value[:2]), int(value[2:])
    if hour > 23 or minute > 59:
        return None
    return datetime.combine(day, time(hour, minute), PARIS)


def _next(session: Session, draft: LoanDraft, now: datetime) -> Step:
    """Ask what is still missing, in order; then the read-back."""
    kit = session.get(Kit, draft.kit_id) if draft.kit_id else None
    if kit is None:
        draft.awaiting = "kit"
        kits = [k for k in lendable_kits(session) if k.condition == LENDABLE]
        if not kits:
            session.delete(draft)
            return Step(texts.NO_KIT_TEXT)
        buttons = [[{"title": k.name, "payload": f"loan|kit|{k.id}"}] for k in kits]
        return Step(texts.WHICH_KIT_TEXT, [*buttons, texts.DROP_ROW])
    if kit.condition != LENDABLE:
        draft.kit_id, draft.awaiting = None, "kit"
        condition = texts.CONDITIONS.get(kit.condition, kit.condition)
        return Step(
            texts.REFUSALS["kit_unavailable"].format(detail=condition),
            [[{"title": "Autre matériel", "payload": "loan|redo_kit"}], texts.DROP_ROW],
        )
    if draft.first_day is None or draft.last_day is None:
        draft.awaiting = "period"
        return Step(f"{kit.name}. {texts.WHEN_TEXT}", [texts.DROP_ROW])
    lender = kit.lender
    for step, on, chosen in (("pickup", draft.first_day, draft.pickup), ("return", draft.last_day, draft.return_slot)):
        if chosen is not None:
            continue
        open_slots = [s for s in slots(lender, on) if s > now]
        if not open_slots:
            draft.first_day = draft.last_day = None
            draft.awaiting = "period"
            return Step(texts.CLOSED_DAY_TEXT.format(day=day(on)) + " " + texts.WHEN_TEXT, [texts.DROP_ROW])
        draft.awaiting = step
        template = texts.PICKUP_TEXT if step == "pickup" else texts.RETURN_TEXT
        return Step(template.format(day=day(on), site=lender.site), texts.slot_buttons(step, open_slots))
    busy = conflicts(session, kit.id, draft.pickup, holds_until(lender, draft.return_slot))
    if busy:
        return _refused_dates(session, draft, kit, busy, now)
    for step, value, prompt, buttons in (
        ("nature", draft.nature, texts.NATURE_TEXT, texts.NATURE_BUTTONS),
        ("public", draft.public, texts.PUBLIC_TEXT, texts.PUBLIC_BUTTONS),
        ("participants", draft.participants, texts.PARTICIPANTS_TEXT, texts.PARTICIPANT_BUTTONS),
    ):
        if value is None:
            draft.awaiting = step
            return Step(prompt, buttons)
    draft.awaiting = "confirm"
    return Step(_read_back(draft, kit), texts.CONFIRM_BUTTONS)


def _read_back(draft: LoanDraft, kit: Kit) -> str:
    preview = Booking(
        kit=kit,
        starts_at=draft.pickup,
        ends_at=draft.return_slot + timedelta(minutes=kit.lender.slot_minutes),
        nature=draft.nature,
        public=draft.public,
        participants=draft.participants,
    )
    text = texts.CONFIRM_TEXT.format(details=request_details(preview))
    if loan_days(draft.pickup, draft.return_slot) > kit.lender.max_days:
        text += "\n" + texts.LONG_TEXT.format(days=kit.lender.max_days)
    return text


def _refused_dates(session: Session, draft: LoanDraft, kit: Kit, busy: list[Booking], now: datetime) -> Step:
    """Taken at those dates: say why, and offer the nearest free period of the same length."""
    block = next((b for b in busy if b.kind == "block"), None)
    reason = texts.REFUSALS["blocked"].format(detail=block.reason) if block is not None else texts.REFUSALS["overlap"]
    proposal = nearest_free(session, kit, draft.pickup, draft.return_slot, now)
    draft.pickup = draft.return_slot = None
    if proposal is None:
        draft.first_day = draft.last_day = None
        draft.awaiting = "period"
        return Step(f"{reason} {texts.WHEN_TEXT}", [texts.DROP_ROW])
    draft.first_day = proposal.pickup.astimezone(PARIS).date()
    draft.last_day = proposal.return_slot.astimezone(PARIS).date()
    draft.pickup, draft.return_slot = proposal.pickup, proposal.return_slot
    draft.awaiting = "proposal"
    text = f"{reason} " + texts.PROPOSAL_TEXT.format(first=day(draft.first_day), last=day(draft.last_day))
    buttons = [
        [{"title": "Oui, ces dates", "payload": "loan|proposal|yes"}],
        [{"title": "Autres dates", "payload": "loan|redo"}],
        texts.DROP_ROW,
    ]
    return Step(text, buttons)


def send(database: Database, user_id: int, now: datetime) -> Step:
    """The read-back is confirmed: the request goes to the lender (every rule checked again), the draft ends."""
    with database.session() as session:
        draft = current_draft(session, user_id, now)
        if draft is None or draft.awaiting != "confirm":
            return Step(texts.STALE_TEXT)
        request = LoanRequest(
            draft.kit_id, draft.pickup, draft.return_slot, draft.nature, draft.public, draft.participants
        )
    outcome = request_loan(database, user_id, request, now)
    with database.session() as session:
        draft = current_draft(session, user_id, now)
        if outcome.status == "requested":
            if draft is not None:
                session.delete(draft)
            text = texts.SENT_TEXT
            if outcome.exceeds_limit:
                text = texts.LONG_TEXT.format(days=session.get(Kit, request.kit_id).lender.max_days) + " " + text
            return Step(text)
        if draft is not None and outcome.reason in ("overlap", "blocked"):
            kit = session.get(Kit, draft.kit_id)
            busy = conflicts(session, kit.id, draft.pickup, holds_until(kit.lender, draft.return_slot))
            return _refused_dates(session, draft, kit, busy, now)
        reason = texts.REFUSALS.get(outcome.reason or "", texts.STALE_TEXT).format(detail=outcome.detail)
        return Step(reason)
