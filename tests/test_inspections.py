"""États des lieux at check-out and check-in, item by item, resumed after a restart and safe under double and
concurrent presses; an early return frees the kit sooner; breakdowns reported by borrowers and the condition only a
coordinateur of the lender sets back. Each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from knowledge.db import Database
from knowledge.loans.bookings import approve, kit_status
from knowledge.loans.inspections import (
    InspectionStep,
    inspection_record,
    record_item,
    report_incident,
    set_condition,
    start_inspection,
)
from knowledge.loans.reminders import BILAN
from knowledge.models import Booking, Incident, Inspection, Kit, Notification
from tests.loan_network import CONSEIL, COORD, FRIDAY, MEDIA, MONDAY, NOW, OUTSIDER, ask, kit_id

VR_ITEMS = ["6 casques", "6 paires de manettes", "1 chargeur multiple", "1 valise de transport"]
TUESDAY = MONDAY + timedelta(days=1, hours=1)  # Tuesday 10:00, Paris


def _approved(database: Database, kit: str = "casques-vr") -> int:
    outcome = ask(database, kit=kit)
    assert outcome.status == "requested"
    assert approve(database, COORD, outcome.booking_id, NOW).status == "approved"
    return outcome.booking_id


def _walk(
    database: Database, booking_id: int, phase: str, now: datetime, states: dict[int, str] | None = None
) -> list[InspectionStep]:
    """Record every item (present unless `states` says otherwise), in checklist order."""
    states = states or {}
    return [
        record_item(database, COORD, booking_id, phase, index, states.get(index, "present"), now, note=f"note {index}")
        for index in range(len(VR_ITEMS))
    ]


def _booking(database: Database, booking_id: int) -> Booking:
    with database.session() as session:
        return session.get(Booking, booking_id)


def _condition(database: Database, code: str = "casques-vr") -> str:
    with database.session() as session:
        return session.scalars(select(Kit.condition).where(Kit.code == code)).one()


def _rows(database: Database, booking_id: int) -> list[tuple[str, str, str]]:
    with database.session() as session:
        rows = session.scalars(select(Inspection).where(Inspection.booking_id == booking_id).order_by(Inspection.id))
        return [(row.phase, row.item, row.state) for row in rows]


def test_check_out_then_check_in_with_a_missing_item(network: Database) -> None:
    loan = _approved(network)
    step = start_inspection(network, COORD, loan, "check_out", MONDAY)
    assert (step.status, step.index, step.item, step.done, step.total) == ("next", 0, "6 casques", 0, 4)
    assert step.kit == "Kit casques de réalité virtuelle"

    steps = [record_item(network, COORD, loan, "check_out", i, "present", MONDAY) for i in range(4)]
    assert [(s.status, s.index, s.done) for s in steps[:3]] == [("next", 1, 1), ("next", 2, 2), ("next", 3, 3)]
    assert (steps[3].status, steps[3].problems, steps[3].borrower_chat) == ("finished", [], MEDIA)
    booking = _booking(network, loan)
    assert (booking.status, booking.checked_out_at, booking.flagged) == ("checked_out", MONDAY, False)
    with network.session() as session:
        assert kit_status(session, session.get(Kit, booking.kit_id), MONDAY) == "prete"
        record = inspection_record(session, loan, "check_out")
    assert record.splitlines()[:2] == [
        "État des lieux de sortie : Kit casques de réalité virtuelle",
        "Fait le lundi 7 décembre à 9 h.",
    ]
    assert "✅ 6 casques : présent" in record and "Tout est présent et en bon état." in record

    back = FRIDAY
    assert start_inspection(network, COORD, loan, "check_in", back).index == 0
    record_item(network, COORD, loan, "check_in", 0, "present", back)
    record_item(network, COORD, loan, "check_in", 1, "present", back)
    record_item(network, COORD, loan, "check_in", 2, "missing", back, note="oublié dans la salle")
    done = record_item(network, COORD, loan, "check_in", 3, "present", back)
    assert (done.status, done.problems, done.borrower_chat) == ("finished", ["1 chargeur multiple"], MEDIA)

    booking = _booking(network, loan)
    assert (booking.status, booking.returned_at, booking.flagged) == ("returned", back, True)
    assert booking.flag_note == "État des lieux de retour : 1 chargeur multiple : manquant (oublié dans la salle)"
    assert _condition(network) == "a_verifier"
    with network.session() as session:
        record = inspection_record(session, loan, "check_in")
    assert "❌ 1 chargeur multiple : manquant (oublié dans la salle)" in record
    assert "✅ 1 valise de transport : présent" in record
    assert "1 élément manque." in record and "Gardez ce message : il décrit l'état du kit à son retour." in record
    assert len(_rows(network, loan)) == 8


def test_damage_at_check_out_flags_the_loan_and_thekit_id(network: Database) -> None:
    loan = _approved(network)
    steps = _walk(network, loan, "check_out", MONDAY, {1: "damaged"})
    assert steps[-1].problems == ["6 paires de manettes"]
    booking = _booking(network, loan)
    assert booking.status == "checked_out" and booking.flagged
    assert booking.flag_note == "État des lieux de sortie : 6 paires de manettes : abîmé (note 1)"
    assert _condition(network) == "a_verifier"
    with network.session() as session:
        assert "⚠️ 6 paires de manettes : abîmé (note 1)" in inspection_record(session, loan, "check_out")


def test_a_walkthrough_resumes_where_it_stopped(network: Database) -> None:
    loan = _approved(network)
    record_item(network, COORD, loan, "check_out", 0, "present", MONDAY)
    record_item(network, COORD, loan, "check_out", 1, "damaged", MONDAY, note="une manette fendue")
    restarted = Database(network.url)  # the bot restarts: nothing but the database remembers
    try:
        step = start_inspection(restarted, COORD, loan, "check_out", MONDAY)
        assert (step.status, step.index, step.item, step.done, step.total) == ("next", 2, "1 chargeur multiple", 2, 4)
        # An item recorded out of order (a stale button) is skipped; the first gap comes first.
        assert record_item(restarted, COORD, loan, "check_out", 3, "present", MONDAY).index == 2
        assert record_item(restarted, COORD, loan, "check_out", 2, "present", MONDAY).status == "finished"
    finally:
        restarted.dispose()


def test_a_double_check_in_is_refused(network: Database) -> None:
    loan = _approved(network)
    early = start_inspection(network, COORD, loan, "check_in", MONDAY)  # not checked out yet
    assert (early.status, early.detail) == ("wrong_status", "approved")
    _walk(network, loan, "check_out", MONDAY)
    assert start_inspection(network, COORD, loan, "check_out", MONDAY).status == "wrong_status"
    _walk(network, loan, "check_in", FRIDAY)
    again = start_inspection(network, COORD, loan, "check_in", FRIDAY)
    assert (again.status, again.detail) == ("wrong_status", "returned")
    late_press = record_item(network, COORD, loan, "check_in", 3, "missing", FRIDAY)
    assert late_press.status == "wrong_status"
    booking = _booking(network, loan)
    assert booking.returned_at == FRIDAY and not booking.flagged  # the late press changed nothing
    assert len(_rows(network, loan)) == 8


def test_a_second_press_updates_the_item(network: Database) -> None:
    loan = _approved(network)
    record_item(network, COORD, loan, "check_out", 0, "present", MONDAY)
    record_item(network, COORD, loan, "check_out", 0, "present", MONDAY)
    step = record_item(network, COORD, loan, "check_out", 0, "damaged", MONDAY, note="rayure", photo_file_id="AgAD1")
    assert (step.index, step.done) == (1, 1)
    with network.session() as session:
        row = session.scalars(select(Inspection)).one()
        assert (row.item, row.state, row.note, row.photo_file_id) == ("6 casques", "damaged", "rayure", "AgAD1")


@pytest.mark.parametrize("user", [MEDIA, CONSEIL, OUTSIDER, 4242])
def test_only_a_coordinator_of_the_lender_inspects(network: Database, user: int) -> None:
    loan = _approved(network)
    assert start_inspection(network, user, loan, "check_out", MONDAY).status == "not_allowed"
    assert record_item(network, user, loan, "check_out", 0, "present", MONDAY).status == "not_allowed"
    assert _rows(network, loan) == []


def test_unknown_loans_and_invalid_presses(network: Database) -> None:
    loan = _approved(network)
    assert start_inspection(network, COORD, 9999, "check_out", MONDAY).status == "unknown"
    assert start_inspection(network, COORD, loan, "inventaire", MONDAY).status == "invalid"
    assert record_item(network, COORD, loan, "check_out", 4, "present", MONDAY).status == "invalid"
    assert record_item(network, COORD, loan, "check_out", -1, "present", MONDAY).status == "invalid"
    assert record_item(network, COORD, loan, "check_out", 0, "cassé", MONDAY).status == "invalid"
    assert _rows(network, loan) == []
    with network.session() as session, pytest.raises(LookupError):
        inspection_record(session, 9999, "check_out")


def test_an_early_return_frees_the_kit_sooner(network: Database) -> None:
    loan = _approved(network)  # Monday 9:00 → Friday 16:30, held until Saturday 16:30
    _walk(network, loan, "check_out", MONDAY)
    free = TUESDAY + timedelta(minutes=30, days=1)  # the return counts as a return slot, then the one-day buffer
    assert ask(network, free, free + timedelta(days=1)).reason == "overlap"

    _walk(network, loan, "check_in", TUESDAY)
    booking = _booking(network, loan)
    assert (booking.returned_at, booking.holds_until) == (TUESDAY, free)
    assert booking.ends_at == TUESDAY + timedelta(minutes=30)
    assert ask(network, free - timedelta(minutes=30), free + timedelta(days=1)).reason == "overlap"
    assert ask(network, free, free + timedelta(days=1)).status == "requested"
    with network.session() as session:  # the borrower is asked for the bilan
        bilan = session.scalars(select(Notification).where(Notification.kind == BILAN)).one()
        assert (bilan.ref_id, bilan.chat_id) == (loan, MEDIA)


def test_a_late_return_never_holds_the_kit_longer(network: Database) -> None:
    loan = _approved(network)
    before = _booking(network, loan)
    _walk(network, loan, "check_out", MONDAY)
    _walk(network, loan, "check_in", FRIDAY + timedelta(days=3))
    after = _booking(network, loan)
    assert (after.ends_at, after.holds_until) == (before.ends_at, before.holds_until)


def test_a_check_out_waits_for_a_kit_to_be_checked(network: Database) -> None:
    loan = _approved(network)
    assert set_condition(network, COORD, kit_id(network), "a_verifier", NOW).status == "changed"
    refused = start_inspection(network, COORD, loan, "check_out", MONDAY)
    assert (refused.status, refused.detail) == ("kit_unavailable", "a_verifier")
    assert record_item(network, COORD, loan, "check_out", 0, "present", MONDAY).status == "kit_unavailable"
    set_condition(network, COORD, kit_id(network), "ok", NOW)
    assert start_inspection(network, COORD, loan, "check_out", MONDAY).status == "next"


# --- Breakdowns ------------------------------------------------------------------------------------------------


def test_the_borrower_reports_a_breakdown_and_the_coordinators_are_named(network: Database) -> None:
    loan = _approved(network)
    _walk(network, loan, "check_out", MONDAY)
    report = report_incident(network, MEDIA, "Un casque ne s'allume plus.", TUESDAY, booking_id=loan, broken=True)
    assert (report.status, report.condition, report.coordinators, report.booking_id) == (
        "reported",
        "en_panne",
        [COORD],
        loan,
    )
    # A colleague of the borrowing structure, from the kit alone: a lighter report never makes the kit better.
    other = report_incident(network, CONSEIL, "Une valise abîmée.", TUESDAY, kit_id=kit_id(network), photo_file_id="X")
    assert (other.status, other.booking_id, other.condition) == ("reported", loan, "en_panne")
    assert _condition(network) == "en_panne"
    with network.session() as session:
        incidents = session.scalars(select(Incident).order_by(Incident.id)).all()
        assert [(i.text, i.booking_id, i.photo_file_id, i.resolved_at) for i in incidents] == [
            ("Un casque ne s'allume plus.", loan, None, None),
            ("Une valise abîmée.", loan, "X", None),
        ]


def test_a_report_that_it_still_works_makes_the_kit_to_be_checked(network: Database) -> None:
    _approved(network, "drones")  # approved, not yet checked out
    drones = kit_id(network, "drones")
    report = report_incident(network, MEDIA, "Une hélice fendue à la livraison ?", NOW, kit_id=drones)
    assert (report.status, report.condition) == ("reported", "a_verifier")
    assert _condition(network, "drones") == "a_verifier"


def test_only_the_borrowers_report(network: Database) -> None:
    loan = _approved(network)
    requested = ask(network, MONDAY, FRIDAY, kit="drones").booking_id  # not approved yet
    for user in (OUTSIDER, COORD, 4242):
        assert report_incident(network, user, "En panne", NOW, booking_id=loan, broken=True).status == "not_allowed"
        assert report_incident(network, user, "En panne", NOW, kit_id=kit_id(network)).status == "not_allowed"
    assert report_incident(network, MEDIA, "En panne", NOW, booking_id=requested).status == "not_allowed"
    assert report_incident(network, MEDIA, "En panne", NOW, kit_id=kit_id(network, "radio-mobile")).status == (
        "not_allowed"
    )
    assert report_incident(network, MEDIA, "En panne", NOW, booking_id=9999).status == "unknown"
    assert report_incident(network, MEDIA, "En panne", NOW, kit_id=9999).status == "unknown"
    assert report_incident(network, MEDIA, "En panne", NOW).status == "unknown"
    mismatch = report_incident(network, MEDIA, "En panne", NOW, booking_id=loan, kit_id=kit_id(network, "drones"))
    assert mismatch.status == "unknown"
    assert report_incident(network, MEDIA, "   ", NOW, booking_id=loan).status == "empty"
    _walk(network, loan, "check_out", MONDAY)
    _walk(network, loan, "check_in", FRIDAY)
    assert report_incident(network, MEDIA, "En panne", FRIDAY, booking_id=loan).status == "not_allowed"  # returned
    with network.session() as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 0
    assert _condition(network) == "ok" and _condition(network, "drones") == "ok"


def test_only_a_coordinator_sets_the_condition_and_ok_resolves_the_incidents(network: Database) -> None:
    loan = _approved(network)
    first = report_incident(network, MEDIA, "Écran noir", NOW, booking_id=loan, broken=True).incident_id
    second = report_incident(network, MEDIA, "Toujours noir", NOW, booking_id=loan, broken=True).incident_id
    kit = kit_id(network)
    for user in (MEDIA, CONSEIL, OUTSIDER):
        assert set_condition(network, user, kit, "ok", NOW).status == "not_allowed"
    assert set_condition(network, COORD, kit, "perdu", NOW).status == "invalid"
    assert set_condition(network, COORD, 9999, "ok", NOW).status == "unknown"
    assert _condition(network) == "en_panne"

    checking = set_condition(network, COORD, kit, "a_verifier", NOW)
    assert (checking.status, checking.condition, checking.resolved) == ("changed", "a_verifier", [])
    repaired = set_condition(network, COORD, kit, "ok", TUESDAY)
    assert (repaired.status, repaired.condition, repaired.resolved) == ("changed", "ok", [first, second])
    with network.session() as session:
        assert [i.resolved_at for i in session.scalars(select(Incident))] == [TUESDAY, TUESDAY]
    again = set_condition(network, COORD, kit, "ok", TUESDAY)
    assert (again.status, again.resolved) == ("unchanged", [])


# --- Concurrent presses ---------------------------------------------------------------------------------------


def _race(count: int, press: Callable[[], InspectionStep]) -> list[InspectionStep]:
    barrier = threading.Barrier(count)
    results: list[InspectionStep] = []

    def run() -> None:
        barrier.wait()
        results.append(press())

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_ten_concurrent_presses_of_one_item_store_one_row(network: Database) -> None:
    loan = _approved(network)
    results = _race(10, lambda: record_item(network, COORD, loan, "check_out", 0, "present", MONDAY))
    assert [(r.status, r.index, r.done) for r in results] == [("next", 1, 1)] * 10
    assert _rows(network, loan) == [("check_out", "6 casques", "present")]


def test_ten_concurrent_presses_of_the_last_item_finish_once(network: Database) -> None:
    loan = _approved(network)
    _walk(network, loan, "check_out", MONDAY)
    for index in range(3):
        record_item(network, COORD, loan, "check_in", index, "present", TUESDAY)
    results = _race(10, lambda: record_item(network, COORD, loan, "check_in", 3, "missing", TUESDAY))
    assert sorted(r.status for r in results) == ["finished"] + ["wrong_status"] * 9
    booking = _booking(network, loan)
    assert booking.status == "returned"
    assert booking.flag_note == "État des lieux de retour : 1 valise de transport : manquant"  # written once
    assert len(_rows(network, loan)) == 8
