"""A loan's timed messages are outbox rows: the coordinateurs told of a request, the borrower of the decision, two
days before the pickup, the day before the return, every day it is overdue (once a day, whatever the restarts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from knowledge.db import Database
from knowledge.french import PARIS
from knowledge.loans.bookings import approve, cancel_loan, place_block, refuse
from knowledge.loans.reminders import DECIDED, FLAGGED, OVERDUE, PICKUP, REQUEST, RETURN, renderers, sweep_overdue
from knowledge.models import Booking, Notification, StaffMember
from knowledge.notifications import prepare
from tests.loan_network import COORD, FRIDAY, MEDIA, MONDAY, NOW, ask, kit_id


def _rows(database: Database, booking_id: int) -> dict[str, Notification]:
    with database.session() as session:
        rows = session.scalars(select(Notification).where(Notification.ref_id == booking_id)).all()
        return {row.kind: row for row in rows}


def _text(database: Database, row: Notification, now: datetime) -> str | None:
    outgoing = prepare(database, row.id, now, renderers())
    return outgoing.text if outgoing is not None else None


def test_a_request_tells_the_coordinators_and_the_decision_arms_the_reminders(network: Database) -> None:
    outcome = ask(network)
    with network.session() as session:
        coordinator = session.scalars(select(StaffMember).where(StaffMember.telegram_user_id == COORD)).one()
    rows = _rows(network, outcome.booking_id)
    request = rows[f"{REQUEST}:{coordinator.id}"]
    assert request.chat_id == COORD
    text = _text(network, request, NOW)
    assert text is not None and text.startswith(f"Nouvelle demande de prêt n° {outcome.booking_id}, de P{MEDIA}")
    assert "Kit casques de réalité virtuelle, du lundi 7 décembre à 9 h au vendredi 11 décembre à 16 h" in text
    assert "Pour : atelier, public seniors" in text and "Participants attendus : 8" in text

    approve(network, COORD, outcome.booking_id, NOW)
    rows = _rows(network, outcome.booking_id)
    assert {rows[k].chat_id for k in (DECIDED, PICKUP, RETURN)} == {MEDIA}
    assert rows[PICKUP].due_at == datetime(2026, 12, 5, 10, 0, tzinfo=PARIS)  # two days before, at 10:00
    assert rows[RETURN].due_at == datetime(2026, 12, 10, 10, 0, tzinfo=PARIS)  # the day before
    assert (_text(network, rows[DECIDED], NOW) or "").startswith("Votre demande de prêt est acceptée")
    pickup = _text(network, rows[PICKUP], rows[PICKUP].due_at)
    assert pickup is not None and pickup.startswith("Rappel : vous retirez le matériel lundi à 9 h.")


def test_a_cancelled_loan_sends_no_reminder(network: Database) -> None:
    outcome = ask(network)
    approve(network, COORD, outcome.booking_id, NOW)
    cancel_loan(network, MEDIA, outcome.booking_id, NOW)
    rows = _rows(network, outcome.booking_id)
    assert _text(network, rows[PICKUP], rows[PICKUP].due_at) is None  # skipped at send time


def test_a_refusal_gives_its_reason(network: Database) -> None:
    outcome = ask(network)
    refuse(network, COORD, outcome.booking_id, "Le kit part en formation.", NOW)
    text = _text(network, _rows(network, outcome.booking_id)[DECIDED], NOW)
    assert text is not None and text.startswith("Votre demande de prêt n'est pas acceptée")
    assert text.endswith("Motif : Le kit part en formation.")


def test_a_block_over_an_approved_loan_tells_the_borrower(network: Database) -> None:
    outcome = ask(network)
    approve(network, COORD, outcome.booking_id, NOW)
    place_block(network, COORD, kit_id(network), MONDAY, FRIDAY, "salon du département", NOW)
    text = _text(network, _rows(network, outcome.booking_id)[FLAGGED], NOW)
    assert text is not None and "salon du département" in text


def test_an_overdue_loan_is_reminded_once_a_day(network: Database) -> None:
    outcome = ask(network)
    approve(network, COORD, outcome.booking_id, NOW)
    with network.session() as session:
        session.get(Booking, outcome.booking_id).status = "checked_out"
    before = FRIDAY - timedelta(hours=1)
    with network.session() as session:
        assert sweep_overdue(session, before) == 0
    saturday = datetime(2026, 12, 12, 8, 0, tzinfo=UTC)
    for _ in range(3):  # the sweep runs every hour and at each start
        with network.session() as session:
            assert sweep_overdue(session, saturday) == 1
    monday = saturday + timedelta(days=2)
    with network.session() as session:
        sweep_overdue(session, monday)
    overdue = sorted(k for k in _rows(network, outcome.booking_id) if k.startswith(OVERDUE))
    assert overdue == [f"{OVERDUE}:2026-12-12", f"{OVERDUE}:2026-12-14"]
    text = _text(network, _rows(network, outcome.booking_id)[f"{OVERDUE}:2026-12-14"], monday)
    assert text is not None and "(3 jours de retard)" in text


def test_a_reminder_being_sent_is_not_armed_again_by_the_next_sweep(network: Database) -> None:
    """The bot died after sending and before marking it sent: the next sweep must not hand it out again."""
    from knowledge.notifications import claim, due_ids

    outcome = ask(network)
    approve(network, COORD, outcome.booking_id, NOW)
    with network.session() as session:
        session.get(Booking, outcome.booking_id).status = "checked_out"
    saturday = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)
    with network.session() as session:
        sweep_overdue(session, saturday)
    row = _rows(network, outcome.booking_id)[f"{OVERDUE}:2026-12-12"]
    assert claim(network, row.id, saturday)
    with network.session() as session:
        sweep_overdue(session, saturday + timedelta(minutes=1))
        assert row.id not in due_ids(session, saturday + timedelta(minutes=1))
